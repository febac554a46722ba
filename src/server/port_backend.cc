#include "server/port_backend.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "storage/etag.h"
#include "storage/keys.h"
#include "storage/s3_semantics.h"

namespace thumbflow::server {
namespace {

class StringByteSource final : public ByteSource {
 public:
  explicit StringByteSource(std::string bytes) : bytes_(std::move(bytes)) {}
  Result<size_t> Read(char* buffer, size_t capacity) override {
    size_t n = std::min(capacity, bytes_.size() - pos_);
    std::memcpy(buffer, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> StringSource(std::string bytes) {
  return std::make_unique<StringByteSource>(std::move(bytes));
}

PortBackend::PortBackend(ObjectStore* store, std::string staging_dir,
                         std::vector<std::string> buckets,
                         std::function<Status(const std::string&)> create_bucket,
                         const Clock* clock)
    : store_(store),
      staging_dir_(std::move(staging_dir)),
      create_bucket_(std::move(create_bucket)),
      clock_(clock) {
  for (const auto& b : buckets) buckets_[b] = clock_->NowMillis();
}

Status PortBackend::CheckBucket(const std::string& bucket) {
  std::lock_guard lock(mu_);
  if (!buckets_.count(bucket)) {
    return Status(StatusCode::kNotFound, "no bucket " + bucket, "no-such-bucket");
  }
  return Status::Ok();
}

Result<std::vector<BucketInfo>> PortBackend::ListBuckets() {
  std::lock_guard lock(mu_);
  std::vector<BucketInfo> out;
  for (const auto& [name, created] : buckets_) out.push_back({name, created});
  return out;
}

Status PortBackend::CreateBucket(const std::string& bucket) {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  std::lock_guard lock(mu_);
  if (buckets_.count(bucket)) return AlreadyExistsError("bucket " + bucket + " exists");
  if (create_bucket_) RETURN_IF_ERROR(create_bucket_(bucket));
  buckets_[bucket] = clock_->NowMillis();
  return Status::Ok();
}

Status PortBackend::DeleteBucket(const std::string& bucket) {
  RETURN_IF_ERROR(CheckBucket(bucket));
  ListOptions options;
  options.max_keys = 1;
  ASSIGN_OR_RETURN(ListResult listed, store_->List(bucket, options));
  if (!listed.objects.empty()) {
    return Status(StatusCode::kFailedPrecondition, "bucket " + bucket + " is not empty",
                  "bucket-not-empty");
  }
  std::lock_guard lock(mu_);
  buckets_.erase(bucket);
  return Status::Ok();
}

Status PortBackend::HeadBucket(const std::string& bucket) { return CheckBucket(bucket); }

namespace {

class MemoryUpload final : public BackendUpload {
 public:
  explicit MemoryUpload(std::string name) : bucket(std::move(name)) {}
  Status Write(std::string_view data) override {
    bytes.append(data);
    md5.Update(data);
    return Status::Ok();
  }
  std::string Md5Hex() override {
    if (md5_hex.empty()) md5_hex = md5.FinishHex();
    return md5_hex;
  }
  std::string bucket;
  std::string bytes;
  Md5Hasher md5;
  std::string md5_hex;
};

}  // namespace

Result<std::unique_ptr<BackendUpload>> PortBackend::NewUpload(const std::string& bucket) {
  RETURN_IF_ERROR(CheckBucket(bucket));
  return std::unique_ptr<BackendUpload>(std::make_unique<MemoryUpload>(bucket));
}

Result<ObjectInfo> PortBackend::CommitUpload(std::unique_ptr<BackendUpload> upload,
                                             const std::string& key, const PutOptions& options) {
  auto* memory = static_cast<MemoryUpload*>(upload.get());
  RETURN_IF_ERROR(CheckBucket(memory->bucket));
  return store_->Put(memory->bucket, key, memory->bytes, options);
}

Result<ObjectInfo> PortBackend::CompleteMultipart(const std::string& bucket, const std::string& key,
                                                  const std::vector<std::string>& part_paths,
                                                  const std::vector<std::string>&,
                                                  const PutOptions& options) {
  RETURN_IF_ERROR(CheckBucket(bucket));
  std::string bytes;
  for (const auto& path : part_paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return InternalError("part " + path + " cannot be read");
    std::ostringstream part;
    part << in.rdbuf();
    bytes += part.str();
  }
  return store_->Put(bucket, key, bytes, options);
}

Result<ObjectInfo> PortBackend::CopyObject(const std::string& src_bucket,
                                           const std::string& src_key,
                                           const std::string& dst_bucket,
                                           const std::string& dst_key, const PutOptions* replace) {
  RETURN_IF_ERROR(CheckBucket(src_bucket));
  RETURN_IF_ERROR(CheckBucket(dst_bucket));
  ASSIGN_OR_RETURN(ObjectData data, store_->Get(src_bucket, src_key));
  PutOptions options;
  if (replace) {
    options = *replace;
  } else {
    options.content_type = data.info.content_type;
    options.metadata = data.info.metadata;
  }
  return store_->Put(dst_bucket, dst_key, data.bytes, options);
}

Result<ObjectReader> PortBackend::OpenObject(const std::string& bucket, const std::string& key,
                                             const GetOptions& options) {
  RETURN_IF_ERROR(CheckBucket(bucket));
  ASSIGN_OR_RETURN(ObjectData data, store_->Get(bucket, key, options));
  ObjectReader reader;
  reader.info = data.info;
  reader.partial = options.range.has_value();
  if (reader.partial) {
    int64_t offset = 0, length = 0;
    RETURN_IF_ERROR(ResolveRange(data.info.size, *options.range, &offset, &length));
    reader.offset = offset;
  }
  reader.length = static_cast<int64_t>(data.bytes.size());
  reader.source = StringSource(std::move(data.bytes));
  return reader;
}

Result<ObjectInfo> PortBackend::HeadObject(const std::string& bucket, const std::string& key) {
  RETURN_IF_ERROR(CheckBucket(bucket));
  return store_->Head(bucket, key);
}

Status PortBackend::DeleteObject(const std::string& bucket, const std::string& key) {
  RETURN_IF_ERROR(CheckBucket(bucket));
  return store_->Delete(bucket, key);
}

Result<ListResult> PortBackend::ListObjects(const std::string& bucket, const ListOptions& options) {
  RETURN_IF_ERROR(CheckBucket(bucket));
  return store_->List(bucket, options);
}

}  // namespace thumbflow::server
