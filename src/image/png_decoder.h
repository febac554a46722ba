// PNG decoding without libvips' libpng path (internal to the image library).
//
// Debian's libvips 8.14 reads PNG through libpng and zlib; the two were about a third of the
// CPU of a PNG source's thumbnails (issue 14). Here libspng reads and checks the chunks
// before the pixel data, libdeflate inflates the IDAT stream (about 4x zlib's speed on the
// benchmark PNGs) and the rows are unfiltered here (SSE2 for 8-bit RGB and RGBA, as libpng
// does). The image is what libvips 8.14's own PNG loader gives: the same bands, format and
// interpretation (palette expanded to RGB, tRNS to an alpha band, grey below 8 bits scaled
// to 8, 16 bits kept, host-endian), the same metadata (EXIF and with it the orientation,
// XMP, text chunks, bKGD, palette bit depth, resolution), and no gamma applied (gAMA, sRGB
// and cHRM are ignored, as libvips does). One difference: the ICC profile of an iCCP chunk
// is attached whenever libspng can read it, while libpng drops (with a harmless warning)
// some it considers wrong, such as an RGB profile in a grey PNG; the caller keeps the
// profile only when libvips' header has one.
//
// Thread-safety: NewPngImage may be called from any thread; the image it returns may be
// read from any threads, in any order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <vips/vips.h>

namespace thumbflow::internal {

// The PNG in `encoded` as a libvips image, or nullptr when this decoder does not take the
// file: it is interlaced (rare for photos; libvips decodes those whole too), libspng cannot
// read the chunks before the first IDAT, a CRC is wrong, a chunk exceeds libvips' limits,
// there are more text chunks than libvips keeps without a warning, a palette index has no
// PLTE entry, the pixel data is cut short, corrupt or followed by more, the image has more
// than `max_pixels` pixels or would take more than `max_bytes` decoded. The caller then uses
// libvips' own loader, whose verdict on the file stands (so a damaged PNG keeps today's
// error and reason) and which streams large images. libvips' error buffer is left as it
// was.
//
// The pixel data is inflated and unfiltered here (libdeflate works on the whole stream), so
// the image holds about its decoded size in memory, bounded by `max_bytes`; its rows are
// expanded to libvips' layout as they are read. It is marked sequential
// (VIPS_META_SEQUENTIAL), as libvips' loaders mark theirs, so that shrinking it keeps to
// the sequential strategy. `encoded` need not outlive the call. The caller owns the
// returned reference.
//
// `shrink` > 1 (8-bit images only; 16-bit ones ignore it) is a shrink-on-load: the image is
// ceil(width / shrink) x ceil(height / shrink), each pixel the mean of its shrink x shrink
// block of the source (partial blocks at the right and bottom edges), colour weighted by
// alpha when there is an alpha band. It stands for the box-filter step libvips' resize does
// first (vips_resize's gap), done on the 8-bit rows here instead of on a premultiplied float
// copy of the whole source; the caller picks the factor.
VipsImage* NewPngImage(std::string_view encoded, int64_t max_pixels, size_t max_bytes,
                       int shrink = 1);

}  // namespace thumbflow::internal
