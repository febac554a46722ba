#include "pipeline/retry_policy.h"

#include <set>

#include <gtest/gtest.h>

namespace thumbflow::pipeline {
namespace {

TEST(RetryPolicyTest, DoublesUpToTheMaximumWithoutJitter) {
  RetryPolicy policy({/*base_s=*/2, /*max_s=*/30, /*jitter=*/0}, 1);
  EXPECT_EQ(policy.DelaySeconds(1), 2);
  EXPECT_EQ(policy.DelaySeconds(2), 4);
  EXPECT_EQ(policy.DelaySeconds(3), 8);
  EXPECT_EQ(policy.DelaySeconds(4), 16);
  EXPECT_EQ(policy.DelaySeconds(5), 30);
  EXPECT_EQ(policy.DelaySeconds(100), 30);
  EXPECT_EQ(policy.DelaySeconds(0), 2);
}

TEST(RetryPolicyTest, JitterStaysWithinItsShareAndVaries) {
  RetryPolicy policy({/*base_s=*/10, /*max_s=*/1000, /*jitter=*/0.5}, 42);
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    int d = policy.DelaySeconds(3);  // 40 s nominal: 20..40
    EXPECT_GE(d, 20);
    EXPECT_LE(d, 40);
    seen.insert(d);
  }
  EXPECT_GT(seen.size(), 5u);
}

TEST(RetryPolicyTest, NeverBeyondTheQueueLimit) {
  RetryPolicy policy({/*base_s=*/40000, /*max_s=*/100000, /*jitter=*/0}, 1);
  EXPECT_EQ(policy.DelaySeconds(3), 43200);
}

}  // namespace
}  // namespace thumbflow::pipeline
