#include "image/png_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spng.h>
#include <vips/vips.h>

// libvips is started by the binary's environment (vips_thumbnailer_test.cc).

namespace thumbflow::internal {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Unref {
  void operator()(VipsImage* image) const {
    if (image != nullptr) g_object_unref(image);
  }
};
using Image = std::unique_ptr<VipsImage, Unref>;

// Every field of `image` except the ones only libvips' loader sets ("vips-loader" names the
// loader; "filename" is empty for a buffer either way; "vips-sequential" follows the access
// asked for), as name=value text.
std::map<std::string, std::string> Fields(VipsImage* image) {
  std::map<std::string, std::string> fields;
  gchar** names = vips_image_get_fields(image);
  for (gchar** name = names; *name != nullptr; ++name) {
    std::string key = *name;
    if (key == "vips-loader" || key == "filename" || key == "vips-sequential") continue;
    char* value = nullptr;
    if (vips_image_get_as_string(image, *name, &value) == 0) {
      fields[key] = value;
      g_free(value);
    }
  }
  g_strfreev(names);
  vips_error_clear();
  return fields;
}

// libspng's image and libvips' own loader's image of `png` are the same: geometry, format,
// interpretation, every pixel and every metadata field.
void ExpectSameAsLibvips(const std::string& png, const std::string& what) {
  SCOPED_TRACE(what);
  Image ours(NewPngImage(png, int64_t{1} << 40, size_t{1} << 30));
  ASSERT_TRUE(ours) << "libspng did not take it";
  Image theirs(vips_image_new_from_buffer(png.data(), png.size(), "", nullptr));
  ASSERT_TRUE(theirs) << vips_error_buffer();
  // libpng drops some profiles libspng keeps (png_decoder.h); the thumbnailer follows libpng.
  if (vips_image_get_typeof(theirs.get(), VIPS_META_ICC_NAME) == 0) {
    vips_image_remove(ours.get(), VIPS_META_ICC_NAME);
  }
  Image our_pixels(vips_image_copy_memory(ours.get()));
  Image their_pixels(vips_image_copy_memory(theirs.get()));
  ASSERT_TRUE(our_pixels && their_pixels) << vips_error_buffer();
  VipsImage* a = our_pixels.get();
  VipsImage* b = their_pixels.get();
  EXPECT_EQ(a->Xsize, b->Xsize);
  EXPECT_EQ(a->Ysize, b->Ysize);
  EXPECT_EQ(a->Bands, b->Bands);
  EXPECT_EQ(a->BandFmt, b->BandFmt);
  EXPECT_EQ(a->Type, b->Type);
  EXPECT_EQ(a->Xres, b->Xres);
  EXPECT_EQ(a->Yres, b->Yres);
  EXPECT_EQ(Fields(a), Fields(b));
  ASSERT_EQ(VIPS_IMAGE_SIZEOF_IMAGE(a), VIPS_IMAGE_SIZEOF_IMAGE(b));
  EXPECT_EQ(
      std::memcmp(VIPS_IMAGE_ADDR(a, 0, 0), VIPS_IMAGE_ADDR(b, 0, 0), VIPS_IMAGE_SIZEOF_IMAGE(a)),
      0)
      << "pixels differ";
}

// A PNG written by libspng's encoder: random pixels of the colour type and depth, and the
// optional chunks asked for.
struct PngSpec {
  uint8_t color_type = SPNG_COLOR_TYPE_TRUECOLOR;
  uint8_t bit_depth = 8;
  bool trns = false;
  bool metadata = false;  // iCCP, eXIf (orientation 6), text, pHYs, bKGD, gAMA
  uint32_t width = 37;
  uint32_t height = 23;
  uint32_t palette_entries = 0;  // 0: all 2^depth
};

std::string MakePng(const PngSpec& spec) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = spec.width;
  ihdr.height = spec.height;
  ihdr.bit_depth = spec.bit_depth;
  ihdr.color_type = spec.color_type;
  EXPECT_EQ(spng_set_ihdr(ctx, &ihdr), 0);
  int channels = spec.color_type == SPNG_COLOR_TYPE_TRUECOLOR         ? 3
                 : spec.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ? 4
                 : spec.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ? 2
                                                                      : 1;
  size_t row_bytes = (size_t{spec.width} * channels * spec.bit_depth + 7) / 8;
  std::vector<unsigned char> pixels(row_bytes * spec.height);
  std::mt19937 random(spec.color_type * 100 + spec.bit_depth);
  for (auto& byte : pixels) byte = static_cast<unsigned char>(random());
  if (spec.color_type == SPNG_COLOR_TYPE_INDEXED) {
    spng_plte plte{};
    plte.n_entries = spec.palette_entries != 0 ? spec.palette_entries : 1u << spec.bit_depth;
    for (uint32_t i = 0; i < plte.n_entries; ++i) {
      plte.entries[i] = {static_cast<uint8_t>(random()), static_cast<uint8_t>(random()),
                         static_cast<uint8_t>(random()), 0};
    }
    EXPECT_EQ(spng_set_plte(ctx, &plte), 0);
  }
  if (spec.trns) {
    spng_trns trns{};
    uint16_t first = spec.bit_depth == 16 ? (pixels[0] << 8 | pixels[1]) : pixels[0];
    if (spec.bit_depth < 8) first >>= 8 - spec.bit_depth;
    trns.gray = first;  // the first pixel's value, so that some pixel is transparent
    trns.red = first;
    trns.green = 7;
    trns.blue = 9;
    trns.n_type3_entries = spec.color_type == SPNG_COLOR_TYPE_INDEXED ? 2 : 0;
    trns.type3_alpha[0] = 0;
    trns.type3_alpha[1] = 128;
    EXPECT_EQ(spng_set_trns(ctx, &trns), 0);
  }
  // libspng keeps pointers to what it is given until the image is encoded.
  std::string profile_bytes;
  char comment[] = "made for png_decoder_test";
  spng_text text[1] = {};
  spng_iccp iccp{};
  if (spec.metadata) {
    VipsBlob* profile = nullptr;
    EXPECT_EQ(vips_profile_load("srgb", &profile, nullptr), 0);
    size_t length = 0;
    const void* data = vips_blob_get(profile, &length);
    profile_bytes.assign(static_cast<const char*>(data), length);
    vips_area_unref(VIPS_AREA(profile));
    std::strcpy(iccp.profile_name, "sRGB");
    iccp.profile_len = profile_bytes.size();
    iccp.profile = profile_bytes.data();
    EXPECT_EQ(spng_set_iccp(ctx, &iccp), 0);
    // Big-endian TIFF header, one IFD entry: Orientation (0x0112) SHORT 1 = 6.
    static const char kExif[] = "MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    spng_exif exif{sizeof(kExif) - 1, const_cast<char*>(kExif)};
    EXPECT_EQ(spng_set_exif(ctx, &exif), 0);
    std::strcpy(text[0].keyword, "Comment");
    text[0].type = SPNG_TEXT;
    text[0].length = std::strlen(comment);
    text[0].text = comment;
    EXPECT_EQ(spng_set_text(ctx, text, 1), 0);
    spng_phys phys{3780, 3780, 1};
    EXPECT_EQ(spng_set_phys(ctx, &phys), 0);
    spng_bkgd bkgd{};
    bkgd.gray = bkgd.red = bkgd.green = bkgd.blue = 1;
    EXPECT_EQ(spng_set_bkgd(ctx, &bkgd), 0);
    EXPECT_EQ(spng_set_gama(ctx, 0.45455), 0);
  }
  int rc = spng_encode_image(ctx, pixels.data(), pixels.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  EXPECT_EQ(rc, 0) << spng_strerror(rc);
  size_t length = 0;
  int error = 0;
  void* png = spng_get_png_buffer(ctx, &length, &error);
  std::string bytes(static_cast<const char*>(png), png != nullptr ? length : 0);
  free(png);
  spng_ctx_free(ctx);
  return bytes;
}

TEST(PngDecoderTest, EveryColourTypeAndDepthDecodesAsLibvipsLoaderDoes) {
  struct Case {
    uint8_t color_type;
    std::vector<uint8_t> depths;
    bool trns_allowed;
  };
  const Case cases[] = {
      {SPNG_COLOR_TYPE_GRAYSCALE, {1, 2, 4, 8, 16}, true},
      {SPNG_COLOR_TYPE_TRUECOLOR, {8, 16}, true},
      {SPNG_COLOR_TYPE_INDEXED, {1, 2, 4, 8}, true},
      {SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, {8, 16}, false},
      {SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, {8, 16}, false},
  };
  for (const Case& c : cases) {
    for (uint8_t depth : c.depths) {
      for (bool trns : {false, true}) {
        if (trns && !c.trns_allowed) continue;
        PngSpec spec;
        spec.color_type = c.color_type;
        spec.bit_depth = depth;
        spec.trns = trns;
        ExpectSameAsLibvips(MakePng(spec), "colour type " + std::to_string(c.color_type) + ", " +
                                               std::to_string(depth) + " bits" +
                                               (trns ? ", tRNS" : ""));
      }
    }
  }
}

// libpng warns about a palette index past the PLTE entries (and the warning refuses the
// image), so such files go to libvips' loader; indices within a short palette decode.
// Shrink-on-load: each pixel is the mean of its shrink x shrink block of the full decode
// (partial blocks at the right and bottom), colour weighted by alpha; 16-bit images ignore
// the shrink. The reference is computed here from the full decode, in doubles.
TEST(PngDecoderTest, ShrinkOnLoadIsTheAlphaWeightedBoxMeanOfTheFullDecode) {
  struct Case {
    uint8_t color_type;
    uint8_t bit_depth;
    bool trns;
  };
  const Case cases[] = {{SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, false},
                        {SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8, false},
                        {SPNG_COLOR_TYPE_TRUECOLOR, 8, false},
                        {SPNG_COLOR_TYPE_INDEXED, 8, true},
                        {SPNG_COLOR_TYPE_GRAYSCALE, 2, false}};
  const int k = 3;
  for (const Case& c : cases) {
    SCOPED_TRACE("colour type " + std::to_string(c.color_type));
    std::string png = MakePng(PngSpec{c.color_type, c.bit_depth, c.trns, false, 37, 23});
    Image full(NewPngImage(png, 1 << 20, 1 << 20));
    Image shrunk(NewPngImage(png, 1 << 20, 1 << 20, k));
    ASSERT_TRUE(full && shrunk);
    ASSERT_EQ(shrunk->Xsize, 13);  // ceil(37 / 3)
    ASSERT_EQ(shrunk->Ysize, 8);   // ceil(23 / 3)
    ASSERT_EQ(shrunk->Bands, full->Bands);
    size_t full_size = 0, shrunk_size = 0;
    auto* a = static_cast<unsigned char*>(vips_image_write_to_memory(full.get(), &full_size));
    auto* b = static_cast<unsigned char*>(vips_image_write_to_memory(shrunk.get(), &shrunk_size));
    ASSERT_TRUE(a != nullptr && b != nullptr);
    const int bands = full->Bands;
    const bool alpha = bands == 2 || bands == 4;
    const int colours = alpha ? bands - 1 : bands;
    int worst = 0;
    for (int y = 0; y < shrunk->Ysize; ++y) {
      for (int x = 0; x < shrunk->Xsize; ++x) {
        double sum[4] = {}, weight = 0;
        int count = 0;
        for (int sy = y * k; sy < std::min(23, (y + 1) * k); ++sy) {
          for (int sx = x * k; sx < std::min(37, (x + 1) * k); ++sx) {
            const unsigned char* p = a + (size_t(sy) * 37 + sx) * bands;
            double w = alpha ? p[colours] : 1;
            for (int i = 0; i < colours; ++i) sum[i] += p[i] * w;
            weight += w;
            ++count;
          }
        }
        const unsigned char* q = b + (size_t(y) * 13 + x) * bands;
        for (int i = 0; i < colours; ++i) {
          double expected = weight == 0 ? 0 : sum[i] / weight;
          worst = std::max(worst, int(std::abs(q[i] - expected) + 0.5));
        }
        if (alpha) worst = std::max(worst, int(std::abs(q[colours] - weight / count) + 0.5));
      }
    }
    EXPECT_LE(worst, 1);  // rounding
    g_free(a);
    g_free(b);
  }
  std::string deep = MakePng(PngSpec{SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 16, false, false, 37, 23});
  Image wide(NewPngImage(deep, 1 << 20, 1 << 20, k));
  ASSERT_TRUE(wide);
  EXPECT_EQ(wide->Xsize, 37);
  EXPECT_EQ(wide->BandFmt, VIPS_FORMAT_USHORT);
}

TEST(PngDecoderTest, ShortPaletteDecodesUnlessAnIndexIsPastIt) {
  PngSpec spec;
  spec.color_type = SPNG_COLOR_TYPE_INDEXED;
  spec.bit_depth = 1;
  spec.palette_entries = 2;
  ExpectSameAsLibvips(MakePng(spec), "1 bit, 2 entries");
  spec.bit_depth = 8;
  spec.palette_entries = 200;  // random indices: some are past 199
  EXPECT_EQ(NewPngImage(MakePng(spec), 1 << 20, 1 << 20), nullptr);
}

TEST(PngDecoderTest, MetadataMatchesLibvipsLoaderIncludingOrientation) {
  for (uint8_t type : {SPNG_COLOR_TYPE_TRUECOLOR, SPNG_COLOR_TYPE_GRAYSCALE}) {
    PngSpec spec;
    spec.color_type = type;
    spec.metadata = true;
    std::string png = MakePng(spec);
    ExpectSameAsLibvips(png, "metadata, colour type " + std::to_string(type));
    Image ours(NewPngImage(png, 1 << 20, 1 << 20));
    ASSERT_TRUE(ours);
    EXPECT_EQ(vips_image_get_orientation(ours.get()), 6);
    EXPECT_TRUE(vips_image_get_typeof(ours.get(), VIPS_META_ICC_NAME) != 0);
  }
}

// Every PNG of the repository's corpora (interlaced, palette, 16-bit, alpha, odd sizes, and
// what vips pngsave writes interlaced).
TEST(PngDecoderTest, CorpusPngsDecodeAsLibvipsLoaderDoes) {
  int count = 0;
  for (const char* folder : {"testdata/corpus", "fuzz/corpus/thumbnailer"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
      std::string bytes = ReadFile(entry.path().string());
      if (!entry.is_regular_file() || bytes.size() < 8 ||
          bytes.compare(0, 8, "\x89PNG\r\n\x1a\n")) {
        continue;
      }
      if (entry.path().string().find("reject/") != std::string::npos) continue;
      if (bytes[28] != 0) {  // interlaced: left to libvips' loader
        EXPECT_EQ(NewPngImage(bytes, 1 << 30, 1 << 30), nullptr) << entry.path();
        continue;
      }
      ExpectSameAsLibvips(bytes, entry.path().string());
      ++count;
    }
  }
  EXPECT_GE(count, 10) << "the corpora's PNGs were not found";
  // What libvips writes, of each kind of image; interlaced is left to libvips' loader.
  Image rgba(vips_image_new_from_file("testdata/corpus/png/rgba_vignette.png", nullptr));
  ASSERT_TRUE(rgba) << vips_error_buffer();
  for (int bitdepth : {8, 16}) {
    for (bool palette : {false, true}) {
      if (palette && bitdepth == 16) continue;
      void* buffer = nullptr;
      size_t length = 0;
      VipsImage* source = rgba.get();
      VipsImage* wide = nullptr;
      if (bitdepth == 16) {
        ASSERT_EQ(vips_colourspace(source, &wide, VIPS_INTERPRETATION_RGB16, nullptr), 0);
        source = wide;
      }
      ASSERT_EQ(vips_pngsave_buffer(source, &buffer, &length, "interlace", TRUE, "palette",
                                    palette ? TRUE : FALSE, nullptr),
                0)
          << vips_error_buffer();
      std::string bytes(static_cast<const char*>(buffer), length);
      g_free(buffer);
      EXPECT_EQ(NewPngImage(bytes, 1 << 30, 1 << 30), nullptr) << "interlaced";
      ASSERT_EQ(
          vips_pngsave_buffer(source, &buffer, &length, "palette", palette ? TRUE : FALSE, nullptr),
          0);
      bytes.assign(static_cast<const char*>(buffer), length);
      g_free(buffer);
      if (wide != nullptr) g_object_unref(wide);
      ExpectSameAsLibvips(bytes, std::to_string(bitdepth) + " bits" + (palette ? ", palette" : ""));
    }
  }
}

// A file cut short or with a damaged ancillary chunk (libpng would warn), or over a limit, is
// not taken: libvips' loader gives the verdict.
TEST(PngDecoderTest, DamageAndExcessAreLeftToLibvips) {
  std::string png = MakePng(PngSpec{SPNG_COLOR_TYPE_TRUECOLOR, 8, false, false, 400, 300});
  const size_t kBytes = 400 * 300 * 3;
  Image whole(NewPngImage(png, 400 * 300, kBytes));
  EXPECT_TRUE(whole);
  EXPECT_EQ(NewPngImage(png.substr(0, png.size() * 6 / 10), 1 << 20, 1 << 20), nullptr);
  EXPECT_EQ(NewPngImage(png, 400 * 300 - 1, kBytes), nullptr);
  EXPECT_EQ(NewPngImage(png, 400 * 300, kBytes - 1), nullptr);
  EXPECT_EQ(NewPngImage("\x89PNG\r\n\x1a\n", 1 << 20, 1 << 20), nullptr);

  std::string with_text = MakePng(PngSpec{SPNG_COLOR_TYPE_TRUECOLOR, 8, false, true});
  size_t text = with_text.find("tEXt");
  ASSERT_NE(text, std::string::npos);
  with_text[text + 6] ^= 0x20;  // inside the keyword: the chunk's CRC no longer matches
  EXPECT_EQ(NewPngImage(with_text, 1 << 20, 1 << 20), nullptr);
  EXPECT_EQ(std::string(vips_error_buffer()), "");
}

}  // namespace
}  // namespace thumbflow::internal
