// LocalObjectStore: the ObjectStore of the embedded mode, in a data folder DIR. It implements
// the whole storage port (storage/streaming_object_store.h) itself: uploads stream into
// files in the data folder and reads stream from the object's file.
//
// Layout: object bytes in DIR/objects/XX/<32 hex> (random names, never derived from keys, so
// no key can reach outside the folder), the index (bucket, key, size, ETag, Content-Type,
// user metadata, last-modified, tags, which file; each bucket's owner) in DIR/thumbflow.db, the
// same SQLite file as the embedded queue (tables store_buckets, store_objects, store_versions,
// store_counters). S3 versioning: store_objects holds each key's latest version when it is an
// object, store_versions the noncurrent versions and the delete markers; a versioned write
// moves the latest row there in the transaction that commits the new one, and a noncurrent
// version's file stays until that version is deleted. Data folders of earlier versions are
// migrated at open: their objects become the "null" versions of unversioned buckets.
//
// The outbox: every write and delete hands its change to the Outbox the store is given
// (storage/outbox.h) inside the SQLite transaction that commits the index row; the embedded
// mode's SqliteOutbox (queue/sqlite_outbox.h) enqueues the S3 event notification of the
// matching rules there. So an object is visible exactly when its event is queued.
// Bytes are written to a temporary file (<random name>.tmp) in the objects folder, fsynced,
// renamed to the random name, and the folder fsynced, all before the row that names the file
// commits: a crash at any instant leaves the old object or the new one with its event,
// never a partial file behind a row, and a file under a blob name is always whole. (The
// rename costs about 15% of small-PUT throughput against writing under the final name:
// bench/s3/s3_bench.py --compare-bin.) Files that no row names (a crash before the commit,
// or between the commit and removing an overwritten file) are swept when a store opens the
// folder while no other store has it open.
//
// Thread-safety: every method of LocalObjectStore may be called from any thread; writes of
// concurrent callers share SQLite commits (group commit). A LocalUpload or
// LocalObjectReader belongs to one thread at a time. Several processes may open the same
// folder (the index is SQLite); only the first sweeps.
//
// Failures (besides those of the ObjectStore port): NotFound for a missing bucket;
// FailedPrecondition with reason "bucket-not-empty" from DeleteBucket; AlreadyExists from
// CreateBucket; ResourceExhausted for objects over max_object_bytes or a full disk;
// Unavailable (retryable) when the database is locked beyond its busy timeout or I/O fails.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "storage/etag.h"
#include "storage/outbox.h"
#include "storage/streaming_object_store.h"

namespace thumbflow {

namespace sqlite {
class Database;
}

struct LocalStoreOptions {
  // Publishes the event of each change in the transaction that commits it (storage/outbox.h);
  // null: no events. Shared with whoever else needs it; used from any thread.
  std::shared_ptr<Outbox> outbox;
  // Created at open when missing; empty: none.
  std::string default_bucket = "images";
  int64_t max_object_bytes = int64_t{5} << 30;
  // fsync bytes and folders before an object becomes visible. Only tests and benchmarks that
  // do not care about power loss turn it off; a killed process loses nothing either way.
  bool fsync = true;
  // StagingDir(): where the S3 endpoint stages bodies (multipart parts). Must be on the data
  // folder's file system; the caller creates it. Empty: DIR/staging (not created).
  std::string staging_dir;
  // The free-space reserve of the data folder's file system ([storage] min_free_bytes) that
  // AdmitWrite keeps; 0: none.
  int64_t min_free_bytes = 0;
};

// How a write commits, beyond the object's bytes.
struct CommitOptions {
  PutOptions put;  // Content-Type and user metadata
  // The ETag to store, with quotes. Empty: the quoted MD5 of the bytes written (single-part
  // objects). A multipart completion passes MultipartEtag(part ETags).
  std::string etag;
  // Event name written in the notification, as S3 writes it: "ObjectCreated:Put",
  // "ObjectCreated:Copy", "ObjectCreated:CompleteMultipartUpload", "ObjectCreated:Post".
  std::string event_name = "ObjectCreated:Put";
  // Who asked, for the event's userIdentity / requestParameters / responseElements.
  std::string principal_id = "thumbflow";
  std::string source_ip = "127.0.0.1";
  std::string request_id;  // empty: a random one
};

class LocalObjectStore;

// A body being streamed into a temporary file inside the data folder, on its way to
// becoming an object (LocalObjectStore::CommitUpload). Destroying an uncommitted upload
// removes the file. Not thread-safe: one writer.
class LocalUpload final : public ObjectUpload {
 public:
  ~LocalUpload() override;
  LocalUpload(const LocalUpload&) = delete;
  LocalUpload& operator=(const LocalUpload&) = delete;

  // Appends bytes. ResourceExhausted (reason "too-large") once the total would pass the
  // store's max_object_bytes; the upload is then unusable.
  Status Write(std::string_view bytes) override;
  // Appends the whole content of the file at `path` (a multipart part), copied in the
  // kernel. The MD5 of the upload is then unknown: CommitUpload needs an explicit etag.
  Status AppendFile(const std::string& path);

  int64_t size() const { return size_; }
  // Hex MD5 of what Write() appended (to check a Content-MD5); empty after AppendFile().
  // Ends the hashing: call it after the last Write() (any number of times).
  std::string Md5Hex() override;
  const std::string& bucket() const { return bucket_; }

  // LocalObjectStore::CommitUpload with event ObjectCreated:Put.
  Result<ObjectInfo> Commit(const std::string& key, const PutOptions& options) override;
  // The same with explicit commit options (event name, ETag, identity).
  Result<ObjectInfo> Commit(const std::string& key, const CommitOptions& options);

 private:
  friend class LocalObjectStore;
  LocalUpload(LocalObjectStore* store, std::string bucket, std::string blob, std::string path,
              int fd, int64_t max_bytes);

  LocalObjectStore* store_;
  std::string bucket_;
  std::string blob_;  // file name (32 hex)
  // DIR/objects/XX/<blob>.tmp, then (renamed) DIR/objects/XX/<blob>; removed by the
  // destructor until CommitUpload hands it to the index.
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
  int64_t max_bytes_ = 0;
  Md5Hasher md5_;
  bool md5_valid_ = true;
  std::string md5_hex_;  // set by the first Md5Hex()
  bool failed_ = false;
  // Large bodies: the writeback of each further MiB written is started while the rest is
  // still arriving, so the fsync at commit waits mostly for the tail. Off when the store does
  // not fsync. writeback_started_: bytes whose writeback was started.
  bool early_writeback_ = false;
  int64_t writeback_started_ = 0;
};

// An object opened for reading without loading it into memory (GET of large objects). The
// file stays readable even if the object is overwritten or deleted meanwhile. Not
// thread-safe.
class LocalObjectReader final : public ByteSource {
 public:
  ~LocalObjectReader() override;
  LocalObjectReader(const LocalObjectReader&) = delete;
  LocalObjectReader& operator=(const LocalObjectReader&) = delete;

  const ObjectInfo& info() const { return info_; }  // the whole object
  int64_t offset() const { return offset_; }        // the selected range within it
  int64_t length() const { return length_; }
  // Reads the next bytes of the range into `buffer`; 0 at the end of the range.
  Result<size_t> Read(char* buffer, size_t capacity) override;
  // The open file (for sendfile); reads must use pread at offset() + position.
  int fd() const { return fd_; }

 private:
  friend class LocalObjectStore;
  LocalObjectReader(ObjectInfo info, int fd, int64_t offset, int64_t length)
      : info_(std::move(info)), fd_(fd), offset_(offset), length_(length) {}
  ObjectInfo info_;
  int fd_;
  int64_t offset_;
  int64_t length_;
  int64_t position_ = 0;
};

class LocalObjectStore final : public StreamingObjectStore {
 public:
  // Opens the data folder `dir` (created when missing) on an open database — normally
  // sqlite::Database::Open(dir + "/thumbflow.db"), shared with the SqliteQueue of the same
  // process so both group-commit together. Creates the tables and default_bucket, and
  // sweeps orphan files when no other store has the folder open. `clock` must outlive the
  // store.
  static Result<std::unique_ptr<LocalObjectStore>> Open(std::shared_ptr<sqlite::Database> db,
                                                        const std::string& dir,
                                                        LocalStoreOptions options,
                                                        const Clock& clock);
  // The same, opening DIR/thumbflow.db itself.
  static Result<std::unique_ptr<LocalObjectStore>> Open(const std::string& dir,
                                                        LocalStoreOptions options,
                                                        const Clock& clock);
  ~LocalObjectStore() override;

  // --- ObjectStore port ---
  Result<ObjectData> Get(const std::string& bucket, const std::string& key,
                         const GetOptions& options = {}) override;
  // Commits with event name ObjectCreated:Put.
  Result<ObjectInfo> Put(const std::string& bucket, const std::string& key, std::string_view bytes,
                         const PutOptions& options = {}) override;
  Result<ObjectInfo> Head(const std::string& bucket, const std::string& key) override;
  Status Delete(const std::string& bucket, const std::string& key) override;
  // Delete after CheckWriteCondition, in the same transaction.
  Status DeleteIf(const std::string& bucket, const std::string& key,
                  const WriteCondition& condition) override;
  Result<ListResult> List(const std::string& bucket, const ListOptions& options) override;

  // --- StreamingObjectStore port ---
  std::string StagingDir() const override;
  // NoSpaceError when the data folder's free space minus `incoming_bytes` is below
  // options.min_free_bytes (FreeSpaceStatus explains the shortfall).
  Status AdmitWrite(int64_t incoming_bytes) override;
  Result<std::vector<BucketInfo>> ListBuckets() override;
  Status CreateBucket(const std::string& bucket, const std::string& owner) override;
  // One INSERT: the bucket and its settings commit together.
  Status CreateBucket(const std::string& bucket, const std::string& owner,
                      const BucketSettings& settings) override;
  Result<BucketInfo> GetBucket(const std::string& bucket) override;
  Status DeleteBucket(const std::string& bucket) override;
  Status HeadBucket(const std::string& bucket) override;
  // A LocalUpload (NewLocalUpload).
  Result<std::unique_ptr<ObjectUpload>> NewUpload(const std::string& bucket) override;
  // CompleteMultipart below with only Content-Type and metadata.
  Result<ObjectInfo> CompleteMultipart(const std::string& bucket, const std::string& key,
                                       const std::vector<std::string>& part_paths,
                                       const std::vector<std::string>& part_etags,
                                       const PutOptions& options) override;
  // CopyObject: the bytes of src (its Content-Type and metadata unless `replace` is given)
  // become dst, with event ObjectCreated:Copy and the MD5 ETag of the bytes.
  Result<ObjectInfo> Copy(const std::string& src_bucket, const std::string& src_key,
                          const std::string& dst_bucket, const std::string& dst_key,
                          const PutOptions* replace = nullptr) override;
  Status PutObjectTags(const std::string& bucket, const std::string& key,
                       const TagSet& tags) override;
  Status PutObjectAcl(const std::string& bucket, const std::string& key,
                      const std::string& acl) override;
  Status PutBucketAcl(const std::string& bucket, const std::string& acl) override;
  // --- Versioning (storage/streaming_object_store.h) ---
  Status PutBucketVersioning(const std::string& bucket, const std::string& status) override;
  // --- S3 Object Lock (storage/streaming_object_store.h): store_buckets.object_lock, and the
  // lock columns of each version row, written in the transaction that commits the version ---
  Status PutBucketObjectLock(const std::string& bucket, const std::string& configuration) override;
  Result<ObjectInfo> UpdateVersionLock(const std::string& bucket, const std::string& key,
                                       const std::string& version_id,
                                       const LockChange& change) override;
  Result<ObjectInfo> HeadVersion(const std::string& bucket, const std::string& key,
                                 const std::string& version_id) override;
  Result<DeletedVersion> DeleteVersion(const std::string& bucket, const std::string& key,
                                       const std::string& version_id,
                                       const WriteCondition& condition) override;
  Result<ObjectInfo> CopyVersion(const std::string& src_bucket, const std::string& src_key,
                                 const std::string& src_version_id, const std::string& dst_bucket,
                                 const std::string& dst_key, const PutOptions* replace) override;
  Result<ListVersionsResult> ListVersions(const std::string& bucket,
                                          const ListVersionsOptions& options) override;
  Status PutVersionTags(const std::string& bucket, const std::string& key,
                        const std::string& version_id, const TagSet& tags) override;
  Status PutVersionAcl(const std::string& bucket, const std::string& key,
                       const std::string& version_id, const std::string& acl) override;
  // OpenForRead, its source the LocalObjectReader.
  Result<ObjectReader> OpenObject(const std::string& bucket, const std::string& key,
                                  const GetOptions& options) override;

  // OK while the data folder has at least options.min_free_bytes free (after taking on
  // `incoming_bytes`); else a NoSpaceError that says how much is free and what the reserve
  // is. For /readyz.
  Status FreeSpaceStatus(int64_t incoming_bytes = 0) const;

  // --- Writes beyond the port ---
  // Put with explicit commit options (event name, ETag, identity).
  Result<ObjectInfo> PutWith(const std::string& bucket, const std::string& key,
                             std::string_view bytes, const CommitOptions& options);
  // Starts a streamed body: a temporary file inside the data folder. NotFound for a missing
  // bucket (checked again at commit).
  Result<std::unique_ptr<LocalUpload>> NewLocalUpload(const std::string& bucket);
  // Makes the upload the object bucket/key: fsync of the file and its folder, then one
  // transaction with the index row and the events of matching rules; the old object's file
  // (if any) is removed after the commit. On failure nothing is visible and the file is removed.
  Result<ObjectInfo> CommitUpload(std::unique_ptr<LocalUpload> upload, const std::string& key,
                                  const CommitOptions& options);
  // Completes a multipart upload: the parts' files (in part order, left in place) are
  // concatenated and committed with ETag MultipartEtag(part_etags) and event
  // ObjectCreated:CompleteMultipartUpload. `options.etag` and `options.event_name` are
  // ignored.
  Result<ObjectInfo> CompleteMultipart(const std::string& bucket, const std::string& key,
                                       const std::vector<std::string>& part_paths,
                                       const std::vector<std::string>& part_etags,
                                       CommitOptions options);

  // --- Reads beyond the port ---
  // Opens the object (or the range of it that options.range selects, after the conditions)
  // for streaming. Same failures as Get.
  Result<std::unique_ptr<LocalObjectReader>> OpenForRead(const std::string& bucket,
                                                         const std::string& key,
                                                         const GetOptions& options = {});

  const std::string& dir() const { return dir_; }
  sqlite::Database& database() const { return *db_; }
  const LocalStoreOptions& options() const { return options_; }

 private:
  friend class LocalUpload;
  struct Row;
  LocalObjectStore(std::shared_ptr<sqlite::Database> db, std::string dir, LocalStoreOptions options,
                   const Clock& clock, int lock_fd);

  Status Initialize();
  Status SweepOrphans();
  std::string BlobPath(const std::string& blob) const;
  // The version `version_id` of the key (empty: the latest); NotFound when missing, and for
  // a delete marker unless `delete_markers`.
  Result<Row> FindRow(const std::string& bucket, const std::string& key,
                      const std::string& version_id, bool delete_markers);
  // Sets `column` (tags, acl) of the version `version_id` of the key (empty: the latest) to
  // `value`. NotFound (reason "no-such-bucket" for the bucket) when missing; a delete marker
  // has neither.
  Status UpdateObject(const std::string& bucket, const std::string& key,
                      const std::string& version_id, const char* column, const std::string& value);
  Result<std::unique_ptr<LocalObjectReader>> OpenRow(const std::string& bucket,
                                                     const std::string& key,
                                                     const GetOptions& options);
  // The outbox's Publish, or nothing without one.
  Status Publish(sqlite::Transaction& tx, const ObjectChange& change);
  // CommitUpload on an upload its owner keeps (LocalUpload::Commit).
  Result<ObjectInfo> CommitUploaded(LocalUpload& upload, const std::string& key,
                                    const CommitOptions& options);
  Result<ObjectInfo> CommitRow(const std::string& bucket, const std::string& key,
                               const std::string& blob, int64_t size, const std::string& etag,
                               const CommitOptions& options);

  std::shared_ptr<sqlite::Database> db_;
  std::string dir_;
  std::string objects_dir_;
  LocalStoreOptions options_;
  const Clock& clock_;
  int lock_fd_;  // flock'd shared while open; exclusive during the sweep
};

}  // namespace thumbflow
