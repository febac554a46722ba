#include "core/process_metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <string>

#include <gtest/gtest.h>

#include "core/build_info.h"

namespace thumbflow {
namespace {

TEST(ProcessMetricsTest, ParsesAStatLineWhoseNameHoldsSpacesAndParentheses) {
  // Fields 3.. of a real line; utime 250, stime 50 ticks; starttime 1000; vsize; rss pages.
  std::string stat =
      "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 1000 "
      "123456789 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  std::optional<ProcessStats> stats = ParseProcStat(stat, 100, 4096, 1'700'000'000);
  ASSERT_TRUE(stats.has_value());
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1'700'000'010.0);
  EXPECT_EQ(stats->virtual_bytes, 123456789);
  EXPECT_EQ(stats->resident_bytes, 300 * 4096);
}

TEST(ProcessMetricsTest, RefusesTextThatIsNotAStatLine) {
  EXPECT_FALSE(ParseProcStat("", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("no parenthesis here", 100, 4096, 0).has_value());
}

TEST(ProcessMetricsTest, ReadsThisProcess) {
  std::optional<ProcessStats> before = ReadProcessStats();
  ASSERT_TRUE(before.has_value());
  EXPECT_GT(before->resident_bytes, 0);
  EXPECT_GE(before->virtual_bytes, before->resident_bytes);
  EXPECT_GE(before->open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GT(before->max_fds, before->open_fds);
  EXPECT_GT(before->start_time_seconds, 1'000'000'000);
  EXPECT_LE(before->start_time_seconds, static_cast<double>(std::time(nullptr)) + 1);
  // One more descriptor is seen.
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::optional<ProcessStats> after = ReadProcessStats();
  ::close(fd);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->open_fds, before->open_fds + 1);
}

TEST(ProcessMetricsTest, RegisteredFamiliesAreRenderedUnderTheStandardNames) {
  MetricsRegistry registry;
  RegisterProcessMetrics(registry);
  RegisterBuildInfo(registry, "8.14.1");
  std::string text = registry.RenderText();
  for (const char* family :
       {"# TYPE process_cpu_seconds_total counter", "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_virtual_memory_bytes gauge", "# TYPE process_start_time_seconds gauge",
        "# TYPE process_open_fds gauge", "# TYPE process_max_fds gauge",
        "# TYPE thumbflow_build_info gauge"}) {
    EXPECT_NE(text.find(family), std::string::npos) << family << "\n" << text;
  }
  std::string info = "thumbflow_build_info{version=\"" + std::string(ThumbflowVersion()) + "\"";
  EXPECT_NE(text.find(info), std::string::npos) << text;
  EXPECT_NE(text.find("libvips=\"8.14.1\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("process_open_fds 0\n"), std::string::npos) << text;
}

TEST(ProcessMetricsTest, CollectorsRunAtEveryRender) {
  MetricsRegistry registry;
  int runs = 0;
  registry.AddCollector([&] {
    ++runs;
    registry.GetGauge("g", "help").Set(runs);
  });
  EXPECT_NE(registry.RenderText().find("g 1\n"), std::string::npos);
  EXPECT_NE(registry.RenderText().find("g 2\n"), std::string::npos);
}

}  // namespace
}  // namespace thumbflow
