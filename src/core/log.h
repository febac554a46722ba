// Logger: the one way the pipeline, the Lambda runtime and the CLI write log lines.
//
// Every line is one JSON object on one line (JSON Lines): "time" (RFC 3339 UTC with
// milliseconds, "2026-12-06T01:02:03.456Z", from the logger's clock), "level" ("debug",
// "info", "warn", "error"), "msg", then the caller's fields in the order they were added. Strings
// are written as UTF-8 (not \u-escaped); bytes that are not valid UTF-8 become U+FFFD, so a line is
// always valid JSON whatever a key or a peer's error message holds.
//
// Thread-safety: a Logger is a cheap handle; copies share one sink and one mutex, and Log()
// may be called from any thread: whole lines reach the sink one at a time, never
// interleaved. A default-constructed Logger discards everything (for tests and for callers
// that log nothing).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace thumbflow {

class Clock;

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error".
std::string_view LogLevelName(LogLevel level);
// The inverse of LogLevelName (exact, lower case); nullopt for any other text.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// The fields of one JSON object, kept in the order added, each value already encoded.
// Adding a key twice writes it twice (the caller's mistake; JSON readers keep the last).
class LogFields {
 public:
  LogFields() = default;

  LogFields& Add(std::string_view key, std::string_view value);
  LogFields& Add(std::string_view key, const std::string& value) {
    return Add(key, std::string_view(value));
  }
  LogFields& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  LogFields& Add(std::string_view key, bool value);
  LogFields& Add(std::string_view key, int value) { return Add(key, int64_t{value}); }
  LogFields& Add(std::string_view key, int64_t value);
  LogFields& Add(std::string_view key, double value);  // NaN and infinities: null
  LogFields& Add(std::string_view key, const LogFields& object);
  LogFields& Add(std::string_view key, const std::vector<LogFields>& objects);
  // `encoded` is written as it is: it must be one valid JSON value (the caller's contract;
  // used for documents built elsewhere, such as CloudWatch's "_aws" metadata).
  LogFields& AddJson(std::string_view key, std::string encoded);

  bool empty() const { return fields_.empty(); }
  // The object: {"key":value,...}.
  std::string ToJson() const;

 private:
  friend class Logger;
  void AppendMembers(std::string* out) const;

  std::vector<std::pair<std::string, std::string>> fields_;  // key, encoded value
};

class Logger {
 public:
  // Receives one complete line, without its newline.
  using Sink = std::function<void(std::string_view line)>;

  // Discards every line.
  Logger() = default;
  // Lines at `min_level` and above go to `sink`; "time" comes from `clock` (which must
  // outlive every copy of the logger; null: the system clock).
  explicit Logger(Sink sink, const Clock* clock = nullptr, LogLevel min_level = LogLevel::kInfo);

  // Writes each line to stderr followed by a newline, flushed at once.
  static Logger Stderr(const Clock* clock = nullptr, LogLevel min_level = LogLevel::kInfo);

  // False when Log(level, ...) would write nothing (lets a caller skip building fields).
  bool Enabled(LogLevel level) const;

  void Log(LogLevel level, std::string_view msg, const LogFields& fields = {}) const;
  // Writes the line whatever the minimum level (still nothing for a discarding logger): for
  // lines that are data rather than diagnostics, such as CloudWatch metrics lines.
  void LogAlways(LogLevel level, std::string_view msg, const LogFields& fields = {}) const;
  void Debug(std::string_view msg, const LogFields& fields = {}) const {
    Log(LogLevel::kDebug, msg, fields);
  }
  void Info(std::string_view msg, const LogFields& fields = {}) const {
    Log(LogLevel::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, const LogFields& fields = {}) const {
    Log(LogLevel::kWarn, msg, fields);
  }
  void Error(std::string_view msg, const LogFields& fields = {}) const {
    Log(LogLevel::kError, msg, fields);
  }

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

// Appends `text` to `out` as a JSON string literal (quotes included), invalid UTF-8 replaced
// by U+FFFD.
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace thumbflow
