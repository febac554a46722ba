// S3RequestMetrics: the endpoint's per-request metrics (thumbflow_s3_requests_total,
// _request_duration_seconds, _received_bytes_total, _sent_bytes_total), by operation.
//
// Each child is looked up in the registry once, at its first use, and kept in a table
// indexed by operation (and status): a request takes no registry lock after that. Children
// are created at first use, not up front, so /metrics lists only what happened.
//
// Thread-safety: Record may be called from any thread concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "core/metrics.h"
#include "server/s3_operation.h"

namespace thumbflow::server {

class S3RequestMetrics {
 public:
  // `registry` may be null (Record does nothing); it must outlive this object.
  explicit S3RequestMetrics(MetricsRegistry* registry) : registry_(registry) {}

  // One finished request: its reply `status`, time since its header and body bytes.
  void Record(S3Operation operation, int status, double seconds, int64_t bytes_in,
              int64_t bytes_out);

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  struct PerOperation {
    std::atomic<Histogram*> duration{nullptr};
    std::atomic<Counter*> received{nullptr};
    std::atomic<Counter*> sent{nullptr};
    std::array<std::atomic<Counter*>, kMaxStatus - kMinStatus + 1> requests{};
  };
  Counter& Requests(S3Operation operation, int status);
  Histogram& Duration(S3Operation operation);
  Counter& Received(S3Operation operation);
  Counter& Sent(S3Operation operation);

  MetricsRegistry* registry_;
  std::array<PerOperation, kS3OperationCount> children_;
};

}  // namespace thumbflow::server
