#include "server/s3_operation.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace thumbflow::server {
namespace {

using Op = S3Operation;

struct Case {
  const char* method;
  const char* bucket;
  const char* key;
  std::vector<std::pair<std::string, std::string>> query;
  bool copy_source;
  Op operation;
  bool implemented;
};

std::string Describe(const Case& c) {
  std::string text = std::string(c.method) + " /" + c.bucket + "/" + c.key + "?";
  for (const auto& [k, v] : c.query) text += k + "=" + v + "&";
  if (c.copy_source) text += " (x-amz-copy-source)";
  return text;
}

// Every method x (service | bucket | object) x sub-resource the endpoint distinguishes.
const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      // The service.
      {"GET", "", "", {}, false, Op::kListBuckets, true},
      {"HEAD", "", "", {}, false, Op::kMethodNotAllowed, false},
      {"PUT", "", "", {}, false, Op::kMethodNotAllowed, false},
      {"POST", "", "", {}, false, Op::kMethodNotAllowed, false},
      {"DELETE", "", "", {}, false, Op::kMethodNotAllowed, false},
      // Buckets.
      {"PUT", "b", "", {}, false, Op::kCreateBucket, true},
      {"PUT", "b", "", {{"acl", ""}}, false, Op::kPutBucketAcl, true},
      {"PUT", "b", "", {{"lifecycle", ""}}, false, Op::kPutBucketLifecycleConfiguration, false},
      {"DELETE", "b", "", {{"lifecycle", ""}}, false, Op::kDeleteBucketLifecycle, false},
      {"PUT", "b", "", {{"object-lock", ""}}, false, Op::kPutObjectLockConfiguration, true},
      {"PUT", "b", "", {{"website", ""}}, false, Op::kPutBucketWebsite, false},
      {"GET", "b", "", {{"logging", ""}}, false, Op::kGetBucketLogging, false},
      {"PUT", "b", "", {{"policy", ""}}, false, Op::kPutBucketPolicy, true},
      {"GET", "b", "", {{"analytics", ""}}, false, Op::kListBucketAnalyticsConfigurations, false},
      {"GET",
       "b",
       "",
       {{"analytics", ""}, {"id", "x"}},
       false,
       Op::kGetBucketAnalyticsConfiguration,
       false},
      {"POST", "b", "", {{"acl", ""}}, false, Op::kMethodNotAllowed, false},
      {"HEAD", "b", "", {}, false, Op::kHeadBucket, true},
      {"DELETE", "b", "", {}, false, Op::kDeleteBucket, true},
      {"DELETE", "b", "", {{"tagging", ""}}, false, Op::kDeleteBucketTagging, true},
      {"PUT", "b", "", {{"encryption", ""}}, false, Op::kPutBucketEncryption, true},
      {"GET", "b", "", {{"publicAccessBlock", ""}}, false, Op::kGetPublicAccessBlock, true},
      {"DELETE", "b", "", {{"replication", ""}}, false, Op::kDeleteBucketReplication, false},
      {"GET", "b", "", {}, false, Op::kListObjects, true},
      {"GET", "b", "", {{"list-type", "1"}}, false, Op::kListObjects, true},
      {"GET", "b", "", {{"list-type", "2"}}, false, Op::kListObjectsV2, true},
      {"GET", "b", "", {{"list-type", "2"}, {"prefix", "a/"}}, false, Op::kListObjectsV2, true},
      {"GET", "b", "", {{"location", ""}}, false, Op::kGetBucketLocation, true},
      {"GET", "b", "", {{"versioning", ""}}, false, Op::kGetBucketVersioning, true},
      {"PUT", "b", "", {{"versioning", ""}}, false, Op::kPutBucketVersioning, true},
      {"GET", "b", "", {{"uploads", ""}}, false, Op::kListMultipartUploads, true},
      {"GET", "b", "", {{"acl", ""}}, false, Op::kGetBucketAcl, true},
      {"GET", "b", "", {{"policy", ""}}, false, Op::kGetBucketPolicy, true},
      {"GET", "b", "", {{"versions", ""}}, false, Op::kListObjectVersions, true},
      {"GET", "b", "", {{"versions", ""}, {"prefix", "a"}}, false, Op::kListObjectVersions, true},
      {"GET", "b", "", {{"list-type", "2"}, {"cors", ""}}, false, Op::kGetBucketCors, true},
      {"POST", "b", "", {{"delete", ""}}, false, Op::kDeleteObjects, true},
      {"POST", "b", "", {}, false, Op::kPostObject, true},
      {"PATCH", "b", "", {}, false, Op::kMethodNotAllowed, false},
      {"OPTIONS", "b", "", {}, false, Op::kOptionsObject, true},
      {"OPTIONS", "b", "k", {}, false, Op::kOptionsObject, true},
      // Objects.
      {"PUT", "b", "k", {}, false, Op::kPutObject, true},
      {"PUT", "b", "k", {}, true, Op::kCopyObject, true},
      {"PUT", "b", "k", {{"partNumber", "1"}, {"uploadId", "u"}}, false, Op::kUploadPart, true},
      {"PUT", "b", "k", {{"uploadId", "u"}}, false, Op::kUploadPart, true},
      {"PUT", "b", "k", {{"partNumber", "1"}}, false, Op::kUploadPart, true},
      {"PUT", "b", "k", {{"partNumber", "1"}, {"uploadId", "u"}}, true, Op::kUploadPartCopy, true},
      {"PUT", "b", "k", {{"acl", ""}}, false, Op::kPutObjectAcl, true},
      {"GET", "b", "k", {{"acl", ""}}, false, Op::kGetObjectAcl, true},
      {"PUT", "b", "k", {{"tagging", ""}}, true, Op::kPutObjectTagging, true},
      {"GET", "b", "k", {{"tagging", ""}}, false, Op::kGetObjectTagging, true},
      {"GET", "b", "k", {}, false, Op::kGetObject, true},
      {"GET", "b", "k", {{"response-content-type", "a/b"}}, false, Op::kGetObject, true},
      {"GET", "b", "k", {{"uploadId", "u"}}, false, Op::kListParts, true},
      {"GET", "b", "k", {{"torrent", ""}}, false, Op::kGetObjectTorrent, false},
      {"GET", "b", "k", {{"versionId", "v"}}, false, Op::kGetObject, true},
      {"PUT", "b", "k", {{"versionId", "v"}}, false, Op::kPutObject, false},
      {"PUT", "b", "k", {{"tagging", ""}, {"versionId", "v"}}, false, Op::kPutObjectTagging, true},
      {"PUT", "b", "k", {{"acl", ""}, {"versionId", "v"}}, false, Op::kPutObjectAcl, true},
      {"GET", "b", "k", {{"tagging", ""}, {"versionId", "v"}}, false, Op::kGetObjectTagging, true},
      {"GET", "b", "k", {{"versionId", "null"}}, false, Op::kGetObject, true},
      {"HEAD", "b", "k", {{"versionId", "null"}}, false, Op::kHeadObject, true},
      {"DELETE", "b", "k", {{"versionId", "null"}}, false, Op::kDeleteObject, true},
      {"DELETE", "b", "k", {{"versionId", "v"}}, false, Op::kDeleteObject, true},
      {"HEAD", "b", "k", {}, false, Op::kHeadObject, true},
      {"DELETE", "b", "k", {}, false, Op::kDeleteObject, true},
      {"DELETE", "b", "k", {{"uploadId", "u"}}, false, Op::kAbortMultipartUpload, true},
      {"DELETE", "b", "k", {{"tagging", ""}}, false, Op::kDeleteObjectTagging, true},
      {"POST", "b", "k", {{"uploads", ""}}, false, Op::kCreateMultipartUpload, true},
      {"POST", "b", "k", {{"uploadId", "u"}}, false, Op::kCompleteMultipartUpload, true},
      {"POST", "b", "k", {}, false, Op::kMethodNotAllowed, false},
      {"POST", "b", "k", {{"restore", ""}}, false, Op::kRestoreObject, false},
      {"POST", "b", "k", {{"select", ""}}, false, Op::kSelectObjectContent, false},
      {"PATCH", "b", "k", {}, false, Op::kMethodNotAllowed, false},
      {"get", "b", "k", {}, false, Op::kMethodNotAllowed, false},  // methods are case-sensitive
  };
  return *cases;
}

TEST(S3RouterTest, EachMethodAddressAndSubresourceNamesItsOperation) {
  for (const Case& c : Cases()) {
    aws::QueryParams query(c.query.begin(), c.query.end());
    S3Route route = RouteS3Request({c.method, c.bucket, c.key, &query, c.copy_source});
    EXPECT_EQ(S3OperationName(route.operation), S3OperationName(c.operation)) << Describe(c);
    EXPECT_EQ(route.implemented, c.implemented) << Describe(c);
  }
}

TEST(S3RouterTest, ANullQueryIsAnEmptyOne) {
  EXPECT_EQ(RouteS3Request({"GET", "b", "", nullptr, false}).operation, Op::kListObjects);
  EXPECT_TRUE(RouteS3Request({"PUT", "b", "", nullptr, false}).implemented);
}

TEST(S3RouterTest, RoutesThatAreNotCarriedOutGetTheirS3Error) {
  for (const Case& c : Cases()) {
    if (c.implemented) continue;
    aws::QueryParams query(c.query.begin(), c.query.end());
    S3Route route = RouteS3Request({c.method, c.bucket, c.key, &query, c.copy_source});
    S3Error error = RouteError(route, c.method, "/target");
    if (c.operation == Op::kMethodNotAllowed) {
      EXPECT_EQ(error.code, "MethodNotAllowed") << Describe(c);
      EXPECT_EQ(error.http_status, 405) << Describe(c);
    } else {
      EXPECT_EQ(error.code, "NotImplemented") << Describe(c);
      EXPECT_EQ(error.http_status, 501) << Describe(c);
      EXPECT_EQ(error.message, "thumbflow does not implement " +
                                   std::string(S3OperationName(c.operation)) + " (" + c.method +
                                   " /target).")
          << Describe(c);
    }
  }
}

TEST(S3RouterTest, NotImplementedQuotesAtMost200BytesOfTheTarget) {
  S3Error error = RouteError({Op::kPostObject, false}, "POST", "/b/" + std::string(500, 'k'));
  EXPECT_EQ(error.message,
            "thumbflow does not implement PostObject (POST /b/" + std::string(197, 'k') + ").");
}

TEST(S3RouterTest, EveryOperationHasADistinctName) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kS3OperationCount; ++i) {
    std::string_view name = S3OperationName(static_cast<Op>(i));
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(S3OperationName(Op::kListObjectsV2), "ListObjectsV2");
  EXPECT_EQ(S3OperationName(Op::kCompleteMultipartUpload), "CompleteMultipartUpload");
  EXPECT_EQ(S3OperationName(Op::kPutBucketAcl), "PutBucketAcl");
  EXPECT_EQ(S3OperationName(Op::kSelectObjectContent), "SelectObjectContent");
  EXPECT_EQ(S3OperationName(static_cast<Op>(kS3OperationCount - 1)), "OptionsObject");
}

}  // namespace
}  // namespace thumbflow::server
