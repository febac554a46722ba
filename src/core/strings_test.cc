#include "core/strings.h"

#include <gtest/gtest.h>

namespace thumbflow {
namespace {

TEST(StringsTest, LowerCasesAsciiOnlyAndKeepsUtf8) {
  EXPECT_EQ(ToLowerAscii("Content-MD5"), "content-md5");
  EXPECT_EQ(ToLowerAscii("ÜBER.JPG"), "Über.jpg");  // Ü (two bytes above 0x7F) stays
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

TEST(StringsTest, StartsWithAtAnOffset) {
  EXPECT_TRUE(StartsWithAt("RIFF....WEBP", 8, "WEBP"));
  EXPECT_FALSE(StartsWithAt("RIFF....WEB", 8, "WEBP"));
  EXPECT_FALSE(StartsWithAt("RIFF", 8, ""));  // offset past the end
  EXPECT_TRUE(StartsWithAt("RIFF", 4, ""));
}

TEST(StringsTest, HexEncodesLowerCaseAndDecodesEitherCase) {
  EXPECT_EQ(HexEncode(std::string_view("\x00\x01\xAB\xFF", 4)), "0001abff");
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexDecode("0001abFF"), std::string("\x00\x01\xAB\xFF", 4));
  EXPECT_EQ(HexDecode(""), "");
  EXPECT_EQ(HexDecode("abc"), std::nullopt);  // odd length
  EXPECT_EQ(HexDecode("0g"), std::nullopt);
  const std::string all = [] {
    std::string bytes;
    for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
    return bytes;
  }();
  EXPECT_EQ(HexDecode(HexEncode(all)), all);
}

}  // namespace
}  // namespace thumbflow
