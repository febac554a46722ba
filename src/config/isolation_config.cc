#include "config/isolation_config.h"

namespace thumbflow {

Status ParseIsolationConfig(FieldReader& root, IsolationConfig* out) {
  const toml::value* table = root.Table("isolation");
  if (table == nullptr) return Status::Ok();
  FieldReader r(*table, "isolation");
  RETURN_IF_ERROR(r.Enum("mode", &out->mode, {"isolated", "in-process"}));
  RETURN_IF_ERROR(r.Int("max_images_per_helper", &out->max_images_per_helper, 0, 100'000'000));
  RETURN_IF_ERROR(r.Int("max_rss_mb", &out->max_rss_mb, 0, 1'048'576));
  RETURN_IF_ERROR(r.Int("memory_limit_mb", &out->memory_limit_mb, 0, 1'048'576));
  if (out->memory_limit_mb > 0 && out->memory_limit_mb < 256) {
    return r.Error("memory_limit_mb", "must be 0 (no limit) or at least 256");
  }
  RETURN_IF_ERROR(r.Int("cpu_limit_s", &out->cpu_limit_s, 0, 86'400));
  RETURN_IF_ERROR(r.Bool("sandbox", &out->sandbox));
  RETURN_IF_ERROR(r.Int("kill_grace_ms", &out->kill_grace_ms, 0, 600'000));
  return r.Finish();
}

}  // namespace thumbflow
