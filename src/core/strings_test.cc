#include "core/strings.h"

#include <gtest/gtest.h>

namespace thumbflow {
namespace {

TEST(StringsTest, LowerCasesAsciiOnlyAndKeepsUtf8) {
  EXPECT_EQ(ToLowerAscii("Content-MD5"), "content-md5");
  EXPECT_EQ(ToLowerAscii("\xC3\x9C" "BER.JPG"), "\xC3\x9C" "ber.jpg");  // Ü stays
  std::string s = "X-Amz-Meta-ÄB";
  LowerAsciiInPlace(s);
  EXPECT_EQ(s, "x-amz-meta-Äb");
}

TEST(StringsTest, ComparesIgnoringAsciiCase) {
  EXPECT_TRUE(EqualsIgnoreCase("ETag", "etag"));
  EXPECT_FALSE(EqualsIgnoreCase("ETag", "etags"));
  EXPECT_FALSE(EqualsIgnoreCase("a", "b"));
  EXPECT_TRUE(StartsWithIgnoreCase("X-Amz-Date", "x-amz-"));
  EXPECT_FALSE(StartsWithIgnoreCase("x-am", "x-amz-"));
  EXPECT_TRUE(EndsWithIgnoreCase("photo.JPEG", ".jpeg"));
  EXPECT_FALSE(EndsWithIgnoreCase("jpeg", ".jpeg"));
  EXPECT_TRUE(EndsWithIgnoreCase("anything", ""));
}

}  // namespace
}  // namespace thumbflow
