// Config sections `[thumbnails]` and `[limits]`: what thumbnails to make and the safety
// limits applied to every source. image/ owns their meaning; this file only reads them.
//
//   [thumbnails]
//   format = "auto"            # auto | jpeg | png | webp | avif
//   jpeg_quality = 80          # 1..100
//   webp_quality = 80          # 1..100
//   avif_quality = 50          # 1..100
//   png_compression = 5        # 0..9 as zlib levels; libdeflate runs at level + 2
//   progressive = false        # progressive (interlaced) JPEG output
//   strip_metadata = true
//   animated = false           # keep GIF/WebP animations (bounded by limits.max_frames)
//   [[thumbnails.sizes]]       # replaces the default small/medium/large when present
//   name = "small"
//   width = 50
//   height = 50                # optional; absent: follows the aspect ratio
//   fit = "inside"             # inside | cover | contain
//   gravity = "centre"         # cover only: centre | attention
//   background = "#ffffff"     # contain padding and alpha flattening: #rrggbb or #rrggbbaa
//
//   [limits]
//   max_bytes = 52428800       # 50 MiB
//   max_pixels = 100000000     # 100 MP, from the header
//   max_frames = 100           # pages/frames decoded when animated = true
//   timeout_s = 30             # per image, enforced while libvips computes
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/field_reader.h"

namespace thumbflow {

// How a size fits the source into its box: inside (aspect kept, within width x height),
// cover (fills the box, cropped), contain (within the box, padded with the background).
enum class Fit { kInside, kCover, kContain };
// Where cover crops: the centre, or libvips' attention strategy (the busiest region).
enum class Gravity { kCentre, kAttention };

// The config names ("inside", "cover", "contain"; "centre", "attention"), also used in
// messages and on the codec helpers' wire.
const char* FitName(Fit fit);
const char* GravityName(Gravity gravity);
// The value that `name` names; false (and `*out` unchanged) when none does.
bool ParseFit(std::string_view name, Fit* out);
bool ParseGravity(std::string_view name, Gravity* out);

struct ThumbnailSize {
  std::string name;
  int width = 0;
  int height = 0;  // 0: no height constraint (the aspect ratio decides)
  Fit fit = Fit::kInside;
  Gravity gravity = Gravity::kCentre;
  std::array<int, 4> background = {255, 255, 255, 255};  // RGBA
};

struct LimitsConfig {
  int64_t max_bytes = 50LL * 1024 * 1024;
  int64_t max_pixels = 100'000'000;
  int max_frames = 100;
  int timeout_s = 30;
};

struct ThumbnailConfig {
  std::vector<ThumbnailSize> sizes = DefaultSizes();
  std::string format = "auto";
  int jpeg_quality = 80;
  int webp_quality = 80;
  int avif_quality = 50;
  int png_compression = 5;
  bool progressive = false;
  bool strip_metadata = true;
  bool animated = false;
  LimitsConfig limits;

  static std::vector<ThumbnailSize> DefaultSizes();
};

// Reads [thumbnails] and [limits] from the root table; absent keys keep their defaults.
// Errors are InvalidArgument and name the field ("thumbnails.sizes[1].fit: must be one of
// inside, cover, contain (got \"fill\")").
Status ParseThumbnailConfig(FieldReader& root, ThumbnailConfig* out);

// Parses "#rgb", "#rrggbb" or "#rrggbbaa" into RGBA; false when malformed.
bool ParseHexColour(const std::string& text, std::array<int, 4>* out);

}  // namespace thumbflow
