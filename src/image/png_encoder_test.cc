#include "image/png_encoder.h"

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libdeflate.h>
#include <vips/vips.h>

namespace thumbflow::internal {
namespace {

struct ImageUnref {
  void operator()(VipsImage* image) const { g_object_unref(image); }
};
using Image = std::unique_ptr<VipsImage, ImageUnref>;

// A test image whose rows suit different filters: flat, horizontal and vertical ramps, a
// diagonal pattern, noise, and partly transparent pixels.
std::vector<unsigned char> TestPixels(int width, int height, int bands) {
  std::vector<unsigned char> pixels(size_t(width) * height * bands);
  uint32_t noise = 12345;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int b = 0; b < bands; ++b) {
        noise = noise * 1103515245 + 12345;
        int v = 0;
        switch (y % 5) {
          case 0:
            v = 200;
            break;
          case 1:
            v = x * 7 + b * 40;
            break;
          case 2:
            v = y * 9 + b;
            break;
          case 3:
            v = (x + y) * 5 + ((x * y) & 7);
            break;
          default:
            v = int(noise >> 16);
        }
        pixels[(size_t(y) * width + x) * bands + b] = static_cast<unsigned char>(v);
      }
    }
  }
  return pixels;
}

// The filter type of each row of a PNG this encoder wrote (one IDAT).
std::vector<int> RowFilters(const std::string& png, int height, size_t row_bytes) {
  size_t at = 8;
  std::string idat;
  while (at + 8 <= png.size()) {
    uint32_t length = uint32_t(uint8_t(png[at])) << 24 | uint32_t(uint8_t(png[at + 1])) << 16 |
                      uint32_t(uint8_t(png[at + 2])) << 8 | uint8_t(png[at + 3]);
    if (png.compare(at + 4, 4, "IDAT") == 0) idat.append(png, at + 8, length);
    at += 12 + length;
  }
  std::vector<unsigned char> raw(size_t(height) * (row_bytes + 1));
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  size_t made = 0;
  EXPECT_EQ(libdeflate_zlib_decompress(d, idat.data(), idat.size(), raw.data(), raw.size(), &made),
            LIBDEFLATE_SUCCESS);
  libdeflate_free_decompressor(d);
  std::vector<int> filters;
  for (int y = 0; y < height; ++y) filters.push_back(raw[size_t(y) * (row_bytes + 1)]);
  return filters;
}

// Every layout and awkward widths round-trip exactly through libvips' own PNG loader
// (libpng), and between them the images use all five filter types.
TEST(PngEncoderTest, RoundTripsThroughLibpngWithEveryFilter) {
  std::set<int> filters_used;
  for (int bands = 1; bands <= 4; ++bands) {
    for (int width : {1, 2, 5, 17, 33, 300}) {
      SCOPED_TRACE("bands " + std::to_string(bands) + ", width " + std::to_string(width));
      const int height = 23;
      std::vector<unsigned char> pixels = TestPixels(width, height, bands);
      Image image(vips_image_new_from_memory_copy(pixels.data(), pixels.size(), width, height,
                                                  bands, VIPS_FORMAT_UCHAR));
      ASSERT_TRUE(image);
      image->Xres = 2.835;  // 72 dpi
      image->Yres = 5.0;
      ASSERT_TRUE(PngEncoderTakes(image.get()));
      std::optional<std::string> png = EncodePng(image.get(), 7);
      ASSERT_TRUE(png.has_value());
      Image decoded(vips_image_new_from_buffer(png->data(), png->size(), "", "fail_on",
                                               VIPS_FAIL_ON_WARNING, nullptr));
      ASSERT_TRUE(decoded) << vips_error_buffer();
      EXPECT_EQ(decoded->Xsize, width);
      EXPECT_EQ(decoded->Ysize, height);
      EXPECT_EQ(decoded->Bands, bands);
      EXPECT_EQ(decoded->BandFmt, VIPS_FORMAT_UCHAR);
      EXPECT_NEAR(decoded->Xres, 2.835, 0.001);
      EXPECT_NEAR(decoded->Yres, 5.0, 0.001);
      size_t size = 0;
      void* back = vips_image_write_to_memory(decoded.get(), &size);
      ASSERT_NE(back, nullptr);
      ASSERT_EQ(size, pixels.size());
      EXPECT_EQ(std::memcmp(back, pixels.data(), size), 0);
      g_free(back);
      for (int f : RowFilters(*png, height, size_t(width) * bands)) filters_used.insert(f);
    }
  }
  EXPECT_EQ(filters_used, (std::set<int>{0, 1, 2, 3, 4}));
}

TEST(PngEncoderTest, TakesOnlyEightBitImagesOfOneToFourBands) {
  unsigned char pixels[16] = {};
  Image grey(vips_image_new_from_memory_copy(pixels, 4, 2, 2, 1, VIPS_FORMAT_UCHAR));
  Image deep(vips_image_new_from_memory_copy(pixels, 8, 2, 2, 1, VIPS_FORMAT_USHORT));
  Image five(vips_image_new_from_memory_copy(pixels, 5, 1, 1, 5, VIPS_FORMAT_UCHAR));
  EXPECT_TRUE(PngEncoderTakes(grey.get()));
  EXPECT_FALSE(PngEncoderTakes(deep.get()));
  EXPECT_FALSE(PngEncoderTakes(five.get()));
}

}  // namespace
}  // namespace thumbflow::internal
