#include "image/vips_warnings.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string_view>

#include <vips/vips.h>

#include "core/strings.h"

namespace thumbflow::internal {

// The active watches, and the writer-first gate between shared and exclusive ones.
struct WatchRegistry {
  std::mutex mu;
  std::condition_variable changed;
  std::set<WarningWatch*> active;
  int exclusive_waiting = 0;
  bool exclusive_active = false;

  static WatchRegistry& Get() {
    static WatchRegistry* registry = new WatchRegistry();  // never destroyed: used from
    return *registry;                                      // libvips threads until exit
  }

  void Deliver(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    for (WarningWatch* watch : active) watch->heard_.push_back(line);
  }
  bool AnyActive() {
    std::lock_guard<std::mutex> lock(mu);
    return !active.empty();
  }
};

namespace {

constexpr char kJpegCountPrefix[] = "read gave ";
constexpr char kJpegLinePrefix[] = "VipsJpeg: ";

// libjpeg's warnings reach g_log in two messages emitted one after the other on one thread:
// "read gave N warnings", then the whole of libvips' error buffer, where libjpeg's own
// lines start with "VipsJpeg: ". Other lines of that buffer are not warnings about this
// image (other operations' errors) and are dropped.
thread_local bool next_is_error_buffer = false;

bool ContainsIgnoringCase(std::string_view text, std::string_view needle) {
  return ToLowerAscii(text).find(ToLowerAscii(needle)) != std::string::npos;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty()) out.emplace_back(line);
    start = end + 1;
  }
  return out;
}

guint handler_id = 0;
GLogFunc previous_default = nullptr;
gpointer previous_default_data = nullptr;
std::mutex handler_mu;
Logger* glib_log = nullptr;  // guarded by handler_mu; never freed (GLib threads may log late)

// Any GLib message not attributed to an image: one JSON line on the runtime's logger.
void WriteGlibMessage(const gchar* domain, GLogLevelFlags level, const gchar* message) {
  LogLevel ours = LogLevel::kDebug;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
    ours = LogLevel::kError;
  } else if (level & G_LOG_LEVEL_WARNING) {
    ours = LogLevel::kWarn;
  } else if (level & G_LOG_LEVEL_MESSAGE) {
    ours = LogLevel::kInfo;
  }
  Logger log;
  {
    std::lock_guard<std::mutex> lock(handler_mu);
    if (glib_log != nullptr) log = *glib_log;
  }
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  log.Log(ours, text, LogFields().Add("domain", domain != nullptr ? domain : ""));
}

void OnOtherLog(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  WriteGlibMessage(domain, level, message);
}

void OnVipsLog(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  std::string_view text = message != nullptr ? message : "";
  WatchRegistry& registry = WatchRegistry::Get();
  if (!registry.AnyActive()) {
    next_is_error_buffer = false;
    WriteGlibMessage(domain, level, message);
    return;
  }
  bool buffer_dump = next_is_error_buffer;
  next_is_error_buffer = text.starts_with(kJpegCountPrefix);
  for (std::string& line : Lines(text)) {
    if (buffer_dump) {
      // libjpeg's lines are kept even when harmless: the judge compares them to the count.
      if (line.starts_with(kJpegLinePrefix)) registry.Deliver(line);
      continue;
    }
    if (!IsHarmlessWarning(line)) registry.Deliver(line);
  }
}

bool IsTruncation(std::string_view line) {
  static constexpr std::string_view kMarks[] = {"premature end",  "truncated",   "not enough data",
                                                "unexpected end", "end of file", "short read",
                                                "out of data"};
  for (std::string_view mark : kMarks) {
    if (ContainsIgnoringCase(line, mark)) return true;
  }
  return false;
}

}  // namespace

void InstallVipsWarningHandler(Logger log) {
  std::lock_guard<std::mutex> lock(handler_mu);
  if (glib_log == nullptr) {
    glib_log = new Logger(std::move(log));
  } else {
    *glib_log = std::move(log);
  }
  if (handler_id != 0) return;
  handler_id = g_log_set_handler(
      "VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE), OnVipsLog,
      nullptr);
  previous_default = g_log_set_default_handler(OnOtherLog, nullptr);
  previous_default_data = nullptr;
}

void RemoveVipsWarningHandler() {
  std::lock_guard<std::mutex> lock(handler_mu);
  if (handler_id == 0) return;
  g_log_remove_handler("VIPS", handler_id);
  handler_id = 0;
  g_log_set_default_handler(previous_default != nullptr ? previous_default : g_log_default_handler,
                            previous_default_data);
}

WarningWatch::WarningWatch(Mode mode) : mode_(mode) {
  WatchRegistry& registry = WatchRegistry::Get();
  bool alone = false;
  {
    std::unique_lock<std::mutex> lock(registry.mu);
    if (mode_ == Mode::kExclusive) {
      ++registry.exclusive_waiting;
      registry.changed.wait(lock, [&] { return registry.active.empty(); });
      --registry.exclusive_waiting;
      registry.exclusive_active = true;
    } else {
      registry.changed.wait(
          lock, [&] { return !registry.exclusive_active && registry.exclusive_waiting == 0; });
    }
    alone = registry.active.empty();
    if (!alone) {
      overlapped_ = true;
      for (WarningWatch* other : registry.active) other->overlapped_ = true;
    }
    registry.active.insert(this);
  }
  // Alone now: what libvips' error buffer holds from here on is this image's, not what an
  // earlier image left there (a loader may record an error and recover). Cleared outside
  // the registry's lock, which the log handler takes. A watch that started while others
  // were active leaves their text alone; it is overlapped.
  if (alone) vips_error_clear();
}

WarningWatch::~WarningWatch() {
  WatchRegistry& registry = WatchRegistry::Get();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.active.erase(this);
  if (mode_ == Mode::kExclusive) registry.exclusive_active = false;
  registry.changed.notify_all();
}

std::vector<std::string> WarningWatch::heard() const {
  std::lock_guard<std::mutex> lock(WatchRegistry::Get().mu);
  return heard_;
}

bool WarningWatch::overlapped() const {
  std::lock_guard<std::mutex> lock(WatchRegistry::Get().mu);
  return overlapped_;
}

bool IsHarmlessWarning(const std::string& line) {
  static constexpr std::string_view kHarmless[] = {
      // libjpeg: bytes between segments, skipped; the image data is complete.
      "extraneous bytes before marker",
      // libjpeg: an APP0 header from a newer JFIF revision.
      "unknown JFIF revision",
      // libheif: the colour description box is ignored (pixels are complete).
      "ignoring nclx profile",
      // libtiff: private or malformed tags it does not use for the pixels.
      "unknown field with tag",
      "ASCII value for tag",
      "wrong data type",
      // libpng/spng: an ICC profile libpng considers wrong; the pixels are intact.
      "iCCP:",
      // libvips' colour management: an embedded profile that does not fit the image is
      // replaced by the built-in one (a CMYK JPEG with an RGB profile, say).
      "profile incompatible with image",
  };
  for (std::string_view harmless : kHarmless) {
    if (ContainsIgnoringCase(line, harmless)) return true;
  }
  return false;
}

Status JudgeWarnings(const std::vector<std::string>& heard) {
  long counted = 0;
  long shown = 0;
  const std::string* first_damage = nullptr;
  bool truncated = false;
  for (const std::string& line : heard) {
    if (line.starts_with(kJpegCountPrefix)) {
      counted =
          std::max(counted, std::strtol(line.c_str() + sizeof(kJpegCountPrefix) - 1, nullptr, 10));
      continue;
    }
    if (line.starts_with(kJpegLinePrefix)) ++shown;
    if (IsHarmlessWarning(line)) continue;
    if (first_damage == nullptr) first_damage = &line;
    truncated = truncated || IsTruncation(line);
  }
  // libjpeg shows only its first warning and counts the rest: a count above what was
  // shown hides warnings of unknown kind.
  if (first_damage == nullptr && counted <= shown) return Status::Ok();
  std::string message = first_damage != nullptr
                            ? "the decoder reported damage: " + *first_damage
                            : "the decoder reported " + std::to_string(counted) +
                                  " warnings and showed " + std::to_string(shown);
  return Status(StatusCode::kInvalidArgument, message,
                truncated ? Reason::kTruncated : Reason::kCorrupt,
                /*retryable=*/false);
}

}  // namespace thumbflow::internal
