#include "image/format_sniff.h"

#include <string>

#include "core/strings.h"

namespace thumbflow {
namespace {

using namespace std::string_view_literals;

SniffedFormat IsoBmffBrand(std::string_view brand) {
  for (std::string_view heic : {"heic"sv, "heix"sv, "heim"sv, "heis"sv, "hevc"sv, "hevx"sv}) {
    if (brand == heic) return SniffedFormat::kHeic;
  }
  if (brand == "avif"sv || brand == "avis"sv) return SniffedFormat::kAvif;
  if (brand == "mif1"sv || brand == "msf1"sv) return SniffedFormat::kHeif;
  return SniffedFormat::kUnknown;
}

// XML text whose first element is <svg (after an XML declaration, comments, a doctype).
bool IsSvg(std::string_view data) {
  std::string_view head = data.substr(0, 4096);
  size_t start = head.starts_with("\xEF\xBB\xBF"sv) ? 3 : 0;
  size_t first = head.find_first_not_of(" \t\r\n", start);
  if (first == std::string_view::npos || head[first] != '<') return false;
  size_t svg = head.find("<svg");
  if (svg == std::string_view::npos) return false;
  for (size_t pos = head.find('<', first); pos < svg; pos = head.find('<', pos + 1)) {
    if (!(StartsWithAt(head, pos, "<?") || StartsWithAt(head, pos, "<!"))) return false;
  }
  return true;
}

}  // namespace

SniffedFormat SniffImageFormat(std::string_view data) {
  if (data.starts_with("\xff\xd8\xff"sv)) return SniffedFormat::kJpeg;
  if (data.starts_with("\x89PNG\r\n\x1a\n"sv)) return SniffedFormat::kPng;
  if (data.starts_with("GIF87a"sv) || data.starts_with("GIF89a"sv)) return SniffedFormat::kGif;
  if (data.starts_with("II*\0"sv) || data.starts_with("MM\0*"sv) || data.starts_with("II+\0"sv) ||
      data.starts_with("MM\0+"sv)) {
    return SniffedFormat::kTiff;
  }
  if (data.starts_with("RIFF"sv) && StartsWithAt(data, 8, "WEBP")) return SniffedFormat::kWebp;
  if (data.starts_with("\xff\x0a"sv) || data.starts_with("\0\0\0\x0cJXL \r\n\x87\n"sv)) {
    return SniffedFormat::kJxl;
  }
  if (data.size() >= 12 && StartsWithAt(data, 4, "ftyp")) {
    SniffedFormat brand = IsoBmffBrand(data.substr(8, 4));
    if (brand != SniffedFormat::kUnknown) return brand;
  }
  return IsSvg(data) ? SniffedFormat::kSvg : SniffedFormat::kUnknown;
}

std::string_view SniffedFormatMime(SniffedFormat format) {
  switch (format) {
    case SniffedFormat::kJpeg:
      return "image/jpeg";
    case SniffedFormat::kPng:
      return "image/png";
    case SniffedFormat::kGif:
      return "image/gif";
    case SniffedFormat::kWebp:
      return "image/webp";
    case SniffedFormat::kTiff:
      return "image/tiff";
    case SniffedFormat::kJxl:
      return "image/jxl";
    case SniffedFormat::kHeic:
      return "image/heic";
    case SniffedFormat::kHeif:
      return "image/heif";
    case SniffedFormat::kAvif:
      return "image/avif";
    case SniffedFormat::kSvg:
      return "image/svg+xml";
    case SniffedFormat::kUnknown:
      break;
  }
  return "application/octet-stream";
}

}  // namespace thumbflow
