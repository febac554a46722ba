// VipsThumbnailer: the Thumbnailer port implemented with libvips. No libvips types here.
//
// Steps for one source, in order (each failure is a permanent Status with a reason code):
//   1. limits on the encoded bytes (too-large), content sniffing (not-an-image,
//      unsupported-format for a known non-image or a loader outside the allowlist);
//   2. header only: pixel count (too-many-pixels), frames when animated (too-many-frames),
//      orientation, colour space, ICC profile validity;
//   3. one decode: vips_thumbnail_buffer (shrink-on-load) to the largest size any output
//      needs, EXIF orientation applied, colour to sRGB when the source is CMYK or carries a
//      valid non-grey ICC profile, truncated input refused (fail_on=truncated), 8-bit;
//      the result is copied to memory once;
//   4. every size is resized/cropped/padded from that memory image and encoded.
// The per-image deadline (limits.timeout_s) is checked from libvips' eval callbacks, which
// kill the computation: a slow image stops inside libvips, not after it.
#pragma once

#include <cstdint>
#include <memory>

#include "config/thumbnail_config.h"
#include "core/clock.h"
#include "core/result.h"
#include "image/thumbnailer.h"
#include "image/vips_runtime.h"

namespace thumbflow {

// `runtime` and `clock` must outlive the thumbnailer; `clock` nullptr means the system
// clock (owned by the thumbnailer). The returned object is thread-safe.
Result<std::unique_ptr<Thumbnailer>> MakeVipsThumbnailer(const ThumbnailConfig& config,
                                                         const VipsRuntime& runtime,
                                                         const Clock* clock = nullptr);

}  // namespace thumbflow
