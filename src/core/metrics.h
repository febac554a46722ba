// Metrics: a small thread-safe registry of Prometheus counters, gauges and histograms with
// labels, rendered in the Prometheus text exposition format (version 0.0.4).
//
// Usage: cli/ creates one MetricsRegistry and passes it down (no global registry). A
// component asks for a child once (a map lookup under a mutex) and keeps the reference:
//
//   Counter& puts = registry.GetCounter("thumbflow_s3_requests_total", "S3 requests.",
//                                       {{"operation", "PutObject"}, {"status", "200"}});
//   puts.Increment();
//
// Threads: every method of every class here may be called from any thread. Updating a child
// (Increment, Set, Observe) takes no registry lock. References returned by Get* stay valid
// for the life of the registry.
//
// Contract on names: a metric name is registered with one type, one help text, one label
// key set and (for histograms) one bucket list; the first Get* call fixes them. Asking for
// the same name with a different type is a programming error: the call returns a child that
// is counted but never exported (so a bug cannot crash the server), and RenderText() appends
// a comment naming the conflict.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace thumbflow {

// Label pairs in the order they are rendered. Keys must match [a-zA-Z_][a-zA-Z0-9_]*; values
// may hold any UTF-8 (escaped on output).
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing value. Negative deltas are ignored.
class Counter {
 public:
  void Increment(double delta = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (in-flight requests, queue depth).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into fixed buckets (upper bounds, inclusive, ascending) plus +Inf.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Cumulative count of observations <= upper_bounds()[i]; i == size() gives the total.
  uint64_t CumulativeCount(size_t i) const;
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;  // non-cumulative, size()+1
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Bucket bounds in seconds suited to request latencies (1 ms .. 60 s).
std::vector<double> DefaultLatencyBuckets();
// Bucket bounds in bytes (1 KiB .. 1 GiB, powers of 4).
std::vector<double> DefaultSizeBuckets();

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& GetCounter(std::string_view name, std::string_view help,
                      const MetricLabels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  // `upper_bounds` is used when the name is first registered (sorted, duplicates dropped);
  // later calls share the family's buckets.
  Histogram& GetHistogram(std::string_view name, std::string_view help,
                          const MetricLabels& labels = {},
                          const std::vector<double>& upper_bounds = DefaultLatencyBuckets());

  // Runs `collect` at the start of every RenderText(), before anything is read: for values
  // read from elsewhere when scraped (the process metrics read /proc). It may call Get*
  // and update children; it must not call RenderText(). Called on the scraping thread.
  void AddCollector(std::function<void()> collect);

  // The whole registry in the Prometheus text format, families sorted by name, children in
  // creation order. Content-Type: text/plain; version=0.0.4; charset=utf-8
  std::string RenderText() const;

 private:
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, int type,
                    const std::vector<double>* upper_bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
  std::vector<std::string> conflicts_;
  std::unique_ptr<Family> orphans_;   // children of conflicting requests; never rendered
  mutable std::mutex collectors_mu_;  // one collection at a time; never held with mu_ first
  std::vector<std::function<void()>> collectors_;
};

}  // namespace thumbflow
