#include "aws/sts.h"

#include <pugixml.hpp>

#include "aws/aws_error.h"
#include "aws/checksums.h"
#include "aws/sigv4.h"
#include "core/civil_time.h"
#include "core/uri.h"

namespace thumbflow::aws {
namespace {

// "https://host:port[/]" -> "host:port" for the Host header; empty when not an http(s) URL.
std::string Authority(const std::string& url) {
  size_t start = url.find("://");
  if (start == std::string::npos) return "";
  start += 3;
  const size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string FormBody(std::string_view action, const AssumeRoleParams& params,
                     const std::string& web_identity_token) {
  auto field = [](std::string_view name, std::string_view value) {
    return "&" + std::string(name) + "=" + PercentEncode(value);
  };
  std::string body = "Action=" + std::string(action) + "&Version=2011-06-15";
  body += field("RoleArn", params.role_arn);
  body += field("RoleSessionName", params.session_name);
  if (!params.external_id.empty()) body += field("ExternalId", params.external_id);
  if (params.duration_s > 0) body += field("DurationSeconds", std::to_string(params.duration_s));
  if (!web_identity_token.empty()) body += field("WebIdentityToken", web_identity_token);
  return body;
}

Result<Credentials> Call(HttpClient& http, const StsEndpoint& endpoint, std::string_view action,
                         const AssumeRoleParams& params, const std::string& web_identity_token,
                         const Credentials* signer_credentials, const Clock* clock,
                         const std::string& label) {
  std::string url = endpoint.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::string host = Authority(url);
  if (host.empty()) {
    return InvalidArgumentError(label + ": STS endpoint \"" + endpoint.url +
                                "\" is not an http:// or https:// URL");
  }
  const std::string body = FormBody(action, params, web_identity_token);
  HttpRequest request;
  request.method = "POST";
  request.url = url + "/";
  request.body = body;
  request.headers = {{"Host", host},
                     {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  if (signer_credentials != nullptr) {
    SignableRequest signable;
    signable.method = "POST";
    signable.path = "/";
    signable.headers = request.headers;
    signable.payload_hash = Sha256Hex(body);
    SigningParams signing;
    signing.region = endpoint.region.empty() ? "us-east-1" : endpoint.region;
    signing.service = "sts";
    signing.time_ms = clock->NowMillis();
    Signer signer;
    Result<SigningResult> signed_request = signer.Sign(signable, *signer_credentials, signing);
    if (!signed_request.ok()) return signed_request.status().WithContext(label);
    request.headers = std::move(signable.headers);
  }
  const AwsCall call{action, params.role_arn, {}, "sts"};
  Result<HttpResponse> response = http.Send(request);
  if (!response.ok() || response->status < 200 || response->status >= 300) {
    return MapAwsFailure(call, response, request.url).WithContext(label);
  }
  return ParseStsCredentialsXml(response->body, label);
}

}  // namespace

Result<Credentials> ParseStsCredentialsXml(std::string_view xml, const std::string& label) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) {
    return UnavailableError(label + ": STS answer is not XML: " + std::string(xml.substr(0, 200)));
  }
  // <AssumeRole[WithWebIdentity]Response><...Result><Credentials>
  pugi::xml_node credentials = doc.document_element().first_child().child("Credentials");
  Credentials c;
  c.access_key_id = credentials.child_value("AccessKeyId");
  c.secret_access_key = credentials.child_value("SecretAccessKey");
  c.session_token = credentials.child_value("SessionToken");
  c.source = label;
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return UnavailableError(label +
                            ": STS answer has no Credentials: " + std::string(xml.substr(0, 200)));
  }
  const std::string expiration = credentials.child_value("Expiration");
  if (!expiration.empty()) {
    ASSIGN_OR_RETURN(int64_t ms, ParseIso8601Millis(expiration));
    c.expiry_ms = ms;
  }
  return c;
}

Result<Credentials> StsAssumeRole(HttpClient& http, const StsEndpoint& endpoint,
                                  const Credentials& source, const AssumeRoleParams& params,
                                  const Clock& clock, const std::string& label) {
  return Call(http, endpoint, "AssumeRole", params, {}, &source, &clock, label);
}

Result<Credentials> StsAssumeRoleWithWebIdentity(HttpClient& http, const StsEndpoint& endpoint,
                                                 const AssumeRoleParams& params,
                                                 const std::string& web_identity_token,
                                                 const std::string& label) {
  if (web_identity_token.empty()) {
    return InvalidArgumentError(label + ": the web identity token is empty");
  }
  return Call(http, endpoint, "AssumeRoleWithWebIdentity", params, web_identity_token, nullptr,
              nullptr, label);
}

}  // namespace thumbflow::aws
