#include "core/log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "core/civil_time.h"
#include "core/clock.h"
#include "core/utf8.h"

namespace thumbflow {

struct Logger::Shared {
  Shared(Sink s, const Clock* c, LogLevel level) : sink(std::move(s)), clock(c), min_level(level) {}
  Sink sink;
  const Clock* clock;
  LogLevel min_level;
  std::mutex mu;  // one line at a time reaches the sink
};

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LogLevelName(level)) return level;
  }
  return std::nullopt;
}

void AppendJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD for the byte that starts no sequence
        ++i;
      } else {
        out->append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out->append(escaped);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

LogFields& LogFields::Add(std::string_view key, std::string_view value) {
  std::string encoded;
  AppendJsonString(&encoded, value);
  fields_.emplace_back(key, std::move(encoded));
  return *this;
}

LogFields& LogFields::Add(std::string_view key, bool value) {
  fields_.emplace_back(key, value ? "true" : "false");
  return *this;
}

LogFields& LogFields::Add(std::string_view key, int64_t value) {
  fields_.emplace_back(key, std::to_string(value));
  return *this;
}

LogFields& LogFields::Add(std::string_view key, double value) {
  if (!std::isfinite(value)) {
    fields_.emplace_back(key, "null");
    return *this;
  }
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  fields_.emplace_back(key, std::string(buffer, error == std::errc() ? end : buffer));
  return *this;
}

LogFields& LogFields::Add(std::string_view key, const LogFields& object) {
  fields_.emplace_back(key, object.ToJson());
  return *this;
}

LogFields& LogFields::Add(std::string_view key, const std::vector<LogFields>& objects) {
  std::string encoded = "[";
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) encoded.push_back(',');
    encoded += objects[i].ToJson();
  }
  encoded.push_back(']');
  fields_.emplace_back(key, std::move(encoded));
  return *this;
}

LogFields& LogFields::AddJson(std::string_view key, std::string encoded) {
  fields_.emplace_back(key, std::move(encoded));
  return *this;
}

void LogFields::AppendMembers(std::string* out) const {
  for (const auto& [key, value] : fields_) {
    if (out->back() != '{') out->push_back(',');
    AppendJsonString(out, key);
    out->push_back(':');
    out->append(value);
  }
}

std::string LogFields::ToJson() const {
  std::string out = "{";
  AppendMembers(&out);
  out.push_back('}');
  return out;
}

Logger::Logger(Sink sink, const Clock* clock, LogLevel min_level)
    : shared_(sink ? std::make_shared<Shared>(std::move(sink), clock, min_level) : nullptr) {}

Logger Logger::Stderr(const Clock* clock, LogLevel min_level) {
  return Logger(
      [](std::string_view line) {
        // One write(2) per line: a line up to PIPE_BUF bytes reaches a pipe whole even when
        // other loggers of this process, or codec helpers sharing the descriptor, write too.
        std::string text(line);
        text.push_back('\n');
        std::fflush(stderr);
        for (size_t done = 0; done < text.size();) {
          ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          done += static_cast<size_t>(n);
        }
      },
      clock, min_level);
}

bool Logger::Enabled(LogLevel level) const {
  return shared_ && static_cast<int>(level) >= static_cast<int>(shared_->min_level);
}

void Logger::Log(LogLevel level, std::string_view msg, const LogFields& fields) const {
  if (Enabled(level)) LogAlways(level, msg, fields);
}

void Logger::LogAlways(LogLevel level, std::string_view msg, const LogFields& fields) const {
  if (!shared_) return;
  static const SystemClock kSystemClock;
  const Clock& clock = shared_->clock ? *shared_->clock : kSystemClock;
  std::string line = "{\"time\":\"" + FormatIso8601Millis(clock.NowMillis()) + "\",\"level\":\"";
  line += LogLevelName(level);
  line += "\",\"msg\":";
  AppendJsonString(&line, msg);
  fields.AppendMembers(&line);
  line.push_back('}');
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->sink(line);
}

}  // namespace thumbflow
