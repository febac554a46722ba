#include "config/config.h"

#include <fstream>
#include <sstream>

namespace thumbflow {

Result<Config> ParseConfig(std::string_view toml_text, const std::string& origin) {
  ASSIGN_OR_RETURN(toml::value root, ParseTomlDocument(toml_text, origin));
  Config config;
  FieldReader reader(root, "");
  auto parse = [&]() -> Status {
    RETURN_IF_ERROR(ParseThumbnailConfig(reader, &config.thumbnails));
    RETURN_IF_ERROR(ParseQueueConfig(reader, &config.queue));
    RETURN_IF_ERROR(ParseAwsConfig(reader, &config.aws));
    RETURN_IF_ERROR(ParseStoreConfig(reader, &config.store));
    RETURN_IF_ERROR(ParsePipelineConfig(reader, &config.pipeline));
    RETURN_IF_ERROR(ParseServerConfig(reader, &config.server));
    RETURN_IF_ERROR(ParseIsolationConfig(reader, &config.isolation));
    RETURN_IF_ERROR(ParseLogConfig(reader, &config.log));
    RETURN_IF_ERROR(reader.Finish());
    // Deleting thumbnails needs the removals: the default rule sends them too. Rules the
    // config names are used as written (their events are the user's choice).
    if (config.pipeline.delete_thumbnails && config.store.default_notifications) {
      for (NotificationRule& rule : config.store.notifications) {
        rule.events.push_back("s3:ObjectRemoved:*");
      }
    }
    return ValidateConfig(config);
  };
  Status status = parse();
  if (!status.ok()) return status.WithContext("config " + origin);
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("config " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

// Refuses the recursive-trigger loop: a thumbnail the pipeline writes (an ObjectCreated:Put
// under output.prefix in the output bucket) must never match a notification rule, or every
// thumbnail would be queued as a new upload and thumbnailed again, without end. An empty
// output.bucket means "the bucket of the source object", which is the bucket of whichever
// rule fired, so then every rule is checked.
Status ValidateConfig(const Config& config) {
  const PipelineConfig& output = config.pipeline;
  const std::vector<NotificationRule>& rules = config.store.notifications;
  for (size_t i = 0; i < rules.size(); ++i) {
    const NotificationRule& rule = rules[i];
    if (!output.output_bucket.empty() && rule.bucket != output.output_bucket) continue;
    if (!RuleSelectsEvent(rule, "ObjectCreated:Put")) continue;
    if (!RulePrefixOverlaps(rule, output.output_prefix)) continue;
    std::string field = "notifications[" + std::to_string(i) + "].prefix";
    return InvalidArgumentError(
        "output.prefix \"" + output.output_prefix + "\" is matched by " + field + " \"" +
        rule.prefix + "\" (bucket \"" + rule.bucket +
        "\"): every thumbnail would be queued and thumbnailed again; use prefixes where "
        "neither is the start of the other, or put thumbnails in another output.bucket");
  }
  return Status::Ok();
}

}  // namespace thumbflow
