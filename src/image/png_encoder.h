// PNG encoding of thumbnails without libvips' libpng path (internal to the image library).
//
// libvips 8.14 writes PNG through libpng and zlib: on the benchmark PNGs' thumbnails that
// was about 80 M instructions per source image, a sixth of its CPU (issue 14). Here the
// rows are filtered as libpng's adaptive filtering does (for each row the filter whose
// output has the smallest sum of absolute values, as signed bytes) and the filtered rows
// are compressed with libdeflate, whose levels compress better than zlib's at the same
// level and faster.
//
// The file holds IHDR, pHYs (the image's resolution, as libvips writes it), one IDAT and
// IEND: what libvips' pngsave writes with metadata stripped, at 8 bits, not interlaced.
//
// Thread-safety: EncodePng may be called from any thread.
#pragma once

#include <optional>
#include <string>

#include <vips/vips.h>

namespace thumbflow::internal {

// Whether EncodePng takes `image`: 8-bit unsigned samples, 1 to 4 bands (grey, grey and
// alpha, RGB, RGBA), uncoded.
bool PngEncoderTakes(const VipsImage* image);

// `image` (PngEncoderTakes) as PNG, libdeflate level `level` (0 to 12). Computes the image;
// nullopt when that fails (libvips' error buffer says why) or libdeflate cannot compress.
std::optional<std::string> EncodePng(VipsImage* image, int level);

}  // namespace thumbflow::internal
