#include "storage/testing/streaming_adapter.h"

#include <fstream>
#include <sstream>

#include "storage/etag.h"
#include "storage/keys.h"
#include "storage/s3_semantics.h"

namespace thumbflow::testing {
namespace {

// Holds the body in memory; Commit is one ObjectStore::Put through the adapter.
class MemoryUpload final : public ObjectUpload {
 public:
  MemoryUpload(StreamingAdapter* adapter, std::string bucket)
      : adapter_(adapter), bucket_(std::move(bucket)) {}
  Status Write(std::string_view data) override {
    bytes_.append(data);
    md5_.Update(data);
    return Status::Ok();
  }
  std::string Md5Hex() override {
    if (md5_hex_.empty()) md5_hex_ = md5_.FinishHex();
    return md5_hex_;
  }
  Result<ObjectInfo> Commit(const std::string& key, const PutOptions& options) override {
    return adapter_->Put(bucket_, key, bytes_, options);
  }

 private:
  StreamingAdapter* adapter_;
  std::string bucket_;
  std::string bytes_;
  Md5Hasher md5_;
  std::string md5_hex_;
};

}  // namespace

StreamingAdapter::StreamingAdapter(ObjectStore* store, std::string staging_dir,
                                   std::vector<std::string> buckets,
                                   std::function<Status(const std::string&)> create_bucket,
                                   const Clock* clock)
    : store_(store),
      staging_dir_(std::move(staging_dir)),
      create_bucket_(std::move(create_bucket)),
      clock_(clock) {
  for (const auto& b : buckets) buckets_[b] = BucketInfo{b, clock_->NowMillis(), "", ""};
}

Status StreamingAdapter::HeadBucket(const std::string& bucket) {
  std::lock_guard lock(mu_);
  if (!buckets_.count(bucket)) {
    return Status(StatusCode::kNotFound, "no bucket " + bucket, Reason::kNoSuchBucket);
  }
  return Status::Ok();
}

Result<ObjectData> StreamingAdapter::Get(const std::string& bucket, const std::string& key,
                                         const GetOptions& options) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  // Stores under the adapter keep no versions: an object is its own only version, "null".
  if (!options.version_id.empty() && options.version_id != "null") {
    return NotFoundError(bucket + "/" + key + ": no such version " + options.version_id);
  }
  return store_->Get(bucket, key, options);
}

Result<ObjectInfo> StreamingAdapter::Put(const std::string& bucket, const std::string& key,
                                         std::string_view bytes, const PutOptions& options) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  return store_->Put(bucket, key, bytes, options);
}

Result<ObjectInfo> StreamingAdapter::Head(const std::string& bucket, const std::string& key) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  return store_->Head(bucket, key);
}

Status StreamingAdapter::Delete(const std::string& bucket, const std::string& key) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  return store_->Delete(bucket, key);
}

Status StreamingAdapter::DeleteIf(const std::string& bucket, const std::string& key,
                                  const WriteCondition& condition) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  Result<ObjectInfo> current = store_->Head(bucket, key);
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();
  std::optional<DeleteTarget> target;
  if (current.ok()) target = DeleteTarget{current->etag, current->size, current->last_modified_ms};
  RETURN_IF_ERROR(
      CheckDeleteCondition(condition, target ? &*target : nullptr, "delete " + bucket + "/" + key));
  return store_->Delete(bucket, key);
}

Result<ListResult> StreamingAdapter::List(const std::string& bucket, const ListOptions& options) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  return store_->List(bucket, options);
}

Result<std::vector<BucketInfo>> StreamingAdapter::ListBuckets() {
  std::lock_guard lock(mu_);
  std::vector<BucketInfo> out;
  for (const auto& [name, info] : buckets_) out.push_back(info);
  return out;
}

Status StreamingAdapter::CreateBucket(const std::string& bucket, const std::string& owner) {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  std::lock_guard lock(mu_);
  if (buckets_.count(bucket)) return AlreadyExistsError("bucket " + bucket + " exists");
  if (create_bucket_) RETURN_IF_ERROR(create_bucket_(bucket));
  buckets_[bucket] = BucketInfo{bucket, clock_->NowMillis(), owner, ""};
  return Status::Ok();
}

Result<BucketInfo> StreamingAdapter::GetBucket(const std::string& bucket) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) {
    return Status(StatusCode::kNotFound, "no bucket " + bucket, Reason::kNoSuchBucket);
  }
  return it->second;
}

Status StreamingAdapter::PutObjectTags(const std::string& bucket, const std::string& key,
                                       const TagSet& tags) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  ASSIGN_OR_RETURN(ObjectData data, store_->Get(bucket, key));
  PutOptions options = KeptPutOptions(data.info);
  options.tags = tags;
  options.acl = data.info.acl;
  return store_->Put(bucket, key, data.bytes, options).status();
}

Status StreamingAdapter::PutObjectAcl(const std::string& bucket, const std::string& key,
                                      const std::string& acl) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  ASSIGN_OR_RETURN(ObjectData data, store_->Get(bucket, key));
  PutOptions options = KeptPutOptions(data.info);
  options.acl = acl;
  return store_->Put(bucket, key, data.bytes, options).status();
}

Status StreamingAdapter::PutBucketAcl(const std::string& bucket, const std::string& acl) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) {
    return Status(StatusCode::kNotFound, "no bucket " + bucket, Reason::kNoSuchBucket);
  }
  it->second.acl = acl;
  return Status::Ok();
}

Status StreamingAdapter::DeleteBucket(const std::string& bucket) {
  ListOptions options;
  options.max_keys = 1;
  ASSIGN_OR_RETURN(ListResult listed, List(bucket, options));
  if (!listed.objects.empty()) {
    return Status(StatusCode::kFailedPrecondition, "bucket " + bucket + " is not empty",
                  Reason::kBucketNotEmpty);
  }
  std::lock_guard lock(mu_);
  buckets_.erase(bucket);
  return Status::Ok();
}

Result<std::unique_ptr<ObjectUpload>> StreamingAdapter::NewUpload(const std::string& bucket) {
  RETURN_IF_ERROR(HeadBucket(bucket));
  return std::unique_ptr<ObjectUpload>(std::make_unique<MemoryUpload>(this, bucket));
}

Result<ObjectInfo> StreamingAdapter::CompleteMultipart(const std::string& bucket,
                                                       const std::string& key,
                                                       const std::vector<std::string>& part_paths,
                                                       const std::vector<std::string>&,
                                                       const PutOptions& options) {
  RETURN_IF_ERROR(HeadBucket(bucket));
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

Result<ObjectInfo> StreamingAdapter::Copy(const std::string& src_bucket, const std::string& src_key,
                                          const std::string& dst_bucket, const std::string& dst_key,
                                          const PutOptions* replace) {
  RETURN_IF_ERROR(HeadBucket(src_bucket));
  RETURN_IF_ERROR(HeadBucket(dst_bucket));
  ASSIGN_OR_RETURN(ObjectData data, store_->Get(src_bucket, src_key));
  return store_->Put(dst_bucket, dst_key, data.bytes,
                     replace ? *replace : KeptPutOptions(data.info));
}

Result<ObjectReader> StreamingAdapter::OpenObject(const std::string& bucket, const std::string& key,
                                                  const GetOptions& options) {
  ASSIGN_OR_RETURN(ObjectData data, Get(bucket, key, options));
  ObjectReader reader;
  reader.info = data.info;
  int64_t offset = 0, length = 0;
  RETURN_IF_ERROR(ResolveSlice(data.info, options, &offset, &length, &reader.partial));
  reader.offset = offset;
  reader.length = static_cast<int64_t>(data.bytes.size());
  reader.source = StringSource(std::move(data.bytes));
  return reader;
}

}  // namespace thumbflow::testing
