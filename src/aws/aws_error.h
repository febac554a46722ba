// Mapping of AWS failures to Status: the ONE place where an HTTP answer or a transport
// failure from S3, SQS or a credentials endpoint becomes a thumbflow Status.
#pragma once

#include <string>
#include <string_view>

#include "aws/http_client.h"
#include "core/result.h"

namespace thumbflow::aws {

// What an AWS error answer says about itself. Empty fields were absent.
struct AwsErrorDetails {
  int http_status = 0;
  std::string code;        // "NoSuchKey", "AccessDenied", "AWS.SimpleQueueService.NonExistentQueue"
  std::string message;     // the service's own message
  std::string request_id;  // x-amz-request-id / x-amzn-RequestId / <RequestId>
};

// Reads an error answer: S3 XML (<Error>), AWS JSON (__type, message/Message), query XML
// (<ErrorResponse><Error> or <Errors><Error>: moto's auth errors), and the x-amzn-ErrorType /
// x-amzn-query-error headers (the latter wins: SQS's SDK code). A HEAD answer has no body: the
// code comes from the status (404 -> "NotFound"). Never fails: unknown bodies give http_status.
AwsErrorDetails ParseAwsError(const HttpResponse& response);

// Names the call in messages: "GetObject s3://images/uploads/a.jpg".
struct AwsCall {
  std::string_view operation;  // "GetObject", "SendMessage", ...
  std::string_view resource;   // bucket or queue (may be empty)
  std::string_view key;        // object key (may be empty)
  std::string_view scheme = "s3";
};

// The mapping. `response` is the failed Send() result or a non-2xx answer.
//   transport failure                       -> Unavailable, retryable, names the URL
//   5xx, 429, throttling codes              -> Unavailable, retryable
//   404, NoSuchKey, NoSuchBucket, NotFound,
//     NonExistentQueue, QueueDoesNotExist   -> NotFound
//   403, AccessDenied, InvalidAccessKeyId,
//     SignatureDoesNotMatch, ExpiredToken.. -> PermissionDenied
//   301 / 307 / 308 redirects, wrong region
//     (AuthorizationHeaderMalformed,
//     PermanentRedirect, InvalidRegion...),
//     account problems, InvalidBucketName   -> FailedPrecondition ("misconfigured: ...")
//   412 / PreconditionFailed, 304, 409      -> FailedPrecondition
//   416 InvalidRange                        -> InvalidArgument
//   other 4xx                               -> InvalidArgument (the request was wrong)
// None of these says the object named is at fault: callers that decide a message's fate
// (pipeline/record_processor.cc) treat only the port's object reasons as permanent
// (storage/object_store.h). The message reads "<operation> <scheme>://<resource>/<key>:
// HTTP <status> <code>: <message> (request id <id>)"; for 403 it starts with
// "access denied: ", for a misconfiguration with "misconfigured: ". The Status reason holds
// the AWS error code (or "" when none).
Status MapAwsFailure(const AwsCall& call, const Result<HttpResponse>& response,
                     std::string_view url = {});

}  // namespace thumbflow::aws
