// LocalBackend: the S3Backend of `thumbflow serve`, over the embedded LocalObjectStore.
// Bodies stream into the store's temporary files; GETs stream from the object file;
// multipart parts live in <data>/multipart/ until completion. Thread-safe (as the store).
#pragma once

#include <string>

#include "server/s3_backend.h"
#include "storage/local_store.h"

namespace thumbflow::server {

class LocalBackend final : public S3Backend {
 public:
  // `store` must outlive the backend. `staging_dir` must be on the data folder's filesystem.
  // `min_free_bytes`: the free-space reserve of the data folder's file system ([storage]
  // min_free_bytes); 0: none.
  LocalBackend(LocalObjectStore* store, std::string staging_dir, int64_t min_free_bytes = 0);

  std::string StagingDir() const override { return staging_dir_; }
  // NoSpaceError when the data folder's free space minus `incoming_bytes` is below the
  // reserve (FreeSpaceStatus explains the shortfall).
  Status AdmitWrite(int64_t incoming_bytes) override;
  // OK while the data folder has at least the reserve free; else a NoSpaceError that says
  // how much is free and what the reserve is. For /readyz.
  Status FreeSpaceStatus(int64_t incoming_bytes = 0) const;
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
  LocalObjectStore* store_;
  std::string staging_dir_;
  int64_t min_free_bytes_;
};

}  // namespace thumbflow::server
