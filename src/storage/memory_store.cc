#include "storage/memory_store.h"

#include "storage/etag.h"
#include "storage/keys.h"
#include "storage/s3_semantics.h"

namespace thumbflow {

MemoryObjectStore::MemoryObjectStore(const std::vector<std::string>& buckets, const Clock* clock)
    : clock_(clock != nullptr ? clock : &system_clock_) {
  for (const auto& b : buckets) buckets_[b];
}

Status MemoryObjectStore::CreateBucket(const std::string& bucket) {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  std::lock_guard lock(mu_);
  if (!buckets_.emplace(bucket, Bucket{}).second) {
    return AlreadyExistsError("bucket " + bucket + " already exists");
  }
  return Status::Ok();
}

Result<MemoryObjectStore::Bucket*> MemoryObjectStore::FindBucket(const std::string& bucket) {
  auto it = buckets_.find(bucket);
  if (it == buckets_.end())
    return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
  return &it->second;
}

Result<ObjectData> MemoryObjectStore::Get(const std::string& bucket, const std::string& key,
                                          const GetOptions& options) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Bucket * objects, FindBucket(bucket));
  auto it = objects->find(key);
  // No versions here: each object is its own only version, "null".
  if (it == objects->end() || (!options.version_id.empty() && options.version_id != "null")) {
    return NotFoundError("get " + bucket + "/" + key + ": no such key");
  }
  const Object& object = it->second;
  Status conditions = CheckGetConditions(object.info, options);
  if (!conditions.ok()) return conditions.WithContext("get " + bucket + "/" + key);
  ObjectData data;
  data.info = object.info;
  int64_t offset = 0, length = 0;
  bool partial = false;
  Status slice = ResolveSlice(object.info, options, &offset, &length, &partial);
  if (!slice.ok()) return slice.WithContext("get " + bucket + "/" + key);
  data.bytes = object.bytes.substr(offset, length);
  return data;
}

Result<ObjectInfo> MemoryObjectStore::Put(const std::string& bucket, const std::string& key,
                                          std::string_view bytes, const PutOptions& options) {
  Status valid = ValidateObjectKey(key);
  if (!valid.ok()) return valid.WithContext("put " + bucket);
  Object object;
  object.info.key = key;
  object.info.size = static_cast<int64_t>(bytes.size());
  object.info.etag = SinglePartEtag(bytes);
  object.info.content_type =
      options.content_type.empty() ? kDefaultContentType : options.content_type;
  object.info.metadata = NormalizeMetadata(options.metadata);
  object.info.headers = StoredHeaders(options.headers);
  object.info.tags = options.tags;
  object.info.acl = options.acl;
  object.info.checksum = options.checksum;
  object.info.parts = options.parts;
  object.info.lock = options.lock;
  object.info.last_modified_ms = clock_->NowMillis();
  object.bytes.assign(bytes);
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Bucket * objects, FindBucket(bucket));
  auto current = objects->find(key);
  RETURN_IF_ERROR(CheckWriteCondition(
      options.condition, current == objects->end() ? nullptr : &current->second.info.etag,
      "put " + bucket + "/" + key));
  ObjectInfo info = object.info;
  (*objects)[key] = std::move(object);
  return info;
}

Result<ObjectInfo> MemoryObjectStore::Head(const std::string& bucket, const std::string& key) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Bucket * objects, FindBucket(bucket));
  auto it = objects->find(key);
  if (it == objects->end()) return NotFoundError("head " + bucket + "/" + key + ": no such key");
  return it->second.info;
}

Status MemoryObjectStore::Delete(const std::string& bucket, const std::string& key) {
  return DeleteIf(bucket, key, {});
}

Status MemoryObjectStore::DeleteIf(const std::string& bucket, const std::string& key,
                                   const WriteCondition& condition) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Bucket * objects, FindBucket(bucket));
  auto current = objects->find(key);
  if (current == objects->end()) return Status::Ok();
  const ObjectInfo& info = current->second.info;
  const DeleteTarget target{info.etag, info.size, info.last_modified_ms};
  RETURN_IF_ERROR(CheckDeleteCondition(condition, &target, "delete " + bucket + "/" + key));
  objects->erase(current);
  return Status::Ok();
}

Result<ListResult> MemoryObjectStore::List(const std::string& bucket, const ListOptions& options) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Bucket * objects, FindBucket(bucket));
  KeyScan scan = [objects](const std::string& from, bool inclusive, const std::string& prefix,
                           int limit) -> Result<std::vector<ObjectInfo>> {
    std::vector<ObjectInfo> out;
    auto it = inclusive ? objects->lower_bound(from) : objects->upper_bound(from);
    for (; it != objects->end() && static_cast<int>(out.size()) < limit; ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      out.push_back(it->second.info);
    }
    return out;
  };
  return ListWithScan(options, scan);
}

}  // namespace thumbflow
