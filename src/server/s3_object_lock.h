// S3 Object Lock: a bucket's lock configuration (ObjectLockEnabled and an optional default
// retention), each version's retention (GOVERNANCE or COMPLIANCE until a date) and legal hold,
// their XML documents and headers, and the store that keeps them across restarts.
//
// The lock state lives beside the object store, in state_dir/object-lock (one folder per
// bucket creation, "<bucket>@<created_ms>", so a bucket made again under the name never
// inherits an old one's locks): configuration.xml, and versions/<sha256(key)>.<versionId>
// for each version that has a retention or a legal hold. The S3 endpoint is the only writer
// of its data folder (one serve per folder). Thread-safe (every call is a file operation;
// each file is replaced atomically).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "server/http_server.h"
#include "server/s3_protocol.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

inline constexpr char kLockGovernance[] = "GOVERNANCE";
inline constexpr char kLockCompliance[] = "COMPLIANCE";

// A bucket's default retention: a mode and exactly one of days and years (positive).
struct ObjectLockRule {
  std::string mode;  // kLockGovernance or kLockCompliance
  int days = 0;
  int years = 0;
};

// A bucket with object lock (ObjectLockEnabled is always Enabled: S3 cannot disable it).
struct ObjectLockConfiguration {
  std::optional<ObjectLockRule> rule;
};

// One version's lock. No retention: `mode` empty.
struct VersionLock {
  std::string mode;
  int64_t retain_until_ms = 0;
  bool legal_hold = false;
  bool legal_hold_set = false;  // a legal hold (ON or OFF) was put: GetObjectLegalHold answers it
  bool has_retention() const { return !mode.empty(); }
  // Whether the version cannot be deleted (or its retention shortened) at `now_ms`: a legal
  // hold, or a retention not yet expired (`bypass` lifts a GOVERNANCE one).
  bool Protects(int64_t now_ms, bool bypass) const;
};

// PutObjectLockConfiguration's body. Errors carry S3's codes: MalformedXML (not XML,
// ObjectLockEnabled other than Enabled, an unknown Mode, Days and Years both or neither),
// InvalidRetentionPeriod (Days or Years not positive, or too long).
Result<ObjectLockConfiguration> ParseObjectLockConfigurationXml(std::string_view body);
std::string ObjectLockConfigurationXml(const ObjectLockConfiguration& configuration);
// PutObjectRetention's body: Mode and RetainUntilDate (an empty Retention removes it).
// MalformedXML when malformed.
Result<VersionLock> ParseRetentionXml(std::string_view body);
std::string RetentionXml(const VersionLock& lock);
// PutObjectLegalHold's body: Status ON or OFF, else MalformedXML.
Result<bool> ParseLegalHoldXml(std::string_view body);
std::string LegalHoldXml(bool on);

// The x-amz-object-lock-* headers of a write (PutObject, CopyObject, CreateMultipartUpload,
// a form's fields), checked as S3 does: mode and retain-until-date both or neither, a known
// mode, a date in the future, legal hold ON or OFF. nullopt: no such header. Errors:
// InvalidArgument, or InvalidRequest when the bucket has no object lock. `configuration` is the
// bucket's (nullopt: none); without lock headers its default rule applies to the new version
// (the returned lock then has the rule's retention from `now_ms`).
Result<std::optional<VersionLock>> LockFromHeaders(
    const HttpRequestHead& head, const std::optional<ObjectLockConfiguration>& configuration,
    int64_t now_ms);
// Whether the request carries any x-amz-object-lock-mode / -retain-until-date / -legal-hold.
bool HasLockHeaders(const HttpRequestHead& head);
// x-amz-object-lock-mode, -retain-until-date, -legal-hold of a GET / HEAD of a version.
void AddLockHeaders(HeaderList& headers, const VersionLock& lock);

class ObjectLockStore {
 public:
  explicit ObjectLockStore(std::string root) : root_(std::move(root)) {}
  // nullopt: the bucket has no object lock.
  Result<std::optional<ObjectLockConfiguration>> GetConfiguration(const BucketInfo& bucket) const;
  Status PutConfiguration(const BucketInfo& bucket, const ObjectLockConfiguration& configuration);
  // A version without lock: VersionLock{}.
  Result<VersionLock> GetVersion(const BucketInfo& bucket, const std::string& key,
                                 const std::string& version_id) const;
  Status PutVersion(const BucketInfo& bucket, const std::string& key, const std::string& version_id,
                    const VersionLock& lock);
  // The lock a multipart upload's CreateMultipartUpload asked for, kept until it completes
  // (GetUpload of none: nullopt). PutUpload of nullopt removes it.
  Result<std::optional<VersionLock>> GetUpload(const BucketInfo& bucket,
                                               const std::string& upload_id) const;
  Status PutUpload(const BucketInfo& bucket, const std::string& upload_id,
                   const std::optional<VersionLock>& lock);
  // Every lock of the bucket name (DeleteBucket).
  Status DeleteAll(const std::string& bucket);

 private:
  std::string BucketDir(const BucketInfo& bucket) const;
  std::string VersionPath(const BucketInfo& bucket, const std::string& key,
                          const std::string& version_id) const;
  std::string UploadPath(const BucketInfo& bucket, const std::string& upload_id) const;
  // nullopt: no file at `path`.
  static Result<std::optional<VersionLock>> ReadLock(const std::string& path);
  static Status WriteLock(const std::string& folder, const std::string& path,
                          const VersionLock& lock);
  std::string root_;
};

}  // namespace thumbflow::server
