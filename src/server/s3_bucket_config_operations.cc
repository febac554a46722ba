// Put/Get/DeleteBucketTagging, Put/Get/DeleteBucketEncryption and Put/Get/
// DeletePublicAccessBlock (s3_operations.h). AuthorizeRequest has let only the bucket's owner
// through (or whom its policy allows).
#include "server/s3_bucket_config.h"
#include "server/s3_operations.h"
#include "server/s3_tagging.h"

namespace thumbflow::server {
namespace {

std::string_view BodyOf(const S3Request& r) {
  return r.body ? r.body->memory() : std::string_view();
}

// The bucket's document of `kind` as stored; none: 404 `missing_code`.
HttpReply GetDocument(const S3Context& cx, S3Request& r, std::string_view kind,
                      std::string_view missing_code) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Result<std::optional<std::string>> document = cx.configs.Get(*bucket, kind);
  if (!document.ok()) return StatusReply(r, cx.clock, document.status(), true);
  if (!*document) return ErrorReply(r, cx.clock, MakeError(missing_code));
  return XmlReply(r, cx.clock, std::move(**document));
}

// Removes the bucket's document of `kind`; none: 204 all the same, as S3.
HttpReply DeleteDocument(const S3Context& cx, S3Request& r, std::string_view kind) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Status removed = cx.configs.Delete(*bucket, kind);
  if (!removed.ok()) return StatusReply(r, cx.clock, removed, true);
  return EmptyReply(r, cx.clock, 204);
}

}  // namespace

HttpReply PutBucketTagging(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  S3Error error;
  Result<TagSet> tags = ParseTaggingXml(BodyOf(r), &error, TagTarget::kBucket);
  if (!tags.ok()) return ErrorReply(r, cx.clock, std::move(error));
  Status put = cx.configs.Put(*bucket, kBucketTaggingKind, TaggingXml(*tags));
  if (!put.ok()) return StatusReply(r, cx.clock, put, true);
  return EmptyReply(r, cx.clock, 204);
}

HttpReply GetBucketTagging(const S3Context& cx, S3Request& r) {
  return GetDocument(cx, r, kBucketTaggingKind, "NoSuchTagSet");
}

HttpReply DeleteBucketTagging(const S3Context& cx, S3Request& r) {
  return DeleteDocument(cx, r, kBucketTaggingKind);
}

// thumbflow stores objects as plain files: it never claims encryption at rest. A bucket has
// no default encryption (404, as S3 answered before it encrypted every bucket in 2023, and
// as MinIO answers a bucket without one), and none can be set.
HttpReply GetBucketEncryption(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  return ErrorReply(r, cx.clock, MakeError("ServerSideEncryptionConfigurationNotFoundError"));
}

HttpReply PutBucketEncryption(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  if (std::optional<S3Error> bad = CheckServerSideEncryptionConfigurationXml(BodyOf(r))) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  return ErrorReply(r, cx.clock,
                    MakeError("NotImplemented",
                              "thumbflow does not implement PutBucketEncryption: it stores "
                              "objects unencrypted, so it cannot apply a default encryption."));
}

HttpReply DeleteBucketEncryption(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  return EmptyReply(r, cx.clock, 204);  // there is never one to delete
}

HttpReply PutPublicAccessBlock(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  S3Error error;
  Result<PublicAccessBlock> block = ParsePublicAccessBlockXml(BodyOf(r), &error);
  if (!block.ok()) return ErrorReply(r, cx.clock, std::move(error));
  Status put = cx.configs.Put(*bucket, kPublicAccessBlockKind, PublicAccessBlockXml(*block));
  if (!put.ok()) return StatusReply(r, cx.clock, put, true);
  return EmptyReply(r, cx.clock, 200);
}

HttpReply GetPublicAccessBlock(const S3Context& cx, S3Request& r) {
  return GetDocument(cx, r, kPublicAccessBlockKind, "NoSuchPublicAccessBlockConfiguration");
}

HttpReply DeletePublicAccessBlock(const S3Context& cx, S3Request& r) {
  return DeleteDocument(cx, r, kPublicAccessBlockKind);
}

}  // namespace thumbflow::server
