#include "storage/keys.h"

#include <gtest/gtest.h>

namespace thumbflow {
namespace {

TEST(KeysTest, ObjectKeysFollowS3Rules) {
  EXPECT_TRUE(ValidateObjectKey("uploads/a.jpg").ok());
  EXPECT_TRUE(ValidateObjectKey("with space+plus%percent/日本.jpg").ok());
  EXPECT_TRUE(ValidateObjectKey("../legal/on/s3").ok());
  EXPECT_TRUE(ValidateObjectKey("/leading/slash").ok());
  EXPECT_TRUE(ValidateObjectKey(std::string(1024, 'k')).ok());

  EXPECT_FALSE(ValidateObjectKey("").ok());
  EXPECT_FALSE(ValidateObjectKey(std::string(1025, 'k')).ok());
  EXPECT_FALSE(ValidateObjectKey(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateObjectKey("bad\xff utf8").ok());
  EXPECT_EQ(ValidateObjectKey("").code(), StatusCode::kInvalidArgument);
}

TEST(KeysTest, ErrorsDoNotEchoLongKeys) {
  Status s = ValidateObjectKey(std::string(5000, 'k'));
  ASSERT_FALSE(s.ok());
  EXPECT_LT(s.message().size(), 200u);
  EXPECT_NE(s.message().find("1024"), std::string::npos);
}

TEST(KeysTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("é日😀"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe6\x97"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

TEST(KeysTest, PipelineKeysCannotEscape) {
  EXPECT_TRUE(ValidatePipelineKey("thumbnails/small/uploads/a b.jpg").ok());
  EXPECT_TRUE(ValidatePipelineKey("a..b/c...d").ok());
  EXPECT_FALSE(ValidatePipelineKey("/etc/passwd").ok());
  EXPECT_FALSE(ValidatePipelineKey("thumbnails/../../etc").ok());
  EXPECT_FALSE(ValidatePipelineKey("..").ok());
  EXPECT_FALSE(ValidatePipelineKey("a/..").ok());
  EXPECT_FALSE(ValidatePipelineKey("a/./b").ok());
  EXPECT_FALSE(ValidatePipelineKey("a//b").ok());
  EXPECT_FALSE(ValidatePipelineKey("a/b/").ok());
  EXPECT_FALSE(ValidatePipelineKey("a\\..\\b").ok());
  EXPECT_FALSE(ValidatePipelineKey(std::string("a\0b", 3)).ok());
}

TEST(KeysTest, BucketNames) {
  EXPECT_TRUE(ValidateBucketName("images").ok());
  EXPECT_TRUE(ValidateBucketName("my-bucket.2024").ok());
  EXPECT_FALSE(ValidateBucketName("ab").ok());
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateBucketName("Images").ok());
  EXPECT_FALSE(ValidateBucketName("-images").ok());
  EXPECT_FALSE(ValidateBucketName("images-").ok());
  EXPECT_FALSE(ValidateBucketName("a..b").ok());
  EXPECT_FALSE(ValidateBucketName("192.168.0.1").ok());
  EXPECT_TRUE(ValidateBucketName(std::string(63, 'a')).ok());
  EXPECT_TRUE(ValidateBucketName("abc").ok());
  EXPECT_TRUE(ValidateBucketName("a-b.c-d").ok());
  EXPECT_TRUE(ValidateBucketName("a--b").ok());
  EXPECT_TRUE(ValidateBucketName("192.168.0.1x").ok());
  EXPECT_TRUE(ValidateBucketName("xn-a").ok());
  EXPECT_TRUE(ValidateBucketName("s3alias-b").ok());
}

// Each rule S3 names, with the message saying which rule was broken.
TEST(KeysTest, BucketNamesRefusedAsS3RefusesThem) {
  const std::pair<const char*, const char*> kRefused[] = {
      {"foo-.bar", "\"-.\""},
      {"foo.-bar", "\".-\""},
      {"a..b", "\"..\""},
      {"xn--bucket", "\"xn--\""},
      {"sthree-bucket", "\"sthree-\""},
      {"sthree-configurator", "\"sthree-\""},
      {"bucket-s3alias", "\"-s3alias\""},
      {"bucket--ol-s3", "\"--ol-s3\""},
      {"10.0.0.1", "IP address"},
      {"a_b", "lower-case"},
      {"Abc", "lower-case"},
      {"ab", "3 to 63"},
      {".abc", "start and end"},
      {"abc-", "start and end"},
  };
  for (const auto& [name, rule] : kRefused) {
    Status s = ValidateBucketName(name);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(s.message().find(rule), std::string::npos) << name << ": " << s.message();
  }
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateBucketName("under_score").ok());
  EXPECT_FALSE(ValidateBucketName("../x").ok());
}

TEST(KeysTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("a/"), "a0");
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff\xff")), "b");
  EXPECT_EQ(PrefixSuccessor(""), "");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff")), "");
}

}  // namespace
}  // namespace thumbflow
