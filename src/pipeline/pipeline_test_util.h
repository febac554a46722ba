// Test doubles for the pipeline's tests: a scriptable Thumbnailer and a fault-injecting
// ObjectStore wrapper (leveldb's EnvWrapper idea). Test-only; not part of tf_pipeline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "events/s3_event.h"
#include "image/thumbnailer.h"
#include "storage/object_store.h"

namespace thumbflow::pipeline::testing {

// Makes small/medium/large JPEG "thumbnails" whose bytes name the source, or fails as
// scripted. Can hold calls at a gate so tests control how long a job runs.
class FakeThumbnailer final : public Thumbnailer {
 public:
  Result<Thumbnails> Make(std::string_view encoded, const MakeOptions&) const override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++calls_;
      ++entered_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return !gate_closed_; });
    }
    std::string text(encoded);
    if (text.rfind("fail:", 0) == 0) {
      // "fail:<reason>" permanent, "fail-retry:<reason>" is handled below.
      return Status(StatusCode::kInvalidArgument, "scripted failure",
                    ReasonFromName(text.substr(5)), false);
    }
    if (text.rfind("retry:", 0) == 0) {
      return Status(StatusCode::kResourceExhausted, "scripted transient",
                    ReasonFromName(text.substr(6)), true);
    }
    Thumbnails out;
    out.source_format = format_;
    out.source_width = 1000;
    out.source_height = 500;
    int widths[] = {50, 150, 300};
    const char* names[] = {"small", "medium", "large"};
    for (int i = 0; i < 3; ++i) {
      Thumbnail t;
      t.size_name = names[i];
      t.format = format_;
      t.content_type = format_ == "png" ? "image/png" : "image/jpeg";
      t.extension = format_ == "png" ? ".png" : ".jpg";
      t.width = widths[i];
      t.height = widths[i] / 2;
      t.bytes = std::string(names[i]) + ":" + text;
      out.outputs.push_back(std::move(t));
    }
    return out;
  }

  void SetFormat(std::string format) { format_ = std::move(format); }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  void CloseGate() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = true;
  }
  void OpenGate() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = false;
    changed_.notify_all();
  }
  // Blocks until `n` calls have entered Make() in total.
  void WaitForEntered(int n) const {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return entered_ >= n; });
  }

 private:
  std::string format_ = "jpeg";
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  mutable int calls_ = 0;
  mutable int entered_ = 0;
  bool gate_closed_ = false;
};

// Forwards to a real store; a test may replace any operation's result.
class FaultyStore final : public ObjectStore {
 public:
  explicit FaultyStore(ObjectStore& base) : base_(base) {}

  std::function<Status(const std::string& key)> get_fault;
  std::function<Status(const std::string& key)> put_fault;
  std::atomic<int> gets{0};
  std::atomic<int> puts{0};
  std::atomic<int> heads{0};

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
