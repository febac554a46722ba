#include "core/uri.h"

#include <gtest/gtest.h>

namespace thumbflow {
namespace {

TEST(UriTest, EncodesEverythingButUnreservedWithUpperCaseHex) {
  EXPECT_EQ(PercentEncode("a b+c%/ü~*.jpg"), "a%20b%2Bc%25%2F%C3%BC~%2A.jpg");
  EXPECT_EQ(PercentEncode("a b/c", {.keep_slash = true}), "a%20b/c");
}

TEST(UriTest, EncodesS3EventKeysLikeS3) {
  const PercentEncoding event_key{.keep_slash = true, .form = true};
  EXPECT_EQ(PercentEncode("up loads/a*b+c~.jpg", event_key), "up+loads/a*b%2Bc%7E.jpg");
}

TEST(UriTest, DecodesWhatItEncodes) {
  const std::string key = "dir/ä ö+ü%20.JPG\x01";
  for (bool plus : {false, true}) {
    const PercentEncoding how{.keep_slash = true, .form = plus};
    Result<std::string> back = PercentDecode(PercentEncode(key, how), plus);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, key);
  }
  EXPECT_EQ(*PercentDecode("a+b"), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("%2f%2F"), "//");
}

TEST(UriTest, RefusesBrokenEscapesNamingTheOffset) {
  for (const char* bad : {"%", "%4", "ab%zz", "%4g"}) {
    Result<std::string> r = PercentDecode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("offset"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace thumbflow
