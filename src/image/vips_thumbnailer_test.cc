#include "image/vips_thumbnailer.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <vips/vips.h>
#include <nlohmann/json.hpp>

#include "image/thumbnail_name.h"

namespace thumbflow {
namespace {

// One libvips runtime for the whole test binary, as in the real process.
class VipsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto runtime = VipsRuntime::Start({});
    ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
    runtime_ = std::move(runtime).value();
  }
  void TearDown() override { runtime_.reset(); }
  static const VipsRuntime& runtime() { return *runtime_; }

 private:
  static std::unique_ptr<VipsRuntime> runtime_;
};
std::unique_ptr<VipsRuntime> VipsEnvironment::runtime_;
[[maybe_unused]] ::testing::Environment* const vips_environment =
    ::testing::AddGlobalTestEnvironment(new VipsEnvironment);

// The edge-case corpus (testdata/corpus/README.md); tests run from the source folder.
const std::string kCorpus = "testdata/corpus/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json CorpusManifest() {
  std::ifstream in(kCorpus + "manifest.json");
  EXPECT_TRUE(in) << "corpus manifest missing";
  return in ? nlohmann::json::parse(in) : nlohmann::json::array();
}

// Makes a manifest entry's "generate" recipe (a file too big to commit) with the operation
// testdata/corpus/generate.py runs: vips thumbnail FROM WIDTH --height HEIGHT --size up
// --crop centre, saved as "save". Empty (and a test failure) if libvips fails.
std::string Generate(const nlohmann::json& recipe) {
  std::string from = kCorpus + recipe["from"].get<std::string>();
  std::string save = recipe["save"];
  VipsImage* image = nullptr;
  void* buffer = nullptr;
  size_t length = 0;
  if (vips_thumbnail(from.c_str(), &image, recipe["width"].get<int>(), "height",
                     recipe["height"].get<int>(), "size", VIPS_SIZE_UP, "crop",
                     VIPS_INTERESTING_CENTRE, nullptr) != 0 ||
      vips_image_write_to_buffer(image, save.c_str(), &buffer, &length, nullptr) != 0) {
    ADD_FAILURE() << "generating from " << from << ": " << vips_error_buffer();
    vips_error_clear();
  }
  if (image != nullptr) g_object_unref(image);
  std::string bytes(static_cast<const char*>(buffer), buffer != nullptr ? length : 0);
  g_free(buffer);
  return bytes;
}

// The bytes of corpus file `file`: read, or generated (once per process) when the manifest
// says so.
std::string CorpusBytes(const std::string& file) {
  static std::map<std::string, std::string> generated;
  if (auto it = generated.find(file); it != generated.end()) return it->second;
  for (const auto& entry : CorpusManifest()) {
    if (entry["file"] == file && entry.contains("generate")) {
      return generated[file] = Generate(entry["generate"]);
    }
  }
  std::string bytes = ReadFile(kCorpus + file);
  EXPECT_TRUE(!bytes.empty() || file == "reject/empty.jpg") << file << " missing or empty";
  return bytes;
}

std::unique_ptr<Thumbnailer> MakeThumbnailer(const ThumbnailConfig& config = {},
                                             const Clock* clock = nullptr) {
  auto thumbnailer = MakeVipsThumbnailer(config, VipsEnvironment::runtime(), clock);
  EXPECT_TRUE(thumbnailer.ok()) << thumbnailer.status().ToString();
  return std::move(thumbnailer).value();
}

struct Decoded {
  int width = 0;
  int height = 0;
  int bands = 0;
  std::vector<double> means;
  bool has_exif = false;
  int pages = 1;
};

// Reads an encoded thumbnail back with libvips (all frames, so n-pages is checked).
Decoded DecodeOutput(const std::string& bytes) {
  Decoded d;
  VipsImage* image = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", nullptr);
  if (image == nullptr) {
    ADD_FAILURE() << "output does not decode: " << vips_error_buffer();
    vips_error_clear();
    return d;
  }
  d.width = image->Xsize;
  d.height = vips_image_get_page_height(image);
  d.bands = image->Bands;
  d.pages = vips_image_get_n_pages(image);
  d.has_exif = vips_image_get_typeof(image, VIPS_META_EXIF_NAME) != 0;
  for (int band = 0; band < image->Bands; ++band) {
    VipsImage* one = nullptr;
    double mean = 0;
    if (vips_extract_band(image, &one, band, nullptr) == 0 && vips_avg(one, &mean, nullptr) == 0) {
      d.means.push_back(mean);
    }
    if (one) g_object_unref(one);
  }
  g_object_unref(image);
  return d;
}

// The size a width-only, never-enlarging thumbnail of a W x H source must have.
void ExpectedSize(int source_w, int source_h, int box_w, int* w, int* h) {
  if (source_w <= box_w) {
    *w = source_w;
    *h = source_h;
    return;
  }
  *w = box_w;
  *h = std::max(1, static_cast<int>(std::lround(static_cast<double>(source_h) * box_w / source_w)));
}

// The pipeline predicts output names from the source name (AutoThumbnailNames); what the
// thumbnailer really writes under format = "auto" must be among them for every corpus image
// whose extension says what it holds (a mislabelled one is just processed again).
TEST(VipsThumbnailerTest, AutoThumbnailNamesPredictWhatAutoWrites) {
  nlohmann::json manifest = CorpusManifest();
  auto thumbnailer = MakeThumbnailer();
  int checked = 0;
  for (const auto& entry : manifest) {
    if (entry["expect"] == "reject") continue;
    std::string file = entry["file"];
    SCOPED_TRACE(file);
    Result<Thumbnails> result = thumbnailer->Make(CorpusBytes(file));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const OutputFormat* named = KeptFormatNamedBy(file);
    const OutputFormat* content = FindOutputFormat(result->source_format);
    bool kept_content = content != nullptr && content->auto_keeps;
    if (named != (kept_content ? content : nullptr)) continue;  // the name misleads
    std::vector<std::string> names = AutoThumbnailNames(file);
    for (const Thumbnail& t : result->outputs) {
      EXPECT_NE(std::find(names.begin(), names.end(), ThumbnailName(file, t)), names.end())
          << t.format;
    }
    ++checked;
  }
  EXPECT_GE(checked, 70);
}

TEST(VipsThumbnailerTest, EveryCorpusEntryMatchesTheManifest) {
  nlohmann::json manifest = CorpusManifest();
  ASSERT_EQ(manifest.size(), 94u);
  auto thumbnailer = MakeThumbnailer();
  int ok_files = 0;
  int rejects = 0;
  for (const auto& entry : manifest) {
    std::string file = entry["file"];
    SCOPED_TRACE(file);
    std::string bytes = CorpusBytes(file);
    Result<Thumbnails> result = thumbnailer->Make(bytes);
    if (entry["expect"] == "reject") {
      ++rejects;
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(ReasonName(result.status().reason()), entry["reason"].get<std::string>())
          << result.status().ToString();
      EXPECT_FALSE(result.status().retryable());
      continue;
    }
    ++ok_files;
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    int source_w = entry["oriented_width"];
    int source_h = entry["oriented_height"];
    EXPECT_EQ(result->source_width, source_w);
    EXPECT_EQ(result->source_height, source_h);
    ASSERT_EQ(result->outputs.size(), 3u);
    const int boxes[] = {50, 150, 300};
    const char* names[] = {"small", "medium", "large"};
    for (size_t i = 0; i < 3; ++i) {
      const Thumbnail& t = result->outputs[i];
      SCOPED_TRACE(names[i]);
      EXPECT_EQ(t.size_name, names[i]);
      int w, h;
      ExpectedSize(source_w, source_h, boxes[i], &w, &h);
      EXPECT_EQ(t.width, w);
      EXPECT_NEAR(t.height, h, 1);
      Decoded d = DecodeOutput(t.bytes);
      EXPECT_EQ(d.width, t.width);
      EXPECT_EQ(d.height, t.height);
      EXPECT_FALSE(d.has_exif);
    }
  }
  // The polyglot JPEG+ZIP is filed under reject/ but expected "ok" (policy).
  EXPECT_EQ(ok_files, 84);
  EXPECT_EQ(rejects, 10);
}

struct ColourCase {
  const char* file;
  double tolerance;
};

TEST(VipsThumbnailerTest, ColourManagedSourcesMatchTheSrgbReference) {
  nlohmann::json manifest = CorpusManifest();
  // CMYK without a profile depends on the assumed profile (corpus README: ~30 levels);
  // ICC-tagged RGB converted correctly lands within about a level (3 allows for resizing
  // and JPEG re-encoding of the thumbnail).
  const ColourCase cases[] = {
      {"jpeg/cmyk_embedded_profile.jpg", 30}, {"jpeg/cmyk_no_profile_imagemagick.jpg", 30},
      {"jpeg/icc_adobergb1998.jpg", 3},       {"jpeg/icc_display_p3.jpg", 3},
      {"jpeg/icc_truncated_profile.jpg", 3},  {"png/rgb_16bit.png", 3},
      {"tiff/rgb_16bit_deflate.tif", 3},
  };
  auto thumbnailer = MakeThumbnailer();
  for (const ColourCase& c : cases) {
    SCOPED_TRACE(c.file);
    std::vector<double> reference;
    for (const auto& entry : manifest) {
      if (entry["file"] == c.file) {
        reference = entry["colour_check"]["reference_srgb_mean_rgb"].get<std::vector<double>>();
      }
    }
    ASSERT_EQ(reference.size(), 3u);
    Result<Thumbnails> result = thumbnailer->Make(CorpusBytes(c.file));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    Decoded d = DecodeOutput(result->outputs.back().bytes);
    ASSERT_EQ(d.bands, 3);
    for (int band = 0; band < 3; ++band) {
      EXPECT_NEAR(d.means[band], reference[band], c.tolerance) << "band " << band;
    }
  }
}

TEST(VipsThumbnailerTest, GreyscaleSourcesStayNeutral) {
  auto thumbnailer = MakeThumbnailer();
  for (const char* file : {"jpeg/grayscale.jpg", "jpeg/grayscale_gray_icc.jpg"}) {
    SCOPED_TRACE(file);
    Result<Thumbnails> result = thumbnailer->Make(CorpusBytes(file));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    Decoded d = DecodeOutput(result->outputs.back().bytes);
    for (double mean : d.means) EXPECT_NEAR(mean, d.means[0], 1.0);
  }
}

// Counts ICC transforms as libvips builds them (the "postbuild" hook, as for the loaders).
std::atomic<int> icc_transforms_built{0};

gboolean CountIccTransforms(GSignalInvocationHint*, guint n, const GValue* values, gpointer) {
  if (n > 0 && G_VALUE_HOLDS_OBJECT(&values[0])) {
    auto* object = static_cast<GObject*>(g_value_get_object(&values[0]));
    if (object != nullptr && std::string_view(G_OBJECT_TYPE_NAME(object)).starts_with("VipsIcc")) {
      ++icc_transforms_built;
    }
  }
  return TRUE;
}

// The common "sRGB IEC61966-2.1" profile is taken as sRGB, with no transform (whose result
// is the same pixels); another profile (Display P3 here) is still converted.
TEST(VipsThumbnailerTest, TheStandardSrgbProfileNeedsNoTransform) {
  guint signal = g_signal_lookup("postbuild", VIPS_TYPE_OBJECT);
  ASSERT_NE(signal, 0u);
  gulong hook = g_signal_add_emission_hook(signal, 0, CountIccTransforms, nullptr, nullptr);
  auto thumbnailer = MakeThumbnailer();
  std::string srgb = ReadFile("testdata/image/srgb_iec61966_2_1.jpg");
  ASSERT_FALSE(srgb.empty());
  icc_transforms_built = 0;
  Result<Thumbnails> result = thumbnailer->Make(srgb);
  int with_srgb = icc_transforms_built.load();
  icc_transforms_built = 0;
  Result<Thumbnails> p3 = thumbnailer->Make(CorpusBytes("jpeg/icc_display_p3.jpg"));
  int with_p3 = icc_transforms_built.load();
  g_signal_remove_emission_hook(signal, hook);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(p3.ok()) << p3.status().ToString();
  EXPECT_EQ(with_srgb, 0);
  EXPECT_GT(with_p3, 0);

  // libvips' own thumbnail with the transform: the same colours.
  const Thumbnail& large = result->outputs.back();
  VipsImage* converted = nullptr;
  ASSERT_EQ(vips_thumbnail_buffer(srgb.data(), srgb.size(), &converted, large.width, "height",
                                  large.height, "size", VIPS_SIZE_FORCE, "export_profile", "srgb",
                                  nullptr),
            0);
  VipsImage* memory = vips_image_copy_memory(converted);  // read once, band by band below
  g_object_unref(converted);
  ASSERT_NE(memory, nullptr) << vips_error_buffer();
  converted = memory;
  Decoded ours = DecodeOutput(large.bytes);
  ASSERT_EQ(ours.means.size(), 3u);
  for (int band = 0; band < 3; ++band) {
    VipsImage* one = nullptr;
    double mean = 0;
    ASSERT_EQ(vips_extract_band(converted, &one, band, nullptr), 0);
    ASSERT_EQ(vips_avg(one, &mean, nullptr), 0) << vips_error_buffer();
    g_object_unref(one);
    EXPECT_NEAR(ours.means[band], mean, 1.0) << "band " << band;
  }
  g_object_unref(converted);
}

// Counts libvips loader operations as they are built, independently of our code: a hook
// on VipsObject's "postbuild" signal sees every loader libvips constructs.
std::atomic<int> loaders_built{0};

gboolean CountLoaders(GSignalInvocationHint*, guint n, const GValue* values, gpointer) {
  if (n > 0 && G_VALUE_HOLDS_OBJECT(&values[0])) {
    auto* object = static_cast<GObject*>(g_value_get_object(&values[0]));
    if (object != nullptr && VIPS_IS_FOREIGN_LOAD(object)) ++loaders_built;
  }
  return TRUE;
}

TEST(VipsThumbnailerTest, DecodesTheSourceOnceWhateverTheNumberOfSizes) {
  guint signal = g_signal_lookup("postbuild", VIPS_TYPE_OBJECT);
  ASSERT_NE(signal, 0u);
  gulong hook = g_signal_add_emission_hook(signal, 0, CountLoaders, nullptr, nullptr);

  ThumbnailConfig one;
  one.sizes = {ThumbnailConfig::DefaultSizes().back()};
  ThumbnailConfig many;
  many.sizes = ThumbnailConfig::DefaultSizes();
  for (int w : {20, 75, 100, 200, 250}) {
    ThumbnailSize extra;
    extra.name = "w" + std::to_string(w);
    extra.width = w;
    many.sizes.push_back(extra);
  }
  std::string source = CorpusBytes("jpeg/subsampling_444.jpg");

  loaders_built = 0;
  ASSERT_TRUE(MakeThumbnailer(one)->Make(source).ok());
  int with_one = loaders_built.load();
  loaders_built = 0;
  Result<Thumbnails> result = MakeThumbnailer(many)->Make(source);
  ASSERT_TRUE(result.ok());
  int with_many = loaders_built.load();
  g_signal_remove_emission_hook(signal, hook);

  EXPECT_EQ(result->outputs.size(), 8u);
  EXPECT_GT(with_one, 0) << "the hook saw no loader at all";
  // Header read by the limits check, header and shrink-on-load decode inside thumbnail.
  EXPECT_LE(with_one, 3);
  EXPECT_EQ(with_many, with_one);
}

// A clock that moves one second each time it is read: the deadline passes during the
// decode, after a few libvips progress callbacks, with no sleeping.
class SteppingClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now_.fetch_add(1000) + 1000; }
  int64_t reads() const { return (now_.load() - 0) / 1000; }

 private:
  mutable std::atomic<int64_t> now_{0};
};

TEST(VipsThumbnailerTest, DeadlineStopsTheDecodeInsideLibvips) {
  SteppingClock clock;
  ThumbnailConfig config;
  config.limits.timeout_s = 3;
  auto thumbnailer = MakeThumbnailer(config, &clock);
  Result<Thumbnails> result = thumbnailer->Make(CorpusBytes("dims/large_8000x6000.jpg"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().reason(), Reason::kTimeout) << result.status().ToString();
  EXPECT_FALSE(result.status().retryable());
  // Read once to set the deadline, then by eval callbacks until it passed.
  EXPECT_GE(clock.reads(), 4);
}

// A clock that reads 0 until its `reads`-th read, and an hour later from then on.
class JumpingClock final : public Clock {
 public:
  explicit JumpingClock(int reads) : reads_(reads) {}
  int64_t NowMillis() const override { return ++count_ >= reads_ ? 3'600'000 : 0; }

 private:
  const int reads_;
  mutable std::atomic<int> count_{0};
};

// Between the steps of a size (resize, crop, pad, ...) nothing is computed, so libvips'
// eval callback cannot notice the deadline there: the check between steps does. Wherever
// the deadline passes, the result is a thumbnail or a `timeout`, and some moment falls
// between steps.
TEST(VipsThumbnailerTest, DeadlineIsCheckedBetweenTheStepsOfASize) {
  ThumbnailConfig config;
  config.limits.timeout_s = 60;
  const std::string bytes = CorpusBytes("dims/tiny_1x1.jpg");
  bool between_steps = false;
  for (int reads = 2; reads < 80 && !between_steps; ++reads) {
    SCOPED_TRACE(reads);
    JumpingClock clock(reads);
    Result<Thumbnails> result = MakeThumbnailer(config, &clock)->Make(bytes);
    if (result.ok()) continue;
    ASSERT_EQ(result.status().reason(), Reason::kTimeout) << result.status().ToString();
    EXPECT_FALSE(result.status().retryable());
    between_steps =
        result.status().message().find("first frame: processing deadline") != std::string::npos;
  }
  EXPECT_TRUE(between_steps);
}

TEST(VipsThumbnailerTest, LimitsAreCheckedBeforeDecoding) {
  ThumbnailConfig config;
  config.limits.max_bytes = 1000;
  auto r = MakeThumbnailer(config)->Make(CorpusBytes("webp/lossy.webp"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kTooLarge);

  config = {};
  config.limits.max_pixels = 1280 * 800 - 1;
  r = MakeThumbnailer(config)->Make(CorpusBytes("webp/lossy.webp"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kTooManyPixels);

  config = {};
  config.animated = true;
  config.limits.max_frames = 5;
  r = MakeThumbnailer(config)->Make(CorpusBytes("gif/animated_6frames.gif"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kTooManyFrames);
}

TEST(VipsThumbnailerTest, AnimationIsKeptOnlyWhenAsked) {
  std::string gif = CorpusBytes("gif/animated_6frames.gif");
  auto still = MakeThumbnailer()->Make(gif);
  ASSERT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(DecodeOutput(still->outputs[0].bytes).pages, 1);

  ThumbnailConfig config;
  config.animated = true;
  for (const char* file : {"gif/animated_6frames.gif", "webp/animated_8frames.webp"}) {
    SCOPED_TRACE(file);
    auto moving = MakeThumbnailer(config)->Make(CorpusBytes(file));
    ASSERT_TRUE(moving.ok()) << moving.status().ToString();
    for (const Thumbnail& t : moving->outputs) {
      Decoded d = DecodeOutput(t.bytes);
      EXPECT_GT(d.pages, 1);
      EXPECT_EQ(d.width, t.width);
      EXPECT_EQ(d.height, t.height);
    }
  }
}

TEST(VipsThumbnailerTest, AutoFormatKeepsWebFormatsAndConvertsTheRest) {
  struct Case {
    const char* file;
    const char* source;
    const char* output;
  };
  const Case cases[] = {
      {"jpeg/progressive.jpg", "jpeg", "jpeg"},
      {"png/rgba_vignette.png", "png", "png"},
      {"webp/lossy.webp", "webp", "webp"},
      {"gif/static.gif", "gif", "gif"},
      {"heif/photo.avif", "avif", "avif"},
      {"heif/photo.heic", "heic", "jpeg"},
      {"tiff/rgb_16bit_deflate.tif", "tiff", "jpeg"},
      {"jxl/alpha_lossless.jxl", "jxl", "png"},
      {"jxl/photo_lossy.jxl", "jxl", "jpeg"},
      {"svg/viewbox_only_transparent.svg", "svg", "png"},
      {"misc/png_named_jpg.jpg", "png", "png"},
  };
  auto thumbnailer = MakeThumbnailer();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    auto r = thumbnailer->Make(CorpusBytes(c.file));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->source_format, c.source);
    EXPECT_EQ(r->outputs[0].format, c.output);
  }
  ThumbnailConfig config;
  config.format = "webp";
  auto r = MakeThumbnailer(config)->Make(CorpusBytes("png/rgba_vignette.png"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outputs[0].format, "webp");
  EXPECT_EQ(r->outputs[0].content_type, "image/webp");
  EXPECT_EQ(DecodeOutput(r->outputs[0].bytes).bands, 4);
}

TEST(VipsThumbnailerTest, AlphaIsFlattenedForJpeg) {
  ThumbnailConfig config;
  config.format = "jpeg";
  auto r = MakeThumbnailer(config)->Make(CorpusBytes("png/rgba_binary_alpha.png"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(DecodeOutput(r->outputs[2].bytes).bands, 3);
}

TEST(VipsThumbnailerTest, CoverAndContainGiveExactBoxes) {
  ThumbnailConfig config;
  config.sizes.clear();
  ThumbnailSize cover;
  cover.name = "cover";
  cover.width = 100;
  cover.height = 100;
  cover.fit = Fit::kCover;
  ThumbnailSize attention = cover;
  attention.name = "attention";
  attention.gravity = Gravity::kAttention;
  ThumbnailSize contain = cover;
  contain.name = "contain";
  contain.fit = Fit::kContain;
  ThumbnailSize inside = cover;
  inside.name = "inside";
  inside.fit = Fit::kInside;
  config.sizes = {cover, attention, contain, inside};
  auto r = MakeThumbnailer(config)->Make(CorpusBytes("orientation/portrait_fallenleaf_6.jpg"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(r->outputs[i].size_name);
    Decoded d = DecodeOutput(r->outputs[i].bytes);
    EXPECT_EQ(d.width, 100);
    EXPECT_EQ(d.height, 100);
  }
  // portrait_fallenleaf is 600x900 upright: inside a 100x100 box it is 67x100.
  EXPECT_NEAR(r->outputs[3].width, 67, 1);
  EXPECT_EQ(r->outputs[3].height, 100);
}

TEST(VipsThumbnailerTest, PolyglotPayloadIsNotCarriedOver) {
  auto r = MakeThumbnailer()->Make(CorpusBytes("reject/polyglot_jpeg_zip.jpg"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const Thumbnail& t : r->outputs) {
    EXPECT_EQ(t.bytes.find("PK\x03\x04"), std::string::npos);
    EXPECT_EQ(t.bytes.find("PK\x05\x06"), std::string::npos);
  }
}

TEST(VipsThumbnailerTest, GarbageInputsAreClassified) {
  auto thumbnailer = MakeThumbnailer();
  EXPECT_EQ(thumbnailer->Make("").status().reason(), Reason::kNotAnImage);
  EXPECT_EQ(thumbnailer->Make("hello world").status().reason(), Reason::kNotAnImage);
  EXPECT_EQ(thumbnailer->Make("%PDF-1.4\n%junk").status().reason(), Reason::kUnsupportedFormat);
  // A valid signature followed by nothing.
  Reason reason = thumbnailer->Make(std::string("\xff\xd8\xff\xe0", 4)).status().reason();
  EXPECT_TRUE(reason == Reason::kCorrupt || reason == Reason::kTruncated) << reason;
}

// ---- images that lie, made here ----------------------------------------------------

// Encodes a w x h grey ramp with `saver` ("jpeg", "webp", "png").
std::string MakeImage(int w, int h, const std::string& saver) {
  VipsImage* xyz = nullptr;
  VipsImage* band = nullptr;
  VipsImage* grey = nullptr;
  void* buffer = nullptr;
  size_t length = 0;
  EXPECT_EQ(vips_xyz(&xyz, w, h, nullptr), 0);
  EXPECT_EQ(vips_extract_band(xyz, &band, 0, nullptr), 0);
  EXPECT_EQ(vips_cast(band, &grey, VIPS_FORMAT_UCHAR, nullptr), 0);
  int rc = saver == "jpeg"   ? vips_jpegsave_buffer(grey, &buffer, &length, "Q", 90, nullptr)
           : saver == "webp" ? vips_webpsave_buffer(grey, &buffer, &length, nullptr)
                             : vips_pngsave_buffer(grey, &buffer, &length, nullptr);
  EXPECT_EQ(rc, 0) << vips_error_buffer();
  std::string out(static_cast<const char*>(buffer), length);
  g_free(buffer);
  g_object_unref(grey);
  g_object_unref(band);
  g_object_unref(xyz);
  return out;
}

// A JPEG whose SOF claims width x height while its data is that of the image it was made
// from: libjpeg pads the missing rows with grey and only warns.
std::string WithSofSize(std::string jpeg, int width, int height) {
  size_t i = 2;
  while (i + 9 < jpeg.size()) {
    auto byte = [&](size_t at) { return static_cast<unsigned char>(jpeg[at]); };
    int marker = byte(i + 1);
    size_t length = (byte(i + 2) << 8) | byte(i + 3);
    if (marker == 0xc0 || marker == 0xc1 || marker == 0xc2) {
      jpeg[i + 5] = static_cast<char>(height >> 8);
      jpeg[i + 6] = static_cast<char>(height & 0xff);
      jpeg[i + 7] = static_cast<char>(width >> 8);
      jpeg[i + 8] = static_cast<char>(width & 0xff);
      return jpeg;
    }
    i += 2 + length;
  }
  ADD_FAILURE() << "no SOF marker";
  return jpeg;
}

// A valid JPEG with junk bytes after its first segment (APP0): libjpeg skips them, warns
// "Corrupt JPEG data: 3 extraneous bytes before marker 0x..", and the image is complete.
std::string WithExtraneousBytes(std::string jpeg) {
  size_t first_segment_end =
      4 + ((static_cast<unsigned char>(jpeg[4]) << 8) | static_cast<unsigned char>(jpeg[5]));
  jpeg.insert(first_segment_end, "\x01\x02\x03");
  return jpeg;
}

void ExpectRefusedAsDamaged(const Result<Thumbnails>& result) {
  ASSERT_FALSE(result.ok()) << "a lying image was accepted";
  EXPECT_TRUE(result.status().reason() == Reason::kTruncated ||
              result.status().reason() == Reason::kCorrupt)
      << result.status().ToString();
  EXPECT_FALSE(result.status().retryable());
}

TEST(VipsThumbnailerLiesTest, JpegWhoseSofClaimsMoreThanItsDataIsRefused) {
  auto thumbnailer = MakeThumbnailer();
  Result<Thumbnails> big = thumbnailer->Make(WithSofSize(MakeImage(64, 48, "jpeg"), 6000, 16000));
  ExpectRefusedAsDamaged(big);
  EXPECT_NE(big.status().message().find("premature end of data segment"), std::string::npos)
      << big.status().ToString();
  ExpectRefusedAsDamaged(thumbnailer->Make(WithSofSize(MakeImage(400, 300, "jpeg"), 4000, 3000)));
  // The honest originals pass.
  EXPECT_TRUE(thumbnailer->Make(MakeImage(64, 48, "jpeg")).ok());
  EXPECT_TRUE(thumbnailer->Make(MakeImage(400, 300, "jpeg")).ok());
}

TEST(VipsThumbnailerLiesTest, HarmlessWarningsDoNotRefuse) {
  std::string jpeg = WithExtraneousBytes(MakeImage(400, 300, "jpeg"));
  // libvips does warn about it (the warning reaches GLib's default handler here).
  VipsImage* image = vips_image_new_from_buffer(jpeg.data(), jpeg.size(), "", nullptr);
  ASSERT_NE(image, nullptr);
  double mean = 0;
  EXPECT_EQ(vips_avg(image, &mean, nullptr), 0);
  g_object_unref(image);
  EXPECT_NE(std::string(vips_error_buffer()).find("extraneous bytes"), std::string::npos);
  vips_error_clear();

  Result<Thumbnails> result = MakeThumbnailer()->Make(jpeg);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->source_width, 400);
}

TEST(VipsThumbnailerLiesTest, WarningsAreAttributedToTheirImageUnderConcurrency) {
  // Lying, harmlessly-warning and clean images made at once on many threads: every lie is
  // refused and every good image passes, whichever thread libvips warned on.
  auto thumbnailer = MakeThumbnailer();
  const std::string lie = WithSofSize(MakeImage(64, 48, "jpeg"), 600, 1600);
  const std::string harmless = WithExtraneousBytes(MakeImage(300, 200, "jpeg"));
  const std::string clean = MakeImage(320, 240, "jpeg");
  constexpr int kThreads = 6;
  constexpr int kRounds = 8;
  std::atomic<int> accepted_lies{0};
  std::atomic<int> refused_good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        int kind = (t + round) % 3;
        const std::string& bytes = kind == 0 ? lie : kind == 1 ? harmless : clean;
        Result<Thumbnails> result = thumbnailer->Make(bytes);
        if (kind == 0 && result.ok()) ++accepted_lies;
        if (kind != 0 && !result.ok()) ++refused_good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted_lies.load(), 0);
  EXPECT_EQ(refused_good.load(), 0);
}

TEST(VipsThumbnailerLiesTest, WebpCutShortIsTruncated) {
  std::string webp = MakeImage(400, 300, "webp");
  Result<Thumbnails> whole = MakeThumbnailer()->Make(webp);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  for (double kept : {0.3, 0.6, 0.95}) {
    SCOPED_TRACE(kept);
    Result<Thumbnails> cut =
        MakeThumbnailer()->Make(webp.substr(0, static_cast<size_t>(webp.size() * kept)));
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.status().reason(), Reason::kTruncated) << cut.status().ToString();
  }
}

// A little-endian TIFF header whose one IFD claims `strips` strips of 64-pixel rows.
std::string TiffWithStrips(uint32_t strips) {
  std::string out("II*\0\x08\0\0\0", 8);
  auto u16 = [&](uint16_t v) {
    out.append({static_cast<char>(v & 0xff), static_cast<char>(v >> 8)});
  };
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  struct Entry {
    uint16_t tag, type;
    uint32_t count, value;
  };
  const Entry entries[] = {{256, 3, 1, 64}, {257, 4, 1, strips}, {258, 3, 1, 8},
                           {259, 3, 1, 1},  {262, 3, 1, 1},      {273, 4, strips, 4096},
                           {277, 3, 1, 1},  {278, 4, 1, 1},      {279, 4, strips, 4096}};
  u16(std::size(entries));
  for (const Entry& e : entries) {
    u16(e.tag);
    u16(e.type);
    u32(e.count);
    u32(e.value);
  }
  u32(0);
  out.resize(8192, '\0');
  return out;
}

TEST(VipsThumbnailerLiesTest, TiffWithABogusStripTableIsCorrupt) {
  Result<Thumbnails> result = MakeThumbnailer()->Make(TiffWithStrips(50'000'000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().reason(), Reason::kCorrupt) << result.status().ToString();
}

}  // namespace
}  // namespace thumbflow
