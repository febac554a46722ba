// The image format a file's first bytes announce (magic numbers only; nothing is decoded).
// Used to label uploads with a Content-Type and to tell a damaged image of a known format
// from a file that is no image at all.
#pragma once

#include <string_view>

namespace thumbflow {

enum class SniffedFormat {
  kUnknown,
  kJpeg,
  kPng,
  kGif,
  kWebp,
  kTiff,
  kJxl,
  kHeic,
  kHeif,
  kAvif,
  kSvg
};

// Reads at most the first 4 KiB of `data` (an SVG's root element must appear there).
SniffedFormat SniffImageFormat(std::string_view data);
// "image/jpeg", ...; "application/octet-stream" for kUnknown.
std::string_view SniffedFormatMime(SniffedFormat format);

}  // namespace thumbflow
