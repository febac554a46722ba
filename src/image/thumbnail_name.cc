#include <algorithm>
#include <cctype>
#include <string>

#include "image/thumbnailer.h"

namespace thumbflow {
namespace {

bool EndsWithIgnoringCase(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), text.end() - suffix.size(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

}  // namespace

std::string ThumbnailName(std::string_view source_name, const Thumbnail& thumbnail) {
  std::vector<std::string_view> accepted;
  if (thumbnail.format == "jpeg") {
    accepted = {".jpg", ".jpeg", ".jpe"};
  } else if (thumbnail.format == "png") {
    accepted = {".png"};
  } else if (thumbnail.format == "webp") {
    accepted = {".webp"};
  } else if (thumbnail.format == "gif") {
    accepted = {".gif"};
  } else if (thumbnail.format == "avif") {
    accepted = {".avif"};
  }
  for (std::string_view ext : accepted) {
    if (EndsWithIgnoringCase(source_name, ext)) return std::string(source_name);
  }
  return std::string(source_name) + thumbnail.extension;
}

}  // namespace thumbflow
