#include "config/config.h"

#include <fstream>
#include <sstream>

namespace thumbflow {

Result<Config> ParseConfig(std::string_view toml_text, const std::string& origin) {
  toml::value root;
  try {
    std::istringstream in{std::string(toml_text)};
    root = toml::parse(in, origin);
  } catch (const std::exception& e) {
    return InvalidArgumentError("config " + origin + ": " + e.what());
  }
  Config config;
  FieldReader reader(root, "");
  auto parse = [&]() -> Status {
    RETURN_IF_ERROR(ParseThumbnailConfig(reader, &config.thumbnails));
    RETURN_IF_ERROR(ParseQueueConfig(reader, &config.queue));
    RETURN_IF_ERROR(ParseAwsConfig(reader, &config.aws));
    RETURN_IF_ERROR(ParseStoreConfig(reader, &config.store));
    RETURN_IF_ERROR(ParsePipelineConfig(reader, &config.pipeline));
    RETURN_IF_ERROR(reader.Finish());
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

Status ValidateConfig(const Config&) { return Status::Ok(); }

}  // namespace thumbflow
