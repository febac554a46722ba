#include "image/png_decoder.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <libdeflate.h>
#include <spng.h>

namespace thumbflow::internal {
namespace {

// libvips 8.14's limits for its libpng loader: 50 MiB per metadata chunk (libpng's
// png_set_chunk_malloc_max) and at most 20 text chunks (it warns and drops the rest; the
// warning would refuse the image here, so such files go to libvips' loader).
constexpr size_t kMaxChunkBytes = 50 * 1024 * 1024;
constexpr size_t kMaxCachedChunkBytes = 60 * 1024 * 1024;
constexpr uint32_t kMaxTextChunks = 20;
// Bytes after the stored rows, for the unfiltering's four-byte accesses.
constexpr size_t kRowPadding = 4;

struct SpngFree {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using SpngPtr = std::unique_ptr<spng_ctx, SpngFree>;

struct ImageUnref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using OwnedImage = std::unique_ptr<VipsImage, ImageUnref>;

// Samples per pixel as stored (a palette index is one).
int StoredChannels(const spng_ihdr& ihdr) {
  switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_TRUECOLOR:
      return 3;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
      return 4;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
      return 2;
    default:
      return 1;
  }
}

// What the header says the image becomes, as libvips' libpng loader decides it.
struct Layout {
  int bands = 0;
  VipsBandFormat format = VIPS_FORMAT_UCHAR;
  VipsInterpretation interpretation = VIPS_INTERPRETATION_sRGB;
};

// The layout for the header, or false for a colour type libvips does not know.
bool ChooseLayout(const spng_ihdr& ihdr, bool has_trns, Layout* layout) {
  switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_INDEXED:
    case SPNG_COLOR_TYPE_TRUECOLOR:
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
      layout->bands = 3;
      break;
    case SPNG_COLOR_TYPE_GRAYSCALE:
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
      layout->bands = 1;
      break;
    default:
      return false;
  }
  bool sixteen = ihdr.bit_depth > 8;
  layout->format = sixteen ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR;
  if (layout->bands < 3) {
    layout->interpretation = sixteen ? VIPS_INTERPRETATION_GREY16 : VIPS_INTERPRETATION_B_W;
  } else {
    layout->interpretation = sixteen ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
  }
  if (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
      ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA || has_trns) {
    layout->bands += 1;
  }
  return true;
}

// The metadata libvips 8.14's libpng loader attaches (vipspng.c, png2vips_header), from
// the chunks before the first IDAT. False when libspng cannot give a chunk it reported or
// there are more text chunks than libvips keeps without warning.
bool AttachMetadata(spng_ctx* ctx, const spng_ihdr& ihdr, VipsImage* image) {
  spng_iccp iccp;
  if (spng_get_iccp(ctx, &iccp) == 0) {
    vips_image_set_blob_copy(image, VIPS_META_ICC_NAME, iccp.profile, iccp.profile_len);
  }
  uint32_t n_text = 0;
  if (spng_get_text(ctx, nullptr, &n_text) == 0 && n_text > 0) {
    if (n_text > kMaxTextChunks) return false;
    std::vector<spng_text> text(n_text);
    if (spng_get_text(ctx, text.data(), &n_text) != 0) return false;
    for (uint32_t i = 0; i < n_text; ++i) {
      if (std::string_view(text[i].keyword) == "XML:com.adobe.xmp") {
        vips_image_set_blob_copy(image, VIPS_META_XMP_NAME, text[i].text,
                                 std::string_view(text[i].text).size());
      } else {
        std::string name = "png-comment-" + std::to_string(i) + "-" + text[i].keyword;
        vips_image_set_string(image, name.c_str(), text[i].text);
      }
    }
  }
  if (ihdr.color_type == SPNG_COLOR_TYPE_INDEXED) {
    vips_image_set_int(image, "palette-bit-depth", ihdr.bit_depth);
  }
  spng_bkgd bkgd;
  if (spng_get_bkgd(ctx, &bkgd) == 0) {
    // Integer division, as libvips does it.
    const int scale = ihdr.bit_depth > 8 ? 256 : 1;
    if (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
        ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA) {
      double grey = bkgd.gray / scale;
      vips_image_set_array_double(image, "background", &grey, 1);
    } else if (ihdr.color_type != SPNG_COLOR_TYPE_INDEXED) {
      double rgb[3] = {static_cast<double>(bkgd.red / scale),
                       static_cast<double>(bkgd.green / scale),
                       static_cast<double>(bkgd.blue / scale)};
      vips_image_set_array_double(image, "background", rgb, 3);
    }
  }
  // Last: setting the EXIF block makes libvips parse it (the orientation among others).
  spng_exif exif;
  if (spng_get_exif(ctx, &exif) == 0) {
    vips_image_set_blob_copy(image, VIPS_META_EXIF_NAME, exif.data, exif.length);
  }
  return true;
}

// The resolution as libvips' libpng loader computes it: 72 dpi unless pHYs says otherwise,
// kept in whole pixels per metre (so the PNG it saves has the same pHYs).
double Resolution(uint32_t ppu, bool metre) { return metre ? ppu / 1000.0 : ppu; }

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// libpng refuses a chunk whose type is not four ASCII letters (libspng skips such an
// ancillary chunk).
bool IsChunkType(std::string_view type) {
  return std::all_of(type.begin(), type.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

// The zlib stream of the image: the payloads of the consecutive IDAT chunks, their CRCs
// checked (libpng refuses a wrong one). Empty when the file ends inside a chunk before IEND,
// a CRC is wrong, a chunk type is not four letters, IHDR or PLTE is repeated or PLTE
// follows IDAT, or IDAT chunks are not consecutive.
std::string_view CollectIdat(std::string_view png, std::string* joined) {
  const auto* data = reinterpret_cast<const unsigned char*>(png.data());
  size_t pos = 8;
  std::vector<std::string_view> parts;
  bool seen_idat = false, idat_ended = false;
  int palettes = 0;
  while (pos + 12 <= png.size()) {
    uint32_t length = BigEndian32(data + pos);
    if (length > png.size() - pos - 12) return {};
    std::string_view type = png.substr(pos + 4, 4);
    if (!IsChunkType(type)) return {};
    // A second IHDR or PLTE, or a PLTE after the pixel data: libpng refuses the file.
    if ((type == "IHDR" && pos != 8) || (type == "PLTE" && (++palettes > 1 || seen_idat))) {
      return {};
    }
    if (type == "IDAT") {
      if (idat_ended) return {};
      uint32_t crc = libdeflate_crc32(0, data + pos + 4, size_t{length} + 4);
      if (crc != BigEndian32(data + pos + 8 + length)) return {};
      parts.push_back(png.substr(pos + 8, length));
      seen_idat = true;
    } else if (seen_idat) {
      idat_ended = true;
      if (type == "IEND") break;
    }
    pos += size_t{length} + 12;
  }
  if (parts.size() == 1) return parts[0];
  for (std::string_view part : parts) joined->append(part);
  return *joined;
}

#if defined(__SSE2__)
// Sub, Average and Paeth for 3- and 4-byte pixels (8-bit RGB and RGBA), one pixel at a time
// in SSE2 lanes, the technique libpng's own SSE2 filters use: the filters chain along the
// row, so the speed comes from doing a pixel's bytes at once. (x86-64 always has SSE2.)
// Four bytes at once, also for 3-byte pixels: a narrower load would wait on the stores that
// built it. The rows are padded so that the last pixel's fourth byte exists.
inline __m128i LoadPixel(const unsigned char* p) {
  int32_t value;
  std::memcpy(&value, p, 4);
  return _mm_cvtsi32_si128(value);
}

inline void StorePixel(unsigned char* p, __m128i pixel) {
  int32_t value = _mm_cvtsi128_si32(pixel);
  std::memcpy(p, &value, 4);
}

template <int kBpp>
void UnfilterSimd(int filter, unsigned char* row, const unsigned char* prior, size_t length) {
  const __m128i zero = _mm_setzero_si128();
  // A 3-byte pixel's fourth lane is the next pixel's first byte: it gets no prediction, so
  // the four-byte store writes it back unchanged.
  const __m128i lanes = kBpp == 3 ? _mm_set_epi16(0, 0, 0, 0, 0, -1, -1, -1) : _mm_set1_epi16(-1);
  __m128i left = zero;     // the unfiltered pixel to the left, 16-bit lanes
  __m128i up_left = zero;  // the prior row's pixel to the left, 16-bit lanes
  for (size_t i = 0; i + kBpp <= length; i += kBpp) {
    __m128i x = LoadPixel(row + i);
    __m128i up = _mm_unpacklo_epi8(LoadPixel(prior + i), zero);
    __m128i predicted;
    if (filter == 1) {
      predicted = left;
    } else if (filter == 3) {
      predicted = _mm_srli_epi16(_mm_add_epi16(left, up), 1);
    } else {
      __m128i to_a = _mm_sub_epi16(up, up_left);    // p - a
      __m128i to_b = _mm_sub_epi16(left, up_left);  // p - b
      __m128i to_c = _mm_add_epi16(to_a, to_b);     // p - c
      __m128i pa = _mm_max_epi16(to_a, _mm_sub_epi16(zero, to_a));
      __m128i pb = _mm_max_epi16(to_b, _mm_sub_epi16(zero, to_b));
      __m128i pc = _mm_max_epi16(to_c, _mm_sub_epi16(zero, to_c));
      // a when pa <= pb and pa <= pc; else b when pb <= pc; else c.
      __m128i not_a = _mm_or_si128(_mm_cmpgt_epi16(pa, pb), _mm_cmpgt_epi16(pa, pc));
      __m128i not_b = _mm_cmpgt_epi16(pb, pc);
      __m128i b_or_c = _mm_or_si128(_mm_and_si128(not_b, up_left), _mm_andnot_si128(not_b, up));
      predicted = _mm_or_si128(_mm_and_si128(not_a, b_or_c), _mm_andnot_si128(not_a, left));
    }
    predicted = _mm_and_si128(predicted, lanes);
    x = _mm_add_epi8(x, _mm_packus_epi16(predicted, predicted));
    StorePixel(row + i, x);
    left = _mm_unpacklo_epi8(x, zero);
    up_left = up;
  }
}
#endif

// The Paeth predictor with p - a, p - b and p - c computed directly (no overflow, fewer
// operations; the same choice as the PNG specification's form).
inline int Paeth(int a, int b, int c) {
  int pa = std::abs(b - c);
  int pb = std::abs(a - c);
  int pc = std::abs(a + b - 2 * c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Undoes the PNG filter of one row in place; `prior` is the previous row, already
// unfiltered (all zeros for the first row). `kBpp`: bytes per complete pixel, at least 1.
// The loops run a pixel at a time so that its bytes' chains proceed side by side.
template <int kBpp>
bool Unfilter(int filter, unsigned char* row, const unsigned char* prior, size_t length) {
#if defined(__SSE2__)
  if constexpr (kBpp == 3 || kBpp == 4) {
    if (filter == 1 || filter == 3 || filter == 4) {
      UnfilterSimd<kBpp>(filter, row, prior, length);
      return true;
    }
  }
#endif
  const size_t head = std::min<size_t>(kBpp, length);
  switch (filter) {
    case 0:
      return true;
    case 1:
      for (size_t i = kBpp; i < length; ++i) row[i] += row[i - kBpp];
      return true;
    case 2:
      for (size_t i = 0; i < length; ++i) row[i] += prior[i];
      return true;
    case 3:
      for (size_t i = 0; i < head; ++i) row[i] += prior[i] >> 1;
      for (size_t i = kBpp; i + kBpp <= length; i += kBpp) {
        for (int c = 0; c < kBpp; ++c) {
          row[i + c] += (row[i + c - kBpp] + prior[i + c]) >> 1;
        }
      }
      return true;
    case 4:
      for (size_t i = 0; i < head; ++i) row[i] += prior[i];
      for (size_t i = kBpp; i + kBpp <= length; i += kBpp) {
        for (int c = 0; c < kBpp; ++c) {
          row[i + c] += static_cast<unsigned char>(
              Paeth(row[i + c - kBpp], prior[i + c], prior[i + c - kBpp]));
        }
      }
      return true;
    default:
      return false;  // libpng: "bad adaptive filter value"
  }
}

bool UnfilterRow(int bpp, int filter, unsigned char* row, const unsigned char* prior,
                 size_t length) {
  switch (bpp) {
    case 1:
      return Unfilter<1>(filter, row, prior, length);
    case 2:
      return Unfilter<2>(filter, row, prior, length);
    case 3:
      return Unfilter<3>(filter, row, prior, length);
    case 4:
      return Unfilter<4>(filter, row, prior, length);
    case 6:
      return Unfilter<6>(filter, row, prior, length);
    default:
      return Unfilter<8>(filter, row, prior, length);
  }
}

// The unfiltered rows of one image, and how to turn a row into libvips' pixels. Read-only
// once built, so rows may be made on any thread, in any order.
struct Pixels {
  spng_ihdr ihdr{};
  Layout layout;
  size_t stride = 0;                          // bytes per stored row, filter byte included
  std::unique_ptr<unsigned char[]> filtered;  // height rows of (filter byte, row), unfiltered
                                              // in place
  bool trns = false;
  spng_trns trns_values{};
  unsigned char palette[256][4] = {};  // RGBA
  uint32_t palette_entries = 256;
  int shrink = 1;  // box shrink on load (8-bit layouts only; png_decoder.h)
};

void FreePixels(VipsImage*, void* data) { delete static_cast<Pixels*>(data); }

uint16_t Sample16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// One stored row into libvips' layout (png_decoder.h).
void ExpandRow(const Pixels& px, const unsigned char* in, VipsPel* out, int width) {
  const spng_ihdr& h = px.ihdr;
  const int depth = h.bit_depth;
  const int bands = px.layout.bands;
  if (h.color_type == SPNG_COLOR_TYPE_INDEXED ||
      (h.color_type == SPNG_COLOR_TYPE_GRAYSCALE && depth < 8)) {
    const int per_byte = 8 / depth;
    const int mask = (1 << depth) - 1;
    const int scale = 255 / mask;
    for (int x = 0; x < width; ++x) {
      int shift = 8 - depth * (x % per_byte + 1);
      int value = (in[x / per_byte] >> shift) & mask;
      if (h.color_type == SPNG_COLOR_TYPE_INDEXED) {
        std::memcpy(out, px.palette[value], bands);
      } else {
        out[0] = static_cast<VipsPel>(value * scale);
        if (px.trns) out[1] = value == px.trns_values.gray ? 0 : 255;
      }
      out += bands;
    }
    return;
  }
  const int channels = px.layout.bands - (px.trns ? 1 : 0);
  if (depth == 8) {
    if (!px.trns) {
      std::memcpy(out, in, size_t(width) * channels);
      return;
    }
    for (int x = 0; x < width; ++x, in += channels, out += bands) {
      std::memcpy(out, in, channels);
      bool clear = channels == 1 ? in[0] == px.trns_values.gray
                                 : in[0] == px.trns_values.red && in[1] == px.trns_values.green &&
                                       in[2] == px.trns_values.blue;
      out[channels] = clear ? 0 : 255;
    }
    return;
  }
  auto* out16 = reinterpret_cast<uint16_t*>(out);
  for (int x = 0; x < width; ++x, in += 2 * channels, out16 += bands) {
    for (int c = 0; c < channels; ++c) out16[c] = Sample16(in + 2 * c);
    if (px.trns) {
      bool clear = channels == 1
                       ? out16[0] == px.trns_values.gray
                       : out16[0] == px.trns_values.red && out16[1] == px.trns_values.green &&
                             out16[2] == px.trns_values.blue;
      out16[channels] = clear ? 0 : 65535;
    }
  }
}

int MakeRows(VipsRegion* region, void*, void* a, void*, gboolean*) {
  const auto& px = *static_cast<const Pixels*>(a);
  const VipsRect& rect = region->valid;
  for (int y = rect.top; y < VIPS_RECT_BOTTOM(&rect); ++y) {
    const unsigned char* row = px.filtered.get() + size_t(y) * px.stride + 1;
    if (rect.left == 0 && rect.width == region->im->Xsize) {
      ExpandRow(px, row, VIPS_REGION_ADDR(region, 0, y), rect.width);
    } else {
      // A part of a row: expand the whole row (sub-byte pixels), keep the part.
      std::vector<VipsPel> whole(VIPS_IMAGE_SIZEOF_LINE(region->im));
      ExpandRow(px, row, whole.data(), region->im->Xsize);
      std::memcpy(VIPS_REGION_ADDR(region, rect.left, y),
                  whole.data() + size_t(rect.left) * VIPS_IMAGE_SIZEOF_PEL(region->im),
                  size_t(rect.width) * VIPS_IMAGE_SIZEOF_PEL(region->im));
    }
  }
  return 0;
}

// Adds one 8-bit source row of `pixels` pixels (kBands samples each) to per-sample column
// sums: with an alpha band each colour sample is multiplied by its pixel's alpha (and the
// alpha sample added as it is), the premultiplied sums the box shrink needs. A column sums
// at most shrink * 255 * 255: 32 bits hold that for any shrink below 66,000 (a whole decode
// is at most kMaxWholePngDecodeBytes, so shrink^2 stays far below that squared).
template <int kBands>
void AccumulateRow(const VipsPel* row, size_t pixels, uint32_t* columns) {
  constexpr bool kAlpha = kBands == 2 || kBands == 4;
  const size_t samples = pixels * kBands;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  auto add = [&](size_t at, __m128i words) {  // 8 16-bit sums into columns[at, at + 8)
    auto* lo = reinterpret_cast<__m128i*>(columns + at);
    auto* hi = reinterpret_cast<__m128i*>(columns + at + 4);
    _mm_storeu_si128(lo, _mm_add_epi32(_mm_loadu_si128(lo), _mm_unpacklo_epi16(words, zero)));
    _mm_storeu_si128(hi, _mm_add_epi32(_mm_loadu_si128(hi), _mm_unpackhi_epi16(words, zero)));
  };
  if constexpr (kBands == 4) {
    // Words 0-2 and 4-6 are colour, 3 and 7 alpha: colour times alpha, alpha times 1
    // (255 * 255 fits 16 bits unsigned).
    const __m128i colour = _mm_set_epi16(0, -1, -1, -1, 0, -1, -1, -1);
    const __m128i one = _mm_set_epi16(1, 0, 0, 0, 1, 0, 0, 0);
    for (; i + 16 <= samples; i += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i));
      __m128i halves[2] = {_mm_unpacklo_epi8(v, zero), _mm_unpackhi_epi8(v, zero)};
      for (int h = 0; h < 2; ++h) {
        __m128i alpha = _mm_shufflehi_epi16(_mm_shufflelo_epi16(halves[h], _MM_SHUFFLE(3, 3, 3, 3)),
                                            _MM_SHUFFLE(3, 3, 3, 3));
        __m128i factor = _mm_or_si128(_mm_and_si128(alpha, colour), one);
        add(i + 8 * size_t(h), _mm_mullo_epi16(halves[h], factor));
      }
    }
  } else if constexpr (!kAlpha) {
    for (; i + 16 <= samples; i += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i));
      add(i, _mm_unpacklo_epi8(v, zero));
      add(i + 8, _mm_unpackhi_epi8(v, zero));
    }
  }
#endif
  for (; i < samples; i += kBands) {
    if constexpr (kAlpha) {
      const uint32_t weight = row[i + kBands - 1];
      for (int c = 0; c < kBands - 1; ++c) columns[i + c] += uint32_t{row[i + c]} * weight;
      columns[i + kBands - 1] += weight;
    } else {
      for (int c = 0; c < kBands; ++c) columns[i + c] += row[i + c];
    }
  }
}

// Rows of the box-shrunk image: each pixel is the mean of a shrink x shrink block of the
// expanded source (fewer at the right and bottom edges). With an alpha band the colour is
// averaged weighted by alpha (premultiplied, as libvips resamples alpha) and stored
// unpremultiplied; a block with no alpha at all gets colour 0. The rows of a block are
// summed per source column first (AccumulateRow), then the columns of each block. 8-bit
// rows that need no expanding are read where they were unfiltered.
template <int kBands>
int MakeShrunkRowsOf(VipsRegion* region, const Pixels& px) {
  constexpr bool kAlpha = kBands == 2 || kBands == 4;
  constexpr int kColours = kAlpha ? kBands - 1 : kBands;
  const VipsRect& rect = region->valid;
  const int k = px.shrink;
  const int source_width = static_cast<int>(px.ihdr.width);
  const int source_height = static_cast<int>(px.ihdr.height);
  const bool direct =
      px.ihdr.bit_depth == 8 && !px.trns && px.ihdr.color_type != SPNG_COLOR_TYPE_INDEXED;
  std::vector<VipsPel> expanded(direct ? 0 : size_t(source_width) * kBands);
  // The source columns of the region's blocks.
  const int x0 = rect.left;
  const int x1 = VIPS_RECT_RIGHT(&rect);
  const int first = x0 * k;
  const int end = std::min(source_width, x1 * k);
  std::vector<uint32_t> columns(size_t(end - first) * kBands);
  for (int y = rect.top; y < VIPS_RECT_BOTTOM(&rect); ++y) {
    std::fill(columns.begin(), columns.end(), 0);
    const int last = std::min(source_height, (y + 1) * k);
    for (int sy = y * k; sy < last; ++sy) {
      const unsigned char* row = px.filtered.get() + size_t(sy) * px.stride + 1;
      if (!direct) {
        ExpandRow(px, row, expanded.data(), source_width);
        row = expanded.data();
      }
      AccumulateRow<kBands>(row + size_t(first) * kBands, size_t(end - first), columns.data());
    }
    const uint64_t rows = uint64_t(last - y * k);
    VipsPel* out = VIPS_REGION_ADDR(region, x0, y);
    const uint32_t* column = columns.data();
    for (int x = x0; x < x1; ++x, out += kBands) {
      const int n = std::min(source_width, (x + 1) * k) - x * k;
      uint64_t sum[kBands] = {};
      for (int i = 0; i < n; ++i, column += kBands) {
        for (int c = 0; c < kBands; ++c) sum[c] += column[c];
      }
      const uint64_t count = rows * uint64_t(n);
      if constexpr (kAlpha) {
        const uint64_t weight = sum[kColours];
        for (int c = 0; c < kColours; ++c) {
          out[c] = weight == 0 ? 0 : static_cast<VipsPel>((sum[c] + weight / 2) / weight);
        }
        out[kColours] = static_cast<VipsPel>((weight + count / 2) / count);
      } else {
        for (int c = 0; c < kBands; ++c)
          out[c] = static_cast<VipsPel>((sum[c] + count / 2) / count);
      }
    }
  }
  return 0;
}

int MakeShrunkRows(VipsRegion* region, void*, void* a, void*, gboolean*) {
  const auto& px = *static_cast<const Pixels*>(a);
  switch (px.layout.bands) {
    case 1:
      return MakeShrunkRowsOf<1>(region, px);
    case 2:
      return MakeShrunkRowsOf<2>(region, px);
    case 3:
      return MakeShrunkRowsOf<3>(region, px);
    default:
      return MakeShrunkRowsOf<4>(region, px);
  }
}

// Whether every palette index of an unfiltered row has a PLTE entry (libpng warns
// otherwise).
bool IndicesInPalette(const unsigned char* row, const Pixels& px) {
  const int depth = px.ihdr.bit_depth;
  const int per_byte = 8 / depth;
  const int mask = (1 << depth) - 1;
  for (uint32_t x = 0; x < px.ihdr.width; ++x) {
    int value = (row[x / per_byte] >> (8 - depth * (int(x % per_byte) + 1))) & mask;
    if (uint32_t(value) >= px.palette_entries) return false;
  }
  return true;
}

// Inflates and unfilters the pixel data of a non-interlaced PNG; false for anything
// libdeflate or the filters refuse (the caller leaves the file to libvips' loader).
bool DecodeRows(std::string_view png, Pixels* px) {
  std::string joined;
  std::string_view stream = CollectIdat(png, &joined);
  if (stream.empty()) return false;
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  std::unique_ptr<libdeflate_decompressor, Free> inflater(libdeflate_alloc_decompressor());
  if (!inflater) return false;
  const size_t height = px->ihdr.height;
  const size_t size = px->stride * height;
  // Padded: the unfiltering reads and writes back one byte past a row's last 3-byte pixel.
  px->filtered = std::make_unique_for_overwrite<unsigned char[]>(size + kRowPadding);
  size_t used_in = 0, made = 0;
  // Exactly the rows, and the whole stream: libpng warns about data left over either way.
  if (libdeflate_zlib_decompress_ex(inflater.get(), stream.data(), stream.size(),
                                    px->filtered.get(), size, &used_in,
                                    &made) != LIBDEFLATE_SUCCESS ||
      made != size || used_in != stream.size()) {
    return false;
  }
  int bpp = std::max(1, StoredChannels(px->ihdr) * px->ihdr.bit_depth / 8);
  const size_t length = px->stride - 1;
  std::vector<unsigned char> zeros(length + kRowPadding);
  unsigned char* base = px->filtered.get();
  for (size_t y = 0; y < height; ++y) {
    unsigned char* row = base + y * px->stride;
    const unsigned char* prior = y == 0 ? zeros.data() : row - px->stride + 1;
    if (!UnfilterRow(bpp, row[0], row + 1, prior, length)) return false;
    if (px->palette_entries < 256 && !IndicesInPalette(row + 1, *px)) return false;
  }
  return true;
}

}  // namespace

VipsImage* NewPngImage(std::string_view encoded, int64_t max_pixels, size_t max_bytes, int shrink) {
  SpngPtr ctx(spng_ctx_new(SPNG_CTX_IGNORE_ADLER32));
  if (!ctx) return nullptr;
  // Every CRC error is an error: libpng warns about a damaged ancillary chunk, and that
  // warning refuses the image, so libvips' loader must see such a file.
  spng_set_crc_action(ctx.get(), SPNG_CRC_ERROR, SPNG_CRC_ERROR);
  spng_set_image_limits(ctx.get(), VIPS_MAX_COORD, VIPS_MAX_COORD);
  spng_set_chunk_limits(ctx.get(), kMaxChunkBytes, kMaxCachedChunkBytes);
  if (spng_set_png_buffer(ctx.get(), encoded.data(), encoded.size()) != 0) return nullptr;

  auto px = std::make_unique<Pixels>();
  spng_ihdr& ihdr = px->ihdr;
  if (spng_get_ihdr(ctx.get(), &ihdr) != 0) return nullptr;
  if (ihdr.interlace_method != SPNG_INTERLACE_NONE) return nullptr;  // rare: libvips' loader
  if (int64_t{ihdr.width} * ihdr.height > max_pixels) return nullptr;
  // Reads every chunk up to the first IDAT: any error there goes to libvips' loader.
  int trns_rc = spng_get_trns(ctx.get(), &px->trns_values);
  if (trns_rc != 0 && trns_rc != SPNG_ECHUNKAVAIL) return nullptr;
  px->trns = trns_rc == 0 && (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE ||
                              ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR);
  if (px->trns && ihdr.bit_depth < 16) {
    // A transparent colour no sample can have: libpng warns and handles it its own way.
    const spng_trns& t = px->trns_values;
    const uint32_t max = (1u << ihdr.bit_depth) - 1;
    if (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE
            ? t.gray > max
            : t.red > max || t.green > max || t.blue > max) {
      return nullptr;
    }
  }
  if (!ChooseLayout(ihdr, trns_rc == 0, &px->layout)) return nullptr;
  if (ihdr.color_type == SPNG_COLOR_TYPE_INDEXED) {
    spng_plte plte;
    if (spng_get_plte(ctx.get(), &plte) != 0) return nullptr;
    px->palette_entries = plte.n_entries;
    for (uint32_t i = 0; i < plte.n_entries && i < 256; ++i) {
      px->palette[i][0] = plte.entries[i].red;
      px->palette[i][1] = plte.entries[i].green;
      px->palette[i][2] = plte.entries[i].blue;
    }
    for (int i = 0; i < 256; ++i) {
      px->palette[i][3] = trns_rc == 0 && uint32_t(i) < px->trns_values.n_type3_entries
                              ? px->trns_values.type3_alpha[i]
                              : 255;
    }
  }
  px->stride = 1 + (size_t{ihdr.width} * StoredChannels(ihdr) * ihdr.bit_depth + 7) / 8;
  size_t decoded = size_t{ihdr.width} * ihdr.height * px->layout.bands *
                   (px->layout.format == VIPS_FORMAT_USHORT ? 2 : 1);
  // The stored rows take at most this plus a filter byte per row.
  if (decoded > max_bytes) return nullptr;

  uint32_t ppu_x = 2834, ppu_y = 2834;  // 72 dpi in whole pixels per metre
  bool metre = true;
  spng_phys phys;
  if (spng_get_phys(ctx.get(), &phys) == 0) {
    ppu_x = phys.ppu_x;
    ppu_y = phys.ppu_y;
    metre = phys.unit_specifier == 1;
  }

  if (px->layout.format == VIPS_FORMAT_UCHAR) px->shrink = std::max(1, shrink);
  const int k = px->shrink;
  OwnedImage image(vips_image_new());
  vips_image_init_fields(image.get(), static_cast<int>((ihdr.width + k - 1) / k),
                         static_cast<int>((ihdr.height + k - 1) / k), px->layout.bands,
                         px->layout.format, VIPS_CODING_NONE, px->layout.interpretation,
                         Resolution(ppu_x, metre), Resolution(ppu_y, metre));
  if (vips_image_pipelinev(image.get(), VIPS_DEMAND_STYLE_THINSTRIP, nullptr) != 0 ||
      !AttachMetadata(ctx.get(), ihdr, image.get())) {
    vips_error_clear();
    return nullptr;
  }
  // As libvips' loaders mark an image read top to bottom: shrinkv and reducev then keep the
  // lines they need in their own caches rather than ask for earlier rows again (without
  // it, thumbnailing took several times the CPU).
  vips_image_set_int(image.get(), VIPS_META_SEQUENTIAL, 1);
  if (!DecodeRows(encoded, px.get())) return nullptr;
  Pixels* pixels = px.release();
  g_signal_connect(image.get(), "close", G_CALLBACK(FreePixels), pixels);
  if (vips_image_generate(image.get(), nullptr, k > 1 ? MakeShrunkRows : MakeRows, nullptr, pixels,
                          nullptr) != 0) {
    vips_error_clear();
    return nullptr;
  }
  return image.release();
}

}  // namespace thumbflow::internal
