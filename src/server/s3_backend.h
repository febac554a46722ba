// S3Backend: what the S3 endpoint needs from the embedded store, beyond the ObjectStore port:
// bucket operations, objects committed from a staged file (so large bodies are streamed to
// disk, never held in memory) and reads that stream.
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

// A body already written (and fsynced) to a file in StagingDir(). Commit takes the file:
// on success it belongs to the store; on failure the caller removes it.
struct StagedFile {
  std::string path;
  int64_t size = 0;
  std::string etag;  // quoted; single-part MD5 or the multipart "md5-of-md5s-N"
};

class S3Backend {
 public:
  virtual ~S3Backend() = default;

  // A folder on the same filesystem as the objects, for bodies being received.
  virtual std::string StagingDir() const = 0;

  virtual Result<std::vector<BucketInfo>> ListBuckets() = 0;
  virtual Status CreateBucket(const std::string& bucket) = 0;
  virtual Status DeleteBucket(const std::string& bucket) = 0;
  virtual Status HeadBucket(const std::string& bucket) = 0;

  // Makes the staged file the object `key` atomically (readers see the old or the new
  // object) together with its upload event, when a notification rule matches.
  // `multipart` selects the event name ObjectCreated:CompleteMultipartUpload.
  virtual Result<ObjectInfo> CommitObject(const std::string& bucket, const std::string& key,
                                          const StagedFile& file, const PutOptions& options,
                                          bool multipart) = 0;
  virtual Result<ObjectReader> OpenObject(const std::string& bucket, const std::string& key,
                                          const GetOptions& options) = 0;
  virtual Result<ObjectInfo> HeadObject(const std::string& bucket, const std::string& key) = 0;
  virtual Status DeleteObject(const std::string& bucket, const std::string& key) = 0;
  virtual Result<ListResult> ListObjects(const std::string& bucket, const ListOptions& options) = 0;
};

}  // namespace thumbflow::server
