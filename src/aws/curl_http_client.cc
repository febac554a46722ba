// The libcurl adapter of the HttpClient port, and the retrying decorator.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "aws/http_client.h"
#include "core/clock.h"
#include "core/request_deadline.h"

namespace thumbflow::aws {
namespace {

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init is not thread-safe before 7.84; doing it once from the first client
// construction (a function-local static, initialised thread-safely) is enough.
void EnsureCurlGlobalInit() {
  static const bool initialised = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialised;
}

// What the callbacks of one exchange share (they all run on the thread of curl_easy_perform).
struct Exchange {
  HttpResponse response;
  const std::atomic<bool>* abort = nullptr;
  bool answer_begun = false;  // a byte of the answer (status line, header or body) arrived
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  exchange->answer_begun = true;
  exchange->response.body.append(data, size * count);
  return size * count;
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  exchange->answer_begun = true;
  HttpResponse* response = &exchange->response;
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new status line (after 100 Continue or a redirect) starts a fresh header set.
    response->headers.clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  response->headers.emplace_back(std::string(name), std::string(value));
  return size * count;
}

// Progress callback: a non-zero return makes libcurl abort the transfer. libcurl calls it
// often while data moves and about once a second while the connection is idle (a long poll).
// Only an exchange still waiting for its answer is cut off: once the answer has begun it is
// received in full, because the server has acted on the request (an SQS ReceiveMessage has
// made its messages invisible) and only the caller can undo that.
int CheckAbort(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* exchange = static_cast<const Exchange*>(user);
  return exchange->abort->load() && !exchange->answer_begun ? 1 : 0;
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options) : options_(std::move(options)) {
    EnsureCurlGlobalInit();
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    EasyHandle handle = Borrow();
    if (!handle) return InternalError("curl_easy_init failed");
    CURL* h = handle.get();
    Exchange exchange;
    exchange.abort = request.abort;
    Slist headers;
    curl_slist* list = nullptr;
    auto add = [&](const std::string& line) {
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (next != nullptr) list = next;
    };
    for (const auto& [name, value] : request.headers) {
      // "Name;" is curl's way of sending a header with an empty value.
      add(value.empty() ? name + ";" : name + ": " + value);
    }
    add("Expect:");  // no 100-continue round trip
    if (FindHeader(request.headers, "content-type") == nullptr) add("Content-Type:");
    headers.reset(list);

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    // The path goes on the wire exactly as given, which is what was signed: without this,
    // libcurl squashes "/./" and "/../" (an S3 key "a/./b/../c" would become "a/c").
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
    // A caller's deadline (core/request_deadline.h) shortens the request's own timeout.
    int64_t timeout_ms = options_.total_timeout_ms;
    if (int64_t deadline = RequestDeadlineMillis(); deadline > 0) {
      int64_t left = deadline - SystemClock().NowMillis();
      if (left <= 0) {
        return Status(StatusCode::kDeadlineExceeded,
                      request.method + " " + request.url + ": the caller's deadline has passed",
                      Reason::kTimeout, true);
      }
      timeout_ms = timeout_ms > 0 ? std::min(timeout_ms, left) : left;
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &exchange);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (request.abort != nullptr) {
      if (request.abort->load()) {
        return Status(StatusCode::kAborted,
                      "HTTP " + request.method + " " + request.url + ": aborted before sending", "",
                      false);
      }
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, CheckAbort);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &exchange);
    }
    if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      // POSTFIELDS with an explicit size sends any bytes (NULs included) for any method.
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      std::string message =
          "HTTP " + request.method + " " + request.url + ": " + curl_easy_strerror(rc);
      // The connection may be broken; do not pool this handle.
      if (rc == CURLE_ABORTED_BY_CALLBACK) {
        return Status(StatusCode::kAborted, message, "", /*retryable=*/false);
      }
      if (rc == CURLE_OPERATION_TIMEDOUT) {
        return Status(StatusCode::kDeadlineExceeded, message, "", true);
      }
      return Status(StatusCode::kUnavailable, message, "", true);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    exchange.response.status = static_cast<int>(status);
    Return(std::move(handle));
    return std::move(exchange.response);
  }

 private:
  EasyHandle Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        EasyHandle h = std::move(idle_.back());
        idle_.pop_back();
        // Reset options but keep the handle's live connections and DNS cache.
        curl_easy_reset(h.get());
        return h;
      }
    }
    return EasyHandle(curl_easy_init());
  }

  void Return(EasyHandle handle) {
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(idle_.size()) < options_.max_idle_connections) {
      idle_.push_back(std::move(handle));
    }
  }

  CurlHttpClientOptions options_;
  std::mutex mu_;
  std::vector<EasyHandle> idle_;
};

// "ok", "client_error", "throttled", "server_error", "network_error", "aborted".
const char* CallOutcome(const Result<HttpResponse>& result) {
  if (!result.ok()) {
    return result.status().code() == StatusCode::kAborted ? "aborted" : "network_error";
  }
  int status = result->status;
  if (status < 400) return "ok";
  if (status == 429 || (status < 500 && IsRetryableResponse(*result))) return "throttled";
  return status < 500 ? "client_error" : "server_error";
}

class RetryingHttpClient final : public HttpClient {
 public:
  RetryingHttpClient(HttpClient* inner, RetryPolicy policy, Sleeper sleeper,
                     std::optional<uint64_t> seed, MetricsRegistry* metrics)
      : inner_(inner),
        policy_(policy),
        sleeper_(sleeper ? std::move(sleeper) : Sleeper([](int64_t ms) {
          std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        })),
        random_(seed ? *seed : std::random_device{}()),
        metrics_(metrics) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    const auto started = std::chrono::steady_clock::now();
    int attempt = 1;
    Result<HttpResponse> result = inner_->Send(request);
    for (;; ++attempt) {
      bool retry = result.ok() ? IsRetryableResponse(*result) : result.status().retryable();
      if (!retry || attempt >= policy_.max_attempts) break;
      int64_t delay = BackoffDelayMs(policy_, attempt, NextRandom());
      // No retry that would start past the caller's deadline (core/request_deadline.h).
      int64_t deadline = RequestDeadlineMillis();
      if (deadline > 0 && SystemClock().NowMillis() + delay >= deadline) break;
      sleeper_(delay);
      result = inner_->Send(request);
    }
    if (metrics_ != nullptr) {
      Count(request, result, attempt - 1,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return result;
  }

 private:
  double NextRandom() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  }

  void Count(const HttpRequest& request, const Result<HttpResponse>& result, int retries,
             double seconds) {
    auto [service, operation] = AwsCallLabels(request);
    MetricLabels labels = {{"service", service}, {"operation", operation}};
    metrics_
        ->GetHistogram("thumbflow_aws_request_duration_seconds",
                       "AWS calls (S3, SQS, STS) from first attempt to last answer, by "
                       "operation.",
                       labels)
        .Observe(seconds);
    Counter& retried = metrics_->GetCounter(
        "thumbflow_aws_retries_total", "AWS call attempts after the first, by operation.", labels);
    retried.Increment(retries);
    labels.emplace_back("outcome", CallOutcome(result));
    metrics_
        ->GetCounter("thumbflow_aws_requests_total",
                     "AWS calls (S3, SQS, STS) by operation and the outcome of the last "
                     "attempt.",
                     labels)
        .Increment();
  }

  HttpClient* inner_;
  RetryPolicy policy_;
  Sleeper sleeper_;
  std::mutex mu_;
  std::mt19937_64 random_;
  MetricsRegistry* metrics_;
};

// Keeps the curl client alive for as long as its decorator.
class OwningRetryingClient final : public HttpClient {
 public:
  OwningRetryingClient(std::unique_ptr<HttpClient> inner, RetryPolicy policy,
                       MetricsRegistry* metrics)
      : inner_(std::move(inner)),
        retrying_(NewRetryingHttpClient(inner_.get(), policy, nullptr, std::nullopt, metrics)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    return retrying_->Send(request);
  }

 private:
  std::unique_ptr<HttpClient> inner_;
  std::unique_ptr<HttpClient> retrying_;
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlHttpClient(const CurlHttpClientOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

int64_t BackoffDelayMs(const RetryPolicy& policy, int attempt, double random01) {
  int64_t cap = policy.base_delay_ms;
  for (int i = 1; i < attempt && cap < policy.max_delay_ms; ++i) cap *= 2;
  cap = std::min(cap, policy.max_delay_ms);
  return static_cast<int64_t>(random01 * static_cast<double>(cap + 1));
}

std::unique_ptr<HttpClient> NewRetryingHttpClient(HttpClient* inner, RetryPolicy policy,
                                                  Sleeper sleeper, std::optional<uint64_t> seed,
                                                  MetricsRegistry* metrics) {
  return std::make_unique<RetryingHttpClient>(inner, policy, std::move(sleeper), seed, metrics);
}

std::unique_ptr<HttpClient> NewDefaultHttpClient(const CurlHttpClientOptions& options,
                                                 RetryPolicy policy, MetricsRegistry* metrics) {
  return std::make_unique<OwningRetryingClient>(NewCurlHttpClient(options), policy, metrics);
}

}  // namespace thumbflow::aws
