#include "lambda/runtime_api.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace thumbflow::lambda {
namespace {

// Request ids are UUIDs; anything else would change the path, so it is refused.
bool IsSafePathSegment(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string HeaderOr(const aws::HttpResponse& response, std::string_view name) {
  const std::string* value = response.Header(name);
  return value ? *value : std::string();
}

}  // namespace

RuntimeApiClient::RuntimeApiClient(aws::HttpClient& http, std::string api)
    : http_(http), base_url_("http://" + std::move(api) + "/2018-06-01") {}

Result<Invocation> RuntimeApiClient::Next() {
  aws::HttpRequest request;
  request.method = "GET";
  request.url = base_url_ + "/runtime/invocation/next";
  auto response = http_.Send(request);
  if (!response.ok()) return response.status().WithContext("runtime API next invocation");
  if (response->status != 200) {
    return InternalError("runtime API next invocation: HTTP " + std::to_string(response->status) +
                         ": " + response->body);
  }
  Invocation invocation;
  invocation.request_id = HeaderOr(*response, "Lambda-Runtime-Aws-Request-Id");
  if (!IsSafePathSegment(invocation.request_id)) {
    return InternalError("runtime API next invocation: missing or malformed request id \"" +
                         invocation.request_id + "\"");
  }
  std::string deadline = HeaderOr(*response, "Lambda-Runtime-Deadline-Ms");
  int64_t deadline_ms = 0;
  auto [end, ec] = std::from_chars(deadline.data(), deadline.data() + deadline.size(), deadline_ms);
  if (ec != std::errc() || end != deadline.data() + deadline.size()) {
    return InternalError("runtime API next invocation: malformed Lambda-Runtime-Deadline-Ms \"" +
                         deadline + "\"");
  }
  invocation.deadline_ms = deadline_ms;
  invocation.function_arn = HeaderOr(*response, "Lambda-Runtime-Invoked-Function-Arn");
  invocation.trace_id = HeaderOr(*response, "Lambda-Runtime-Trace-Id");
  invocation.event = std::move(response->body);
  return invocation;
}

Status RuntimeApiClient::PostResponse(const std::string& request_id, const std::string& body) {
  if (!IsSafePathSegment(request_id)) return InvalidArgumentError("bad request id");
  return Post("/runtime/invocation/" + request_id + "/response", body, "");
}

Status RuntimeApiClient::PostInvocationError(const std::string& request_id,
                                             const ErrorReport& error) {
  if (!IsSafePathSegment(request_id)) return InvalidArgumentError("bad request id");
  return Post("/runtime/invocation/" + request_id + "/error", ErrorBody(error), error.type);
}

Status RuntimeApiClient::PostInitError(const ErrorReport& error) {
  return Post("/runtime/init/error", ErrorBody(error), error.type);
}

std::string RuntimeApiClient::ErrorBody(const ErrorReport& error) {
  nlohmann::json doc = {{"errorMessage", error.message},
                        {"errorType", error.type},
                        {"stackTrace", nlohmann::json::array()}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status RuntimeApiClient::Post(const std::string& path, const std::string& body,
                              const std::string& error_type) {
  aws::HttpRequest request;
  request.method = "POST";
  request.url = base_url_ + path;
  request.headers.emplace_back("Content-Type", "application/json");
  if (!error_type.empty()) {
    request.headers.emplace_back("Lambda-Runtime-Function-Error-Type", error_type);
  }
  request.body = body;
  auto response = http_.Send(request);
  if (!response.ok()) return response.status().WithContext("runtime API POST " + path);
  // 202 Accepted is the documented answer; 413 means the payload was too large, 400/403
  // that the request id is unknown or the runtime is in the wrong state.
  if (response->status < 200 || response->status > 299) {
    return InternalError("runtime API POST " + path + ": HTTP " + std::to_string(response->status) +
                         ": " + response->body);
  }
  return Status::Ok();
}

}  // namespace thumbflow::lambda
