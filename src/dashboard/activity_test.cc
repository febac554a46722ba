#include "dashboard/activity.h"

#include <gtest/gtest.h>

#include "pipeline/record_processor.h"

namespace thumbflow::dashboard {
namespace {

pipeline::RecordResult Record(std::string key, pipeline::Outcome outcome,
                              int64_t end_to_end_ms = -1, Reason reason = Reason::kNone) {
  pipeline::RecordResult r;
  r.bucket = "images";
  r.key = std::move(key);
  r.outcome = outcome;
  r.reason = reason;
  r.end_to_end_ms = end_to_end_ms;
  return r;
}

pipeline::MessageResult Message(std::vector<pipeline::RecordResult> records) {
  pipeline::MessageResult m;
  m.records = std::move(records);
  return m;
}

TEST(ActivityTest, CountsMadeAndFailedAndTheirRateInTheCurrentBucket) {
  ManualClock clock(1'700'000'000'000);  // a multiple of 10 s: the bucket has just begun
  Activity activity(clock);
  pipeline::RecordResult duplicate = Record("uploads/d.jpg", pipeline::Outcome::kOk, 5);
  duplicate.duplicate = true;
  pipeline::RecordResult removal = Record("uploads/e.jpg", pipeline::Outcome::kOk);
  removal.removal = true;
  activity.Observe(
      Message({Record("uploads/a.jpg", pipeline::Outcome::kOk, 100),
               Record("uploads/b.jpg", pipeline::Outcome::kOk, 300), duplicate, removal,
               Record("uploads/c.jpg", pipeline::Outcome::kPermanent, -1, Reason::kNotAnImage)}));
  clock.AdvanceMillis(1500);
  ActivitySnapshot s = activity.Snapshot();
  EXPECT_EQ(s.made_total, 2);  // the duplicate and the removal made nothing
  EXPECT_EQ(s.failed_total, 1);
  ASSERT_EQ(s.made_per_second.size(), Activity::kWindowSeconds / Activity::kBucketSeconds);
  EXPECT_DOUBLE_EQ(s.made_per_second.back(), 1.0);  // 2 in the 2 s the bucket has lasted
  EXPECT_DOUBLE_EQ(s.failed_per_second.back(), 0.5);
  EXPECT_DOUBLE_EQ(s.made_per_second.front(), 0.0);
  EXPECT_EQ(s.latency_samples, 2);
  EXPECT_EQ(s.p50_ms, 100);
  EXPECT_EQ(s.p95_ms, 300);
}

TEST(ActivityTest, TheWindowSlidesButTotalsStay) {
  ManualClock clock;
  Activity activity(clock);
  activity.Observe(Message({Record("uploads/a.jpg", pipeline::Outcome::kOk, 100)}));
  clock.AdvanceSeconds(60);
  ActivitySnapshot minute_later = activity.Snapshot();
  double sum = 0;
  for (double v : minute_later.made_per_second) sum += v;
  EXPECT_DOUBLE_EQ(sum, 0.1);  // one record in a full 10 s bucket
  clock.AdvanceSeconds(Activity::kWindowSeconds);
  ActivitySnapshot s = activity.Snapshot();
  for (double v : s.made_per_second) EXPECT_EQ(v, 0.0);
  EXPECT_EQ(s.latency_samples, 0);
  EXPECT_EQ(s.p50_ms, -1);
  EXPECT_EQ(s.made_total, 1);
}

TEST(ActivityTest, RemembersTheLastOutcomePerSourceWithinItsCap) {
  ManualClock clock;
  Activity activity(clock);
  activity.Observe(
      Message({Record("uploads/a.jpg", pipeline::Outcome::kPermanent, -1, Reason::kTruncated)}));
  std::optional<RecordOutcome> a = activity.LastOutcome("images", "uploads/a.jpg");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->outcome, "permanent");
  EXPECT_EQ(a->reason, "truncated");
  activity.Observe(Message({Record("uploads/a.jpg", pipeline::Outcome::kOk, 10)}));
  EXPECT_EQ(activity.LastOutcome("images", "uploads/a.jpg")->outcome, "ok");
  EXPECT_EQ(activity.LastOutcome("images", "uploads/a.jpg")->reason, "");
  EXPECT_FALSE(activity.LastOutcome("other", "uploads/a.jpg"));
  for (size_t i = 0; i < Activity::kMaxOutcomes; ++i) {
    activity.Observe(Message({Record("uploads/n" + std::to_string(i), pipeline::Outcome::kOk)}));
  }
  EXPECT_FALSE(activity.LastOutcome("images", "uploads/a.jpg"));  // the oldest went first
  EXPECT_TRUE(activity.LastOutcome("images", "uploads/n9999"));
}

}  // namespace
}  // namespace thumbflow::dashboard
