// The Lambda runtime's configuration: THUMBFLOW_CONFIG holds a TOML document (or the path
// of one) in the same format as `--config` files, plus an optional [lambda] table:
//
//   [lambda]
//   deadline_margin_ms = 3000  # no record starts with less time than this left
//   concurrency = 0            # messages processed at once; 0: [pipeline] workers
//   dlq = ""                   # DLQ URL or name for permanent failures; empty: the
//                              # RedrivePolicy target of the message's source queue
//
// The [lambda] table is read here and removed before the rest goes to ParseConfig, so the
// shared config format needs no Lambda-only section.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace thumbflow::lambda {

struct LambdaSettings {
  int64_t deadline_margin_ms = 3'000;
  int concurrency = 0;
  std::string dlq;
};

struct LambdaConfig {
  Config config;
  LambdaSettings lambda;
};

// True when `value` reads as a TOML document rather than a file path: it has a newline or
// an '=', or starts with '['. File paths with those characters cannot be given.
bool LooksLikeTomlDocument(std::string_view value);

// `thumbflow_config` is THUMBFLOW_CONFIG's value: empty gives the defaults; a document is
// parsed as such; anything else is read as a file. Errors are InvalidArgument and name the
// field ("config THUMBFLOW_CONFIG: lambda.deadline_margin_ms: ...").
Result<LambdaConfig> LoadLambdaConfig(const std::string& thumbflow_config);

// Parses a TOML document (`origin` names it in errors).
Result<LambdaConfig> ParseLambdaConfig(std::string_view toml_text, const std::string& origin);

}  // namespace thumbflow::lambda
