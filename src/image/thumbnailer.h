// Thumbnailer: the port for turning one encoded image into every configured thumbnail.
//
// Encoded bytes in, one encoded image per configured size out, or a classified error. It
// does no I/O but memory. The source is decoded once (shrink-on-load to the largest size
// needed) and every smaller size is derived from that image.
//
// Errors: a Status whose reason() is one of the stable codes "not-an-image", "truncated",
// "corrupt", "unsupported-format", "too-many-pixels", "too-large", "too-many-frames",
// "timeout", "internal"; retryable() is false for all of them except "internal" failures
// that come from resource exhaustion in the process (for example out of memory), and
// "crashed": the process that decoded the image died (isolated_thumbnailer.h).
// Implementations are thread-safe: Make() may be called from many threads at once.
//
// Deadline: Make() returns by the earlier of limits.timeout_s after it starts and
// MakeOptions::deadline_ms (a caller's own bound, e.g. the Lambda invocation's remaining
// time); a source that cannot be finished by then fails with reason "timeout".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace thumbflow {

struct Thumbnail {
  std::string size_name;     // "small", "medium", ... as configured
  std::string format;        // "jpeg", "png", "webp", "gif", "avif"
  std::string content_type;  // "image/jpeg", ...
  std::string extension;     // the format's usual file extension, with the dot: ".jpg"
  int width = 0;
  int height = 0;
  std::string bytes;
};

struct Thumbnails {
  std::string source_format;  // what the content was, whatever its name said ("jpeg", ...)
  int source_width = 0;       // after EXIF orientation
  int source_height = 0;
  std::vector<Thumbnail> outputs;  // one per configured size, in config order
};

struct MakeOptions {
  // Unix time in ms (Clock::NowMillis) by which Make() must return; 0: no bound beyond
  // limits.timeout_s.
  int64_t deadline_ms = 0;
};

class Thumbnailer {
 public:
  virtual ~Thumbnailer() = default;
  virtual Result<Thumbnails> Make(std::string_view encoded, const MakeOptions& options) const = 0;
  Result<Thumbnails> Make(std::string_view encoded) const { return Make(encoded, MakeOptions{}); }
};

// The name a thumbnail is stored under: `source_name` unchanged when its extension already
// names `format` (".jpg"/".jpeg" for jpeg, case-insensitive), else `source_name` with the
// thumbnail's extension appended ("a.heic" + jpeg -> "a.heic.jpg"), so names never collide.
// The formats and their extensions: image/thumbnail_name.h.
std::string ThumbnailName(std::string_view source_name, const Thumbnail& thumbnail);

}  // namespace thumbflow
