#include "dashboard/activity.h"

#include <algorithm>
#include <cmath>

#include "pipeline/record_processor.h"

namespace thumbflow::dashboard {
namespace {

std::string OutcomeKey(const std::string& bucket, const std::string& key) {
  return bucket + "/" + key;
}

bool IsFailure(pipeline::Outcome outcome) {
  return outcome == pipeline::Outcome::kGone || outcome == pipeline::Outcome::kPermanent ||
         outcome == pipeline::Outcome::kTransient;
}

// Nearest-rank percentile of sorted values.
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

void Activity::Observe(const pipeline::MessageResult& result) {
  const int64_t now_ms = clock_.NowMillis();
  const int64_t number = now_ms / 1000 / kBucketSeconds;
  std::lock_guard lock(mu_);
  Bucket& bucket = buckets_[static_cast<size_t>(number) % kBuckets];
  if (bucket.number != number) bucket = Bucket{number, 0, 0};
  for (const pipeline::RecordResult& record : result.records) {
    // A thumbnail set made: neither found already there nor a removal's deletes.
    const bool made =
        record.outcome == pipeline::Outcome::kOk && !record.duplicate && !record.removal;
    if (made) {
      ++bucket.made;
      ++made_total_;
      if (record.end_to_end_ms >= 0) latencies_.emplace_back(now_ms, record.end_to_end_ms);
    } else if (IsFailure(record.outcome)) {
      ++bucket.failed;
      ++failed_total_;
    }
    if (record.key.empty()) continue;
    std::string id = OutcomeKey(record.bucket, record.key);
    RecordOutcome outcome{pipeline::OutcomeName(record.outcome),
                          record.outcome == pipeline::Outcome::kOk
                              ? std::string()
                              : pipeline::ReasonLabel(record.reason, record.error_code),
                          now_ms};
    auto [it, inserted] = outcomes_.insert_or_assign(id, std::move(outcome));
    if (inserted) outcome_order_.push_back(std::move(id));
  }
  while (outcome_order_.size() > kMaxOutcomes) {
    outcomes_.erase(outcome_order_.front());
    outcome_order_.pop_front();
  }
  while (latencies_.size() > kMaxLatencySamples) latencies_.pop_front();
}

void Activity::PruneLocked(int64_t now_ms) const {
  while (!latencies_.empty() && latencies_.front().first <= now_ms - kWindowSeconds * 1000) {
    latencies_.pop_front();
  }
}

ActivitySnapshot Activity::Snapshot() const {
  const int64_t now_ms = clock_.NowMillis();
  const int64_t current = now_ms / 1000 / kBucketSeconds;
  ActivitySnapshot out;
  out.bucket_seconds = kBucketSeconds;
  std::vector<int64_t> sorted;
  {
    std::lock_guard lock(mu_);
    PruneLocked(now_ms);
    for (int64_t number = current - static_cast<int64_t>(kBuckets) + 1; number <= current;
         ++number) {
      const Bucket& bucket = buckets_[static_cast<size_t>(number) % kBuckets];
      // The current bucket has lasted only part of its 10 s.
      double seconds =
          number == current
              ? std::max<double>(1.0, static_cast<double>(now_ms / 1000 % kBucketSeconds) + 1)
              : static_cast<double>(kBucketSeconds);
      bool filled = bucket.number == number;
      out.made_per_second.push_back(filled ? static_cast<double>(bucket.made) / seconds : 0.0);
      out.failed_per_second.push_back(filled ? static_cast<double>(bucket.failed) / seconds : 0.0);
    }
    sorted.reserve(latencies_.size());
    for (const auto& [time_ms, latency_ms] : latencies_) sorted.push_back(latency_ms);
    out.made_total = made_total_;
    out.failed_total = failed_total_;
  }
  std::sort(sorted.begin(), sorted.end());
  out.latency_samples = static_cast<int64_t>(sorted.size());
  if (!sorted.empty()) {
    out.p50_ms = Percentile(sorted, 0.50);
    out.p95_ms = Percentile(sorted, 0.95);
  }
  return out;
}

std::optional<RecordOutcome> Activity::LastOutcome(const std::string& bucket,
                                                   const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = outcomes_.find(OutcomeKey(bucket, key));
  if (it == outcomes_.end()) return std::nullopt;
  return it->second;
}

}  // namespace thumbflow::dashboard
