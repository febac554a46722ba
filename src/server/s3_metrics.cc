#include "server/s3_metrics.h"

#include <string>

namespace thumbflow::server {
namespace {

// The child in `slot`, fetched from the registry by `lookup` the first time. Two threads may
// both look it up; the registry returns the same child to both.
template <typename T, typename Lookup>
T& Resolve(std::atomic<T*>& slot, Lookup lookup) {
  T* child = slot.load(std::memory_order_acquire);
  if (child == nullptr) {
    child = &lookup();
    slot.store(child, std::memory_order_release);
  }
  return *child;
}

MetricLabels OperationLabel(S3Operation operation) {
  return {{"operation", std::string(S3OperationName(operation))}};
}

}  // namespace

Counter& S3RequestMetrics::Requests(S3Operation operation, int status) {
  auto lookup = [&]() -> Counter& {
    MetricLabels labels = OperationLabel(operation);
    labels.emplace_back("status", std::to_string(status));
    return registry_->GetCounter("thumbflow_s3_requests_total",
                                 "S3 requests by operation and HTTP status.", labels);
  };
  if (status < kMinStatus || status > kMaxStatus) return lookup();
  return Resolve(children_[static_cast<size_t>(operation)].requests[status - kMinStatus], lookup);
}

Histogram& S3RequestMetrics::Duration(S3Operation operation) {
  return Resolve(children_[static_cast<size_t>(operation)].duration, [&]() -> Histogram& {
    return registry_->GetHistogram("thumbflow_s3_request_duration_seconds",
                                   "Time from the request header to the reply, by operation.",
                                   OperationLabel(operation));
  });
}

Counter& S3RequestMetrics::Received(S3Operation operation) {
  return Resolve(children_[static_cast<size_t>(operation)].received, [&]() -> Counter& {
    return registry_->GetCounter("thumbflow_s3_received_bytes_total",
                                 "Request body bytes received.", OperationLabel(operation));
  });
}

Counter& S3RequestMetrics::Sent(S3Operation operation) {
  return Resolve(children_[static_cast<size_t>(operation)].sent, [&]() -> Counter& {
    return registry_->GetCounter("thumbflow_s3_sent_bytes_total", "Reply body bytes sent.",
                                 OperationLabel(operation));
  });
}

void S3RequestMetrics::Record(S3Operation operation, int status, double seconds, int64_t bytes_in,
                              int64_t bytes_out) {
  if (!registry_) return;
  Requests(operation, status).Increment();
  Duration(operation).Observe(seconds);
  if (bytes_in > 0) Received(operation).Increment(static_cast<double>(bytes_in));
  if (bytes_out > 0) Sent(operation).Increment(static_cast<double>(bytes_out));
}

}  // namespace thumbflow::server
