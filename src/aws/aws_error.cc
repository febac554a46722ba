#include "aws/aws_error.h"

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <algorithm>

namespace thumbflow::aws {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// "AWS.SimpleQueueService.NonExistentQueue;Sender" -> first part; "com.amazon...#Code" -> Code.
std::string CleanCode(std::string code) {
  if (size_t semi = code.find(';'); semi != std::string::npos) code.resize(semi);
  if (size_t colon = code.find(':'); colon != std::string::npos) code.resize(colon);
  if (size_t hash = code.rfind('#'); hash != std::string::npos) code = code.substr(hash + 1);
  return code;
}

void ParseXmlError(const std::string& body, AwsErrorDetails* out) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return;
  // S3: <Error>..</Error>; query protocol: <ErrorResponse><Error>..</Error><RequestId>;
  // the list form <ErrorResponse><Errors><Error>.. (moto's authentication errors, on SQS's
  // JSON protocol too) and EC2's <Response><Errors><Error>..</Errors><RequestID>.
  pugi::xml_node error = doc.child("Error");
  pugi::xml_node response = doc.child("ErrorResponse");
  if (!response) response = doc.child("Response");
  if (!error && response) error = response.child("Error");
  if (!error && response) error = response.child("Errors").child("Error");
  if (!error) return;
  if (out->code.empty()) out->code = error.child_value("Code");
  if (out->message.empty()) out->message = error.child_value("Message");
  for (const char* name : {"RequestId", "RequestID"}) {
    if (out->request_id.empty()) out->request_id = error.child_value(name);
    if (out->request_id.empty() && response) out->request_id = response.child_value(name);
  }
}

void ParseJsonError(const std::string& body, AwsErrorDetails* out) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return;
  auto str = [&](const char* key) -> std::string {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (out->code.empty()) out->code = CleanCode(str("__type"));
  if (out->code.empty()) out->code = CleanCode(str("code"));
  if (out->message.empty()) out->message = str("message");
  if (out->message.empty()) out->message = str("Message");
}

bool IsThrottlingCode(std::string_view code) {
  static constexpr std::string_view kCodes[] = {
      "SlowDown",
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestLimitExceeded",
      "TooManyRequestsException",
      "RequestThrottled",
      "RequestThrottledException",
      "ProvisionedThroughputExceededException",
      "RequestTimeout",
      "RequestTimeoutException",
      "InternalError",
      "InternalFailure",
      "ServiceUnavailable",
      "AWS.SimpleQueueService.RequestThrottled",
      "KMS.ThrottlingException",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
      "BandwidthLimitExceeded",
  };
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

bool IsNotFoundCode(std::string_view code) {
  return code == "NoSuchKey" || code == "NoSuchBucket" || code == "NotFound" ||
         code == "NoSuchUpload" || code == "NoSuchVersion" || Contains(code, "NonExistentQueue") ||
         Contains(code, "QueueDoesNotExist") || code == "ResourceNotFoundException";
}

bool IsDeniedCode(std::string_view code) {
  return code == "AccessDenied" || code == "AccessDeniedException" ||
         code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
         code == "ExpiredToken" || code == "ExpiredTokenException" || code == "InvalidToken" ||
         code == "InvalidClientTokenId" || code == "UnrecognizedClientException" ||
         code == "MissingAuthenticationToken" || code == "IncompleteSignature" ||
         code == "RequestTimeTooSkewed" || code == "AllAccessDisabled";
}

// The request reached a service that cannot serve it as configured: a wrong region or
// endpoint, an account that cannot use the service, a bucket name the service refuses.
// Nothing about the object or message involved; the same request succeeds once the set-up
// is fixed.
bool IsMisconfiguredCode(std::string_view code) {
  static constexpr std::string_view kCodes[] = {
      "AuthorizationHeaderMalformed",  // S3: the credential scope names the wrong region
      "AuthorizationQueryParametersError",
      "PermanentRedirect",  // S3: the bucket is in another region (virtual-host style)
      "TemporaryRedirect",
      "Redirect",
      "IllegalLocationConstraintException",
      "InvalidRegion",
      "AccountProblem",
      "NotSignedUp",
      "OptInRequired",
      "InvalidBucketName",
      "InvalidSecurity",
      "InvalidAddress",  // SQS: the queue URL's host does not match the endpoint
  };
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

std::string Describe(const AwsCall& call) {
  std::string out(call.operation.empty() ? "request" : call.operation);
  if (!call.resource.empty() || !call.key.empty()) {
    out += " ";
    out += call.scheme;
    out += "://";
    out += call.resource;
    if (!call.key.empty()) {
      out += "/";
      out += call.key;
    }
  }
  return out;
}

}  // namespace

AwsErrorDetails ParseAwsError(const HttpResponse& response) {
  AwsErrorDetails out;
  out.http_status = response.status;
  for (const char* name : {"x-amz-request-id", "x-amzn-RequestId", "x-amzn-request-id"}) {
    if (const std::string* id = response.Header(name); id && out.request_id.empty()) {
      out.request_id = *id;
    }
  }
  if (const std::string* t = response.Header("x-amzn-query-error")) out.code = CleanCode(*t);
  if (out.code.empty()) {
    if (const std::string* t = response.Header("x-amzn-ErrorType")) out.code = CleanCode(*t);
  }
  std::string_view body = response.body;
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos) {
    if (body[first] == '<') {
      ParseXmlError(response.body, &out);
    } else if (body[first] == '{') {
      ParseJsonError(response.body, &out);
    }
  }
  if (out.code.empty()) {
    switch (response.status) {
      case 304:
        out.code = "NotModified";
        break;
      case 400:
        out.code = "BadRequest";
        break;
      case 403:
        out.code = "Forbidden";
        break;
      case 404:
        out.code = "NotFound";
        break;
      case 412:
        out.code = "PreconditionFailed";
        break;
      case 429:
        out.code = "TooManyRequests";
        break;
      default:
        break;
    }
  }
  return out;
}

bool IsRetryableResponse(const HttpResponse& response) {
  if (response.status >= 500 || response.status == 429) return true;
  if (response.status < 400) return false;
  return IsThrottlingCode(ParseAwsError(response).code);
}

Status MapAwsFailure(const AwsCall& call, const Result<HttpResponse>& response,
                     std::string_view url) {
  std::string what = Describe(call);
  if (!response.ok()) {
    const Status& s = response.status();
    std::string message = what + ": cannot reach ";
    message += url.empty() ? std::string("the endpoint") : std::string(url);
    message += ": " + s.message();
    StatusCode code = s.code() == StatusCode::kDeadlineExceeded ? StatusCode::kDeadlineExceeded
                                                                : StatusCode::kUnavailable;
    return Status(code, message, "", true);
  }
  AwsErrorDetails d = ParseAwsError(*response);
  std::string detail = what + ": HTTP " + std::to_string(d.http_status);
  if (!d.code.empty()) detail += " " + d.code;
  if (!d.message.empty()) detail += ": " + d.message;
  if (!d.request_id.empty()) detail += " (request id " + d.request_id + ")";

  int http = d.http_status;
  if (http >= 500 || http == 429 || IsThrottlingCode(d.code)) {
    return Status(StatusCode::kUnavailable, detail, d.code, true);
  }
  if (http == 404 || IsNotFoundCode(d.code)) {
    return Status(StatusCode::kNotFound, detail, d.code, false);
  }
  if (http == 403 || IsDeniedCode(d.code)) {
    return Status(StatusCode::kPermissionDenied, "access denied: " + detail, d.code, false);
  }
  if (http == 301 || http == 307 || http == 308 || IsMisconfiguredCode(d.code)) {
    return Status(StatusCode::kFailedPrecondition, "misconfigured: " + detail, d.code, false);
  }
  if (http == 412 || http == 304 || d.code == "PreconditionFailed" ||
      d.code == "ConditionalRequestConflict") {
    return Status(StatusCode::kFailedPrecondition, detail, d.code, false);
  }
  if (http == 409) return Status(StatusCode::kFailedPrecondition, detail, d.code, false);
  if (http >= 400) return Status(StatusCode::kInvalidArgument, detail, d.code, false);
  return Status(StatusCode::kInternal, "unexpected answer: " + detail, d.code, false);
}

}  // namespace thumbflow::aws
