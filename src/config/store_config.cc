#include "config/store_config.h"

#include <algorithm>

#include "storage/keys.h"

namespace thumbflow {
namespace {

Status ParseRule(const toml::value& table, const std::string& path,
                 const std::string& default_bucket, NotificationRule* rule) {
  FieldReader r(table, path);
  rule->bucket = default_bucket;
  RETURN_IF_ERROR(r.String("id", &rule->id));
  RETURN_IF_ERROR(r.String("bucket", &rule->bucket));
  RETURN_IF_ERROR(r.String("prefix", &rule->prefix));
  RETURN_IF_ERROR(r.StringList("suffixes", &rule->suffixes));
  RETURN_IF_ERROR(r.String("queue", &rule->queue));
  RETURN_IF_ERROR(r.StringList("events", &rule->events));
  RETURN_IF_ERROR(r.Finish());

  Status bucket = ValidateBucketName(rule->bucket);
  if (!bucket.ok()) return r.Error("bucket", bucket.message());
  if (rule->queue.empty()) return r.Error("queue", "must not be empty");
  for (const std::string& suffix : rule->suffixes) {
    if (suffix.empty()) return r.Error("suffixes", "must not hold an empty string");
  }
  if (rule->events.empty()) return r.Error("events", "must name at least one event type");
  const auto& known = KnownNotificationEvents();
  for (const std::string& event : rule->events) {
    if (std::find(known.begin(), known.end(), event) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return r.Error("events", "unknown event type \"" + event + "\" (known: " + list + ")");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ParseStoreConfig(FieldReader& root, StoreConfig* out) {
  if (const toml::value* storage = root.Table("storage")) {
    FieldReader r(*storage, "storage");
    RETURN_IF_ERROR(r.String("default_bucket", &out->default_bucket));
    RETURN_IF_ERROR(r.Int("max_object_bytes", &out->max_object_bytes, 1, int64_t{5} << 40));
    RETURN_IF_ERROR(r.Bool("fsync", &out->fsync));
    RETURN_IF_ERROR(r.Int("min_free_bytes", &out->min_free_bytes, 0, int64_t{1} << 50));
    RETURN_IF_ERROR(r.String("region", &out->region));
    RETURN_IF_ERROR(r.Finish());
    Status bucket = ValidateBucketName(out->default_bucket);
    if (!bucket.ok()) return r.Error("default_bucket", bucket.message());
    if (out->region.empty()) return r.Error("region", "must not be empty");
  }
  // Without a [[notifications]] array the default rule follows the default bucket.
  for (NotificationRule& rule : out->notifications) rule.bucket = out->default_bucket;
  if (const toml::array* rules = root.TableArray("notifications")) {
    out->notifications.clear();
    out->default_notifications = false;
    for (size_t i = 0; i < rules->size(); ++i) {
      NotificationRule rule;
      RETURN_IF_ERROR(ParseRule((*rules)[i], "notifications[" + std::to_string(i) + "]",
                                out->default_bucket, &rule));
      out->notifications.push_back(std::move(rule));
    }
  }
  return Status::Ok();
}

}  // namespace thumbflow
