#include "config/log_config.h"

#include <string>

namespace thumbflow {

Status ParseLogConfig(FieldReader& root, LogConfig* out) {
  const toml::value* table = root.Table("log");
  if (table == nullptr) return Status::Ok();
  FieldReader r(*table, "log");
  std::string level(LogLevelName(out->level));
  RETURN_IF_ERROR(r.Enum("level", &level, {"debug", "info", "warn", "error"}));
  out->level = ParseLogLevel(level).value_or(LogLevel::kInfo);
  return r.Finish();
}

}  // namespace thumbflow
