// PortBackend: an S3Backend over any ObjectStore (the in-memory fake in tests, or any
// adapter that has no streaming API). Buckets are tracked here; object bodies are held in
// memory and passed to ObjectStore::Put, so this backend is for tests and
// small objects only: the local store's own backend streams.
//
// Thread-safe. The store must outlive the backend. ETags are the store's, so a multipart
// object committed here has its single-part MD5 ETag.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "server/s3_backend.h"

namespace thumbflow::server {

class PortBackend final : public S3Backend {
 public:
  // `create_bucket` is called for CreateBucket so the store learns the bucket (may be empty).
  PortBackend(ObjectStore* store, std::string staging_dir, std::vector<std::string> buckets,
              std::function<Status(const std::string&)> create_bucket, const Clock* clock);

  std::string StagingDir() const override { return staging_dir_; }
  Result<std::vector<BucketInfo>> ListBuckets() override;
  Status CreateBucket(const std::string& bucket) override;
  Status DeleteBucket(const std::string& bucket) override;
  Status HeadBucket(const std::string& bucket) override;
  Result<std::unique_ptr<BackendUpload>> NewUpload(const std::string& bucket) override;
  Result<ObjectInfo> CommitUpload(std::unique_ptr<BackendUpload> upload, const std::string& key,
                                  const PutOptions& options) override;
  Result<ObjectInfo> CompleteMultipart(const std::string& bucket, const std::string& key,
                                       const std::vector<std::string>& part_paths,
                                       const std::vector<std::string>& part_etags,
                                       const PutOptions& options) override;
  Result<ObjectInfo> CopyObject(const std::string& src_bucket, const std::string& src_key,
                                const std::string& dst_bucket, const std::string& dst_key,
                                const PutOptions* replace) override;
  Result<ObjectReader> OpenObject(const std::string& bucket, const std::string& key,
                                  const GetOptions& options) override;
  Result<ObjectInfo> HeadObject(const std::string& bucket, const std::string& key) override;
  Status DeleteObject(const std::string& bucket, const std::string& key) override;
  Result<ListResult> ListObjects(const std::string& bucket, const ListOptions& options) override;

 private:
  Status CheckBucket(const std::string& bucket);

  ObjectStore* store_;
  std::string staging_dir_;
  std::function<Status(const std::string&)> create_bucket_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, int64_t> buckets_;  // name -> created ms
};

}  // namespace thumbflow::server
