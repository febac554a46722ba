// The S3 operations thumbflow carries out, one function each, grouped by what they address:
// buckets (s3_bucket_operations.cc), objects (s3_object_operations.cc) and multipart uploads
// (s3_multipart_operations.cc). S3Handler routes a request (s3_operation.h), authenticates
// it (s3_auth.h), receives its body and then calls the operation's function.
//
// Contract of every function: `r` is authenticated, its key valid, its body (if any)
// received and verified; the function returns the whole reply, errors included, and never
// throws. Thread-safety: may run on any thread, concurrently for distinct requests.
//
// Adding an operation: a value in S3Operation and its name (s3_operation.h/.cc), its route
// in RouteS3Request and a case in the router test, its function here (XML documents in
// s3_protocol.h), and its case in OperationFunction (s3_handler.cc). A body it needs is
// admitted in S3Handler::AdmitBody.
#pragma once

#include "core/clock.h"
#include "server/http_server.h"
#include "server/multipart.h"
#include "server/s3_bucket_config.h"
#include "server/s3_cors.h"
#include "server/s3_handler.h"
#include "server/s3_object_lock.h"
#include "server/s3_policy.h"
#include "server/s3_post_object.h"
#include "server/s3_request.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

// What the operations share; owned by the S3Handler.
struct S3Context {
  const S3HandlerOptions& options;
  StreamingObjectStore& backend;
  MultipartUploads& uploads;
  const Clock& clock;
  BucketCorsStore& cors;
  BucketPolicyStore& policies;
  ObjectLockStore& locks;
  BucketConfigStore& configs;
};

using S3OperationFunction = HttpReply (*)(const S3Context& cx, S3Request& r);

// Buckets.
HttpReply ListBuckets(const S3Context& cx, S3Request& r);
HttpReply CreateBucket(const S3Context& cx, S3Request& r);
HttpReply HeadBucket(const S3Context& cx, S3Request& r);
HttpReply DeleteBucket(const S3Context& cx, S3Request& r);
HttpReply GetBucketLocation(const S3Context& cx, S3Request& r);
HttpReply GetBucketVersioning(const S3Context& cx, S3Request& r);
HttpReply PutBucketVersioning(const S3Context& cx, S3Request& r);  // Enabled or Suspended
HttpReply ListObjects(const S3Context& cx, S3Request& r);          // V1 and V2
HttpReply ListObjectVersions(const S3Context& cx, S3Request& r);   // versions and delete markers
HttpReply GetBucketAcl(const S3Context& cx, S3Request& r);         // the stored grants (s3_acl.h)
// x-amz-acl, x-amz-grant-* or an AccessControlPolicy body (never both) replaces the ACL.
HttpReply PutBucketAcl(const S3Context& cx, S3Request& r);
HttpReply DeleteObjects(const S3Context& cx, S3Request& r);
HttpReply GetBucketCors(const S3Context& cx, S3Request& r);
HttpReply PutBucketCors(const S3Context& cx, S3Request& r);
HttpReply DeleteBucketCors(const S3Context& cx, S3Request& r);
// Bucket policies (s3_policy.h, s3_policy_operations.cc): the owner's alone (AuthorizeRequest).
HttpReply PutBucketPolicy(const S3Context& cx, S3Request& r);  // validated, kept as sent: 204
HttpReply GetBucketPolicy(const S3Context& cx, S3Request& r);  // none: 404 NoSuchBucketPolicy
HttpReply DeleteBucketPolicy(const S3Context& cx, S3Request& r);
HttpReply GetBucketPolicyStatus(const S3Context& cx, S3Request& r);  // policy or ACL public
// Bucket tags (at most 50) and public access blocks (s3_bucket_config.h,
// s3_bucket_config_operations.cc); none: 404 NoSuchTagSet / NoSuchPublicAccessBlockConfiguration.
HttpReply PutBucketTagging(const S3Context& cx, S3Request& r);  // 204
HttpReply GetBucketTagging(const S3Context& cx, S3Request& r);
HttpReply DeleteBucketTagging(const S3Context& cx, S3Request& r);
HttpReply PutPublicAccessBlock(const S3Context& cx, S3Request& r);
HttpReply GetPublicAccessBlock(const S3Context& cx, S3Request& r);
HttpReply DeletePublicAccessBlock(const S3Context& cx, S3Request& r);
// Objects are stored unencrypted: Get is 404 ServerSideEncryptionConfigurationNotFoundError,
// Put 501 NotImplemented once its document is well-formed, Delete 204.
HttpReply GetBucketEncryption(const S3Context& cx, S3Request& r);
HttpReply PutBucketEncryption(const S3Context& cx, S3Request& r);
HttpReply DeleteBucketEncryption(const S3Context& cx, S3Request& r);
// OPTIONS: the CORS preflight, answered from the bucket's rules (no authentication).
HttpReply OptionsObject(const S3Context& cx, S3Request& r);
// The CORS headers of the rule that matches an actual request's Origin and method, if any.
void AddCorsHeaders(const S3Context& cx, const S3Request& r, HttpReply& reply);

// S3 Object Lock (s3_object_lock.h, s3_object_lock_operations.cc). A bucket gets it at
// CreateBucket (x-amz-bucket-object-lock-enabled: true) or by PutObjectLockConfiguration on a
// versioning-enabled bucket; its versioning can then never be suspended.
HttpReply PutObjectLockConfiguration(const S3Context& cx, S3Request& r);
HttpReply GetObjectLockConfiguration(const S3Context& cx, S3Request& r);  // none: 404
HttpReply PutObjectRetention(const S3Context& cx, S3Request& r);
HttpReply GetObjectRetention(const S3Context& cx, S3Request& r);
HttpReply PutObjectLegalHold(const S3Context& cx, S3Request& r);
HttpReply GetObjectLegalHold(const S3Context& cx, S3Request& r);
// The bucket's lock configuration; nullopt: the bucket has none (or does not exist).
Result<std::optional<ObjectLockConfiguration>> BucketLockConfiguration(const S3Context& cx,
                                                                       const std::string& bucket);
// CreateBucket with x-amz-bucket-object-lock-enabled: true: the new bucket's versioning
// (Enabled) and object lock configuration. PutBucketVersioning: Suspended on a bucket with
// object lock is the error returned (409 InvalidBucketState).
StreamingObjectStore::BucketSettings ObjectLockSettingsAtCreation();
std::optional<S3Error> CheckVersioningChange(const S3Context& cx, const S3Request& r,
                                             const std::string& status);
// The lock the version `r` writes gets (PutObject, CopyObject, CreateMultipartUpload,
// PostObject): its x-amz-object-lock-* headers (LockFromHeaders), else the bucket's default
// retention; nullopt: none. A PutObject with a retention needs Content-MD5 or an
// x-amz-checksum (400 InvalidRequest, as S3). Errors carry S3's codes (StatusReply).
// `fields`: a form upload's fields, read as the headers (default: the request's). The lock
// goes into the write's PutOptions::lock: the store commits it with the version.
Result<std::optional<VersionLock>> WriteLockOf(const S3Context& cx, const S3Request& r,
                                               const HttpRequestHead* fields = nullptr);
// CreateMultipartUpload keeps the lock its headers asked for (`lock` when r has lock headers).
// CompleteMultipartUpload commits UploadLockOf (the kept lock, else the bucket's default at
// completion) with the object, then forgets the kept one (ForgetUploadLock).
Status KeepUploadLock(const S3Context& cx, const S3Request& r, const std::string& upload_id,
                      const std::optional<VersionLock>& lock);
Result<std::optional<VersionLock>> UploadLockOf(const S3Context& cx, const S3Request& r,
                                                const std::string& upload_id);
void ForgetUploadLock(const S3Context& cx, const S3Request& r, const std::string& upload_id);
// A delete naming version `version_id` of `key` (DeleteObject, a DeleteObjects entry): the
// store refuses it while a legal hold or an unexpired retention protects the version, checked
// in its delete transaction; PrepareVersionDelete lets a GOVERNANCE retention pass when the
// request may bypass it (MayBypassGovernance), and VersionDeleteError is S3's answer to the
// refusal (403 AccessDenied; nullopt for any other status). Without a version id a delete
// only adds a marker: never refused.
void PrepareVersionDelete(const S3Context& cx, const S3Request& r, const std::string& key,
                          const std::string& version_id, WriteCondition* condition);
std::optional<S3Error> VersionDeleteError(const Status& status);

// Objects.
HttpReply PutObject(const S3Context& cx, S3Request& r);
HttpReply GetObject(const S3Context& cx, S3Request& r);  // GET and HEAD
HttpReply DeleteObject(const S3Context& cx, S3Request& r);
HttpReply CopyObject(const S3Context& cx, S3Request& r);
HttpReply GetObjectAcl(const S3Context& cx, S3Request& r);  // the stored grants (s3_acl.h)
HttpReply PutObjectAcl(const S3Context& cx, S3Request& r);  // as PutBucketAcl
HttpReply GetObjectTagging(const S3Context& cx, S3Request& r);
// GET ?attributes: the x-amz-object-attributes of the object (or ?versionId= version).
HttpReply GetObjectAttributes(const S3Context& cx, S3Request& r);
HttpReply PutObjectTagging(const S3Context& cx, S3Request& r);
HttpReply DeleteObjectTagging(const S3Context& cx, S3Request& r);
// The browser form upload: the policy was checked (AuthorizePostForm) and the file received
// when this runs; it commits and answers as success_action_redirect / _status ask.
HttpReply PostObject(const S3Context& cx, S3Request& r);
// A form's POST policy: signature (SigV4, or SigV2), expiration, every condition, no field
// without a condition; then the upload the file streams into. Errors carry S3's codes.
// `r` is the form's request (r.bucket its bucket); its signer is the form policy's.
Result<PostAuthorization> AuthorizePostForm(const S3Context& cx, const S3Request& r,
                                            const aws::SecretLookup& lookup, const PostForm& form);

// Multipart uploads.
HttpReply CreateMultipartUpload(const S3Context& cx, S3Request& r);
HttpReply UploadPart(const S3Context& cx, S3Request& r);
HttpReply UploadPartCopy(const S3Context& cx, S3Request& r);  // x-amz-copy-source(-range)
HttpReply ListParts(const S3Context& cx, S3Request& r);
HttpReply ListMultipartUploads(const S3Context& cx, S3Request& r);  // no delimiter
HttpReply AbortMultipartUpload(const S3Context& cx, S3Request& r);
HttpReply CompleteMultipartUpload(const S3Context& cx, S3Request& r);

// What CopyObject and UploadPartCopy share.
// The source an x-amz-copy-source header names: "[/]bucket/key[?versionId=...]",
// percent-encoded. InvalidArgument with S3's message when it names no bucket and key.
struct CopySource {
  std::string bucket;
  std::string key;
  std::string version_id;  // ?versionId=...; empty: the latest
};
// x-amz-version-id: the version's id, when the bucket is versioned (ObjectInfo::version_id).
void AddVersionHeader(HeaderList& headers, const ObjectInfo& info);
// The reply to a GET / HEAD whose object (or version `version_id`) was NotFound: 404
// NoSuchKey, 404 NoSuchVersion, or, for a delete marker, 404 / 405 with x-amz-delete-marker.
HttpReply MissingVersionReply(const S3Context& cx, const S3Request& r,
                              const std::string& version_id);
// The version of r.bucket/r.key that ?versionId= names (none: the latest); a delete marker
// is NotFound.
Result<ObjectInfo> HeadAddressedVersion(const S3Context& cx, const S3Request& r);
// The reply to a failed HeadAddressedVersion (MissingVersionReply for NotFound); nullopt
// when `status` is OK.
std::optional<HttpReply> AddressedVersionError(const S3Context& cx, const S3Request& r,
                                               const Status& status);
Result<CopySource> ParseCopySource(const std::string& header);
// x-amz-copy-source-range: exactly "bytes=first-last", first <= last (S3 takes no other
// form, not even the suffix and open ranges of Range). nullopt when malformed.
std::optional<ByteRange> ParseCopySourceRange(std::string_view text);
// x-amz-copy-source-if-match / -if-none-match / -if-modified-since / -if-unmodified-since
// checked against the source as it is copied: nullopt to copy, else 412 PreconditionFailed.
std::optional<S3Error> CheckCopySourceConditions(const HttpRequestHead& head,
                                                 const ObjectInfo& source);

// x-amz-checksum-algorithm naming no algorithm (400 InvalidRequest), in S3's words.
inline constexpr char kUnsupportedChecksumAlgorithm[] =
    "Checksum algorithm provided is unsupported. Please try again with any of the valid types: "
    "[CRC32, CRC32C, CRC64NVME, SHA1, SHA256]";

// Conditional writes (S3 since 2024): If-Match and If-None-Match (each an ETag list or "*") of
// a PutObject, CopyObject or CompleteMultipartUpload. Returns the error to answer, if any.
std::optional<S3Error> WriteConditionFromHeaders(const HttpRequestHead& head,
                                                 WriteCondition* condition);
// Before the work (a body, the parts' concatenation): the condition against the object there
// now, so a write that cannot succeed fails at once: 412 PreconditionFailed, or 404 NoSuchKey
// for If-Match on a missing key. The store checks again atomically at the commit.
std::optional<S3Error> PrecheckWriteCondition(const S3Context& cx, const S3Request& r,
                                              const WriteCondition& condition);
// The error of a write whose commit found its condition failed: 412 PreconditionFailed, or
// 409 ConditionalRequestConflict when the object If-Match named was deleted meanwhile (the
// precheck had found it), as S3 answers a write that lost a race to a delete. nullopt when
// `status` is not about the condition.
std::optional<S3Error> WriteConditionError(const WriteCondition& condition, const Status& status);

// The function that carries out `operation`; nullptr for the operations that are only
// routed to be refused (s3_operation.h).
S3OperationFunction OperationFunction(S3Operation operation);

// Checks an UploadPart before its body is read: part number 1..10000 and an upload of this
// bucket and key. Returns the error to answer, if any.
std::optional<S3Error> CheckUploadPart(const S3Context& cx, const S3Request& r);

}  // namespace thumbflow::server
