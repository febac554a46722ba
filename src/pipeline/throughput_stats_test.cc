#include "pipeline/throughput_stats.h"

#include <gtest/gtest.h>

#include "core/testing/temp_dir.h"

namespace thumbflow::pipeline {
namespace {

MessageResult Done(std::vector<Outcome> outcomes) {
  MessageResult result;
  for (Outcome o : outcomes) {
    RecordResult r;
    r.outcome = o;
    result.records.push_back(r);
  }
  return result;
}

TEST(ThroughputStatsTest, CountsReachTheFileAndAreReadByWindow) {
  thumbflow::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto db = sqlite::Database::Open(dir.path() + "/thumbflow.db").value();
  ManualClock clock(60'000 * 1000);
  EXPECT_EQ(ThroughputStats::ReadRecent(*db, clock.NowMillis(), 60)->records, 0)
      << "no table yet reads as zero";
  {
    auto stats = ThroughputStats::Open(db, clock).value();
    stats->Add(Done({Outcome::kOk, Outcome::kOk, Outcome::kGone}));
    ASSERT_TRUE(stats->Flush().ok());
    clock.AdvanceSeconds(120);
    stats->Add(Done({Outcome::kPermanent}));
    stats->Add(Done({Outcome::kOk}));
  }  // the destructor flushes
  auto last_minute = ThroughputStats::ReadRecent(*db, clock.NowMillis(), 60).value();
  EXPECT_EQ(last_minute.messages, 2);
  EXPECT_EQ(last_minute.records, 2);
  EXPECT_EQ(last_minute.ok, 1);
  EXPECT_EQ(last_minute.permanent, 1);
  auto five = ThroughputStats::ReadRecent(*db, clock.NowMillis(), 300).value();
  EXPECT_EQ(five.records, 5);
  EXPECT_EQ(five.ok, 3);
  EXPECT_EQ(five.gone, 1);
}

TEST(ThroughputStatsTest, RemovalsAreCountedApartFromOk) {
  thumbflow::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto db = sqlite::Database::Open(dir.path() + "/thumbflow.db").value();
  ManualClock clock(60'000 * 1000);
  {
    auto stats = ThroughputStats::Open(db, clock).value();
    MessageResult result = Done({Outcome::kOk, Outcome::kOk});
    result.records[1].removal = true;  // its thumbnails deleted, none made
    stats->Add(result);
  }
  auto window = ThroughputStats::ReadRecent(*db, clock.NowMillis(), 60).value();
  EXPECT_EQ(window.records, 2);
  EXPECT_EQ(window.ok, 1);
  EXPECT_EQ(window.removed, 1);
}

}  // namespace
}  // namespace thumbflow::pipeline
