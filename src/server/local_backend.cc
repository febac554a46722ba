#include "server/local_backend.h"

#include <algorithm>

#include "core/disk.h"

namespace thumbflow::server {
namespace {

class LocalBackendUpload final : public BackendUpload {
 public:
  explicit LocalBackendUpload(std::unique_ptr<LocalUpload> local) : upload(std::move(local)) {}
  Status Write(std::string_view bytes) override { return upload->Write(bytes); }
  std::string Md5Hex() override { return upload->Md5Hex(); }
  std::unique_ptr<LocalUpload> upload;
};

class ReaderSource final : public ByteSource {
 public:
  explicit ReaderSource(std::unique_ptr<LocalObjectReader> reader) : reader_(std::move(reader)) {}
  Result<size_t> Read(char* buffer, size_t capacity) override {
    return reader_->Read(buffer, capacity);
  }

 private:
  std::unique_ptr<LocalObjectReader> reader_;
};

}  // namespace

LocalBackend::LocalBackend(LocalObjectStore* store, std::string staging_dir, int64_t min_free_bytes)
    : store_(store), staging_dir_(std::move(staging_dir)), min_free_bytes_(min_free_bytes) {}

Status LocalBackend::FreeSpaceStatus(int64_t incoming_bytes) const {
  if (min_free_bytes_ <= 0) return Status::Ok();
  Result<int64_t> free_bytes = FreeBytes(store_->dir());
  // A folder that cannot be examined is not a reason to refuse: the write itself reports
  // whatever is wrong.
  if (!free_bytes.ok() || *free_bytes - incoming_bytes >= min_free_bytes_) return Status::Ok();
  std::string message = "the disk of the data folder " + store_->dir() + " has " +
                        std::to_string(*free_bytes) + " bytes free";
  if (incoming_bytes > 0) message += " (" + std::to_string(incoming_bytes) + " more requested)";
  message +=
      ", below the reserve of [storage] min_free_bytes = " + std::to_string(min_free_bytes_) +
      ": new uploads are refused until space is freed; uploads already accepted are "
      "still processed";
  return NoSpaceError(std::move(message));
}

Status LocalBackend::AdmitWrite(int64_t incoming_bytes) {
  return FreeSpaceStatus(std::max<int64_t>(0, incoming_bytes));
}

Result<std::vector<BucketInfo>> LocalBackend::ListBuckets() {
  ASSIGN_OR_RETURN(std::vector<thumbflow::BucketInfo> buckets, store_->ListBuckets());
  std::vector<BucketInfo> out;
  for (const auto& b : buckets) out.push_back({b.name, b.created_ms});
  return out;
}

Status LocalBackend::CreateBucket(const std::string& bucket) {
  return store_->CreateBucket(bucket);
}
Status LocalBackend::DeleteBucket(const std::string& bucket) {
  return store_->DeleteBucket(bucket);
}
Status LocalBackend::HeadBucket(const std::string& bucket) { return store_->HeadBucket(bucket); }

Result<std::unique_ptr<BackendUpload>> LocalBackend::NewUpload(const std::string& bucket) {
  ASSIGN_OR_RETURN(std::unique_ptr<LocalUpload> upload, store_->NewUpload(bucket));
  return std::unique_ptr<BackendUpload>(std::make_unique<LocalBackendUpload>(std::move(upload)));
}

Result<ObjectInfo> LocalBackend::CommitUpload(std::unique_ptr<BackendUpload> upload,
                                              const std::string& key, const PutOptions& options) {
  auto* local = static_cast<LocalBackendUpload*>(upload.get());
  CommitOptions commit;
  commit.put = options;
  return store_->CommitUpload(std::move(local->upload), key, commit);
}

Result<ObjectInfo> LocalBackend::CompleteMultipart(const std::string& bucket,
                                                   const std::string& key,
                                                   const std::vector<std::string>& part_paths,
                                                   const std::vector<std::string>& part_etags,
                                                   const PutOptions& options) {
  CommitOptions commit;
  commit.put = options;
  return store_->CompleteMultipart(bucket, key, part_paths, part_etags, commit);
}

Result<ObjectInfo> LocalBackend::CopyObject(const std::string& src_bucket,
                                            const std::string& src_key,
                                            const std::string& dst_bucket,
                                            const std::string& dst_key, const PutOptions* replace) {
  return store_->Copy(src_bucket, src_key, dst_bucket, dst_key, replace);
}

Result<ObjectReader> LocalBackend::OpenObject(const std::string& bucket, const std::string& key,
                                              const GetOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<LocalObjectReader> opened,
                   store_->OpenForRead(bucket, key, options));
  ObjectReader reader;
  reader.info = opened->info();
  reader.offset = opened->offset();
  reader.length = opened->length();
  reader.partial = options.range.has_value();
  reader.source = std::make_unique<ReaderSource>(std::move(opened));
  return reader;
}

Result<ObjectInfo> LocalBackend::HeadObject(const std::string& bucket, const std::string& key) {
  return store_->Head(bucket, key);
}

Status LocalBackend::DeleteObject(const std::string& bucket, const std::string& key) {
  return store_->Delete(bucket, key);
}

Result<ListResult> LocalBackend::ListObjects(const std::string& bucket,
                                             const ListOptions& options) {
  return store_->List(bucket, options);
}

}  // namespace thumbflow::server
