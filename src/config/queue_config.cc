#include "config/queue_config.h"

#include <cctype>

namespace thumbflow {

Status ParseQueueConfig(FieldReader& root, QueueConfig* out) {
  const toml::value* table = root.Table("queue");
  if (table == nullptr) return Status::Ok();
  FieldReader r(*table, "queue");
  RETURN_IF_ERROR(r.String("name", &out->name));
  bool name_ok = !out->name.empty() && out->name.size() <= 80;
  for (char c : out->name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) name_ok = false;
  }
  if (!name_ok) return r.Error("name", "must be 1 to 80 letters, digits, '-' or '_'");
  RETURN_IF_ERROR(r.Int("visibility_timeout_s", &out->visibility_timeout_s, 0, 43200));
  RETURN_IF_ERROR(r.Int("max_receive_count", &out->max_receive_count, 1, 1000));
  RETURN_IF_ERROR(r.Int("retention_s", &out->retention_s, 60, 1209600));
  RETURN_IF_ERROR(r.Int("dlq_retention_s", &out->dlq_retention_s, 60, 1209600));
  RETURN_IF_ERROR(r.Int("max_body_bytes", &out->max_body_bytes, 1, 262144));
  RETURN_IF_ERROR(r.Int("receive_wait_s", &out->receive_wait_s, 0, 20));
  return r.Finish();
}

}  // namespace thumbflow
