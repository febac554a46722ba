#include "core/status.h"

#include <set>
#include <string_view>

#include <gtest/gtest.h>

#include "core/result.h"

namespace thumbflow {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status().ok() ? Status::Ok() : Half(x).status());
  return Status::Ok();
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, CarriesReasonAndRetryBit) {
  Status s = UnavailableError("peer down").WithContext("get images/a.jpg");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.message(), "get images/a.jpg: peer down");
  Status p = InvalidArgumentError("bad").WithReason(Reason::kTruncated);
  EXPECT_FALSE(p.retryable());
  EXPECT_EQ(p.reason(), Reason::kTruncated);
  EXPECT_TRUE(p.error_code().empty());
  EXPECT_EQ(p.ToString(), "InvalidArgument: bad [truncated]");
}

TEST(StatusTest, APeersErrorCodeIsNotAReason) {
  Status s(StatusCode::kNotFound, "no bucket", "NoSuchBucket");
  EXPECT_EQ(s.reason(), Reason::kNone);
  EXPECT_EQ(s.error_code(), "NoSuchBucket");
  Status both = s.WithReason(Reason::kNoSuchBucket);
  EXPECT_EQ(both.reason(), Reason::kNoSuchBucket);
  EXPECT_EQ(both.error_code(), "NoSuchBucket");
  EXPECT_EQ(both.ToString(), "NotFound: no bucket [no-such-bucket] [NoSuchBucket]");
  EXPECT_FALSE(both == s);
}

TEST(ReasonTest, EveryReasonHasOneDistinctNameThatRoundTrips) {
  std::set<std::string_view> names;
  for (int i = static_cast<int>(Reason::kNotAnImage); i <= static_cast<int>(Reason::kSuffix); ++i) {
    Reason reason = static_cast<Reason>(i);
    std::string_view name = ReasonName(reason);
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(ReasonFromName(name), reason) << name;
  }
  EXPECT_EQ(ReasonName(Reason::kNone), "");
  EXPECT_EQ(ReasonFromName(""), Reason::kNone);
  EXPECT_EQ(ReasonFromName("NoSuchBucket"), Reason::kNone);
  // Names are user contracts (DLQ entries, metric labels): a few, spelled out.
  EXPECT_EQ(ReasonName(Reason::kNotAnImage), "not-an-image");
  EXPECT_EQ(ReasonName(Reason::kMaxReceives), "max-receives");
  EXPECT_EQ(ReasonName(Reason::kOutsidePrefix), "outside-prefix");
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

TEST(ResultTest, OkStatusIsNotAValue) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace thumbflow
