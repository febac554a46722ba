// RetryPolicy: how long a message whose processing failed transiently stays invisible
// before its next delivery.
//
// delay(n) = min(max, base * 2^(n-1)) for the n-th receive, of which the fraction `jitter`
// is drawn at random: delay * (1 - jitter) + uniform(0, delay * jitter), rounded up to whole
// seconds (the queue's unit) and capped at 43200 s (SQS's longest visibility timeout). Jitter
// spreads the retries of a burst that failed together (a store outage) so they do not all
// come back at the same moment.
//
// Thread-safety: DelaySeconds() may be called from many threads at once.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace thumbflow::pipeline {

struct RetryOptions {
  double base_s = 2;
  double max_s = 300;
  double jitter = 0.5;  // 0..1
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options, uint64_t seed = std::random_device{}());

  // `receive_count` counts the delivery that just failed (1 for the first).
  int DelaySeconds(int receive_count) const;

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
  mutable std::mutex mu_;
  mutable std::mt19937_64 random_;
};

}  // namespace thumbflow::pipeline
