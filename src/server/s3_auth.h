// The S3 endpoint's authentication and authorization: a SigV4 or SigV2 signature
// (Authorization header or presigned URL) checked against the endpoint's users' key pairs,
// or an anonymous (unsigned) request; then what the bucket's and the object's access control
// lists (server/s3_acl.h), the bucket's policy (server/s3_policy.h) and the public-read
// prefixes allow the requester. Runs before anything is read or stored.
//
// Thread-safety: Authenticate may be called from any thread concurrently.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "aws/sigv4.h"
#include "core/clock.h"
#include "server/s3_acl.h"
#include "server/s3_handler.h"
#include "server/s3_operations.h"
#include "server/s3_policy.h"
#include "server/s3_protocol.h"
#include "server/s3_request.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

class S3Authenticator {
 public:
  // Both must outlive the authenticator.
  S3Authenticator(const S3HandlerOptions& options, const Clock& clock)
      : options_(options), clock_(clock) {}

  // Sets r.auth and r.user for a verified signature; returns the error to answer when the
  // request carries a signature (Authorization header, presigned query) that does not verify.
  // An unsigned request passes as anonymous (r.auth empty): AuthorizeRequest then lets it
  // through only where an AllUsers grant or a public-read prefix allows it. `received` is
  // the head as it came (r.head may hold hoisted presigned parameters, which are not signed
  // as headers).
  std::optional<S3Error> Authenticate(S3Request& r, const HttpRequestHead& received);
  // The endpoint's secrets by access key id (PostObject checks its form's policy with them).
  aws::SecretLookup Lookup() const;

 private:
  std::optional<S3Error> AuthenticateSigned(S3Request& r, const HttpRequestHead& received,
                                            bool sigv2);
  Result<aws::VerifiedRequest> VerifySigV2(const S3Request& r, const HttpRequestHead& received,
                                           aws::ErrorDetails* details);
  Result<aws::VerifiedRequest> VerifySigV4(const S3Request& r, const HttpRequestHead& received,
                                           aws::ErrorDetails* details);

  const S3HandlerOptions& options_;
  const Clock& clock_;
  aws::SigningKeyCache signing_keys_;  // verification derives each day's key once
};

// S3 reads the x-amz-* parameters of a presigned URL as if they were headers: copies them
// into r.head (a header of the same name, if sent, wins). See s3_auth.cc.
void HoistPresignedAmzParameters(S3Request& r);

// Each entry is "bucket/key-prefix", or "bucket" for the whole bucket. The bucket must match
// exactly: "images" or "images/p" never make bucket "images-private" readable.
bool IsPublicRead(const std::vector<std::string>& prefixes, const std::string& bucket,
                  const std::string& key);

// The name of the user who owns `bucket`: its recorded owner, or the first user when none is
// recorded (the default bucket, buckets made before owners were kept).
const std::string& BucketOwner(const S3HandlerOptions& options, const BucketInfo& bucket);
// What CreateBucket records as the owner for `user`: empty for the first user.
std::string RecordedOwner(const S3HandlerOptions& options, const std::string& user);

// The endpoint's users (names and email addresses), to resolve ACL grantees.
AclUsers UsersOf(const S3HandlerOptions& options);

// The condition keys of one request (PolicyRequest, s3_policy.h) for `action` on `bucket`
// (`object`: on bucket/key): the peer address (aws:SourceIp), the time, User-Agent and
// Referer, the signer (aws:PrincipalType, aws:userid, aws:PrincipalAccount, aws:PrincipalArn,
// s3:authType, s3:signatureversion), the bucket owner (s3:ResourceAccount), the x-amz-*
// headers S3 names as keys (s3:x-amz-acl, s3:x-amz-grant-*, s3:x-amz-copy-source,
// s3:x-amz-metadata-directive, s3:x-amz-server-side-encryption, ...), a listing's s3:prefix /
// s3:delimiter / s3:max-keys, s3:versionid, s3:ExistingObjectTag/<key> (the object's tags)
// and s3:RequestObjectTag/<key> / s3:RequestObjectTagKeys (x-amz-tagging).
struct PolicyRequestInput {
  const S3Request& request;
  std::string_view action;  // "s3:GetObject"
  const std::string& bucket;
  const std::string& key;
  bool object = false;
  const std::string& bucket_owner;
  const TagSet* existing_tags = nullptr;   // the object's, when it exists
  std::optional<std::string> list_prefix;  // s3:prefix, replacing the query's
  int64_t now_ms = 0;
  const std::string* version_id = nullptr;  // s3:versionid: the version the request names
};
PolicyRequest PolicyRequestOf(const PolicyRequestInput& input);

// After authentication, what the request may do, as S3 decides with ACLs enabled and a
// bucket policy (s3_policy.h): an explicit Deny in the bucket's policy that applies to the
// operation's action, resource, requester and conditions refuses (the bucket owner
// included); else an Allow grants it (to anyone the policy names, anonymous requests
// included; on an object another user owns, an Allow does not grant reading it or its ACL
// or tags: only the object's owner grants those, as on S3); else the ACLs decide (the
// requester is r.user; empty: anonymous, which only AllUsers grants reach):
//   READ of the bucket: ListObjects(V2), ListObjectVersions, ListMultipartUploads, HeadBucket
//   WRITE of the bucket: PutObject, CopyObject (and READ of the source object, checked by the
//     operation with AuthorizeRead), DeleteObject(s), the multipart calls, PostObject (the
//     form's signer, or anonymous without a policy: AuthorizePostForm)
//   READ of the object: GetObject, HeadObject, GetObjectTagging
//   READ_ACP / WRITE_ACP of the bucket or the object: Get / Put Bucket / Object Acl; the
//     owner of the bucket (of the object) has them always
//   the bucket's owner only: everything else (DeleteBucket, CORS, bucket configuration,
//     object tag changes).
// Get/Put/DeleteBucketPolicy are the bucket owner's whatever the policy says (S3 lets the
// account's root always manage the policy); to another user they are 403 AccessDenied, or
// 405 MethodNotAllowed where the policy allows them (S3's answer to another account).
// FULL_CONTROL gives all four. A GET / HEAD of a key under a public-read prefix passes for
// anyone (unless the policy denies it). 403 AccessDenied otherwise. Requests that name no
// bucket and CreateBucket pass when signed; an anonymous one is denied. A missing bucket
// passes a signed request (the operation answers NoSuchBucket); a missing object passes when
// the requester may list the bucket (s3:ListBucket with s3:prefix the key in the policy, or
// READ on the bucket: the operation answers NoSuchKey), else AccessDenied, as S3 answers.
// DeleteObjects is checked key by key (AuthorizeDeleteKeys). A request with ?versionId=
// ("null" included) is authorized as S3 does: s3:GetObjectVersion (GET, HEAD),
// s3:DeleteObjectVersion, s3:Get/PutObjectVersionAcl, s3:Get/Put/DeleteObjectVersionTagging,
// with s3:versionid, against the ACL and tags of that version. Sets r.bucket_owner. A store
// failure is answered as its S3 error.
std::optional<S3Error> AuthorizeRequest(const S3Context& cx, S3Request& r);
// Whether r's requester may read the copy source `source` (CopyObject, UploadPartCopy):
// s3:GetObject in that bucket's policy (s3:GetObjectVersion with s3:versionid when the
// source names a version; Deny first), READ in the ACL of the version read, or a key under
// a public-read prefix. A missing bucket passes for a signed user, a missing object for one
// who may list the bucket (the read answers NoSuchBucket / NoSuchKey / NoSuchVersion).
std::optional<S3Error> AuthorizeCopySource(const S3Context& cx, const S3Request& r,
                                           const CopySource& source);
// Whether r's requester (r.user; empty: anonymous) may write `key` to `bucket`: s3:PutObject
// in its policy (Deny first), or WRITE in its ACL. A missing bucket passes for a signed user.
// Sets *bucket_owner when the bucket exists.
std::optional<S3Error> AuthorizeBucketWrite(const S3Context& cx, const S3Request& r,
                                            const std::string& bucket, const std::string& key,
                                            std::string* bucket_owner);
// The keys of r's DeleteObjects, each: s3:DeleteObject on r.bucket/key in the policy
// (s3:DeleteObjectVersion with s3:versionid for an entry whose `version_ids` element is not
// empty; Deny first), or WRITE on the bucket; the error for each key refused (nullopt: may
// be deleted). The bucket and its policy are read once. A missing bucket refuses none (the
// deletes answer NoSuchBucket).
std::vector<std::optional<S3Error>> AuthorizeDeleteKeys(
    const S3Context& cx, const S3Request& r, const std::vector<std::string>& keys,
    const std::vector<std::string>& version_ids);

// The bucket's public access block (s3_bucket_config.h) against a write. BlockPublicAcls:
// 403 AccessDenied for an ACL that grants AllUsers or AuthenticatedUsers (PutBucketAcl,
// PutObjectAcl, and the x-amz-acl / x-amz-grant-* of PutObject, CopyObject,
// CreateMultipartUpload, the acl field of PostObject); a missing bucket blocks nothing.
// BlockPublicPolicy: 403 AccessDenied for a policy BucketPolicy::IsPublic judges public.
std::optional<S3Error> CheckPublicAclAllowed(const S3Context& cx, const std::string& bucket,
                                             const Acl& acl);
std::optional<S3Error> CheckPublicPolicyAllowed(const S3Context& cx, const BucketInfo& bucket,
                                                const BucketPolicy& policy);

// Whether r may lift a GOVERNANCE retention of `key` in r.bucket (S3 Object Lock): it sends
// x-amz-bypass-governance-retention: true, is signed, and holds s3:BypassGovernanceRetention:
// the bucket's owner unless the policy denies it, anyone else only where the policy allows it.
bool MayBypassGovernance(const S3Context& cx, const S3Request& r, const std::string& key);

}  // namespace thumbflow::server
