#include "aws/http_client.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "aws/aws_error.h"
#include "core/strings.h"

namespace thumbflow::aws {
const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

void RemoveHeader(HttpHeaders& headers, std::string_view name) {
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [&](const auto& kv) { return EqualsIgnoreCase(kv.first, name); }),
                headers.end());
}

void SetHeader(HttpHeaders& headers, std::string_view name, std::string value) {
  RemoveHeader(headers, name);
  headers.emplace_back(std::string(name), std::move(value));
}

std::pair<std::string, std::string> AwsCallLabels(const HttpRequest& request) {
  std::string service = request.service;
  std::string operation = request.operation;
  if (operation.empty()) {
    if (const std::string* target = FindHeader(request.headers, "X-Amz-Target")) {
      size_t dot = target->rfind('.');
      operation = dot == std::string::npos ? *target : target->substr(dot + 1);
      if (service.empty() && target->starts_with("AmazonSQS.")) service = "sqs";
    } else if (size_t action = request.body.find("Action=");
               action != std::string::npos && (action == 0 || request.body[action - 1] == '&')) {
      size_t end = request.body.find('&', action);
      operation = request.body.substr(
          action + 7, end == std::string::npos ? std::string::npos : end - action - 7);
    }
  }
  if (service.empty()) {
    // "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/s3/aws4_request, ..."
    if (const std::string* auth = FindHeader(request.headers, "Authorization")) {
      size_t scope = auth->find("/aws4_request");
      size_t start = scope == std::string::npos ? scope : auth->rfind('/', scope - 1);
      if (start != std::string::npos) service = auth->substr(start + 1, scope - start - 1);
    }
  }
  if (service.empty()) service = "other";
  if (operation.empty()) operation = request.method;
  return {std::move(service), std::move(operation)};
}

}  // namespace thumbflow::aws
