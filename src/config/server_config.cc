#include "config/server_config.h"

namespace thumbflow {

Status ParseServerConfig(FieldReader& root, ServerConfig* out) {
  const toml::value* table = root.Table("server");
  if (table == nullptr) return Status::Ok();
  FieldReader r(*table, "server");
  RETURN_IF_ERROR(r.String("access_key_id", &out->access_key_id));
  RETURN_IF_ERROR(r.String("secret_access_key", &out->secret_access_key));
  RETURN_IF_ERROR(r.String("region", &out->region));
  RETURN_IF_ERROR(r.StringList("virtual_host_domains", &out->virtual_host_domains));
  RETURN_IF_ERROR(r.StringList("public_read_prefixes", &out->public_read_prefixes));
  RETURN_IF_ERROR(r.Int("max_put_bytes", &out->max_put_bytes, 1, int64_t{5} << 40));
  RETURN_IF_ERROR(r.Int("max_header_bytes", &out->max_header_bytes, 1024, 1 << 20));
  RETURN_IF_ERROR(r.Int("header_timeout_s", &out->header_timeout_s, 1, 3600));
  RETURN_IF_ERROR(r.Int("idle_timeout_s", &out->idle_timeout_s, 1, 3600));
  RETURN_IF_ERROR(r.Int("max_connections", &out->max_connections, 1, 1'000'000));
  RETURN_IF_ERROR(
      r.Int("max_connections_per_address", &out->max_connections_per_address, 1, 1'000'000));
  RETURN_IF_ERROR(r.Int("threads", &out->threads, 0, 256));
  RETURN_IF_ERROR(r.Int("blocking_threads", &out->blocking_threads, 1, 1024));
  if (out->access_key_id.empty() != out->secret_access_key.empty()) {
    return r.Error("access_key_id", "access_key_id and secret_access_key go together");
  }
  if (out->access_key_id.size() > 128) return r.Error("access_key_id", "longer than 128 bytes");
  if (out->region.empty()) return r.Error("region", "must not be empty");
  return r.Finish();
}

}  // namespace thumbflow
