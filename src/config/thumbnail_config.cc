#include "config/thumbnail_config.h"

#include <set>

namespace thumbflow {
namespace {

// Each enum value's config name, in the enum's order.
constexpr const char* kFitNames[] = {"inside", "cover", "contain"};
constexpr const char* kGravityNames[] = {"centre", "attention"};

template <typename E, size_t N>
bool ParseName(std::string_view name, const char* const (&names)[N], E* out) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

template <size_t N>
std::vector<std::string> AllNames(const char* const (&names)[N]) {
  return std::vector<std::string>(names, names + N);
}

Status ParseSize(const toml::value& table, const std::string& path, ThumbnailSize* size) {
  FieldReader r(table, path);
  if (!r.Has("name")) return r.Error("name", "is required");
  if (!r.Has("width")) return r.Error("width", "is required");
  RETURN_IF_ERROR(r.String("name", &size->name));
  if (size->name.empty() || size->name.find_first_of("/\\") != std::string::npos ||
      size->name == "." || size->name == "..") {
    return r.Error("name",
                   "must be a non-empty folder name without '/' (got \"" + size->name + "\")");
  }
  RETURN_IF_ERROR(r.Int("width", &size->width, 1, 10000));
  RETURN_IF_ERROR(r.Int("height", &size->height, 1, 10000));
  // Read as names (the error lists them), kept as enums.
  std::string fit = FitName(size->fit);
  std::string gravity = GravityName(size->gravity);
  RETURN_IF_ERROR(r.Enum("fit", &fit, AllNames(kFitNames)));
  RETURN_IF_ERROR(r.Enum("gravity", &gravity, AllNames(kGravityNames)));
  ParseFit(fit, &size->fit);
  ParseGravity(gravity, &size->gravity);
  if (size->fit != Fit::kInside && size->height == 0) {
    return r.Error("height", "is required when fit is \"" + fit + "\"");
  }
  std::string background;
  RETURN_IF_ERROR(r.String("background", &background));
  if (r.Has("background") && !ParseHexColour(background, &size->background)) {
    return r.Error("background",
                   "must be a colour \"#rrggbb\" or \"#rrggbbaa\" (got \"" + background + "\")");
  }
  return r.Finish();
}

}  // namespace

const char* FitName(Fit fit) { return kFitNames[static_cast<size_t>(fit)]; }
const char* GravityName(Gravity gravity) { return kGravityNames[static_cast<size_t>(gravity)]; }
bool ParseFit(std::string_view name, Fit* out) { return ParseName(name, kFitNames, out); }
bool ParseGravity(std::string_view name, Gravity* out) {
  return ParseName(name, kGravityNames, out);
}

std::vector<ThumbnailSize> ThumbnailConfig::DefaultSizes() {
  std::vector<ThumbnailSize> sizes(3);
  sizes[0].name = "small";
  sizes[0].width = 50;
  sizes[1].name = "medium";
  sizes[1].width = 150;
  sizes[2].name = "large";
  sizes[2].width = 300;
  return sizes;
}

bool ParseHexColour(const std::string& text, std::array<int, 4>* out) {
  if (text.empty() || text[0] != '#') return false;
  std::string hex = text.substr(1);
  if (hex.size() == 3) hex = {hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]};
  if (hex.size() != 6 && hex.size() != 8) return false;
  std::array<int, 4> rgba = {0, 0, 0, 255};
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    int value = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = hex[2 * i + j];
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    rgba[i] = value;
  }
  *out = rgba;
  return true;
}

Status ParseThumbnailConfig(FieldReader& root, ThumbnailConfig* out) {
  if (const toml::value* thumbnails = root.Table("thumbnails")) {
    FieldReader r(*thumbnails, "thumbnails");
    RETURN_IF_ERROR(r.Enum("format", &out->format, {"auto", "jpeg", "png", "webp", "avif"}));
    RETURN_IF_ERROR(r.Int("jpeg_quality", &out->jpeg_quality, 1, 100));
    RETURN_IF_ERROR(r.Int("webp_quality", &out->webp_quality, 1, 100));
    RETURN_IF_ERROR(r.Int("avif_quality", &out->avif_quality, 1, 100));
    RETURN_IF_ERROR(r.Int("png_compression", &out->png_compression, 0, 9));
    RETURN_IF_ERROR(r.Bool("progressive", &out->progressive));
    RETURN_IF_ERROR(r.Bool("strip_metadata", &out->strip_metadata));
    RETURN_IF_ERROR(r.Bool("animated", &out->animated));
    if (r.Has("sizes")) {
      const toml::array* sizes = r.TableArray("sizes");
      RETURN_IF_ERROR(r.Finish());  // reports "must be an array of tables"
      if (sizes->empty()) return r.Error("sizes", "must list at least one size");
      std::vector<ThumbnailSize> parsed;
      std::set<std::string> names;
      for (size_t i = 0; i < sizes->size(); ++i) {
        std::string path = "thumbnails.sizes[" + std::to_string(i) + "]";
        ThumbnailSize size;
        RETURN_IF_ERROR(ParseSize((*sizes)[i], path, &size));
        if (!names.insert(size.name).second) {
          return InvalidArgumentError(path + ".name: duplicate size name \"" + size.name + "\"");
        }
        parsed.push_back(std::move(size));
      }
      out->sizes = std::move(parsed);
    }
    RETURN_IF_ERROR(r.Finish());
  }
  if (const toml::value* limits = root.Table("limits")) {
    FieldReader r(*limits, "limits");
    RETURN_IF_ERROR(r.Int("max_bytes", &out->limits.max_bytes, 1, int64_t{1} << 40));
    RETURN_IF_ERROR(r.Int("max_pixels", &out->limits.max_pixels, 1, int64_t{1} << 40));
    RETURN_IF_ERROR(r.Int("max_frames", &out->limits.max_frames, 1, 100000));
    RETURN_IF_ERROR(r.Int("timeout_s", &out->limits.timeout_s, 1, 86400));
    RETURN_IF_ERROR(r.Finish());
  }
  return Status::Ok();
}

}  // namespace thumbflow
