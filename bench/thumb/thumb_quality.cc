// Thumbnail quality against a high-quality reference (issue 14), for bench/thumb/compare.sh:
//
//   thumb_quality SOURCE_DIR THUMB_DIR
//
// For every THUMB_DIR/{size}/{name} whose source SOURCE_DIR/{name} exists, the reference is
// the whole source decoded at full size (EXIF orientation applied, sRGB, 8 bit) and resized
// with lanczos3 to the thumbnail's exact width and height (alpha premultiplied around the
// resize). Both are flattened over white when they carry alpha, then compared:
//   ssim  mean SSIM of the luma (8x8 windows, step 4, the usual constants), 1 = identical;
//   psnr  PSNR in dB over the R, G and B samples (capped at 99 for identical images).
// Prints one JSON line: per output format (by extension) the count and the means, and the
// lowest SSIM with its file. Exit status 1 when a file cannot be read.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <vips/vips.h>
#include <nlohmann/json.hpp>

namespace {

struct Unref {
  void operator()(VipsImage* image) const {
    if (image != nullptr) g_object_unref(image);
  }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

// Applies `op` (returns 0 and sets out) to `image`, replacing it; false on failure.
template <typename Op>
bool Step(ImagePtr& image, Op op) {
  VipsImage* out = nullptr;
  if (op(image.get(), &out) != 0) return false;
  image.reset(out);
  return true;
}

bool ToSrgb8(ImagePtr& image) {
  if (vips_image_get_interpretation(image.get()) != VIPS_INTERPRETATION_sRGB &&
      !Step(image, [](VipsImage* in, VipsImage** out) {
        return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, nullptr);
      })) {
    return false;
  }
  if (image->BandFmt != VIPS_FORMAT_UCHAR && !Step(image, [](VipsImage* in, VipsImage** out) {
        return vips_cast(in, out, VIPS_FORMAT_UCHAR, nullptr);
      })) {
    return false;
  }
  return true;
}

bool FlattenWhite(ImagePtr& image) {
  if (!vips_image_hasalpha(image.get())) return true;
  double white[3] = {255, 255, 255};
  VipsArrayDouble* background = vips_array_double_new(white, 3);
  bool ok = Step(image, [&](VipsImage* in, VipsImage** out) {
    return vips_flatten(in, out, "background", background, nullptr);
  });
  vips_area_unref(VIPS_AREA(background));
  return ok && Step(image, [](VipsImage* in, VipsImage** out) {
           return vips_cast(in, out, VIPS_FORMAT_UCHAR, nullptr);
         });
}

// Interleaved RGB 8-bit pixels.
bool Pixels(VipsImage* image, std::vector<unsigned char>* out) {
  size_t size = 0;
  void* data = vips_image_write_to_memory(image, &size);
  if (data == nullptr) return false;
  out->assign(static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
  g_free(data);
  return true;
}

struct Scores {
  double ssim = 0;
  double psnr = 0;
};

Scores Compare(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b, int width,
               int height) {
  Scores scores;
  double squared = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = static_cast<double>(a[i]) - b[i];
    squared += d * d;
  }
  double mse = squared / static_cast<double>(a.size());
  scores.psnr = mse == 0 ? 99 : std::min(99.0, 10 * std::log10(255.0 * 255.0 / mse));

  auto luma = [&](const std::vector<unsigned char>& p, int x, int y) {
    const unsigned char* px = &p[(static_cast<size_t>(y) * width + x) * 3];
    return 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
  };
  constexpr double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  int window = std::min({8, width, height});
  double total = 0;
  int windows = 0;
  for (int y = 0; y + window <= height; y += std::max(1, window / 2)) {
    for (int x = 0; x + window <= width; x += std::max(1, window / 2)) {
      double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (int j = 0; j < window; ++j) {
        for (int i = 0; i < window; ++i) {
          double va = luma(a, x + i, y + j), vb = luma(b, x + i, y + j);
          sa += va;
          sb += vb;
          saa += va * va;
          sbb += vb * vb;
          sab += va * vb;
        }
      }
      double n = window * window;
      double ma = sa / n, mb = sb / n;
      double va = saa / n - ma * ma, vb = sbb / n - mb * mb, cov = sab / n - ma * mb;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      ++windows;
    }
  }
  scores.ssim = windows == 0 ? 1 : total / windows;
  return scores;
}

// The reference for `source` at width x height, or nullptr.
ImagePtr Reference(VipsImage* source, int width, int height) {
  ImagePtr image(source);
  g_object_ref(source);
  bool alpha = vips_image_hasalpha(source);
  if (alpha && !Step(image, [](VipsImage* in, VipsImage** out) {
        return vips_premultiply(in, out, nullptr);
      })) {
    return nullptr;
  }
  double hscale = static_cast<double>(width) / image->Xsize;
  double vscale = static_cast<double>(height) / image->Ysize;
  if (!Step(image, [&](VipsImage* in, VipsImage** out) {
        return vips_resize(in, out, hscale, "vscale", vscale, "kernel", VIPS_KERNEL_LANCZOS3,
                           nullptr);
      })) {
    return nullptr;
  }
  if (alpha && !Step(image, [](VipsImage* in, VipsImage** out) {
        return vips_unpremultiply(in, out, nullptr);
      })) {
    return nullptr;
  }
  if (!Step(image, [](VipsImage* in, VipsImage** out) {
        return vips_cast(in, out, VIPS_FORMAT_UCHAR, nullptr);
      })) {
    return nullptr;
  }
  // Rounding of the scale can leave a 1 px difference; the edge is copied.
  if ((image->Xsize != width || image->Ysize != height) &&
      !Step(image, [&](VipsImage* in, VipsImage** out) {
        return vips_embed(in, out, 0, 0, width, height, "extend", VIPS_EXTEND_COPY, nullptr);
      })) {
    return nullptr;
  }
  return image;
}

struct Sum {
  int count = 0;
  double ssim = 0;
  double psnr = 0;
  double worst_ssim = 2;
  std::string worst;
};

int Main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: thumb_quality SOURCE_DIR THUMB_DIR\n");
    return 2;
  }
  namespace fs = std::filesystem;
  fs::path sources = argv[1], thumbs = argv[2];
  std::map<std::string, ImagePtr> decoded;  // full decodes, by source name
  std::map<std::string, Sum> sums;
  int errors = 0;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(thumbs)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::string name = file.filename().string();
    fs::path source_path = sources / name;
    if (!fs::exists(source_path)) continue;
    auto fail = [&](const char* what) {
      std::fprintf(stderr, "thumb_quality: %s: %s: %s\n", file.c_str(), what, vips_error_buffer());
      vips_error_clear();
      ++errors;
    };
    ImagePtr& source = decoded[name];
    if (!source) {
      source.reset(
          vips_image_new_from_file(source_path.c_str(), "access", VIPS_ACCESS_RANDOM, nullptr));
      if (!source ||
          !Step(source,
                [](VipsImage* in, VipsImage** out) { return vips_autorot(in, out, nullptr); }) ||
          !ToSrgb8(source)) {
        fail("source");
        continue;
      }
      VipsImage* memory = vips_image_copy_memory(source.get());
      if (memory == nullptr) {
        fail("source");
        continue;
      }
      source.reset(memory);
    }
    ImagePtr thumb(
        vips_image_new_from_file(file.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, nullptr));
    if (!thumb || !ToSrgb8(thumb)) {
      fail("thumbnail");
      continue;
    }
    ImagePtr reference = Reference(source.get(), thumb->Xsize, thumb->Ysize);
    std::vector<unsigned char> a, b;
    if (!reference || !FlattenWhite(reference) || !FlattenWhite(thumb) ||
        !Pixels(reference.get(), &a) || !Pixels(thumb.get(), &b) || a.size() != b.size()) {
      fail("compare");
      continue;
    }
    Scores scores = Compare(a, b, thumb->Xsize, thumb->Ysize);
    std::string format = file.extension().string().substr(1);
    Sum& sum = sums[format];
    ++sum.count;
    sum.ssim += scores.ssim;
    sum.psnr += scores.psnr;
    if (scores.ssim < sum.worst_ssim) {
      sum.worst_ssim = scores.ssim;
      sum.worst = file.parent_path().filename().string() + "/" + name;
    }
  }
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  for (const auto& [format, sum] : sums) {
    line[format] = {{"count", sum.count},
                    {"ssim", sum.ssim / sum.count},
                    {"psnr", sum.psnr / sum.count},
                    {"worst_ssim", sum.worst_ssim},
                    {"worst", sum.worst}};
  }
  std::printf("%s\n", line.dump().c_str());
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (VIPS_INIT(argv[0]) != 0) return 1;
  int rc = Main(argc, argv);
  vips_shutdown();
  return rc;
}
