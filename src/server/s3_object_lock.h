// S3 Object Lock: a bucket's lock configuration (ObjectLockEnabled and an optional default
// retention), each version's retention (GOVERNANCE or COMPLIANCE until a date) and legal hold
// (storage's ObjectLock), their XML documents and headers.
//
// The object store keeps them: a bucket's configuration with the bucket (BucketInfo::
// object_lock, ObjectLockConfigurationXml), a version's lock with the version, committed in
// the write that makes it (PutOptions::lock), changed by UpdateVersionLock, checked by the
// store's delete (storage/streaming_object_store.h). Only the lock a CreateMultipartUpload
// asked for waits in a file until its upload completes (ObjectLockStore).
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

// One version's lock (storage/object_store.h). No retention: `mode` empty.
using VersionLock = ObjectLock;

// PutObjectLockConfiguration's body. Errors carry S3's codes: MalformedXML (not XML,
// ObjectLockEnabled other than Enabled, an unknown Mode, Days and Years both or neither),
// InvalidRetentionPeriod (Days or Years not positive, or too long).
Result<ObjectLockConfiguration> ParseObjectLockConfigurationXml(std::string_view body);
// The document as S3 answers it; also how a bucket keeps its configuration (BucketInfo::
// object_lock).
std::string ObjectLockConfigurationXml(const ObjectLockConfiguration& configuration);
// The configuration `bucket` keeps; nullopt: the bucket has no object lock. Internal when the
// stored one does not parse.
Result<std::optional<ObjectLockConfiguration>> BucketConfiguration(const BucketInfo& bucket);
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

// The locks CreateMultipartUpload asked for, each kept in a file until its upload completes,
// under root (state_dir/object-lock): one folder per bucket creation, "<bucket>@<created_ms>",
// so a bucket made again under the name never inherits an old one's uploads' locks, and
// uploads/<sha256(upload id)> in it. Before the store kept them, the folder also held each
// bucket's configuration.xml and versions/<sha256(key)>.<versionId> for each locked version:
// MoveIntoStore takes those. The S3 endpoint is the only writer of its data folder (one serve
// per folder). Thread-safe (every call is a file operation; each file is replaced atomically).
class ObjectLockStore {
 public:
  explicit ObjectLockStore(std::string root) : root_(std::move(root)) {}
  // The lock a multipart upload's CreateMultipartUpload asked for, kept until it completes
  // (GetUpload of none: nullopt). PutUpload of nullopt removes it.
  Result<std::optional<VersionLock>> GetUpload(const BucketInfo& bucket,
                                               const std::string& upload_id) const;
  Status PutUpload(const BucketInfo& bucket, const std::string& upload_id,
                   const std::optional<VersionLock>& lock);
  // Every lock of the bucket name (DeleteBucket).
  Status DeleteAll(const std::string& bucket);
  // At start, before any request: the configurations and version locks that an earlier
  // thumbflow kept in files under root move into `store` (each version's lock set on the
  // version of the key whose SHA-256 and id name the file; a bucket's configuration set on
  // it), then those files are removed. Files of buckets deleted or made again since, and of
  // versions deleted since, are removed unread. A crash midway leaves files that the next
  // start moves again (setting the same values). Errors stop it: the endpoint must not serve
  // locked versions unlocked.
  Status MoveIntoStore(StreamingObjectStore& store);

 private:
  std::string BucketDir(const BucketInfo& bucket) const;
  std::string UploadPath(const BucketInfo& bucket, const std::string& upload_id) const;
  // One "<bucket>@<created_ms>" folder of MoveIntoStore.
  Status MoveBucketIntoStore(StreamingObjectStore& store, const std::string& folder);
  // nullopt: no file at `path`.
  static Result<std::optional<VersionLock>> ReadLock(const std::string& path);
  static Status WriteLock(const std::string& folder, const std::string& path,
                          const VersionLock& lock);
  std::string root_;
};

}  // namespace thumbflow::server
