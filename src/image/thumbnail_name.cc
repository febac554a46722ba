#include "image/thumbnail_name.h"

#include "core/strings.h"
#include "image/thumbnailer.h"

namespace thumbflow {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kJpegNames[] = {".jpg"sv, ".jpeg"sv, ".jpe"sv};
constexpr std::string_view kPngNames[] = {".png"sv};
constexpr std::string_view kWebpNames[] = {".webp"sv};
constexpr std::string_view kGifNames[] = {".gif"sv};
constexpr std::string_view kAvifNames[] = {".avif"sv};

// The first entry is the fallback of FindOutputFormat's callers that need one.
constexpr OutputFormat kOutputFormats[] = {
    {"jpeg", "image/jpeg", ".jpg", kJpegNames, false, false, true},
    {"png", "image/png", ".png", kPngNames, true, false, true},
    {"webp", "image/webp", ".webp", kWebpNames, true, true, true},
    {"gif", "image/gif", ".gif", kGifNames, true, true, true},
    {"avif", "image/avif", ".avif", kAvifNames, true, false, true},
};

bool NamesFormat(std::string_view source_name, const OutputFormat& format) {
  for (std::string_view extension : format.names) {
    if (EndsWithIgnoreCase(source_name, extension)) return true;
  }
  return false;
}

}  // namespace

const OutputFormat* FindOutputFormat(std::string_view name) {
  for (const OutputFormat& format : kOutputFormats) {
    if (format.name == name) return &format;
  }
  return nullptr;
}

const OutputFormat& AutoOutputFormat(std::string_view source_format, bool has_alpha) {
  const OutputFormat* own = FindOutputFormat(source_format);
  if (own != nullptr && own->auto_keeps) return *own;
  return *FindOutputFormat(has_alpha ? "png" : "jpeg");
}

const OutputFormat* KeptFormatNamedBy(std::string_view source_name) {
  for (const OutputFormat& format : kOutputFormats) {
    if (format.auto_keeps && NamesFormat(source_name, format)) return &format;
  }
  return nullptr;
}

std::vector<std::string> AutoThumbnailNames(std::string_view source_name) {
  if (KeptFormatNamedBy(source_name) != nullptr) return {std::string(source_name)};
  return {ThumbnailName(source_name, "jpeg"), ThumbnailName(source_name, "png")};
}

std::string ThumbnailName(std::string_view source_name, std::string_view format) {
  const OutputFormat* output = FindOutputFormat(format);
  if (output == nullptr || NamesFormat(source_name, *output)) return std::string(source_name);
  return std::string(source_name) + std::string(output->extension);
}

std::string ThumbnailName(std::string_view source_name, const Thumbnail& thumbnail) {
  const OutputFormat* output = FindOutputFormat(thumbnail.format);
  if (output != nullptr && NamesFormat(source_name, *output)) return std::string(source_name);
  return std::string(source_name) + thumbnail.extension;
}

}  // namespace thumbflow
