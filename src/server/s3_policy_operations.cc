// Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus (s3_operations.h). AuthorizeRequest
// has let only the bucket's owner through to the first three.
#include "server/s3_auth.h"
#include "server/s3_operations.h"
#include "server/s3_policy.h"
#include "server/s3_protocol.h"

namespace thumbflow::server {

HttpReply PutBucketPolicy(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  std::string_view document = r.body ? r.body->memory() : std::string_view();
  S3Error error;
  AclUsers users = UsersOf(cx.options);
  Result<BucketPolicy> policy = BucketPolicy::Parse(document, r.bucket, &users, &error);
  if (!policy.ok()) return ErrorReply(r, cx.clock, std::move(error));
  // BlockPublicPolicy: a policy that grants everyone is refused.
  if (std::optional<S3Error> blocked = CheckPublicPolicyAllowed(cx, *bucket, *policy)) {
    return ErrorReply(r, cx.clock, std::move(*blocked));
  }
  // Kept byte for byte: GetBucketPolicy answers the document as it was put.
  Status put = cx.policies.Put(*bucket, document);
  if (!put.ok()) return StatusReply(r, cx.clock, put, true);
  return EmptyReply(r, cx.clock, 204);
}

HttpReply GetBucketPolicy(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Result<std::optional<std::string>> document = cx.policies.Get(*bucket);
  if (!document.ok()) return StatusReply(r, cx.clock, document.status(), true);
  if (!*document) return ErrorReply(r, cx.clock, MakeError("NoSuchBucketPolicy"));
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  reply.headers.emplace_back("Content-Type", "application/json");
  reply.body = std::move(**document);
  return reply;
}

HttpReply DeleteBucketPolicy(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Status removed = cx.policies.Delete(*bucket);  // none: 204 all the same, as S3
  if (!removed.ok()) return StatusReply(r, cx.clock, removed, true);
  return EmptyReply(r, cx.clock, 204);
}

HttpReply GetBucketPolicyStatus(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Result<std::shared_ptr<const BucketPolicy>> policy = cx.policies.GetParsed(*bucket);
  if (!policy.ok()) return StatusReply(r, cx.clock, policy.status(), true);
  // "Whether the bucket is public", with S3's meaning of public: a policy that grants
  // everyone, or a bucket ACL that grants AllUsers or AuthenticatedUsers.
  bool is_public = *policy && (*policy)->IsPublic();
  is_public = is_public || IsPublicAcl(DecodeAcl(bucket->acl, BucketOwner(cx.options, *bucket)));
  return XmlReply(r, cx.clock,
                  std::string("<PolicyStatus xmlns=\"") + kS3XmlNamespace + "\"><IsPublic>" +
                      (is_public ? "true" : "false") + "</IsPublic></PolicyStatus>");
}

}  // namespace thumbflow::server
