// Get/Put Bucket/Object Acl (s3_operations.h). AuthorizeRequest has checked READ_ACP /
// WRITE_ACP before these run.
#include "server/s3_acl.h"
#include "server/s3_auth.h"
#include "server/s3_operations.h"

namespace thumbflow::server {
namespace {

bool HasAclHeader(const HttpRequestHead& head) {
  for (const auto& [name, value] : head.headers) {
    if (EqualsIgnoreCase(name, "x-amz-acl") || StartsWithIgnoreCase(name, "x-amz-grant-")) {
      return true;
    }
  }
  return false;
}

// The new ACL of a PutBucketAcl / PutObjectAcl, for a resource `owner` owns in a bucket
// `bucket_owner` owns: from its headers or its AccessControlPolicy body, exactly one of them.
Result<Acl> RequestedAcl(const S3Context& cx, const S3Request& r, const std::string& owner,
                         const std::string& bucket_owner, S3Error* error) {
  std::string_view body = r.body ? r.body->memory() : std::string_view();
  const bool headers = HasAclHeader(r.head);
  if (headers && !body.empty()) {
    *error = MakeError("UnexpectedContent", "This request does not support content");
    return InvalidArgumentError("both ACL headers and a body");
  }
  Result<std::optional<Acl>> from_headers =
      AclFromHeaders(r.head, owner, bucket_owner, UsersOf(cx.options), error);
  if (!from_headers.ok()) return from_headers.status();
  if (from_headers->has_value()) return Acl(**from_headers);
  if (body.empty()) {
    *error =
        MakeError("MissingSecurityHeader", "Your request was missing a required header: x-amz-acl");
    return InvalidArgumentError("no ACL given");
  }
  return ParseAccessControlPolicy(body, owner, UsersOf(cx.options), error);
}

}  // namespace

HttpReply GetBucketAcl(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  const std::string& owner = BucketOwner(cx.options, *bucket);
  return XmlReply(r, cx.clock, AccessControlPolicyXml(DecodeAcl(bucket->acl, owner)));
}

HttpReply PutBucketAcl(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  const std::string& owner = BucketOwner(cx.options, *bucket);
  S3Error error;
  Result<Acl> acl = RequestedAcl(cx, r, owner, owner, &error);
  if (!acl.ok()) return ErrorReply(r, cx.clock, std::move(error));
  if (std::optional<S3Error> blocked = CheckPublicAclAllowed(cx, r.bucket, *acl)) {
    return ErrorReply(r, cx.clock, std::move(*blocked));
  }
  Status s = cx.backend.PutBucketAcl(r.bucket, EncodeAcl(*acl));
  if (!s.ok()) return StatusReply(r, cx.clock, s, true);
  return EmptyReply(r, cx.clock, 200);
}

HttpReply GetObjectAcl(const S3Context& cx, S3Request& r) {
  Result<ObjectInfo> info = HeadAddressedVersion(cx, r);
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, info.status())) {
    return std::move(*failed);
  }
  HttpReply reply =
      XmlReply(r, cx.clock, AccessControlPolicyXml(DecodeAcl(info->acl, r.bucket_owner)));
  AddVersionHeader(reply.headers, *info);
  return reply;
}

// Of the version ?versionId= names (none: the latest).
HttpReply PutObjectAcl(const S3Context& cx, S3Request& r) {
  Result<ObjectInfo> info = HeadAddressedVersion(cx, r);
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, info.status())) {
    return std::move(*failed);
  }
  const std::string owner = DecodeAcl(info->acl, r.bucket_owner).owner;
  S3Error error;
  Result<Acl> acl = RequestedAcl(cx, r, owner, r.bucket_owner, &error);
  if (!acl.ok()) return ErrorReply(r, cx.clock, std::move(error));
  if (std::optional<S3Error> blocked = CheckPublicAclAllowed(cx, r.bucket, *acl)) {
    return ErrorReply(r, cx.clock, std::move(*blocked));
  }
  const std::string* version = r.Query("versionId");
  Status s = cx.backend.PutVersionAcl(r.bucket, r.key, version ? *version : "", EncodeAcl(*acl));
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, s)) return std::move(*failed);
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  AddVersionHeader(reply.headers, *info);
  return reply;
}

}  // namespace thumbflow::server
