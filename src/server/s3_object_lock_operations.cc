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

// The version the request addresses (?versionId=, else the latest) and its lock, in a bucket
// with a lock configuration (InvalidRequest without one); `reply` is set on failure.
struct LockedVersion {
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
  Result<std::optional<ObjectLockConfiguration>> configuration = BucketConfiguration(*bucket);
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
  VersionLock lock = info->lock;
  return LockedVersion{std::move(*info), std::move(lock)};
}

// PutObjectRetention and PutObjectLegalHold: `change` (checks and the new value) applied to
// the version addressed, in the store's transaction, so that no other change or delete of the
// version comes between its checks and its write; 200 with the version's id.
HttpReply ChangeVersionLock(const S3Context& cx, S3Request& r, const LockedVersion& version,
                            const StreamingObjectStore::LockChange& change) {
  Result<ObjectInfo> changed =
      cx.backend.UpdateVersionLock(r.bucket, r.key, version.info.version_id, change);
  // Deleted since it was addressed: answered as a version that is not there.
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, changed.status())) {
    return std::move(*failed);
  }
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  AddVersionHeader(reply.headers, version.info);
  return reply;
}

}  // namespace

Result<std::optional<ObjectLockConfiguration>> BucketLockConfiguration(const S3Context& cx,
                                                                       const std::string& bucket) {
  Result<BucketInfo> info = cx.backend.GetBucket(bucket);
  if (!info.ok() && info.status().code() == StatusCode::kNotFound) {
    return std::optional<ObjectLockConfiguration>();
  }
  if (!info.ok()) return info.status();
  return BucketConfiguration(*info);
}

StreamingObjectStore::BucketSettings ObjectLockSettingsAtCreation() {
  StreamingObjectStore::BucketSettings settings;
  settings.versioning = kVersioningEnabled;
  settings.object_lock = ObjectLockConfigurationXml(ObjectLockConfiguration{});
  return settings;
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

Status KeepUploadLock(const S3Context& cx, const S3Request& r, const std::string& upload_id,
                      const std::optional<VersionLock>& lock) {
  if (!lock || !HasLockHeaders(r.head)) return Status::Ok();
  ASSIGN_OR_RETURN(BucketInfo bucket, cx.backend.GetBucket(r.bucket));
  return cx.locks.PutUpload(bucket, upload_id, lock);
}

Result<std::optional<VersionLock>> UploadLockOf(const S3Context& cx, const S3Request& r,
                                                const std::string& upload_id) {
  ASSIGN_OR_RETURN(BucketInfo bucket, cx.backend.GetBucket(r.bucket));
  ASSIGN_OR_RETURN(std::optional<VersionLock> kept, cx.locks.GetUpload(bucket, upload_id));
  if (kept) return kept;
  ASSIGN_OR_RETURN(std::optional<ObjectLockConfiguration> configuration,
                   BucketConfiguration(bucket));
  return LockFromHeaders(HttpRequestHead{}, configuration, cx.clock.NowMillis());
}

void ForgetUploadLock(const S3Context& cx, const S3Request& r, const std::string& upload_id) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return;
  Status forgotten = cx.locks.PutUpload(*bucket, upload_id, std::nullopt);
  (void)forgotten;  // a leftover file names an upload that completed: never read again
}

void PrepareVersionDelete(const S3Context& cx, const S3Request& r, const std::string& key,
                          const std::string& version_id, WriteCondition* condition) {
  condition->bypass_governance = !version_id.empty() && MayBypassGovernance(cx, r, key);
}

std::optional<S3Error> VersionDeleteError(const Status& status) {
  if (status.reason() != Reason::kObjectLocked) return std::nullopt;
  return Protected();
}

// On a bucket without object lock, only one whose versioning is Enabled may get it (S3
// enables object lock on existing buckets so since 2023).
HttpReply PutObjectLockConfiguration(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Result<ObjectLockConfiguration> parsed = ParseObjectLockConfigurationXml(BodyOf(r));
  if (!parsed.ok()) return StatusReply(r, cx.clock, parsed.status(), true);
  Result<std::optional<ObjectLockConfiguration>> existing = BucketConfiguration(*bucket);
  if (!existing.ok()) return StatusReply(r, cx.clock, existing.status(), true);
  if (!*existing && bucket->versioning != kVersioningEnabled) {
    return ErrorReply(r, cx.clock,
                      MakeError("InvalidBucketState",
                                "Versioning must be 'Enabled' on the bucket to apply a Object "
                                "Lock configuration"));
  }
  Status put = cx.backend.PutBucketObjectLock(r.bucket, ObjectLockConfigurationXml(*parsed));
  if (!put.ok()) return StatusReply(r, cx.clock, put, true);
  return EmptyReply(r, cx.clock, 200);
}

HttpReply GetObjectLockConfiguration(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  Result<std::optional<ObjectLockConfiguration>> configuration = BucketConfiguration(*bucket);
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
  const bool bypass = MayBypassGovernance(cx, r, r.key);
  // Checked against the lock as the store has it when the change commits.
  return ChangeVersionLock(cx, r, *version, [&](VersionLock& current) -> Status {
    if (current.has_retention() && current.retain_until_ms > now) {
      const bool weaker = !wanted->has_retention() || wanted->mode != current.mode ||
                          wanted->retain_until_ms < current.retain_until_ms;
      if (weaker && (current.mode == kLockCompliance || !bypass)) {
        S3Error refused = Protected();
        return S3Status(StatusCode::kPermissionDenied, refused.code, refused.message);
      }
    }
    current.mode = wanted->mode;
    current.retain_until_ms = wanted->retain_until_ms;
    return Status::Ok();
  });
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
  return ChangeVersionLock(cx, r, *version, [&](VersionLock& current) -> Status {
    current.legal_hold = *on;
    current.legal_hold_set = true;
    return Status::Ok();
  });
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
