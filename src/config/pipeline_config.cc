#include "config/pipeline_config.h"

#include <algorithm>
#include <thread>

namespace thumbflow {

namespace {

Status CheckPrefix(const FieldReader& r, const std::string& key, const std::string& prefix) {
  if (prefix.empty()) return Status::Ok();
  if (prefix.front() == '/') return r.Error(key, "must not start with '/'");
  if (prefix.back() != '/') return r.Error(key, "must end with '/' (or be empty)");
  if (prefix.find('\0') != std::string::npos) return r.Error(key, "must not contain NUL");
  return Status::Ok();
}

}  // namespace

Status ParsePipelineConfig(FieldReader& root, PipelineConfig* out) {
  if (const toml::value* output = root.Table("output")) {
    FieldReader r(*output, "output");
    RETURN_IF_ERROR(r.String("prefix", &out->output_prefix));
    RETURN_IF_ERROR(r.String("bucket", &out->output_bucket));
    RETURN_IF_ERROR(r.String("upload_prefix", &out->upload_prefix));
    RETURN_IF_ERROR(CheckPrefix(r, "prefix", out->output_prefix));
    RETURN_IF_ERROR(CheckPrefix(r, "upload_prefix", out->upload_prefix));
    if (out->output_prefix.empty()) return r.Error("prefix", "must not be empty");
    RETURN_IF_ERROR(r.Finish());
  }
  if (const toml::value* pipeline = root.Table("pipeline")) {
    FieldReader r(*pipeline, "pipeline");
    RETURN_IF_ERROR(r.Int("workers", &out->workers, 0, 1024));
    RETURN_IF_ERROR(r.Int("vips_threads", &out->vips_threads, 1, 256));
    RETURN_IF_ERROR(r.Int("max_in_flight", &out->max_in_flight, 0, 10000));
    // SQS allows up to 43200; below 2 s a heartbeat at half the timeout cannot keep up.
    RETURN_IF_ERROR(r.Int("visibility_timeout", &out->visibility_timeout_s, 0, 43200));
    if (out->visibility_timeout_s == 1) {
      return r.Error("visibility_timeout", "must be 0 (the queue's) or at least 2 seconds");
    }
    RETURN_IF_ERROR(r.Int("heartbeat", &out->heartbeat_s, 0, 43200));
    RETURN_IF_ERROR(r.Double("grace_period", &out->grace_period_s, 0, 3600));
    RETURN_IF_ERROR(r.Double("retry_base", &out->retry_base_s, 0, 43200));
    RETURN_IF_ERROR(r.Double("retry_max", &out->retry_max_s, 0, 43200));
    RETURN_IF_ERROR(r.Double("retry_jitter", &out->retry_jitter, 0, 1));
    RETURN_IF_ERROR(r.StringList("suffixes", &out->suffixes));
    RETURN_IF_ERROR(r.Bool("delete_thumbnails", &out->delete_thumbnails));
    if (out->visibility_timeout_s > 0 && out->heartbeat_s >= out->visibility_timeout_s) {
      return r.Error("heartbeat", "must be shorter than pipeline.visibility_timeout");
    }
    if (out->retry_max_s < out->retry_base_s) {
      return r.Error("retry_max", "must not be smaller than pipeline.retry_base");
    }
    for (const auto& suffix : out->suffixes) {
      if (suffix.empty()) return r.Error("suffixes", "must not contain an empty string");
    }
    RETURN_IF_ERROR(r.Finish());
  }
  return Status::Ok();
}

int EffectiveWorkers(const PipelineConfig& config) {
  if (config.workers > 0) return config.workers;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace thumbflow
