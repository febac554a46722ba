// StreamingAdapter: the StreamingObjectStore port over any ObjectStore (the in-memory fake,
// S3), for tests. Buckets are tracked here; bodies are held in memory and passed to
// ObjectStore::Put, and reads are whole Gets served from memory, so this adapter is for tests
// and small objects only: LocalObjectStore implements the port itself and streams.
//
// Thread-safe. The store must outlive the adapter. ETags are the store's, so a multipart
// object committed here has its single-part MD5 ETag.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::testing {

class StreamingAdapter final : public StreamingObjectStore {
 public:
  // `buckets` exist from the start. `create_bucket` is called for CreateBucket so the store
  // learns the bucket (may be empty). `clock` must outlive the adapter.
  StreamingAdapter(ObjectStore* store, std::string staging_dir, std::vector<std::string> buckets,
                   std::function<Status(const std::string&)> create_bucket, const Clock* clock);

  // --- ObjectStore: the store's, after checking the bucket here ---
  Result<ObjectData> Get(const std::string& bucket, const std::string& key,
                         const GetOptions& options = {}) override;
  Result<ObjectInfo> Put(const std::string& bucket, const std::string& key, std::string_view bytes,
                         const PutOptions& options = {}) override;
  Result<ObjectInfo> Head(const std::string& bucket, const std::string& key) override;
  Status Delete(const std::string& bucket, const std::string& key) override;
  Result<ListResult> List(const std::string& bucket, const ListOptions& options) override;

  // --- StreamingObjectStore ---
  std::string StagingDir() const override { return staging_dir_; }
  Result<std::vector<BucketInfo>> ListBuckets() override;
  Status CreateBucket(const std::string& bucket, const std::string& owner) override;
  Result<BucketInfo> GetBucket(const std::string& bucket) override;
  Status DeleteBucket(const std::string& bucket) override;
  Status HeadBucket(const std::string& bucket) override;
  Result<std::unique_ptr<ObjectUpload>> NewUpload(const std::string& bucket) override;
  Result<ObjectInfo> CompleteMultipart(const std::string& bucket, const std::string& key,
                                       const std::vector<std::string>& part_paths,
                                       const std::vector<std::string>& part_etags,
                                       const PutOptions& options) override;
  Result<ObjectInfo> Copy(const std::string& src_bucket, const std::string& src_key,
                          const std::string& dst_bucket, const std::string& dst_key,
                          const PutOptions* replace) override;
  // Puts the object again with the new tags (its Last-Modified moves: tests only).
  Status PutObjectTags(const std::string& bucket, const std::string& key,
                       const TagSet& tags) override;
  // Puts the object again with the new ACL (as PutObjectTags: tests only).
  Status PutObjectAcl(const std::string& bucket, const std::string& key,
                      const std::string& acl) override;
  Status PutBucketAcl(const std::string& bucket, const std::string& acl) override;
  // Head, CheckWriteCondition, Delete: not atomic (a test double; the stores' own conditional
  // writes, through Put, are).
  Status DeleteIf(const std::string& bucket, const std::string& key,
                  const WriteCondition& condition) override;
  Result<ObjectReader> OpenObject(const std::string& bucket, const std::string& key,
                                  const GetOptions& options) override;

 private:
  ObjectStore* store_;
  std::string staging_dir_;
  std::function<Status(const std::string&)> create_bucket_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, BucketInfo> buckets_;
};

}  // namespace thumbflow::testing
