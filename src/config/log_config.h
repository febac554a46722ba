// Config section `[log]`: what thumbflow writes on stderr.
//
//   [log]
//   level = "info"    # debug | info | warn | error: lines below it are not written
//
// `--log-level` (a global option) and THUMBFLOW_LOG_LEVEL override it (cli/cli.h).
#pragma once

#include "config/field_reader.h"
#include "core/log.h"

namespace thumbflow {

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
};

// Reads [log]; "log.level: must be one of ..." for a level that is not one of the four.
Status ParseLogConfig(FieldReader& root, LogConfig* out);

}  // namespace thumbflow
