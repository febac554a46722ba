// HttpClient: the port through which every AWS client (S3, SQS, credential endpoints) talks
// HTTP. The libcurl adapter and the retrying decorator live behind factories; this header has
// no third-party includes.
//
// Contract of Send():
//   - Any HTTP answer, including 4xx and 5xx, is a successful Result holding the response;
//     the caller decides what a status means (MapAwsFailure in aws/aws_error.h does it for
//     AWS services).
//   - A failed Result means no HTTP answer was received: connection refused, DNS failure,
//     TLS failure, timeout. Those are Unavailable (or DeadlineExceeded for timeouts), always
//     retryable, and the message names the URL. An exchange cut off through
//     HttpRequest::abort (before its answer began) is Aborted, never retried.
//   - Implementations are thread-safe: many threads may call Send() on one client.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"

namespace thumbflow::aws {

// Header list in wire order; names keep their case, duplicates are allowed.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup of the first header named `name`; nullptr when absent.
const std::string* FindHeader(const HttpHeaders& headers, std::string_view name);
// Replaces every header named `name` (case-insensitive) by one with `value`.
void SetHeader(HttpHeaders& headers, std::string_view name, std::string value);
void RemoveHeader(HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  // Absolute URL, already percent-encoded exactly as it must go on the wire
  // (aws/sigv4.h's UriEncode builds paths and queries).
  std::string url;
  // Sent as given. Set "Host" when it was signed: the adapter then sends exactly that value.
  HttpHeaders headers;
  std::string body;
  // When set and it becomes true before the answer begins, the exchange is cut off (within about
  // a second) and Send() fails with Aborted, not retryable; an answer that has begun is returned.
  const std::atomic<bool>* abort = nullptr;
  // The labels of the call in the metrics ("s3" and "PutObject"). Empty: AwsCallLabels
  // derives them from the request.
  std::string service;
  std::string operation;
};

// The service and operation a request is counted under: the request's own when set, else
// the SQS JSON protocol's X-Amz-Target ("AmazonSQS.SendMessage"), a query protocol's
// Action= (STS), and the service of the SigV4 credential scope; "other" and the HTTP
// method when nothing says.
std::pair<std::string, std::string> AwsCallLabels(const HttpRequest& request);

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names as the server sent them; look up with FindHeader
  std::string body;

  const std::string* Header(std::string_view name) const { return FindHeader(headers, name); }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// ---- libcurl adapter -------------------------------------------------------------------

struct CurlHttpClientOptions {
  int64_t connect_timeout_ms = 3'000;
  // Whole exchange, including the body. 0 means no limit.
  int64_t total_timeout_ms = 60'000;
  // Idle connections kept per client for reuse (keep-alive).
  int max_idle_connections = 16;
  // TLS peer verification; turn off only for tests against self-signed endpoints.
  bool verify_tls = true;
  std::string user_agent = "thumbflow/0.1";
};

// A client on libcurl. Connections are pooled and reused across calls and threads (each
// Send() borrows an idle easy handle or makes one, and returns it afterwards). Never
// retries; wrap it in NewRetryingHttpClient for that. Expect: 100-continue is disabled.
std::unique_ptr<HttpClient> NewCurlHttpClient(const CurlHttpClientOptions& options = {});

// ---- retries ---------------------------------------------------------------------------

struct RetryPolicy {
  int max_attempts = 4;  // total tries, including the first one
  int64_t base_delay_ms = 100;
  int64_t max_delay_ms = 5'000;
};

// Sleeps between attempts; tests inject one that records the delays instead.
using Sleeper = std::function<void(int64_t millis)>;

// True when an HTTP answer is worth retrying: 5xx, 429, and throttling error codes
// (SlowDown, Throttling, ThrottlingException, RequestLimitExceeded, TooManyRequestsException,
// RequestThrottled, RequestThrottledException, ProvisionedThroughputExceededException,
// RequestTimeout, RequestTimeoutException, InternalError, ServiceUnavailable) read from an
// S3 XML or AWS JSON error body or the x-amzn-ErrorType / x-amzn-query-error header.
bool IsRetryableResponse(const HttpResponse& response);

// Full-jitter exponential back-off: a value in [0, min(max, base * 2^(attempt-1))], where
// `attempt` counts retries from 1. `random01` is in [0, 1).
int64_t BackoffDelayMs(const RetryPolicy& policy, int attempt, double random01);

// Decorates `inner` (not owned; must outlive the result) with retries: transport failures
// that are retryable and IsRetryableResponse() answers are tried again, up to
// policy.max_attempts, sleeping BackoffDelayMs in between. The last answer or failure is
// returned as is. The same request bytes are resent, so signatures must stay valid for the
// whole back-off (SigV4 allows 15 minutes). `sleeper` defaults to a real sleep; `seed`
// makes the jitter reproducible in tests. Thread-safe if `inner` is.
//
// With `metrics` (which must outlive the client), every call is counted by AwsCallLabels:
//   thumbflow_aws_requests_total{service,operation,outcome}  one per call, its last answer:
//       ok (< 400), client_error (4xx), throttled (429 or a throttling code), server_error
//       (5xx), network_error (no answer), aborted
//   thumbflow_aws_retries_total{service,operation}           attempts after the first
//   thumbflow_aws_request_duration_seconds{service,operation} the call, retries included
std::unique_ptr<HttpClient> NewRetryingHttpClient(HttpClient* inner, RetryPolicy policy = {},
                                                  Sleeper sleeper = nullptr,
                                                  std::optional<uint64_t> seed = std::nullopt,
                                                  MetricsRegistry* metrics = nullptr);

// Owns a curl client and its retrying decorator: what production code normally wants.
std::unique_ptr<HttpClient> NewDefaultHttpClient(const CurlHttpClientOptions& options = {},
                                                 RetryPolicy policy = {},
                                                 MetricsRegistry* metrics = nullptr);

}  // namespace thumbflow::aws
