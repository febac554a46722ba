#include "storage/etag.h"

#include <gtest/gtest.h>

namespace thumbflow {
namespace {

TEST(EtagTest, SinglePartIsQuotedMd5) {
  EXPECT_EQ(SinglePartEtag(""), "\"d41d8cd98f00b204e9800998ecf8427e\"");
  EXPECT_EQ(SinglePartEtag("hello"), "\"5d41402abc4b2a76b9719d911017c592\"");
}

TEST(EtagTest, StreamingMatchesOneShot) {
  Md5Hasher hasher;
  hasher.Update("hel");
  hasher.Update("");
  hasher.Update("lo");
  EXPECT_EQ(hasher.FinishHex(), "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(hasher.FinishHex(), "5d41402abc4b2a76b9719d911017c592");
}

TEST(EtagTest, MultipartEtagAsS3ComputesIt) {
  // md5(md5("a") || md5("b")) with the part count, as S3 and moto report it.
  auto etag = MultipartEtag({SinglePartEtag("a"), Md5Hex("b")});
  ASSERT_TRUE(etag.ok());
  std::string binary;
  for (const std::string& hex : {Md5Hex("a"), Md5Hex("b")}) {
    for (size_t i = 0; i < 32; i += 2) {
      binary += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
  }
  EXPECT_EQ(*etag, "\"" + Md5Hex(binary) + "-2\"");
  EXPECT_FALSE(MultipartEtag({}).ok());
  EXPECT_FALSE(MultipartEtag({"\"nothex\""}).ok());
}

TEST(EtagTest, Sha256) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(EtagTest, ConditionMatching) {
  const std::string etag = "\"5d41402abc4b2a76b9719d911017c592\"";
  EXPECT_TRUE(EtagConditionMatches(etag, etag));
  EXPECT_TRUE(EtagConditionMatches("5d41402abc4b2a76b9719d911017c592", etag));
  EXPECT_TRUE(EtagConditionMatches("*", etag));
  EXPECT_TRUE(EtagConditionMatches("\"other\", " + etag, etag));
  EXPECT_TRUE(EtagConditionMatches("W/" + etag, etag));
  EXPECT_FALSE(EtagConditionMatches("\"other\"", etag));
  EXPECT_FALSE(EtagConditionMatches("", etag));
}

TEST(EtagTest, Quoting) {
  EXPECT_EQ(QuoteEtag("abc"), "\"abc\"");
  EXPECT_EQ(UnquoteEtag("\"abc\""), "abc");
  EXPECT_EQ(UnquoteEtag("abc"), "abc");
}

}  // namespace
}  // namespace thumbflow
