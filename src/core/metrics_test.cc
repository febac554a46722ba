#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace thumbflow {
namespace {

TEST(MetricsTest, CounterWithLabelsRendersHelpTypeAndSamples) {
  MetricsRegistry registry;
  Counter& ok = registry.GetCounter("tf_requests_total", "Requests served.",
                                    {{"operation", "GetObject"}, {"status", "200"}});
  ok.Increment();
  ok.Increment(2);
  registry
      .GetCounter("tf_requests_total", "ignored", {{"operation", "PutObject"}, {"status", "403"}})
      .Increment();
  EXPECT_EQ(registry.RenderText(),
            "# HELP tf_requests_total Requests served.\n"
            "# TYPE tf_requests_total counter\n"
            "tf_requests_total{operation=\"GetObject\",status=\"200\"} 3\n"
            "tf_requests_total{operation=\"PutObject\",status=\"403\"} 1\n");
}

TEST(MetricsTest, SameLabelsReturnSameChild) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("c", "h", {{"k", "v"}});
  Counter& b = registry.GetCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  Counter& other = registry.GetCounter("c", "h", {{"k", "w"}});
  EXPECT_NE(&a, &other);
}

TEST(MetricsTest, CounterIgnoresNegativeDeltas) {
  MetricsRegistry registry;
  Counter& c = registry.GetCounter("c", "h");
  c.Increment(5);
  c.Increment(-3);
  EXPECT_EQ(c.Value(), 5);
}

TEST(MetricsTest, GaugeGoesUpAndDown) {
  MetricsRegistry registry;
  Gauge& g = registry.GetGauge("in_flight", "In flight.");
  g.Add(3);
  g.Add(-1);
  EXPECT_EQ(g.Value(), 2);
  g.Set(0.5);
  EXPECT_EQ(registry.RenderText(),
            "# HELP in_flight In flight.\n# TYPE in_flight gauge\nin_flight 0.5\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  Histogram& h = registry.GetHistogram("lat_seconds", "Latency.", {{"op", "get"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // upper bounds are inclusive
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(registry.RenderText(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
            "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{op=\"get\"} 7.65\n"
            "lat_seconds_count{op=\"get\"} 4\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  registry.GetCounter("c", "line1\nback\\slash", {{"key", "a\"b\\c\nd"}}).Increment();
  EXPECT_EQ(registry.RenderText(),
            "# HELP c line1\\nback\\\\slash\n"
            "# TYPE c counter\n"
            "c{key=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, FamiliesAreSortedByName) {
  MetricsRegistry registry;
  registry.GetCounter("zz", "z").Increment();
  registry.GetCounter("aa", "a").Increment();
  std::string text = registry.RenderText();
  EXPECT_LT(text.find("# HELP aa"), text.find("# HELP zz"));
}

TEST(MetricsTest, TypeConflictIsReportedNotExported) {
  MetricsRegistry registry;
  registry.GetCounter("m", "counter").Increment();
  Gauge& g = registry.GetGauge("m", "gauge");
  g.Set(42);
  std::string text = registry.RenderText();
  EXPECT_EQ(text.find("42"), std::string::npos) << text;
  EXPECT_NE(text.find("# conflict: m requested as gauge but registered as counter"),
            std::string::npos)
      << text;
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&registry] {
      for (int i = 0; i < 10000; ++i) {
        registry.GetCounter("c", "h", {{"k", "v"}}).Increment();
        registry.GetHistogram("h", "h").Observe(0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry.GetCounter("c", "h", {{"k", "v"}}).Value(), 80000);
  EXPECT_EQ(registry.GetHistogram("h", "h").Count(), 80000u);
  EXPECT_EQ(registry.GetHistogram("h", "h").CumulativeCount(1), 80000u);  // <= 0.0025
}

}  // namespace
}  // namespace thumbflow
