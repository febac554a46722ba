// StreamingObjectStore: the storage port with everything the S3 endpoint needs beyond whole
// objects (storage/object_store.h): buckets, reads that stream, bodies streamed in, copies,
// and objects completed from staged files (multipart parts), so a large body is never held
// in memory. As Arrow's FileSystem keeps its streams in its port, the streams belong to the
// store that makes them: an upload commits itself (ObjectUpload::Commit), so no store has
// to cast an upload it is handed back.
//
// Implementations: LocalObjectStore (storage/local_store.h) directly; any ObjectStore
// through the test-only adapter in storage/testing/streaming_adapter.h.
//
// Thread-safety: every method of the store may be called from any thread concurrently; an
// ObjectUpload or an ObjectReader's source belongs to one thread at a time.
// Failures follow storage/object_store.h (NotFound, FailedPrecondition with reasons
// "precondition-failed" / "not-modified", InvalidArgument with reason "invalid-range", ...);
// bucket operations add AlreadyExists (CreateBucket) and FailedPrecondition with reason
// "bucket-not-empty" (DeleteBucket).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "storage/byte_source.h"
#include "storage/object_store.h"

namespace thumbflow {

struct BucketInfo {
  std::string name;
  int64_t created_ms = 0;
  // Who owns the bucket, as the caller named it at CreateBucket; empty for the buckets the
  // store made itself (its default bucket) and those made before owners were recorded. The
  // S3 endpoint reads empty as its first user.
  std::string owner;
  // The bucket's access control list as the S3 endpoint encoded it (server/s3_acl.h), kept
  // as given; empty: the default (the owner's FULL_CONTROL).
  std::string acl;
  // S3 versioning: empty (never configured: the bucket is unversioned), "Enabled" or
  // "Suspended". Once configured it never goes back to empty, as on S3.
  std::string versioning;
  // S3 Object Lock: the bucket's lock configuration as the S3 endpoint encoded it
  // (server/s3_object_lock.h), kept as given; empty: the bucket has no object lock.
  std::string object_lock;
};

inline constexpr char kVersioningEnabled[] = "Enabled";
inline constexpr char kVersioningSuspended[] = "Suspended";

// What a delete did (DeleteVersion): the version it removed or the delete marker it created
// (version_id, empty for an unversioned bucket), and whether that is a delete marker.
struct DeletedVersion {
  std::string version_id;
  bool delete_marker = false;
};

// ListObjectVersions: versions in key order, each key's newest first. Paging starts after
// key_marker (every version of it) or, with version_id_marker, after that version of it.
struct ListVersionsOptions {
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string version_id_marker;
  int max_keys = 1000;  // versions, delete markers and common prefixes; above 1000 means 1000
};

struct ListVersionsResult {
  // Versions and delete markers (ObjectInfo::delete_marker), with version_id and is_latest;
  // key, size, etag and last_modified_ms as in a listing.
  std::vector<ObjectInfo> versions;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;         // when truncated
  std::string next_version_id_marker;  // when truncated after a version (not a prefix)
};

// An object's selected bytes, opened for streaming.
struct ObjectReader {
  ObjectInfo info;       // the whole object
  int64_t offset = 0;    // first byte served
  int64_t length = 0;    // bytes served
  bool partial = false;  // a Range was applied
  std::unique_ptr<ByteSource> source;
};

// A body already written (and fsynced) to a file in StagingDir() (multipart parts).
struct StagedFile {
  std::string path;
  int64_t size = 0;
  std::string etag;  // quoted MD5
};

// An object body being streamed into the store, for one bucket. Destroying it without a
// commit discards it. Not thread-safe: one writer.
class ObjectUpload {
 public:
  virtual ~ObjectUpload() = default;
  // ResourceExhausted (reason "too-large") once the store's object size limit is passed;
  // the upload is then unusable.
  virtual Status Write(std::string_view bytes) = 0;
  // Hex MD5 of every byte written, after the last Write(): the upload hashes what it
  // stores, so the caller need not hash the body a second time.
  virtual std::string Md5Hex() = 0;
  // Makes the body the object `key` of the upload's bucket atomically (readers see the old
  // or the new object), together with its event ObjectCreated:Put when a notification rule
  // matches. Call at most once; the upload is spent afterwards.
  virtual Result<ObjectInfo> Commit(const std::string& key, const PutOptions& options) = 0;
};

// Whether `version_id` has the form of the ids stores give versions: "null", or 32 lower-case
// hex digits (LocalObjectStore's). The S3 endpoint refuses any other as S3 does (400
// InvalidArgument); one of this form that names no version is NoSuchVersion.
bool IsWellFormedVersionId(std::string_view version_id);

class StreamingObjectStore : public ObjectStore {
 public:
  // A folder on the same filesystem as the objects, for bodies being received.
  virtual std::string StagingDir() const = 0;

  // Asked before a request that creates an object (PutObject, UploadPart, CopyObject,
  // CompleteMultipartUpload) reads its body: OK to go on, or a NoSpaceError (core/disk.h,
  // answered 503 SlowDown) when taking on `incoming_bytes` more would leave less free space
  // than the store keeps in reserve. Default: always OK.
  virtual Status AdmitWrite(int64_t incoming_bytes) {
    (void)incoming_bytes;
    return Status::Ok();
  }

  // --- Buckets ---
  virtual Result<std::vector<BucketInfo>> ListBuckets() = 0;  // by name
  // AlreadyExists when it exists (whoever owns it); the owner is kept with the bucket.
  virtual Status CreateBucket(const std::string& bucket, const std::string& owner) = 0;
  // What a CreateBucket request asks of the new bucket besides its owner (empty: the
  // default): BucketInfo::acl, ::versioning, ::object_lock.
  struct BucketSettings {
    std::string acl;
    std::string versioning;
    std::string object_lock;
  };
  // CreateBucket with `settings`. A store that overrides it makes the bucket with them in one
  // step, so that no bucket ever exists without what its creation asked for (object lock
  // above all: a retried CreateBucket of one's own bucket answers 200). Default: the separate
  // calls, in order.
  virtual Status CreateBucket(const std::string& bucket, const std::string& owner,
                              const BucketSettings& settings) {
    RETURN_IF_ERROR(CreateBucket(bucket, owner));
    if (!settings.versioning.empty()) {
      RETURN_IF_ERROR(PutBucketVersioning(bucket, settings.versioning));
    }
    if (!settings.object_lock.empty()) {
      RETURN_IF_ERROR(PutBucketObjectLock(bucket, settings.object_lock));
    }
    if (!settings.acl.empty()) RETURN_IF_ERROR(PutBucketAcl(bucket, settings.acl));
    return Status::Ok();
  }
  // The bucket's name, creation time and owner; NotFound (reason "no-such-bucket") when
  // missing.
  virtual Result<BucketInfo> GetBucket(const std::string& bucket) = 0;
  // NotFound when missing; FailedPrecondition, reason "bucket-not-empty", when it has objects.
  virtual Status DeleteBucket(const std::string& bucket) = 0;
  virtual Status HeadBucket(const std::string& bucket) = 0;  // OK or NotFound

  // --- Writes beyond Put ---
  // Starts a streamed body. NotFound for a missing bucket (checked again at commit).
  virtual Result<std::unique_ptr<ObjectUpload>> NewUpload(const std::string& bucket) = 0;
  // Concatenates the staged part files (in part order, left in place) into the object, with
  // the multipart ETag MultipartEtag(part_etags) where the store computes its own ETags,
  // and the event ObjectCreated:CompleteMultipartUpload. A store that keeps ObjectInfo::parts
  // records each file's size as its part's, with the number and checksum options.parts gives
  // it (one entry per file; otherwise the parts are numbered 1..N without checksums).
  virtual Result<ObjectInfo> CompleteMultipart(const std::string& bucket, const std::string& key,
                                               const std::vector<std::string>& part_paths,
                                               const std::vector<std::string>& part_etags,
                                               const PutOptions& options) = 0;
  // The bytes of src become dst (event ObjectCreated:Copy); Content-Type, metadata and tags
  // are the source's unless `replace` is given.
  virtual Result<ObjectInfo> Copy(const std::string& src_bucket, const std::string& src_key,
                                  const std::string& dst_bucket, const std::string& dst_key,
                                  const PutOptions* replace) = 0;

  // Replaces the object's tags; its bytes, ETag and Last-Modified stay. NotFound when the
  // object (or the bucket) is missing.
  virtual Status PutObjectTags(const std::string& bucket, const std::string& key,
                               const TagSet& tags) = 0;

  // Replaces the object's ACL (ObjectInfo::acl); its bytes, ETag and Last-Modified stay.
  // NotFound when the object (or the bucket) is missing.
  virtual Status PutObjectAcl(const std::string& bucket, const std::string& key,
                              const std::string& acl) = 0;
  // Replaces the bucket's ACL (BucketInfo::acl). NotFound (reason "no-such-bucket") when
  // the bucket is missing.
  virtual Status PutBucketAcl(const std::string& bucket, const std::string& acl) = 0;

  // Delete when `condition` holds for the object there now (CheckWriteCondition,
  // storage/s3_semantics.h), atomically with the delete. An empty condition: Delete.
  virtual Status DeleteIf(const std::string& bucket, const std::string& key,
                          const WriteCondition& condition) = 0;

  // --- Reads beyond Get ---
  // Opens the object (or the range of it that options.range selects, after the conditions)
  // for streaming. Same failures as Get.
  virtual Result<ObjectReader> OpenObject(const std::string& bucket, const std::string& key,
                                          const GetOptions& options) = 0;

  // --- Versioning (S3 semantics) ---
  // The defaults are those of a store without versioning: each object is its only version,
  // "null"; PutBucketVersioning is Unimplemented. LocalObjectStore keeps versions.
  //
  // Sets the bucket's versioning to kVersioningEnabled or kVersioningSuspended (existing
  // versions stay). NotFound (reason "no-such-bucket") for a missing bucket.
  virtual Status PutBucketVersioning(const std::string& bucket, const std::string& status) {
    (void)bucket;
    (void)status;
    return UnimplementedError("this store does not keep object versions");
  }
  // Sets the bucket's object lock configuration (BucketInfo::object_lock; the S3 endpoint
  // keeps versioning Enabled on such a bucket). NotFound (reason "no-such-bucket") for a
  // missing bucket. Default: Unimplemented.
  virtual Status PutBucketObjectLock(const std::string& bucket, const std::string& configuration) {
    (void)bucket;
    (void)configuration;
    return UnimplementedError("this store does not keep object locks");
  }
  // The version `version_id` of the key (empty: the latest), delete markers included
  // (ObjectInfo::delete_marker; such an ObjectInfo has no size nor ETag). NotFound when the
  // key has no such version (or no version at all).
  virtual Result<ObjectInfo> HeadVersion(const std::string& bucket, const std::string& key,
                                         const std::string& version_id) {
    if (!version_id.empty() && version_id != "null") {
      return NotFoundError(bucket + "/" + key + ": no such version");
    }
    return Head(bucket, key);
  }
  // Without a version id: DeleteIf on an unversioned bucket; on a versioned one a delete
  // marker becomes the latest version (Suspended: the "null" version is replaced by it).
  // With one: that version is removed for good (a missing version is OK, as on S3); when it
  // was the latest, the next newest becomes the latest. `condition` holds against the
  // version deleted (without a version id: the latest object). A version its ObjectLock
  // protects now (ObjectLock::Protects at the store's clock, condition.bypass_governance) is
  // not removed: FailedPrecondition with reason "object-locked", decided in the delete's
  // transaction, so no concurrent UpdateVersionLock slips between the check and the delete.
  virtual Result<DeletedVersion> DeleteVersion(const std::string& bucket, const std::string& key,
                                               const std::string& version_id,
                                               const WriteCondition& condition) {
    if (!version_id.empty() && version_id != "null") return DeletedVersion{version_id, false};
    RETURN_IF_ERROR(DeleteIf(bucket, key, condition));
    return DeletedVersion{};
  }
  // Copy of the version `src_version_id` of the source (empty: the latest).
  virtual Result<ObjectInfo> CopyVersion(const std::string& src_bucket, const std::string& src_key,
                                         const std::string& src_version_id,
                                         const std::string& dst_bucket, const std::string& dst_key,
                                         const PutOptions* replace) {
    if (!src_version_id.empty() && src_version_id != "null") {
      return NotFoundError(src_bucket + "/" + src_key + ": no such version");
    }
    return Copy(src_bucket, src_key, dst_bucket, dst_key, replace);
  }
  // PutObjectTags / PutObjectAcl of the version `version_id` (empty: the latest). NotFound
  // for a missing version or a delete marker.
  virtual Status PutVersionTags(const std::string& bucket, const std::string& key,
                                const std::string& version_id, const TagSet& tags) {
    if (!version_id.empty() && version_id != "null") {
      return NotFoundError(bucket + "/" + key + ": no such version");
    }
    return PutObjectTags(bucket, key, tags);
  }
  virtual Status PutVersionAcl(const std::string& bucket, const std::string& key,
                               const std::string& version_id, const std::string& acl) {
    if (!version_id.empty() && version_id != "null") {
      return NotFoundError(bucket + "/" + key + ": no such version");
    }
    return PutObjectAcl(bucket, key, acl);
  }
  // S3 Object Lock: changes the lock (ObjectInfo::lock) of the version `version_id` of the key
  // (empty: the latest) atomically with respect to every write and delete of the key.
  // `change` is called inside the store's transaction with the version's lock as it is and
  // may change it; an error it returns is returned as is and changes nothing. It may be
  // called more than once (a retried transaction): it must have no other effect. Returns
  // the version (id, with the lock as stored). NotFound for a missing version or a delete
  // marker (reason "no-such-bucket" for the bucket). Default: Unimplemented.
  using LockChange = std::function<Status(ObjectLock& lock)>;
  virtual Result<ObjectInfo> UpdateVersionLock(const std::string& bucket, const std::string& key,
                                               const std::string& version_id,
                                               const LockChange& change) {
    (void)bucket;
    (void)key;
    (void)version_id;
    (void)change;
    return UnimplementedError("this store does not keep object locks");
  }
  // ListObjectVersions. InvalidArgument when version_id_marker is not a version id this
  // store makes; a version id that no longer exists goes on after key_marker.
  // The default lists every object once as its version "null".
  virtual Result<ListVersionsResult> ListVersions(const std::string& bucket,
                                                  const ListVersionsOptions& options);
};

}  // namespace thumbflow
