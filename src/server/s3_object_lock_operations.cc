// S3 Object Lock operations (s3_operations.h, s3_object_lock.h).
#include "server/s3_auth.h"
#include "server/s3_object_lock.h"
#include "server/s3_operations.h"

#include "core/strings.h"

namespace thumbflow::server {
namespace {

std::string_view BodyOf(const S3Request& r) {
  return r.body ? r.body->memory() : std::string_view();
}

S3Error MissingConfiguration() {
  return MakeError("InvalidRequest", "Bucket is missing Object Lock Configuration");
}

// What S3 answers a change that a retention or a legal hold forbids.
S3Error Protected() {
  return MakeError("AccessDenied", "Access Denied because object protected by object lock.");
}

// The bucket, its lock configuration (InvalidRequest without one) and the version the
// request addresses (?versionId=, else the latest); `reply` is set on failure.
struct LockedVersion {
  BucketInfo bucket;
  ObjectInfo info;
  VersionLock lock;
};
std::optional<LockedVersion> AddressLockedVersion(const S3Context& cx, const S3Request& r,
                                                  std::optional<HttpReply>* reply) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) {
    *reply = StatusReply(r, cx.clock, bucket.status(), true);
    return std::nullopt;
  }
  Result<std::optional<ObjectLockConfiguration>> configuration = cx.locks.GetConfiguration(*bucket);
  if (!configuration.ok()) {
    *reply = StatusReply(r, cx.clock, configuration.status(), false);
    return std::nullopt;
  }
  if (!*configuration) {
    *reply = ErrorReply(r, cx.clock, MissingConfiguration());
    return std::nullopt;
  }
  Result<ObjectInfo> info = HeadAddressedVersion(cx, r);
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, info.status())) {
    *reply = std::move(failed);
    return std::nullopt;
  }
  Result<VersionLock> lock = cx.locks.GetVersion(*bucket, r.key, info->version_id);
  if (!lock.ok()) {
    *reply = StatusReply(r, cx.clock, lock.status(), false);
    return std::nullopt;
  }
  return LockedVersion{std::move(*bucket), std::move(*info), std::move(*lock)};
}

}  // namespace

Result<std::optional<ObjectLockConfiguration>> BucketLockConfiguration(const S3Context& cx,
                                                                       const std::string& bucket) {
  Result<BucketInfo> info = cx.backend.GetBucket(bucket);
  if (!info.ok() && info.status().code() == StatusCode::kNotFound) {
    return std::optional<ObjectLockConfiguration>();
  }
  if (!info.ok()) return info.status();
  return cx.locks.GetConfiguration(*info);
}

Status EnableObjectLockAtCreation(const S3Context& cx, const S3Request& r) {
  RETURN_IF_ERROR(cx.backend.PutBucketVersioning(r.bucket, kVersioningEnabled));
  ASSIGN_OR_RETURN(BucketInfo bucket, cx.backend.GetBucket(r.bucket));
  return cx.locks.PutConfiguration(bucket, ObjectLockConfiguration{});
}

std::optional<S3Error> CheckVersioningChange(const S3Context& cx, const S3Request& r,
                                             const std::string& status) {
  if (status == kVersioningEnabled) return std::nullopt;
  Result<std::optional<ObjectLockConfiguration>> configuration =
      BucketLockConfiguration(cx, r.bucket);
  if (!configuration.ok()) return ErrorFromStatus(configuration.status(), true);
  if (!*configuration) return std::nullopt;
  return MakeError("InvalidBucketState",
                   "An Object Lock configuration is present on this bucket, so the versioning "
                   "state cannot be changed.");
}

Result<std::optional<VersionLock>> WriteLockOf(const S3Context& cx, const S3Request& r,
                                               const HttpRequestHead* fields) {
  const HttpRequestHead& head = fields ? *fields : r.head;
  ASSIGN_OR_RETURN(std::optional<ObjectLockConfiguration> configuration,
                   BucketLockConfiguration(cx, r.bucket));
  if (!configuration && !HasLockHeaders(head)) return std::optional<VersionLock>();
  ASSIGN_OR_RETURN(std::optional<VersionLock> lock,
                   LockFromHeaders(head, configuration, cx.clock.NowMillis()));
  if (lock && lock->has_retention() && r.operation() == S3Operation::kPutObject) {
    bool checksum = r.head.Header("content-md5") || r.head.Header("x-amz-sdk-checksum-algorithm");
    for (const auto& [name, value] : r.head.headers) {
      checksum = checksum || ToLowerAscii(name).starts_with("x-amz-checksum-");
    }
    if (!checksum) {
      return S3Status(StatusCode::kInvalidArgument, "InvalidRequest",
                      "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                      "requests with Object Lock parameters");
    }
  }
  return lock;
}

Status ApplyWriteLock(const S3Context& cx, const S3Request& r, const std::string& key,
                      const ObjectInfo& written, const std::optional<VersionLock>& lock) {
  if (!lock) return Status::Ok();
  ASSIGN_OR_RETURN(BucketInfo bucket, cx.backend.GetBucket(r.bucket));
  return cx.locks.PutVersion(bucket, key, written.version_id, *lock);
}

Status KeepUploadLock(const S3Context& cx, const S3Request& r, const std::string& upload_id,
                      const std::optional<VersionLock>& lock) {
  if (!lock || !HasLockHeaders(r.head)) return Status::Ok();
  ASSIGN_OR_RETURN(BucketInfo bucket, cx.backend.GetBucket(r.bucket));
  return cx.locks.PutUpload(bucket, upload_id, lock);
}

Result<std::optional<VersionLock>> TakeUploadLock(const S3Context& cx, const S3Request& r,
                                                  const std::string& upload_id) {
  ASSIGN_OR_RETURN(BucketInfo bucket, cx.backend.GetBucket(r.bucket));
  ASSIGN_OR_RETURN(std::optional<VersionLock> kept, cx.locks.GetUpload(bucket, upload_id));
  if (kept) {
    RETURN_IF_ERROR(cx.locks.PutUpload(bucket, upload_id, std::nullopt));
    return kept;
  }
  ASSIGN_OR_RETURN(std::optional<ObjectLockConfiguration> configuration,
                   cx.locks.GetConfiguration(bucket));
  return LockFromHeaders(HttpRequestHead{}, configuration, cx.clock.NowMillis());
}

void AddVersionLockHeaders(const S3Context& cx, const S3Request& r, const ObjectInfo& info,
                           HeaderList& headers) {
  if (info.version_id.empty()) return;  // an unversioned bucket has no object lock
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return;
  Result<VersionLock> lock =
      cx.locks.GetVersion(*bucket, info.key.empty() ? r.key : info.key, info.version_id);
  if (lock.ok()) AddLockHeaders(headers, *lock);
}

std::optional<S3Error> CheckVersionDelete(const S3Context& cx, const S3Request& r,
                                          const std::string& key, const std::string& version_id) {
  if (version_id.empty()) return std::nullopt;
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return std::nullopt;  // the delete answers NoSuchBucket
  Result<VersionLock> lock = cx.locks.GetVersion(*bucket, key, version_id);
  if (!lock.ok()) return ErrorFromStatus(lock.status(), false);
  if (!lock->Protects(cx.clock.NowMillis(), false)) return std::nullopt;
  if (!lock->legal_hold && MayBypassGovernance(cx, r, key) &&
      !lock->Protects(cx.clock.NowMillis(), true)) {
    return std::nullopt;
  }
  return Protected();
}

// On a bucket without object lock, only one whose versioning is Enabled may get it (S3
// enables object lock on existing buckets so since 2023).
HttpReply PutObjectLockConfiguration(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Result<ObjectLockConfiguration> parsed = ParseObjectLockConfigurationXml(BodyOf(r));
  if (!parsed.ok()) return StatusReply(r, cx.clock, parsed.status(), true);
  Result<std::optional<ObjectLockConfiguration>> existing = cx.locks.GetConfiguration(*bucket);
  if (!existing.ok()) return StatusReply(r, cx.clock, existing.status(), true);
  if (!*existing && bucket->versioning != kVersioningEnabled) {
    return ErrorReply(r, cx.clock,
                      MakeError("InvalidBucketState",
                                "Versioning must be 'Enabled' on the bucket to apply a Object "
                                "Lock configuration"));
  }
  Status put = cx.locks.PutConfiguration(*bucket, *parsed);
  if (!put.ok()) return StatusReply(r, cx.clock, put, true);
  return EmptyReply(r, cx.clock, 200);
}

HttpReply GetObjectLockConfiguration(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Result<std::optional<ObjectLockConfiguration>> configuration = cx.locks.GetConfiguration(*bucket);
  if (!configuration.ok()) return StatusReply(r, cx.clock, configuration.status(), true);
  if (!*configuration) {
    return ErrorReply(r, cx.clock, MakeError("ObjectLockConfigurationNotFoundError"));
  }
  return XmlReply(r, cx.clock, ObjectLockConfigurationXml(**configuration));
}

// A retention in force may be lengthened; shortened, removed or changed in mode only when it
// is GOVERNANCE and the request may bypass it; a COMPLIANCE one never.
HttpReply PutObjectRetention(const S3Context& cx, S3Request& r) {
  std::optional<HttpReply> reply;
  std::optional<LockedVersion> version = AddressLockedVersion(cx, r, &reply);
  if (!version) return std::move(*reply);
  Result<VersionLock> wanted = ParseRetentionXml(BodyOf(r));
  if (!wanted.ok()) return StatusReply(r, cx.clock, wanted.status(), false);
  const int64_t now = cx.clock.NowMillis();
  if (wanted->has_retention() && wanted->retain_until_ms <= now) {
    return ErrorReply(r, cx.clock,
                      MakeError("InvalidArgument", "The retain until date must be in the future!"));
  }
  const VersionLock& current = version->lock;
  if (current.has_retention() && current.retain_until_ms > now) {
    const bool weaker = !wanted->has_retention() || wanted->mode != current.mode ||
                        wanted->retain_until_ms < current.retain_until_ms;
    if (weaker && (current.mode == kLockCompliance || !MayBypassGovernance(cx, r, r.key))) {
      return ErrorReply(r, cx.clock, Protected());
    }
  }
  VersionLock next = current;
  next.mode = wanted->mode;
  next.retain_until_ms = wanted->retain_until_ms;
  Status put = cx.locks.PutVersion(version->bucket, r.key, version->info.version_id, next);
  if (!put.ok()) return StatusReply(r, cx.clock, put, false);
  reply = EmptyReply(r, cx.clock, 200);
  AddVersionHeader(reply->headers, version->info);
  return std::move(*reply);
}

HttpReply GetObjectRetention(const S3Context& cx, S3Request& r) {
  std::optional<HttpReply> reply;
  std::optional<LockedVersion> version = AddressLockedVersion(cx, r, &reply);
  if (!version) return std::move(*reply);
  if (!version->lock.has_retention()) {
    return ErrorReply(r, cx.clock, MakeError("NoSuchObjectLockConfiguration"));
  }
  return XmlReply(r, cx.clock, RetentionXml(version->lock));
}

HttpReply PutObjectLegalHold(const S3Context& cx, S3Request& r) {
  std::optional<HttpReply> reply;
  std::optional<LockedVersion> version = AddressLockedVersion(cx, r, &reply);
  if (!version) return std::move(*reply);
  Result<bool> on = ParseLegalHoldXml(BodyOf(r));
  if (!on.ok()) return StatusReply(r, cx.clock, on.status(), false);
  VersionLock next = version->lock;
  next.legal_hold = *on;
  next.legal_hold_set = true;
  Status put = cx.locks.PutVersion(version->bucket, r.key, version->info.version_id, next);
  if (!put.ok()) return StatusReply(r, cx.clock, put, false);
  reply = EmptyReply(r, cx.clock, 200);
  AddVersionHeader(reply->headers, version->info);
  return std::move(*reply);
}

HttpReply GetObjectLegalHold(const S3Context& cx, S3Request& r) {
  std::optional<HttpReply> reply;
  std::optional<LockedVersion> version = AddressLockedVersion(cx, r, &reply);
  if (!version) return std::move(*reply);
  if (!version->lock.legal_hold_set) {
    return ErrorReply(r, cx.clock, MakeError("NoSuchObjectLockConfiguration"));
  }
  return XmlReply(r, cx.clock, LegalHoldXml(version->lock.legal_hold));
}

}  // namespace thumbflow::server
