#include "pipeline/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace thumbflow::pipeline {

namespace {
constexpr double kMaxVisibilitySeconds = 43200;
}  // namespace

RetryPolicy::RetryPolicy(RetryOptions options, uint64_t seed) : options_(options), random_(seed) {}

int RetryPolicy::DelaySeconds(int receive_count) const {
  int exponent = std::clamp(receive_count, 1, 64) - 1;
  double delay = std::min(options_.max_s, options_.base_s * std::ldexp(1.0, exponent));
  delay = std::clamp(delay, 0.0, kMaxVisibilitySeconds);
  double jitter = std::clamp(options_.jitter, 0.0, 1.0);
  double random_part = 0;
  if (jitter > 0 && delay > 0) {
    std::uniform_real_distribution<double> uniform(0.0, delay * jitter);
    std::lock_guard<std::mutex> lock(mu_);
    random_part = uniform(random_);
  }
  double total = delay * (1.0 - jitter) + random_part;
  return static_cast<int>(std::clamp(std::ceil(total), 0.0, kMaxVisibilitySeconds));
}

}  // namespace thumbflow::pipeline
