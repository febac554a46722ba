#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace thumbflow {
namespace {

enum MetricType { kCounter = 0, kGauge = 1, kHistogram = 2 };

const char* TypeName(int type) {
  switch (type) {
    case kCounter:
      return "counter";
    case kGauge:
      return "gauge";
    default:
      return "histogram";
  }
}

void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

// Shortest round-trip representation; Prometheus spells the infinities +Inf / -Inf.
std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{k="v",k2="v2"}` with an optional extra pair (the histogram's `le`); empty when no labels.
std::string LabelText(const MetricLabels& labels, std::string_view extra_key = {},
                      std::string_view extra_value = {}) {
  if (labels.empty() && extra_key.empty()) return {};
  std::string out = "{";
  bool first = true;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    AppendEscaped(out, value, true);
    out += '"';
  };
  for (const auto& [key, value] : labels) add(key, value);
  if (!extra_key.empty()) add(extra_key, extra_value);
  out += '}';
  return out;
}

std::string LabelKey(const MetricLabels& labels) {
  std::string key;
  for (const auto& [k, v] : labels) {
    key += k;
    key += '\0';
    key += v;
    key += '\0';
  }
  return key;
}

}  // namespace

void Counter::Increment(double delta) {
  if (!(delta > 0)) return;
  AtomicAdd(value_, delta);
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
  std::sort(upper_bounds_.begin(), upper_bounds_.end());
  upper_bounds_.erase(std::unique(upper_bounds_.begin(), upper_bounds_.end()), upper_bounds_.end());
  upper_bounds_.erase(std::remove_if(upper_bounds_.begin(), upper_bounds_.end(),
                                     [](double b) { return std::isnan(b) || std::isinf(b); }),
                      upper_bounds_.end());
  bucket_counts_ = std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1);
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) bucket_counts_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  bucket_counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t j = 0; j <= i && j <= upper_bounds_.size(); ++j) {
    total += bucket_counts_[j].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> DefaultSizeBuckets() {
  std::vector<double> bounds;
  for (double b = 1024; b <= 1024.0 * 1024 * 1024; b *= 4) bounds.push_back(b);
  return bounds;
}

struct MetricsRegistry::Family {
  struct Child {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<double> upper_bounds;
  std::vector<std::unique_ptr<Child>> children;  // creation order
  std::map<std::string, Child*> by_labels;

  Child& ChildFor(const MetricLabels& labels, int child_type, const std::vector<double>& bounds) {
    std::string key = LabelKey(labels);
    key += static_cast<char>('0' + child_type);
    auto it = by_labels.find(key);
    if (it != by_labels.end()) return *it->second;
    auto child = std::make_unique<Child>();
    child->labels = labels;
    if (child_type == kCounter) child->counter = std::make_unique<Counter>();
    if (child_type == kGauge) child->gauge = std::make_unique<Gauge>();
    if (child_type == kHistogram) child->histogram = std::make_unique<Histogram>(bounds);
    Child* raw = child.get();
    children.push_back(std::move(child));
    by_labels.emplace(std::move(key), raw);
    return *raw;
  }
};

MetricsRegistry::MetricsRegistry() : orphans_(std::make_unique<Family>()) {}
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help,
                                                    int type,
                                                    const std::vector<double>* upper_bounds) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->name = std::string(name);
    family->help = std::string(help);
    family->type = type;
    if (upper_bounds) family->upper_bounds = Histogram(*upper_bounds).upper_bounds();
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  if (it->second->type != type) {
    std::string conflict = std::string(name) + " requested as " + TypeName(type) +
                           " but registered as " + TypeName(it->second->type);
    if (std::find(conflicts_.begin(), conflicts_.end(), conflict) == conflicts_.end()) {
      conflicts_.push_back(std::move(conflict));
    }
    return *orphans_;
  }
  return *it->second;
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  return *FamilyFor(name, help, kCounter, nullptr).ChildFor(labels, kCounter, {}).counter;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  return *FamilyFor(name, help, kGauge, nullptr).ChildFor(labels, kGauge, {}).gauge;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const MetricLabels& labels,
                                         const std::vector<double>& upper_bounds) {
  std::lock_guard lock(mu_);
  Family& family = FamilyFor(name, help, kHistogram, &upper_bounds);
  const std::vector<double>& bounds =
      &family == orphans_.get() ? upper_bounds : family.upper_bounds;
  return *family.ChildFor(labels, kHistogram, bounds).histogram;
}

void MetricsRegistry::AddCollector(std::function<void()> collect) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::RenderText() const {
  {
    std::lock_guard collecting(collectors_mu_);
    for (const auto& collect : collectors_) collect();
  }
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + ' ';
    AppendEscaped(out, family->help, false);
    out += "\n# TYPE " + name + ' ' + TypeName(family->type) + '\n';
    for (const auto& child : family->children) {
      if (child->counter) {
        out += name + LabelText(child->labels) + ' ' + FormatNumber(child->counter->Value()) + '\n';
      } else if (child->gauge) {
        out += name + LabelText(child->labels) + ' ' + FormatNumber(child->gauge->Value()) + '\n';
      } else if (child->histogram) {
        const Histogram& h = *child->histogram;
        // Read the buckets first and derive +Inf from them, so the rendered buckets are
        // always monotonic even while other threads observe.
        uint64_t cumulative = 0;
        for (size_t i = 0; i < h.upper_bounds().size(); ++i) {
          cumulative = std::max(cumulative, h.CumulativeCount(i));
          out += name + "_bucket" +
                 LabelText(child->labels, "le", FormatNumber(h.upper_bounds()[i])) + ' ' +
                 std::to_string(cumulative) + '\n';
        }
        uint64_t total = std::max(cumulative, h.CumulativeCount(h.upper_bounds().size()));
        out += name + "_bucket" + LabelText(child->labels, "le", "+Inf") + ' ' +
               std::to_string(total) + '\n';
        out += name + "_sum" + LabelText(child->labels) + ' ' + FormatNumber(h.Sum()) + '\n';
        out += name + "_count" + LabelText(child->labels) + ' ' + std::to_string(total) + '\n';
      }
    }
  }
  for (const std::string& conflict : conflicts_) out += "# conflict: " + conflict + '\n';
  return out;
}

}  // namespace thumbflow
