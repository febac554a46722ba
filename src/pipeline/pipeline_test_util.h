// Helpers for the pipeline's tests: a fault-injecting ObjectStore wrapper (leveldb's
// EnvWrapper idea) and S3 event records. The scriptable Thumbnailer is the port's own double,
// image/testing/fake_thumbnailer.h. Test-only; not part of tf_pipeline.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "events/s3_event.h"
#include "storage/object_store.h"

namespace thumbflow::pipeline::testing {

// Forwards to a real store; a test may replace any operation's result.
class FaultyStore final : public ObjectStore {
 public:
  explicit FaultyStore(ObjectStore& base) : base_(base) {}

  std::function<Status(const std::string& key)> get_fault;
  std::function<Status(const std::string& key)> put_fault;
  std::atomic<int> gets{0};
  std::atomic<int> puts{0};
  std::atomic<int> heads{0};
  // Runs before each Delete (for example to race an upload against it).
  std::function<void(const std::string& key)> before_delete;
  std::atomic<int> deletes{0};

  Result<ObjectData> Get(const std::string& bucket, const std::string& key,
                         const GetOptions& options = {}) override {
    ++gets;
    if (get_fault) {
      Status s = get_fault(key);
      if (!s.ok()) return s;
    }
    return base_.Get(bucket, key, options);
  }
  Result<ObjectInfo> Put(const std::string& bucket, const std::string& key, std::string_view bytes,
                         const PutOptions& options = {}) override {
    ++puts;
    if (put_fault) {
      Status s = put_fault(key);
      if (!s.ok()) return s;
    }
    return base_.Put(bucket, key, bytes, options);
  }
  Result<ObjectInfo> Head(const std::string& bucket, const std::string& key) override {
    ++heads;
    return base_.Head(bucket, key);
  }
  Status Delete(const std::string& bucket, const std::string& key) override {
    ++deletes;
    if (before_delete) before_delete(key);
    return base_.Delete(bucket, key);
  }
  Result<ListResult> List(const std::string& bucket, const ListOptions& options) override {
    return base_.List(bucket, options);
  }

 private:
  ObjectStore& base_;
};

// An ObjectCreated:Put record for bucket/key as S3 would send it.
inline S3EventRecord CreatedRecord(const std::string& bucket, const std::string& key,
                                   const std::string& etag = "", int64_t size = 0,
                                   int64_t event_time_ms = 0) {
  S3EventRecord r;
  r.bucket = bucket;
  r.key = key;
  r.etag = etag;
  r.size = size;
  r.event_time_ms = event_time_ms;
  return r;
}

}  // namespace thumbflow::pipeline::testing
