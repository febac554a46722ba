// RuntimeApiClient: the Lambda Runtime API (version 2018-06-01) as a custom runtime sees it,
// at http://$AWS_LAMBDA_RUNTIME_API. Plain HTTP on the sandbox's loopback, unsigned.
//
//   GET  /2018-06-01/runtime/invocation/next             blocks until an event arrives
//   POST /2018-06-01/runtime/invocation/{id}/response    the function's answer
//   POST /2018-06-01/runtime/invocation/{id}/error       the invocation failed
//   POST /2018-06-01/runtime/init/error                  start-up failed (then exit)
// Error bodies are {"errorMessage": ..., "errorType": ..., "stackTrace": []} with the type
// also in the Lambda-Runtime-Function-Error-Type header.
//
// The HttpClient must not time out requests (Next() waits for as long as the function is
// idle) and must not retry (a POST answered once must not be repeated). Not thread-safe:
// the Runtime API serves one invocation at a time, and so does this client.
#pragma once

#include <cstdint>
#include <string>

#include "aws/http_client.h"
#include "core/result.h"

namespace thumbflow::lambda {

struct Invocation {
  std::string request_id;    // Lambda-Runtime-Aws-Request-Id
  int64_t deadline_ms = 0;   // Lambda-Runtime-Deadline-Ms: Unix ms when the function is killed
  std::string function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;      // Lambda-Runtime-Trace-Id; empty when absent
  std::string event;         // the event JSON
};

// Error types thumbflow reports (the Runtime API takes any "Category.Reason" string).
inline constexpr char kErrorTypeConfig[] = "Runtime.ConfigError";     // init: THUMBFLOW_CONFIG
inline constexpr char kErrorTypeInit[] = "Runtime.InitError";         // init: anything else
inline constexpr char kErrorTypeBadEvent[] = "Runtime.InvalidEvent";  // not an SQS event
inline constexpr char kErrorTypeInternal[] = "Runtime.InternalError";

struct ErrorReport {
  std::string type;     // one of the kErrorType* values (or another "Category.Reason")
  std::string message;  // human text
};

class RuntimeApiClient {
 public:
  // `http` is not owned and must outlive the client. `api` is host:port as Lambda sets it
  // in AWS_LAMBDA_RUNTIME_API ("127.0.0.1:9001").
  RuntimeApiClient(aws::HttpClient& http, std::string api);

  // Waits for the next invocation. Unavailable when the API cannot be reached, Internal
  // when it answers without a request id or with a status other than 200.
  Result<Invocation> Next();

  Status PostResponse(const std::string& request_id, const std::string& body);
  Status PostInvocationError(const std::string& request_id, const ErrorReport& error);
  Status PostInitError(const ErrorReport& error);

  // The JSON body of an error report.
  static std::string ErrorBody(const ErrorReport& error);

 private:
  Status Post(const std::string& path, const std::string& body, const std::string& error_type);

  aws::HttpClient& http_;
  std::string base_url_;  // http://host:port/2018-06-01
};

}  // namespace thumbflow::lambda
