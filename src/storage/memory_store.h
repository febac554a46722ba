// MemoryObjectStore: the in-memory fake of the ObjectStore port, with S3 semantics (quoted
// MD5 ETags, byte-order listing with delimiters and continuation, ranges, conditional gets,
// NoSuchBucket for unknown buckets). For tests and for tools that need a throwaway store.
//
// Thread-safe: every method takes one mutex, so each call is atomic with respect to the
// others. Nothing is persisted. Not final: a test may derive from it to inject a fault in
// one method (as leveldb's EnvWrapper does).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "storage/object_store.h"

namespace thumbflow {

class MemoryObjectStore : public ObjectStore {
 public:
  // `clock` (not owned, must outlive the store) stamps last-modified times; nullptr uses
  // the system clock. `buckets` exist from the start.
  explicit MemoryObjectStore(const std::vector<std::string>& buckets = {},
                             const Clock* clock = nullptr);

  // AlreadyExists when the bucket exists; InvalidArgument for a bad name.
  Status CreateBucket(const std::string& bucket);

  Result<ObjectData> Get(const std::string& bucket, const std::string& key,
                         const GetOptions& options = {}) override;
  Result<ObjectInfo> Put(const std::string& bucket, const std::string& key, std::string_view bytes,
                         const PutOptions& options = {}) override;
  Result<ObjectInfo> Head(const std::string& bucket, const std::string& key) override;
  Status Delete(const std::string& bucket, const std::string& key) override;
  // Delete after CheckWriteCondition, atomically.
  Status DeleteIf(const std::string& bucket, const std::string& key,
                  const WriteCondition& condition);
  Result<ListResult> List(const std::string& bucket, const ListOptions& options) override;

 private:
  struct Object {
    ObjectInfo info;
    std::string bytes;
  };
  using Bucket = std::map<std::string, Object>;  // byte order, as S3 lists

  // Requires mu_ held.
  Result<Bucket*> FindBucket(const std::string& bucket);

  SystemClock system_clock_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace thumbflow
