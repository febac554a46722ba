// Activity: what the dashboard shows about the workers' recent work, kept in memory from
// each finished message (the worker pool's message observer): thumbnails made and records
// failed per 10 s over the last 15 minutes, end-to-end latency percentiles over the same
// window, and the last outcome of each recently processed source object. Nothing is
// persisted: a restarted serve starts with an empty chart.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "pipeline/message_processor.h"

namespace thumbflow::dashboard {

struct RecordOutcome {
  std::string outcome;  // pipeline OutcomeName: "ok", "skipped", "gone", "permanent", ...
  std::string reason;   // empty for ok
  int64_t time_ms = 0;
};

struct ActivitySnapshot {
  int64_t bucket_seconds = 0;
  // One point per bucket, oldest first, ending with the current (partial) bucket: thumbnails
  // sets made per second (ok records that were not duplicates) and records failed per second.
  std::vector<double> made_per_second;
  std::vector<double> failed_per_second;
  int64_t latency_samples = 0;  // ok records with a known event time, in the window
  int64_t p50_ms = -1;          // -1 without samples
  int64_t p95_ms = -1;
  int64_t made_total = 0;  // since start
  int64_t failed_total = 0;
};

class Activity {
 public:
  static constexpr int64_t kWindowSeconds = 15 * 60;
  static constexpr int64_t kBucketSeconds = 10;
  static constexpr size_t kMaxOutcomes = 10'000;
  static constexpr size_t kMaxLatencySamples = 50'000;

  explicit Activity(const Clock& clock) : clock_(clock) {}

  void Observe(const pipeline::MessageResult& result);
  ActivitySnapshot Snapshot() const;
  // The last outcome recorded for the source object, if it was processed recently.
  std::optional<RecordOutcome> LastOutcome(const std::string& bucket, const std::string& key) const;

 private:
  static constexpr size_t kBuckets = kWindowSeconds / kBucketSeconds;
  struct Bucket {
    int64_t number = -1;  // now_s / kBucketSeconds when it was filled
    int64_t made = 0;
    int64_t failed = 0;
  };

  void PruneLocked(int64_t now_ms) const;

  const Clock& clock_;
  mutable std::mutex mu_;
  std::array<Bucket, kBuckets> buckets_{};
  mutable std::deque<std::pair<int64_t, int64_t>> latencies_;  // (time_ms, end_to_end_ms)
  std::unordered_map<std::string, RecordOutcome> outcomes_;    // by bucket + "/" + key
  std::deque<std::string> outcome_order_;                      // oldest first
  int64_t made_total_ = 0;
  int64_t failed_total_ = 0;
};

}  // namespace thumbflow::dashboard
