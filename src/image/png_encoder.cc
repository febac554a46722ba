#include "image/png_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <libdeflate.h>

namespace thumbflow::internal {
namespace {

struct GFree {
  void operator()(void* p) const { g_free(p); }
};

struct CompressorFree {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};

void PutBigEndian32(std::string* out, uint32_t value) {
  const char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                         static_cast<char>(value >> 8), static_cast<char>(value)};
  out->append(bytes, 4);
}

// Appends a chunk: length, type, data, CRC of type and data.
void PutChunk(std::string* out, const char type[4], const unsigned char* data, size_t length) {
  PutBigEndian32(out, static_cast<uint32_t>(length));
  size_t at = out->size();
  out->append(type, 4);
  if (length > 0) out->append(reinterpret_cast<const char*>(data), length);
  uint32_t crc = libdeflate_crc32(0, out->data() + at, 4 + length);
  PutBigEndian32(out, crc);
}

int Paeth(int a, int b, int c) {
  int p = a + b - c;
  int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// The filter types of the PNG specification.
enum Filter : unsigned char { kNone = 0, kSub = 1, kUp = 2, kAverage = 3, kPaeth = 4 };

// The prediction of filter F for byte i of `row` (`prior` is the row above).
template <Filter F>
int Predict(const unsigned char* row, const unsigned char* prior, size_t i, int bpp) {
  const bool first = i < size_t(bpp);
  if constexpr (F == kSub) {
    return first ? 0 : row[i - bpp];
  } else if constexpr (F == kUp) {
    return prior[i];
  } else if constexpr (F == kAverage) {
    return ((first ? 0 : row[i - bpp]) + prior[i]) / 2;
  } else if constexpr (F == kPaeth) {
    return first ? prior[i] : Paeth(row[i - bpp], prior[i], prior[i - bpp]);
  }
  return 0;
}

#if defined(__SSE2__)
// The prediction of filter F for 16 bytes: left, up and up-left neighbours given.
template <Filter F>
__m128i Predict16(__m128i left, __m128i up, __m128i up_left) {
  if constexpr (F == kSub) {
    return left;
  } else if constexpr (F == kUp) {
    return up;
  } else if constexpr (F == kAverage) {
    // avg_epu8 rounds up; the filter rounds down.
    __m128i odd = _mm_and_si128(_mm_xor_si128(left, up), _mm_set1_epi8(1));
    return _mm_sub_epi8(_mm_avg_epu8(left, up), odd);
  } else if constexpr (F == kPaeth) {
    const __m128i zero = _mm_setzero_si128();
    __m128i halves[2];
    for (int h = 0; h < 2; ++h) {
      __m128i a = h == 0 ? _mm_unpacklo_epi8(left, zero) : _mm_unpackhi_epi8(left, zero);
      __m128i b = h == 0 ? _mm_unpacklo_epi8(up, zero) : _mm_unpackhi_epi8(up, zero);
      __m128i c = h == 0 ? _mm_unpacklo_epi8(up_left, zero) : _mm_unpackhi_epi8(up_left, zero);
      auto abs16 = [&](__m128i x) { return _mm_max_epi16(x, _mm_sub_epi16(zero, x)); };
      __m128i b_c = _mm_sub_epi16(b, c), a_c = _mm_sub_epi16(a, c);
      __m128i pa = abs16(b_c), pb = abs16(a_c), pc = abs16(_mm_add_epi16(b_c, a_c));
      __m128i take_a = _mm_or_si128(_mm_cmpgt_epi16(pa, pb), _mm_cmpgt_epi16(pa, pc));  // not a
      __m128i take_c = _mm_cmpgt_epi16(pb, pc);  // c rather than b
      __m128i bc = _mm_or_si128(_mm_and_si128(take_c, c), _mm_andnot_si128(take_c, b));
      halves[h] = _mm_or_si128(_mm_and_si128(take_a, bc), _mm_andnot_si128(take_a, a));
    }
    return _mm_packus_epi16(halves[0], halves[1]);
  }
  return _mm_setzero_si128();
}
#endif

// Filters `row` (with `prior`, the row above, zeros for the first) by `F` into `out`;
// returns the sum of the outputs' absolute values as signed bytes (libpng's measure).
template <Filter F>
size_t FilterRow(const unsigned char* row, const unsigned char* prior, size_t length, int bpp,
                 unsigned char* out) {
  size_t sum = 0;
  size_t i = 0;
  auto scalar = [&](size_t end) {
    for (; i < end; ++i) {
      const auto v = static_cast<unsigned char>(row[i] - Predict<F>(row, prior, i, bpp));
      out[i] = v;
      sum += v < 128 ? v : 256 - v;
    }
  };
  scalar(std::min(length, size_t(bpp)));
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  __m128i sums = zero;
  for (; i + 16 <= length; i += 16) {
    auto load = [](const unsigned char* p) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    };
    __m128i v = _mm_sub_epi8(
        load(row + i), Predict16<F>(load(row + i - bpp), load(prior + i), load(prior + i - bpp)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), v);
    // |v| as a signed byte is the smaller of v and -v as unsigned bytes.
    sums = _mm_add_epi64(sums, _mm_sad_epu8(_mm_min_epu8(v, _mm_sub_epi8(zero, v)), zero));
  }
  sum += size_t(_mm_cvtsi128_si32(sums)) + size_t(_mm_extract_epi16(sums, 4));
#endif
  scalar(length);
  return sum;
}

}  // namespace

bool PngEncoderTakes(const VipsImage* image) {
  return image->BandFmt == VIPS_FORMAT_UCHAR && image->Bands >= 1 && image->Bands <= 4 &&
         image->Coding == VIPS_CODING_NONE;
}

std::optional<std::string> EncodePng(VipsImage* image, int level) {
  size_t size = 0;
  std::unique_ptr<void, GFree> pixels(vips_image_write_to_memory(image, &size));
  if (!pixels) return std::nullopt;
  const int width = image->Xsize;
  const int height = image->Ysize;
  const int bpp = image->Bands;
  const size_t length = size_t(width) * bpp;
  const auto* data = static_cast<const unsigned char*>(pixels.get());

  // Each row with its filter byte, the filter chosen as libpng's adaptive filtering does:
  // the smallest sum, the earlier filter on a tie.
  std::vector<unsigned char> filtered(size_t(height) * (length + 1));
  std::vector<unsigned char> zeros(length, 0), trial(length);
  for (int y = 0; y < height; ++y) {
    const unsigned char* row = data + size_t(y) * length;
    const unsigned char* prior = y == 0 ? zeros.data() : row - length;
    unsigned char* out = filtered.data() + size_t(y) * (length + 1);
    size_t best = FilterRow<kNone>(row, prior, length, bpp, out + 1);
    out[0] = kNone;
    auto consider = [&](Filter filter, size_t sum) {
      if (sum >= best) return;
      best = sum;
      out[0] = filter;
      std::memcpy(out + 1, trial.data(), length);
    };
    consider(kSub, FilterRow<kSub>(row, prior, length, bpp, trial.data()));
    consider(kUp, FilterRow<kUp>(row, prior, length, bpp, trial.data()));
    consider(kAverage, FilterRow<kAverage>(row, prior, length, bpp, trial.data()));
    consider(kPaeth, FilterRow<kPaeth>(row, prior, length, bpp, trial.data()));
  }

  std::unique_ptr<libdeflate_compressor, CompressorFree> compressor(
      libdeflate_alloc_compressor(level));
  if (!compressor) return std::nullopt;
  std::vector<unsigned char> zlib(
      libdeflate_zlib_compress_bound(compressor.get(), filtered.size()));
  size_t compressed = libdeflate_zlib_compress(compressor.get(), filtered.data(), filtered.size(),
                                               zlib.data(), zlib.size());
  if (compressed == 0) return std::nullopt;

  std::string png("\x89PNG\r\n\x1a\n", 8);
  png.reserve(8 + 25 + 21 + 12 + compressed + 12);
  static constexpr unsigned char kColourType[] = {0, 0, 4, 2, 6};  // by bands
  unsigned char ihdr[13] = {};
  for (int i = 0; i < 4; ++i) {
    ihdr[i] = static_cast<unsigned char>(uint32_t(width) >> (24 - 8 * i));
    ihdr[4 + i] = static_cast<unsigned char>(uint32_t(height) >> (24 - 8 * i));
  }
  ihdr[8] = 8;  // bit depth; compression, filter method and interlace stay 0
  ihdr[9] = kColourType[bpp];
  PutChunk(&png, "IHDR", ihdr, sizeof ihdr);
  // Pixels per metre, as libvips' pngsave writes them (its resolution is per millimetre).
  unsigned char phys[9] = {};
  const uint32_t ppm[2] = {static_cast<uint32_t>(std::lrint(image->Xres * 1000)),
                           static_cast<uint32_t>(std::lrint(image->Yres * 1000))};
  for (int axis = 0; axis < 2; ++axis) {
    for (int i = 0; i < 4; ++i) {
      phys[4 * axis + i] = static_cast<unsigned char>(ppm[axis] >> (24 - 8 * i));
    }
  }
  phys[8] = 1;  // the unit is the metre
  PutChunk(&png, "pHYs", phys, sizeof phys);
  PutChunk(&png, "IDAT", zlib.data(), compressed);
  PutChunk(&png, "IEND", nullptr, 0);
  return png;
}

}  // namespace thumbflow::internal
