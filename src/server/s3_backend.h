// S3Backend: what the S3 endpoint needs from the embedded store, beyond the ObjectStore port:
// bucket operations, objects committed from a staged file (so large bodies are streamed to
// disk, never held in memory) and reads that stream.
//
// Bodies of PutObject are streamed into the store (BackendUpload); multipart parts are files
// in StagingDir() until the upload completes.
//
// Thread-safety: every method may be called from any thread concurrently.
// Failures follow storage/object_store.h (NotFound, FailedPrecondition with reasons
// "precondition-failed" / "not-modified", InvalidArgument with reason "invalid-range", ...);
// bucket operations add AlreadyExists (CreateBucket) and FailedPrecondition with reason
// "bucket-not-empty" (DeleteBucket).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "storage/object_store.h"

namespace thumbflow::server {

struct BucketInfo {
  std::string name;
  int64_t created_ms = 0;
};

// Sequential reader of an object's selected bytes. Not thread-safe; one per response.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to `capacity` bytes; returns 0 only at the end.
  virtual Result<size_t> Read(char* buffer, size_t capacity) = 0;
};

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

// An object body being streamed into the store (PutObject). Destroying it without a commit
// discards it. Not thread-safe: one writer.
class BackendUpload {
 public:
  virtual ~BackendUpload() = default;
  // ResourceExhausted once the store's object size limit is passed.
  virtual Status Write(std::string_view bytes) = 0;
  // Hex MD5 of every byte written, after the last Write(): the upload hashes what it
  // stores, so the handler need not hash the body a second time.
  virtual std::string Md5Hex() = 0;
};

class S3Backend {
 public:
  virtual ~S3Backend() = default;

  // A folder on the same filesystem as the objects, for bodies being received.
  virtual std::string StagingDir() const = 0;

  // Asked before a request that creates an object (PutObject, UploadPart, CopyObject,
  // CompleteMultipartUpload) reads its body: OK to go on, or a NoSpaceError (core/disk.h,
  // answered 503 SlowDown) when taking on `incoming_bytes` more would leave less free space
  // than the backend keeps in reserve. Default: always OK.
  virtual Status AdmitWrite(int64_t incoming_bytes) {
    (void)incoming_bytes;
    return Status::Ok();
  }

  virtual Result<std::vector<BucketInfo>> ListBuckets() = 0;
  virtual Status CreateBucket(const std::string& bucket) = 0;
  virtual Status DeleteBucket(const std::string& bucket) = 0;
  virtual Status HeadBucket(const std::string& bucket) = 0;

  virtual Result<std::unique_ptr<BackendUpload>> NewUpload(const std::string& bucket) = 0;
  // Makes the upload the object `key` atomically (readers see the old or the new object)
  // together with its upload event when a notification rule matches (ObjectCreated:Put).
  virtual Result<ObjectInfo> CommitUpload(std::unique_ptr<BackendUpload> upload,
                                          const std::string& key, const PutOptions& options) = 0;
  // Concatenates the part files (left in place) into the object, with the multipart ETag
  // and the event ObjectCreated:CompleteMultipartUpload.
  virtual Result<ObjectInfo> CompleteMultipart(const std::string& bucket, const std::string& key,
                                               const std::vector<std::string>& part_paths,
                                               const std::vector<std::string>& part_etags,
                                               const PutOptions& options) = 0;
  // The bytes of src become dst (event ObjectCreated:Copy); Content-Type and metadata are
  // the source's unless `replace` is given.
  virtual Result<ObjectInfo> CopyObject(const std::string& src_bucket, const std::string& src_key,
                                        const std::string& dst_bucket, const std::string& dst_key,
                                        const PutOptions* replace) = 0;
  virtual Result<ObjectReader> OpenObject(const std::string& bucket, const std::string& key,
                                          const GetOptions& options) = 0;
  virtual Result<ObjectInfo> HeadObject(const std::string& bucket, const std::string& key) = 0;
  virtual Status DeleteObject(const std::string& bucket, const std::string& key) = 0;
  virtual Result<ListResult> ListObjects(const std::string& bucket, const ListOptions& options) = 0;
};

// A ByteSource over bytes held in memory.
std::unique_ptr<ByteSource> StringSource(std::string bytes);

}  // namespace thumbflow::server
