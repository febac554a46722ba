#include "server/s3_bucket_config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/testing/temp_dir.h"
#include "server/s3_tagging.h"

namespace thumbflow::server {
namespace {

std::string Block(std::string_view inner) {
  return "<PublicAccessBlockConfiguration>" + std::string(inner) +
         "</PublicAccessBlockConfiguration>";
}

TEST(PublicAccessBlockXmlTest, MissingSwitchesAreFalseAndWhatIsWrittenReadsBack) {
  S3Error error;
  Result<PublicAccessBlock> some = ParsePublicAccessBlockXml(
      Block(
          "<IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>false</BlockPublicPolicy>"),
      &error);
  ASSERT_TRUE(some.ok());
  EXPECT_FALSE(some->block_public_acls);
  EXPECT_TRUE(some->ignore_public_acls);
  EXPECT_FALSE(some->block_public_policy);
  EXPECT_FALSE(some->restrict_public_buckets);
  Result<PublicAccessBlock> again = ParsePublicAccessBlockXml(PublicAccessBlockXml(*some), &error);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->ignore_public_acls);
  EXPECT_FALSE(again->block_public_acls);
  EXPECT_NE(PublicAccessBlockXml(*some).find("<RestrictPublicBuckets>false"), std::string::npos);
}

TEST(PublicAccessBlockXmlTest, OtherDocumentsAreMalformedXml) {
  for (const std::string& body :
       {std::string("not xml"), std::string("<Other/>"),
        Block("<BlockPublicAcls>yes</BlockPublicAcls>"), Block("<Colour>true</Colour>"),
        Block("<BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>false</BlockPublicAcls>")}) {
    S3Error error;
    EXPECT_FALSE(ParsePublicAccessBlockXml(body, &error).ok()) << body;
    EXPECT_EQ(error.code, "MalformedXML") << body;
  }
}

TEST(ServerSideEncryptionXmlTest, WellFormedOrMalformed) {
  const std::string good =
      "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
      "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
      "</ServerSideEncryptionConfiguration>";
  EXPECT_FALSE(CheckServerSideEncryptionConfigurationXml(good));
  EXPECT_EQ(CheckServerSideEncryptionConfigurationXml("<ServerSideEncryptionConfiguration/>")->code,
            "MalformedXML");
  EXPECT_EQ(CheckServerSideEncryptionConfigurationXml("<x")->code, "MalformedXML");
  std::string other = good;
  other.replace(other.find("AES256"), 6, "ROT13");
  EXPECT_EQ(CheckServerSideEncryptionConfigurationXml(other)->code, "InvalidArgument");
}

TEST(BucketTaggingTest, FiftyTagsThenBadRequestAfterTheOtherChecks) {
  auto body = [](int n, std::string_view extra = "") {
    std::string xml = "<Tagging><TagSet>";
    for (int i = 0; i < n; ++i) {
      xml += "<Tag><Key>k" + std::to_string(i) + "</Key><Value>v</Value></Tag>";
    }
    return xml + std::string(extra) + "</TagSet></Tagging>";
  };
  S3Error error;
  Result<TagSet> fifty = ParseTaggingXml(body(50), &error, TagTarget::kBucket);
  ASSERT_TRUE(fifty.ok());
  EXPECT_EQ(fifty->size(), 50u);
  EXPECT_FALSE(ParseTaggingXml(body(51), &error, TagTarget::kBucket).ok());
  EXPECT_EQ(error.code, "BadRequest");
  EXPECT_EQ(error.message, "Bucket tag count cannot be greater than 50");
  // A bad tag among too many is named first, as S3 answers.
  EXPECT_FALSE(ParseTaggingXml(body(51, "<Tag><Key>k0</Key><Value>v</Value></Tag>"), &error,
                               TagTarget::kBucket)
                   .ok());
  EXPECT_EQ(error.code, "InvalidTag");
  // An object's limit is still 10 (S3's answer: BadRequest).
  EXPECT_FALSE(ParseTaggingXml(body(11), &error).ok());
  EXPECT_EQ(error.code, "BadRequest");
  EXPECT_EQ(error.message, "Object tags cannot be greater than 10");
}

TEST(BucketConfigStoreTest, KeptAcrossStoresAndNeverInheritedByABucketMadeAgain) {
  testing::TempDir dir;
  const std::string root = dir.path() + "/bucket-config";
  BucketInfo bucket{"b", 1000, "", "", ""};
  {
    BucketConfigStore store(root);
    Result<std::optional<std::string>> none = store.Get(bucket, kBucketTaggingKind);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(*none);
    ASSERT_TRUE(store.Put(bucket, kBucketTaggingKind, "<tags/>").ok());
    ASSERT_TRUE(
        store.Put(bucket, kPublicAccessBlockKind, PublicAccessBlockXml({true, false, true, false}))
            .ok());
    EXPECT_EQ(*store.Get(bucket, kBucketTaggingKind), std::optional<std::string>("<tags/>"));
  }
  BucketConfigStore reopened(root);  // a restart reads the files
  EXPECT_EQ(*reopened.Get(bucket, kBucketTaggingKind), std::optional<std::string>("<tags/>"));
  Result<PublicAccessBlock> block = reopened.PublicAccess(bucket);
  ASSERT_TRUE(block.ok());
  EXPECT_TRUE(block->block_public_acls && block->block_public_policy);
  EXPECT_FALSE(block->ignore_public_acls || block->restrict_public_buckets);
  ASSERT_TRUE(reopened.Delete(bucket, kBucketTaggingKind).ok());
  EXPECT_FALSE(*reopened.Get(bucket, kBucketTaggingKind));
  ASSERT_TRUE(reopened.Delete(bucket, kBucketTaggingKind).ok());  // none: OK
  // The same name made again later has nothing of the old bucket's.
  BucketInfo again{"b", 2000, "", "", ""};
  EXPECT_FALSE(*reopened.Get(again, kPublicAccessBlockKind));
  ASSERT_TRUE(reopened.DeleteAll("b").ok());
  EXPECT_FALSE(*reopened.Get(bucket, kPublicAccessBlockKind));
  EXPECT_TRUE(std::filesystem::is_empty(root));
  // A stored block that does not parse is an error (AuthorizeRequest then blocks all).
  ASSERT_TRUE(reopened.Put(bucket, kPublicAccessBlockKind, "<damaged").ok());
  EXPECT_EQ(reopened.PublicAccess(bucket).status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace thumbflow::server
