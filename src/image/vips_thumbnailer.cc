#include "image/vips_thumbnailer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <libdeflate.h>
#include <vips/vips.h>

#include "image/format_sniff.h"
#include "image/png_decoder.h"
#include "image/png_encoder.h"
#include "image/thumbnail_name.h"
#include "image/vips_warnings.h"

namespace thumbflow {
namespace {

// ---- RAII for libvips handles -------------------------------------------------------

struct GObjectUnref {
  void operator()(VipsImage* image) const {
    if (image != nullptr) g_object_unref(image);
  }
};
using ImagePtr = std::unique_ptr<VipsImage, GObjectUnref>;

struct GFreeBuffer {
  void operator()(void* buffer) const { g_free(buffer); }
};
using BufferPtr = std::unique_ptr<void, GFreeBuffer>;

// ---- errors ---------------------------------------------------------------------------

Status Permanent(StatusCode code, Reason reason, std::string message) {
  return Status(code, std::move(message), reason, /*retryable=*/false);
}

// Takes (and clears) libvips' error buffer. libvips keeps one buffer per process, so under
// concurrency the text may include another thread's message; it is only used for humans
// and for telling truncation from corruption.
std::string TakeVipsError() {
  std::string text = vips_error_buffer();
  vips_error_clear();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ';';
  }
  return text;
}

bool Contains(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

// The one place where libvips failures become a Status. `operation` names the step.
// Decode-time messages that mean "the data ends early" are `truncated`; other decode
// failures are `corrupt`; encoder failures are `internal`.
Status MapVipsError(std::string_view operation, bool decoding, bool timed_out) {
  std::string message = TakeVipsError();
  std::string full = std::string(operation) + ": " + message;
  if (timed_out) {
    return Permanent(StatusCode::kDeadlineExceeded, Reason::kTimeout,
                     std::string(operation) + ": processing deadline exceeded");
  }
  if (!decoding) return Permanent(StatusCode::kInternal, Reason::kInternal, full);
  if (Contains(message, "Premature end") || Contains(message, "not enough data") ||
      Contains(message, "truncated") || Contains(message, "unexpected end") ||
      Contains(message, "libpng read error") || Contains(message, "Unexpected end")) {
    return Permanent(StatusCode::kInvalidArgument, Reason::kTruncated, full);
  }
  if (Contains(message, "out of memory") || Contains(message, "unable to allocate")) {
    return Status(StatusCode::kResourceExhausted, full, Reason::kInternal, /*retryable=*/true);
  }
  return Permanent(StatusCode::kInvalidArgument, Reason::kCorrupt, full);
}

// ---- content sniffing ------------------------------------------------------------------

// Files that are recognisably something other than an allowed image.
bool IsKnownOtherFormat(std::string_view data) {
  using namespace std::string_view_literals;
  static constexpr std::string_view kMagic[] = {
      "%PDF-"sv,    "PK\x03\x04"sv, "PK\x05\x06"sv,       "8BPS"sv,
      "BM"sv,       "SIMPLE  ="sv,  "\x00\x00\x01\x00"sv, "%!PS"sv,
      "\x1f\x8b"sv, "Rar!"sv,       "7z\xbc\xaf"sv,       "\x89HDF"sv};
  for (std::string_view magic : kMagic) {
    if (data.starts_with(magic)) return true;
  }
  return false;
}

// The allowed format the first bytes announce, or nullptr. A file that announces one but
// that its loader cannot even open is a damaged image of that format, not a non-image.
const char* AnnouncedFormat(std::string_view data) {
  switch (SniffImageFormat(data)) {
    case SniffedFormat::kJpeg:
      return "jpeg";
    case SniffedFormat::kPng:
      return "png";
    case SniffedFormat::kGif:
      return "gif";
    case SniffedFormat::kTiff:
      return "tiff";
    case SniffedFormat::kWebp:
      return "webp";
    case SniffedFormat::kJxl:
      return "jxl";
    case SniffedFormat::kHeic:
    case SniffedFormat::kHeif:
    case SniffedFormat::kAvif:
      return "heif";
    case SniffedFormat::kSvg:  // text: a damaged SVG is told apart by its loader
    case SniffedFormat::kUnknown:
      break;
  }
  return nullptr;
}

// A RIFF container (WebP) whose size field says more than the file holds was cut short.
bool RiffCutShort(std::string_view data) {
  if (data.size() < 12) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  uint64_t declared = p[4] | (p[5] << 8) | (p[6] << 16) | (uint64_t{p[7]} << 24);
  return declared + 8 > data.size();
}

struct LoaderInfo {
  const char* nickname;  // the class name vips_foreign_find_load_buffer returns
  const char* format;    // our name for the source format
};

constexpr LoaderInfo kLoaders[] = {
    {"VipsForeignLoadJpegBuffer", "jpeg"}, {"VipsForeignLoadPngBuffer", "png"},
    {"VipsForeignLoadWebpBuffer", "webp"}, {"VipsForeignLoadNsgifBuffer", "gif"},
    {"VipsForeignLoadTiffBuffer", "tiff"}, {"VipsForeignLoadHeifBuffer", "heif"},
    {"VipsForeignLoadJxlBuffer", "jxl"},   {"VipsForeignLoadSvgBuffer", "svg"},
};

const char* FormatOfLoader(const char* nickname) {
  for (const LoaderInfo& info : kLoaders) {
    if (std::strcmp(info.nickname, nickname) == 0) return info.format;
  }
  return nullptr;
}

// PNGs up to this size decoded (16 MP of RGBA, 21 MP of RGB) are decoded whole by libspng;
// larger ones stream through libvips' loader, which keeps only a few rows in memory.
constexpr size_t kMaxWholePngDecodeBytes = size_t{64} << 20;

// ---- deadline --------------------------------------------------------------------------

// Shared by the eval callbacks of one Make() call. The callbacks run on libvips threads.
struct Deadline {
  const Clock* clock = nullptr;
  int64_t deadline_millis = 0;
  std::atomic<bool> expired{false};
};

void OnEval(VipsImage* image, VipsProgress*, void* data) {
  auto* deadline = static_cast<Deadline*>(data);
  if (deadline->expired.load() || deadline->clock->NowMillis() >= deadline->deadline_millis) {
    deadline->expired = true;
    vips_image_set_kill(image, TRUE);
  }
}

// Makes every computation that reads `image` report progress to the deadline, which kills
// it once the deadline has passed.
void Arm(VipsImage* image, Deadline* deadline) {
  vips_image_set_progress(image, TRUE);
  g_signal_connect(image, "eval", G_CALLBACK(OnEval), deadline);
}

// ---- geometry ---------------------------------------------------------------------------

struct SizePlan {
  double scale = 1;  // applied to the oriented source
  int resize_width = 0;
  int resize_height = 0;
  int out_width = 0;  // after cover crop / contain padding
  int out_height = 0;
};

int RoundPositive(double value) { return std::max(1, static_cast<int>(std::lround(value))); }

SizePlan PlanSize(const ThumbnailSize& size, int width, int height) {
  SizePlan plan;
  double sx = static_cast<double>(size.width) / width;
  double sy = size.height > 0 ? static_cast<double>(size.height) / height : sx;
  if (size.fit == Fit::kCover) {
    plan.scale = std::min(1.0, std::max(sx, sy));
  } else {
    plan.scale = std::min(1.0, std::min(sx, sy));
  }
  if (plan.scale >= 1.0) {
    plan.resize_width = width;
    plan.resize_height = height;
  } else if (size.height == 0 || (size.fit != Fit::kCover && sx <= sy)) {
    // Width-driven: the width is exact and the height follows the aspect ratio.
    plan.resize_width = std::min(width, size.width);
    plan.resize_height = RoundPositive(height * plan.scale);
  } else if (size.fit == Fit::kCover && sx >= sy) {
    plan.resize_width = std::min(width, size.width);
    plan.resize_height =
        std::max(RoundPositive(height * plan.scale), std::min(height, size.height));
  } else {
    plan.resize_height = std::min(height, size.height);
    plan.resize_width = RoundPositive(width * plan.scale);
  }
  plan.out_width = plan.resize_width;
  plan.out_height = plan.resize_height;
  if (size.fit == Fit::kCover) {
    plan.out_width = std::min(plan.resize_width, size.width);
    plan.out_height = std::min(plan.resize_height, size.height);
  } else if (size.fit == Fit::kContain) {
    plan.out_width = size.width;
    plan.out_height = size.height;
  }
  return plan;
}

// libjpeg's shrink-on-load factor (1, 2, 4 or 8: DCT scaling while decoding) for a decode
// to `target` from a `width` x `height` (oriented) JPEG: the largest that does not go below
// the target, as sharp's default (fastShrinkOnLoad). libvips' thumbnail leaves at least a
// factor of two for its resample instead, which on the benchmark JPEGs decoded and resampled
// four times the pixels for 2 and 12 MP sources (and more bytes at the same quality).
int JpegShrinkOnLoad(int width, int height, const SizePlan& target) {
  double shrink = std::min(static_cast<double>(width) / target.resize_width,
                           static_cast<double>(height) / target.resize_height);
  for (int factor : {8, 4, 2}) {
    if (shrink >= factor) return factor;
  }
  return 1;
}

// The box shrink the PNG decoder applies while reading (png_decoder.h) for a decode to
// `target` from a `width` x `height` (oriented) PNG: the integer part of the scale / 1.5, so
// the lanczos3 resample that follows (in float, in plain C, for an image with alpha) is
// left a factor of 1.5 to 3. libvips' resize box-shrinks by the integer part of half the
// scale (vips_resize's gap of 2), and for an image with alpha on a premultiplied float copy
// of the whole source: the box shrink on read with that factor took 27% of the
// instructions per benchmark PNG, for 1.5% more bytes and luma SSIM 0.9988 -> 0.9984. Going
// from half the scale to scale / 1.5 took another 14% (482 M -> 416 M per PNG source), for
// 0.5% more bytes (567,444 -> 570,357; sharp 707,358) and SSIM 0.9984 -> 0.9979, PSNR 52.1 ->
// 50.3 dB, every size still above sharp's (large 0.9974 vs 0.9955, medium 0.9978 vs
// 0.9953, small 0.9985 vs 0.9963; PSNR 52.6 / 49.5 / 48.9 vs 48.3 / 45.6 / 45.4 dB).
int PngShrinkOnLoad(int width, int height, const SizePlan& target) {
  double shrink = std::min(static_cast<double>(width) / target.resize_width,
                           static_cast<double>(height) / target.resize_height);
  return std::max(1, static_cast<int>(std::floor(shrink / 1.5)));
}

// ---- colour -----------------------------------------------------------------------------

uint32_t ReadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// An embedded ICC profile worth honouring: its header's length matches the data and it has
// the 'acsp' signature. LittleCMS accepts some truncated profiles and then shifts colours;
// we treat those as absent (the pixels are then taken as sRGB).
bool HasUsableIccProfile(VipsImage* image) {
  if (vips_image_get_typeof(image, VIPS_META_ICC_NAME) == 0) return false;
  const void* data = nullptr;
  size_t length = 0;
  if (vips_image_get_blob(image, VIPS_META_ICC_NAME, &data, &length) != 0) {
    vips_error_clear();
    return false;
  }
  if (length < 132) return false;
  const auto* bytes = static_cast<const unsigned char*>(data);
  return ReadBigEndian32(bytes) == length && std::memcmp(bytes + 36, "acsp", 4) == 0;
}

// The ICC profile most sRGB images carry, "sRGB IEC61966-2.1" (HP's 3,144-byte v2 profile,
// written by Photoshop, GIMP, ImageMagick, ...), recognised by its length and the CRC-32 of
// all its bytes. Converting from it to libvips' sRGB leaves 8-bit pixels exactly as they are
// (vips icc_transform of the two benchmark PNGs that carry it: no pixel changed), but
// setting the transform up cost about 55 M instructions per image. Any other profile, even
// another sRGB one, is converted.
bool IsStandardSrgbProfile(VipsImage* image) {
  const void* data = nullptr;
  size_t length = 0;
  if (vips_image_get_typeof(image, VIPS_META_ICC_NAME) == 0 ||
      vips_image_get_blob(image, VIPS_META_ICC_NAME, &data, &length) != 0) {
    vips_error_clear();
    return false;
  }
  return length == 3144 && libdeflate_crc32(0, data, length) == 0x182ea552;
}

// ---- output formats ---------------------------------------------------------------------

// libvips 8.14's webpsave writes an EXIF chunk even with strip set. Removes the EXIF and
// XMP chunks from a RIFF/WebP file and clears their VP8X flags; other bytes are kept.
void StripWebpMetadata(std::string* webp) {
  const std::string& in = *webp;
  if (in.size() < 12 || in.compare(0, 4, "RIFF") != 0 || in.compare(8, 4, "WEBP") != 0) return;
  std::string out = in.substr(0, 12);
  size_t pos = 12;
  while (pos + 8 <= in.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data() + pos);
    size_t size = p[4] | (p[5] << 8) | (p[6] << 16) | (size_t{p[7]} << 24);
    size_t total = 8 + size + (size & 1);
    if (pos + total > in.size()) return;  // malformed: leave the file alone
    std::string_view fourcc(in.data() + pos, 4);
    if (fourcc != "EXIF" && fourcc != "XMP ") out.append(in, pos, total);
    pos += total;
  }
  if (out.size() >= 21 && out.compare(12, 4, "VP8X") == 0) {
    out[20] = static_cast<char>(static_cast<unsigned char>(out[20]) & ~0x0c);
  }
  uint32_t riff_size = static_cast<uint32_t>(out.size() - 8);
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<char>((riff_size >> (8 * i)) & 0xff);
  *webp = std::move(out);
}

// ---- the thumbnailer --------------------------------------------------------------------

class VipsThumbnailer final : public Thumbnailer {
 public:
  VipsThumbnailer(ThumbnailConfig config, const Clock* clock, std::unique_ptr<Clock> owned_clock)
      : config_(std::move(config)), clock_(clock), owned_clock_(std::move(owned_clock)) {}

  Result<Thumbnails> Make(std::string_view encoded, const MakeOptions& options) const override;

 private:
  // One run of every step; `deadline_millis` by the clock bounds it.
  Result<Thumbnails> MakeOnce(std::string_view encoded, int64_t deadline_millis) const;
  struct Header {
    const char* format = nullptr;  // "jpeg", "heif", ...
    std::string source_format;     // "heif" split into "heic" / "avif"
    int width = 0;                 // oriented, one frame
    int height = 0;
    int pages = 1;
    bool animated_decode = false;  // decode every frame
    bool colour_manage = false;    // pass export_profile=srgb
    bool icc_profile = false;      // the loader attached an ICC profile (PNG: libpng kept it)
  };

  Result<Header> ReadHeader(std::string_view encoded) const;
  Result<ImagePtr> Decode(std::string_view encoded, const Header& header, const SizePlan& target,
                          Deadline* deadline) const;
  // Shrinks `source` (a PNG decoded by libspng, a JPEG opened with shrink-on-load), or else
  // `encoded` through libvips' loader, to the target's resize dimensions, then makes it 8-bit
  // sRGB or grey in memory.
  Result<ImagePtr> Shrink(VipsImage* source, std::string_view encoded, const Header& header,
                          const SizePlan& target, Deadline* deadline) const;
  Result<Thumbnail> MakeOne(VipsImage* decoded, const Header& header, const ThumbnailSize& size,
                            const SizePlan& plan, const OutputFormat& format,
                            Deadline* deadline) const;
  Result<std::string> Encode(VipsImage* image, const OutputFormat& format, bool animated,
                             Deadline* deadline) const;
  const OutputFormat& ChooseFormat(const Header& header, bool has_alpha) const;

  ThumbnailConfig config_;
  const Clock* clock_;
  std::unique_ptr<Clock> owned_clock_;
};

Result<VipsThumbnailer::Header> VipsThumbnailer::ReadHeader(std::string_view encoded) const {
  const LimitsConfig& limits = config_.limits;
  if (static_cast<int64_t>(encoded.size()) > limits.max_bytes) {
    return Permanent(StatusCode::kResourceExhausted, Reason::kTooLarge,
                     "source is " + std::to_string(encoded.size()) + " bytes; the limit is " +
                         std::to_string(limits.max_bytes));
  }
  if (encoded.empty()) {
    return Permanent(StatusCode::kInvalidArgument, Reason::kNotAnImage, "source is empty");
  }
  const char* announced = AnnouncedFormat(encoded);
  if (announced != nullptr && std::strcmp(announced, "webp") == 0 && RiffCutShort(encoded)) {
    return Permanent(StatusCode::kInvalidArgument, Reason::kTruncated,
                     "WebP file is cut short: its RIFF header declares more bytes than the " +
                         std::to_string(encoded.size()) + " it holds");
  }
  const char* nickname = vips_foreign_find_load_buffer(encoded.data(), encoded.size());
  if (nickname != nullptr && announced != nullptr && FormatOfLoader(nickname) == nullptr) {
    nickname = nullptr;  // another loader (ImageMagick) claimed what its own loader refused
  }
  if (nickname == nullptr) {
    if (announced != nullptr) {
      // Its structure is broken before any pixel (a bogus TIFF strip table, say).
      return Permanent(StatusCode::kInvalidArgument, Reason::kCorrupt,
                       std::string("starts like ") + announced +
                           " but its loader cannot open it: " + TakeVipsError());
    }
    vips_error_clear();
    if (IsKnownOtherFormat(encoded)) {
      return Permanent(StatusCode::kInvalidArgument, Reason::kUnsupportedFormat,
                       "source is a known non-image format");
    }
    return Permanent(StatusCode::kInvalidArgument, Reason::kNotAnImage,
                     "source is not in a known image format");
  }
  Header header;
  header.format = FormatOfLoader(nickname);
  if (header.format == nullptr) {
    // ImageMagick's sniffing claims almost anything (plain text included): unless the
    // content is a recognisable other format, that is "not an image" rather than a
    // blocked format.
    if (std::strstr(nickname, "Magick") != nullptr && !IsKnownOtherFormat(encoded)) {
      return Permanent(StatusCode::kInvalidArgument, Reason::kNotAnImage,
                       "source is not in a known image format");
    }
    return Permanent(
        StatusCode::kInvalidArgument, Reason::kUnsupportedFormat,
        std::string("source needs loader ") + nickname + ", which is not in the allowlist");
  }
  header.source_format = header.format;

  // Header only: the loader reads no pixels until the image is computed.
  ImagePtr image(vips_image_new_from_buffer(encoded.data(), encoded.size(), "", "access",
                                            VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                            VIPS_FAIL_ON_TRUNCATED, nullptr));
  if (!image) return MapVipsError("read header", /*decoding=*/true, false);
  VipsImage* in = image.get();

  header.pages = std::max(1, vips_image_get_n_pages(in));
  int width = vips_image_get_width(in);
  int height = vips_image_get_page_height(in);
  int64_t pixels = int64_t{width} * height;
  if (pixels > limits.max_pixels) {
    return Permanent(StatusCode::kResourceExhausted, Reason::kTooManyPixels,
                     std::to_string(width) + "x" + std::to_string(height) + " is " +
                         std::to_string(pixels) + " pixels; the limit is " +
                         std::to_string(limits.max_pixels));
  }
  if (config_.animated && header.pages > 1 &&
      (header.source_format == "gif" || header.source_format == "webp")) {
    if (header.pages > limits.max_frames) {
      return Permanent(StatusCode::kResourceExhausted, Reason::kTooManyFrames,
                       std::to_string(header.pages) + " frames; the limit is " +
                           std::to_string(limits.max_frames));
    }
    if (pixels * header.pages > limits.max_pixels) {
      return Permanent(StatusCode::kResourceExhausted, Reason::kTooManyPixels,
                       std::to_string(header.pages) + " frames of " + std::to_string(pixels) +
                           " pixels exceed the limit of " + std::to_string(limits.max_pixels));
    }
    header.animated_decode = true;
  }
  if (vips_image_get_orientation_swap(in)) std::swap(width, height);
  header.width = width;
  header.height = height;

  if (header.source_format == "heif") {
    const char* compression = nullptr;
    if (vips_image_get_typeof(in, "heif-compression") != 0 &&
        vips_image_get_string(in, "heif-compression", &compression) == 0 &&
        compression != nullptr && std::strcmp(compression, "av1") == 0) {
      header.source_format = "avif";
    } else {
      header.source_format = "heic";
    }
    vips_error_clear();
  }

  // CMYK always needs a transform (libvips falls back to a built-in CMYK profile). RGB
  // with a valid profile other than the common sRGB one is converted from it. Untagged RGB
  // is left alone: converting it "from sRGB" shifts colours, and grey images (tagged or not)
  // need no transform.
  header.icc_profile = vips_image_get_typeof(in, VIPS_META_ICC_NAME) != 0;
  VipsInterpretation interpretation = vips_image_guess_interpretation(in);
  if (interpretation == VIPS_INTERPRETATION_CMYK) {
    header.colour_manage = true;
  } else if (interpretation != VIPS_INTERPRETATION_B_W &&
             interpretation != VIPS_INTERPRETATION_GREY16 && in->Bands >= 3 &&
             HasUsableIccProfile(in) && !IsStandardSrgbProfile(in)) {
    header.colour_manage = true;
  }
  return header;
}

Result<ImagePtr> VipsThumbnailer::Decode(std::string_view encoded, const Header& header,
                                         const SizePlan& target, Deadline* deadline) const {
  if (std::strcmp(header.format, "png") == 0) {
    // libspng when it takes the file (image/png_decoder.h); when it does not (damage, odd
    // chunks, too large to decode whole), libvips' own loader decodes the file and its
    // verdict stands, so a damaged PNG keeps today's reason.
    ImagePtr source(internal::NewPngImage(encoded, config_.limits.max_pixels,
                                          kMaxWholePngDecodeBytes,
                                          PngShrinkOnLoad(header.width, header.height, target)));
    if (source) {
      if (!header.icc_profile) vips_image_remove(source.get(), VIPS_META_ICC_NAME);
      return Shrink(source.get(), encoded, header, target, deadline);
    }
  }
  if (std::strcmp(header.format, "jpeg") == 0) {
    int shrink = JpegShrinkOnLoad(header.width, header.height, target);
    if (shrink > 1) {
      VipsImage* loaded = nullptr;
      if (vips_jpegload_buffer(const_cast<char*>(encoded.data()), encoded.size(), &loaded, "shrink",
                               shrink, "fail_on", VIPS_FAIL_ON_TRUNCATED, "access",
                               VIPS_ACCESS_SEQUENTIAL, nullptr) != 0) {
        return MapVipsError("decode", true, deadline->expired);
      }
      ImagePtr source(loaded);
      return Shrink(source.get(), encoded, header, target, deadline);
    }
  }
  return Shrink(nullptr, encoded, header, target, deadline);
}

Result<ImagePtr> VipsThumbnailer::Shrink(VipsImage* source, std::string_view encoded,
                                         const Header& header, const SizePlan& target,
                                         Deadline* deadline) const {
  // fail_on goes in the loader's option string: in libvips 8.14 thumbnail_buffer does not
  // forward its own fail_on option to the loader, so a JPEG that ends early would be
  // padded with grey instead of refused.
  const char* option_string =
      header.animated_decode ? "fail_on=truncated,n=-1" : "fail_on=truncated";
  // A still image is decoded to exactly the largest size's dimensions (size=force), so that
  // size needs no second resample; frames keep the width-driven fit of their pages.
  int width = target.resize_width;
  int height = header.animated_decode ? VIPS_MAX_COORD : target.resize_height;
  VipsSize size = header.animated_decode ? VIPS_SIZE_DOWN : VIPS_SIZE_FORCE;
  // export_profile only when colour-managing: libvips converts whenever it is set.
  VipsImage* raw = nullptr;
  void* data = const_cast<char*>(encoded.data());
  int rc;
  if (source != nullptr && header.colour_manage) {
    rc = vips_thumbnail_image(source, &raw, width, "height", height, "size", size, "export_profile",
                              "srgb", nullptr);
  } else if (source != nullptr) {
    rc = vips_thumbnail_image(source, &raw, width, "height", height, "size", size, nullptr);
  } else if (header.colour_manage) {
    rc = vips_thumbnail_buffer(data, encoded.size(), &raw, width, "height", height, "size", size,
                               "option_string", option_string, "export_profile", "srgb", nullptr);
  } else {
    rc = vips_thumbnail_buffer(data, encoded.size(), &raw, width, "height", height, "size", size,
                               "option_string", option_string, nullptr);
  }
  if (rc != 0) return MapVipsError("decode", true, deadline->expired);
  ImagePtr image(raw);

  // Normalise to 8-bit sRGB or grey (16-bit, CMYK leftovers, odd TIFF interpretations).
  VipsInterpretation interpretation = vips_image_get_interpretation(image.get());
  bool grey =
      interpretation == VIPS_INTERPRETATION_B_W || interpretation == VIPS_INTERPRETATION_GREY16;
  if (image->BandFmt != VIPS_FORMAT_UCHAR ||
      (interpretation != VIPS_INTERPRETATION_sRGB && !grey)) {
    VipsImage* converted = nullptr;
    if (vips_colourspace(image.get(), &converted,
                         grey ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB, nullptr) != 0) {
      return MapVipsError("convert to sRGB", true, deadline->expired);
    }
    image.reset(converted);
    if (image->BandFmt != VIPS_FORMAT_UCHAR) {
      if (vips_cast(image.get(), &converted, VIPS_FORMAT_UCHAR, nullptr) != 0) {
        return MapVipsError("convert to 8 bit", true, deadline->expired);
      }
      image.reset(converted);
    }
  }

  // The one decode: everything upstream is computed here, under the deadline.
  Arm(image.get(), deadline);
  VipsImage* memory = vips_image_copy_memory(image.get());
  if (memory == nullptr) return MapVipsError("decode", true, deadline->expired);
  if (config_.strip_metadata) {
    // Not every 8.14 saver honours "strip" for every block (WebP keeps EXIF), so the metadata
    // is dropped from the image itself, including the parsed "exif-*" fields that savers would
    // turn back into an EXIF block.
    std::vector<std::string> names = {VIPS_META_EXIF_NAME, VIPS_META_XMP_NAME, VIPS_META_IPTC_NAME,
                                      VIPS_META_ICC_NAME, VIPS_META_PHOTOSHOP_NAME};
    vips_image_map(
        memory,
        [](VipsImage*, const char* name, GValue*, void* out) -> void* {
          if (std::strncmp(name, "exif-", 5) == 0) {
            static_cast<std::vector<std::string>*>(out)->push_back(name);
          }
          return nullptr;
        },
        &names);
    for (const std::string& name : names) vips_image_remove(memory, name.c_str());
  }
  return ImagePtr(memory);
}

const OutputFormat& VipsThumbnailer::ChooseFormat(const Header& header, bool has_alpha) const {
  if (config_.format == "auto") return AutoOutputFormat(header.source_format, has_alpha);
  // The config reader admits only names of the table; anything else would be JPEG.
  const OutputFormat* fixed = FindOutputFormat(config_.format);
  return fixed != nullptr ? *fixed : *FindOutputFormat("jpeg");
}

// Resizes to exactly width x height with `kernel` (libvips rounds each axis; a 1 px
// difference is absorbed by copying the edge).
Result<ImagePtr> ResizeExact(VipsImage* in, int width, int height, bool alpha, VipsKernel kernel,
                             Deadline* deadline) {
  if (in->Xsize == width && in->Ysize == height) {
    g_object_ref(in);
    return ImagePtr(in);
  }
  ImagePtr source;
  VipsImage* out = nullptr;
  if (alpha) {
    if (vips_premultiply(in, &out, nullptr) != 0) {
      return MapVipsError("premultiply", false, deadline->expired);
    }
    source.reset(out);
  } else {
    g_object_ref(in);
    source.reset(in);
  }
  double hscale = static_cast<double>(width) / in->Xsize;
  double vscale = static_cast<double>(height) / in->Ysize;
  if (vips_resize(source.get(), &out, hscale, "vscale", vscale, "kernel", kernel, nullptr) != 0) {
    return MapVipsError("resize", false, deadline->expired);
  }
  ImagePtr resized(out);
  if (alpha) {
    if (vips_unpremultiply(resized.get(), &out, nullptr) != 0) {
      return MapVipsError("unpremultiply", false, deadline->expired);
    }
    resized.reset(out);
    if (vips_cast(resized.get(), &out, VIPS_FORMAT_UCHAR, nullptr) != 0) {
      return MapVipsError("cast", false, deadline->expired);
    }
    resized.reset(out);
  }
  if (resized->Xsize != width || resized->Ysize != height) {
    if (vips_embed(resized.get(), &out, 0, 0, width, height, "extend", VIPS_EXTEND_COPY, nullptr) !=
        0) {
      return MapVipsError("embed", false, deadline->expired);
    }
    resized.reset(out);
  }
  return resized;
}

// Zeroes the colour of pixels whose alpha is below 2 (at most 0.4% opaque: invisible).
// Resampling leaves noise there (a weighted mix of whatever the transparent source pixels
// held), which costs PNG several times its size; sharp's output has clean zeros there too.
Result<ImagePtr> ClearInvisibleColour(VipsImage* in, Deadline* deadline) {
  VipsImage* colour = nullptr;
  VipsImage* alpha = nullptr;
  VipsImage* visible = nullptr;
  VipsImage* cleared = nullptr;
  VipsImage* joined = nullptr;
  int colour_bands = in->Bands - 1;
  int rc = vips_extract_band(in, &colour, 0, "n", colour_bands, nullptr);
  ImagePtr colour_ptr(colour);
  if (rc == 0) rc = vips_extract_band(in, &alpha, colour_bands, nullptr);
  ImagePtr alpha_ptr(alpha);
  if (rc == 0) rc = vips_moreeq_const1(alpha, &visible, 2, nullptr);
  ImagePtr visible_ptr(visible);
  if (rc == 0) rc = vips_andimage(colour, visible, &cleared, nullptr);
  ImagePtr cleared_ptr(cleared);
  if (rc == 0) rc = vips_bandjoin2(cleared, alpha, &joined, nullptr);
  if (rc != 0) return MapVipsError("clear transparent pixels", false, deadline->expired);
  ImagePtr result(joined);
  if (result->BandFmt != VIPS_FORMAT_UCHAR) {
    VipsImage* cast = nullptr;
    if (vips_cast(result.get(), &cast, VIPS_FORMAT_UCHAR, nullptr) != 0) {
      return MapVipsError("cast", false, deadline->expired);
    }
    result.reset(cast);
  }
  VipsImage* copy = nullptr;
  if (vips_copy(result.get(), &copy, "interpretation", in->Type, nullptr) != 0) {
    return MapVipsError("copy", false, deadline->expired);
  }
  return ImagePtr(copy);
}

VipsArrayDouble* NewBackground(const std::array<int, 4>& rgba, int bands) {
  double values[4];
  if (bands <= 2) {
    values[0] = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2];
    values[1] = rgba[3];
  } else {
    for (int i = 0; i < 4; ++i) values[i] = rgba[i];
  }
  return vips_array_double_new(values, bands);
}

// ---- the steps of one size -----------------------------------------------------------
// MakeOne runs them in order over the decoded image, checking the deadline between them.
// Each is a no-op when it does not apply to the size, the format or the image.

// What one size is made from; read-only for the steps.
struct SizeJob {
  const ThumbnailSize& size;
  const SizePlan& plan;
  const OutputFormat& format;
  Deadline* deadline;
};

// The image as the steps leave it.
struct Shaped {
  ImagePtr image;
  int pages = 1;        // frames stacked vertically (animation kept), else 1
  int page_height = 0;  // of the decoded image
  bool alpha = false;   // has an alpha channel
};

Status TimedOut(const char* step) {
  return Permanent(StatusCode::kDeadlineExceeded, Reason::kTimeout,
                   std::string(step) + ": processing deadline exceeded");
}

// The one deadline check between steps (inside a step libvips' eval callback enforces it).
Status CheckDeadline(const Deadline& deadline, const char* next_step) {
  if (deadline.expired.load() || deadline.clock->NowMillis() >= deadline.deadline_millis) {
    return TimedOut(next_step);
  }
  return Status::Ok();
}

// Replaces the image with `out` when `rc` says the operation succeeded. (Call the operation
// before: in one expression `out` may be read before the operation has set it.)
Status Took(Shaped& shaped, int rc, VipsImage* out, const char* operation,
            const Deadline* deadline) {
  if (rc != 0) return MapVipsError(operation, false, deadline->expired);
  shaped.image.reset(out);
  return Status::Ok();
}

// An animation the format cannot carry keeps its first frame.
Status ExtractFrame(const SizeJob& job, Shaped& shaped) {
  if (shaped.pages == 1 || job.format.animation) return Status::Ok();
  VipsImage* out = nullptr;
  int rc = vips_extract_area(shaped.image.get(), &out, 0, 0, shaped.image->Xsize,
                             shaped.page_height, nullptr);
  RETURN_IF_ERROR(Took(shaped, rc, out, "first frame", job.deadline));
  shaped.pages = 1;
  return Status::Ok();
}

// The decoded image has been through lanczos3 already (libvips' thumbnail). The sizes
// derived from it keep lanczos3, except JPEG outputs: lanczos2 there, whose smaller
// overshoot the DCT codes in fewer bits. On the benchmark JPEGs the two smaller sizes came
// out 2.3% and 2.7% smaller than with lanczos3; against a lanczos3 resize of the full decode
// their PSNR stayed above sharp's (which uses lanczos3) and their luma SSIM above it
// (medium) or equal within 0.0001 (small). WebP's medium size lost SSIM below sharp's with
// lanczos2, so WebP keeps lanczos3.
Status Resize(const SizeJob& job, Shaped& shaped) {
  VipsKernel kernel = job.format.name == "jpeg" ? VIPS_KERNEL_LANCZOS2 : VIPS_KERNEL_LANCZOS3;
  ASSIGN_OR_RETURN(shaped.image, ResizeExact(shaped.image.get(), job.plan.resize_width,
                                             job.plan.resize_height * shaped.pages, shaped.alpha,
                                             kernel, job.deadline));
  return Status::Ok();
}

// Cover: cuts the resized image down to the box, by attention or around the centre (an
// animation always around the centre, and only across).
Status Crop(const SizeJob& job, Shaped& shaped) {
  const SizePlan& plan = job.plan;
  if (job.size.fit != Fit::kCover ||
      (plan.out_width == plan.resize_width && plan.out_height == plan.resize_height)) {
    return Status::Ok();
  }
  VipsImage* out = nullptr;
  int rc;
  if (job.size.gravity == Gravity::kAttention && shaped.pages == 1) {
    rc = vips_smartcrop(shaped.image.get(), &out, plan.out_width, plan.out_height, "interesting",
                        VIPS_INTERESTING_ATTENTION, nullptr);
  } else {
    bool still = shaped.pages == 1;
    rc = vips_extract_area(shaped.image.get(), &out, (plan.resize_width - plan.out_width) / 2,
                           still ? (plan.resize_height - plan.out_height) / 2 : 0, plan.out_width,
                           still ? plan.out_height : plan.resize_height * shaped.pages, nullptr);
  }
  return Took(shaped, rc, out, "crop", job.deadline);
}

// Contain: pads to the box with the background; an opaque image padded with a translucent
// background gains an alpha channel only when the output format can carry it.
Status Pad(const SizeJob& job, Shaped& shaped) {
  shaped.alpha = vips_image_hasalpha(shaped.image.get());
  VipsImage* image = shaped.image.get();
  if (job.size.fit != Fit::kContain || shaped.pages != 1 ||
      (job.plan.out_width == image->Xsize && job.plan.out_height == image->Ysize)) {
    return Status::Ok();
  }
  VipsImage* out = nullptr;
  if (!shaped.alpha && job.format.alpha && job.size.background[3] < 255) {
    int rc = vips_addalpha(image, &out, nullptr);
    RETURN_IF_ERROR(Took(shaped, rc, out, "add alpha", job.deadline));
    shaped.alpha = true;
  }
  VipsArrayDouble* background = NewBackground(job.size.background, shaped.image->Bands);
  int rc = vips_gravity(shaped.image.get(), &out, VIPS_COMPASS_DIRECTION_CENTRE, job.plan.out_width,
                        job.plan.out_height, "extend", VIPS_EXTEND_BACKGROUND, "background",
                        background, nullptr);
  vips_area_unref(VIPS_AREA(background));
  return Took(shaped, rc, out, "pad", job.deadline);
}

// Alpha into a format without it: composed over the background.
Status Flatten(const SizeJob& job, Shaped& shaped) {
  if (!shaped.alpha || job.format.alpha) return Status::Ok();
  VipsImage* out = nullptr;
  VipsArrayDouble* background = NewBackground(job.size.background, shaped.image->Bands - 1);
  int rc = vips_flatten(shaped.image.get(), &out, "background", background, nullptr);
  vips_area_unref(VIPS_AREA(background));
  RETURN_IF_ERROR(Took(shaped, rc, out, "flatten", job.deadline));
  if (shaped.image->BandFmt == VIPS_FORMAT_UCHAR) return Status::Ok();
  rc = vips_cast(shaped.image.get(), &out, VIPS_FORMAT_UCHAR, nullptr);
  return Took(shaped, rc, out, "cast", job.deadline);
}

// Alpha kept: the colour of invisible pixels is cleared (ClearInvisibleColour).
Status ClearAlpha(const SizeJob& job, Shaped& shaped) {
  if (!shaped.alpha || !job.format.alpha) return Status::Ok();
  ASSIGN_OR_RETURN(shaped.image, ClearInvisibleColour(shaped.image.get(), job.deadline));
  return Status::Ok();
}

// An animation kept: its frame height and count, for the encoder.
Status MarkFrames(const SizeJob& job, Shaped& shaped) {
  if (shaped.pages == 1) return Status::Ok();
  VipsImage* out = nullptr;
  int rc = vips_copy(shaped.image.get(), &out, nullptr);
  RETURN_IF_ERROR(Took(shaped, rc, out, "copy", job.deadline));
  vips_image_set_int(shaped.image.get(), VIPS_META_PAGE_HEIGHT, job.plan.resize_height);
  vips_image_set_int(shaped.image.get(), VIPS_META_N_PAGES, shaped.pages);
  return Status::Ok();
}

struct SizeStep {
  const char* name;
  Status (*run)(const SizeJob&, Shaped&);
};

constexpr SizeStep kSizeSteps[] = {
    {"first frame", ExtractFrame},
    {"resize", Resize},
    {"crop", Crop},
    {"pad", Pad},
    {"flatten", Flatten},
    {"clear transparent pixels", ClearAlpha},
    {"frames", MarkFrames},
};

Result<Thumbnail> VipsThumbnailer::MakeOne(VipsImage* decoded, const Header& header,
                                           const ThumbnailSize& size, const SizePlan& plan,
                                           const OutputFormat& format, Deadline* deadline) const {
  const SizeJob job{size, plan, format, deadline};
  Shaped shaped;
  g_object_ref(decoded);
  shaped.image.reset(decoded);
  shaped.pages = header.animated_decode ? header.pages : 1;
  shaped.page_height = vips_image_get_page_height(decoded);
  shaped.alpha = vips_image_hasalpha(decoded);
  for (const SizeStep& step : kSizeSteps) {
    RETURN_IF_ERROR(CheckDeadline(*deadline, step.name));
    RETURN_IF_ERROR(step.run(job, shaped));
  }
  RETURN_IF_ERROR(CheckDeadline(*deadline, "encode"));

  Thumbnail thumbnail;
  thumbnail.size_name = size.name;
  thumbnail.format = std::string(format.name);
  thumbnail.content_type = std::string(format.content_type);
  thumbnail.extension = std::string(format.extension);
  thumbnail.width = shaped.image->Xsize;
  thumbnail.height = shaped.pages > 1 ? plan.resize_height : shaped.image->Ysize;
  ASSIGN_OR_RETURN(thumbnail.bytes, Encode(shaped.image.get(), format, shaped.pages > 1, deadline));
  return thumbnail;
}

Result<std::string> VipsThumbnailer::Encode(VipsImage* image, const OutputFormat& format,
                                            bool animated, Deadline* deadline) const {
  Arm(image, deadline);
  void* raw = nullptr;
  size_t length = 0;
  gboolean strip = config_.strip_metadata ? TRUE : FALSE;
  int rc;
  std::string_view name = format.name;
  if (name == "jpeg") {
    // optimize_coding: Huffman tables fitted to the image, as sharp does by default.
    rc = vips_jpegsave_buffer(image, &raw, &length, "Q", config_.jpeg_quality, "optimize_coding",
                              TRUE, "interlace", config_.progressive ? TRUE : FALSE, "strip", strip,
                              nullptr);
  } else if (name == "png" && config_.strip_metadata && internal::PngEncoderTakes(image)) {
    // thumbflow's own encoder (image/png_encoder.h): libpng's adaptive filtering, libdeflate
    // for zlib. libdeflate level N + 2 writes about the bytes of zlib level N (the benchmark
    // PNGs' thumbnails at the default 5: 567,444 bytes against libvips' 569,729, the same
    // pixels) with 6% fewer instructions per PNG source; metadata kept goes through libvips.
    std::optional<std::string> png =
        internal::EncodePng(image, std::min(12, config_.png_compression + 2));
    if (!png) return MapVipsError("encode png", false, deadline->expired);
    return std::move(*png);
  } else if (name == "png") {
    // Adaptive filtering (libpng picks a filter per row): on the benchmark PNGs' thumbnails
    // 28% fewer bytes than no filter (sharp's default; 6% more bytes than sharp's own
    // output), 24% fewer than sharp, for about 12% more CPU on a PNG source (most of it
    // is the decode); a single fixed filter (sub, avg) costs as much for larger files.
    // The default zlib level is 5: on the benchmark PNGs 1.5% more bytes than level 6 for
    // a third less encoding CPU (level 4: 2.6% more bytes, level 9: 2% fewer at 5x).
    rc = vips_pngsave_buffer(image, &raw, &length, "compression", config_.png_compression, "filter",
                             VIPS_FOREIGN_PNG_FILTER_ALL, "strip", strip, nullptr);
  } else if (name == "webp") {
    // effort 5 (libwebp method 5: trellis quantisation; sharp's and libvips' default is 4):
    // on the benchmark WebPs 1.5% fewer bytes at the same quality, for 13% more encoding
    // instructions, small beside decoding the source (effort 6: 3.8% fewer bytes, +50%
    // encoding, and luma SSIM down to sharp's).
    rc = vips_webpsave_buffer(image, &raw, &length, "Q", config_.webp_quality, "effort", 5, "strip",
                              strip, nullptr);
  } else if (name == "gif") {
    rc = vips_gifsave_buffer(image, &raw, &length, "strip", strip, nullptr);
  } else {
    rc = vips_heifsave_buffer(image, &raw, &length, "Q", config_.avif_quality, "compression",
                              VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "strip", strip, nullptr);
  }
  (void)animated;
  BufferPtr buffer(raw);
  if (rc != 0) return MapVipsError("encode " + std::string(format.name), false, deadline->expired);
  std::string bytes(static_cast<const char*>(raw), length);
  if (name == "webp" && config_.strip_metadata) StripWebpMetadata(&bytes);
  return bytes;
}

// Runs the steps under a shared warning watch; an image during whose run libvips warned
// (about it or about another image in flight) runs again alone, where every warning is its
// own and decides (image/vips_warnings.h). Damage libvips only warns about is refused. A
// failure while another image was in flight runs again alone too: its message and reason
// come from libvips' process-wide error buffer, which the other image shares. A timeout's
// does not, and it is not run again.
Result<Thumbnails> VipsThumbnailer::Make(std::string_view encoded,
                                         const MakeOptions& options) const {
  using internal::WarningWatch;
  int64_t deadline_millis = clock_->NowMillis() + int64_t{config_.limits.timeout_s} * 1000;
  if (options.deadline_ms > 0) deadline_millis = std::min(deadline_millis, options.deadline_ms);
  {
    WarningWatch shared(WarningWatch::Mode::kShared);
    Result<Thumbnails> result = MakeOnce(encoded, deadline_millis);
    if (result.ok() && shared.heard().empty()) return result;  // a quiet success is clean
    if (!result.ok() && (!shared.overlapped() || result.status().reason() == Reason::kTimeout)) {
      return result;  // a refusal whose text is its own
    }
  }
  WarningWatch alone(WarningWatch::Mode::kExclusive);
  Result<Thumbnails> result = MakeOnce(encoded, deadline_millis);
  if (!result.ok()) return result;
  RETURN_IF_ERROR(internal::JudgeWarnings(alone.heard()));
  return result;
}

Result<Thumbnails> VipsThumbnailer::MakeOnce(std::string_view encoded,
                                             int64_t deadline_millis) const {
  Result<Header> header_or = ReadHeader(encoded);
  if (!header_or.ok()) {
    vips_error_clear();
    return header_or.status();
  }
  const Header& header = *header_or;

  std::vector<SizePlan> plans;
  double max_scale = 0;
  for (const ThumbnailSize& size : config_.sizes) {
    plans.push_back(PlanSize(size, header.width, header.height));
    max_scale = std::max(max_scale, plans.back().scale);
  }
  // The decode target: the largest resize any size needs (never more than the source).
  SizePlan target = plans.front();
  for (const SizePlan& plan : plans) {
    if (plan.resize_width > target.resize_width ||
        (plan.resize_width == target.resize_width && plan.resize_height > target.resize_height)) {
      target = plan;
    }
  }

  Deadline deadline;
  deadline.clock = clock_;
  deadline.deadline_millis = deadline_millis;

  ASSIGN_OR_RETURN(ImagePtr decoded, Decode(encoded, header, target, &deadline));

  Thumbnails result;
  result.source_format = header.source_format;
  result.source_width = header.width;
  result.source_height = header.height;
  const OutputFormat& format = ChooseFormat(header, vips_image_hasalpha(decoded.get()));
  for (size_t i = 0; i < config_.sizes.size(); ++i) {
    Result<Thumbnail> thumbnail =
        MakeOne(decoded.get(), header, config_.sizes[i], plans[i], format, &deadline);
    if (!thumbnail.ok()) {
      return thumbnail.status().WithContext("size " + config_.sizes[i].name);
    }
    result.outputs.push_back(std::move(thumbnail).value());
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<Thumbnailer>> MakeVipsThumbnailer(const ThumbnailConfig& config,
                                                         const VipsRuntime&, const Clock* clock) {
  if (config.sizes.empty()) return InvalidArgumentError("thumbnails: no sizes configured");
  std::unique_ptr<Clock> owned;
  if (clock == nullptr) {
    owned = std::make_unique<SystemClock>();
    clock = owned.get();
  }
  return std::unique_ptr<Thumbnailer>(
      std::make_unique<VipsThumbnailer>(config, clock, std::move(owned)));
}

}  // namespace thumbflow
