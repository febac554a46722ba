// Config: everything thumbflow can be told, from one TOML file. Every field has a default,
// so an empty file (or none) is a valid config. An unknown field, a wrong type or a value
// out of range is an error whose message names the field.
#pragma once

#include <string>
#include <string_view>

#include "config/aws_config.h"
#include "config/isolation_config.h"
#include "config/log_config.h"
#include "config/pipeline_config.h"
#include "config/queue_config.h"
#include "config/server_config.h"
#include "config/store_config.h"
#include "config/thumbnail_config.h"
#include "core/result.h"

namespace thumbflow {

struct Config {
  ThumbnailConfig thumbnails;
  QueueConfig queue;
  AwsConfig aws;
  StoreConfig store;
  PipelineConfig pipeline;
  ServerConfig server;
  IsolationConfig isolation;
  LogConfig log;
};

// Parses a TOML document. `origin` names it in error messages (a path or "THUMBFLOW_CONFIG").
Result<Config> ParseConfig(std::string_view toml_text, const std::string& origin);
// Reads and parses a file; a missing or unreadable file is an InvalidArgument naming it.
Result<Config> LoadConfigFile(const std::string& path);
// Checks that hold across sections (for example: thumbnails must not re-trigger uploads).
Status ValidateConfig(const Config& config);

}  // namespace thumbflow
