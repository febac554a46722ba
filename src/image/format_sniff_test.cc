#include "image/format_sniff.h"

#include <gtest/gtest.h>

#include <string>

namespace thumbflow {
namespace {

using namespace std::string_literals;

TEST(FormatSniff, MagicNumbersAndTheirMediaTypes) {
  struct Case {
    std::string head;
    SniffedFormat format;
    std::string_view mime;
  };
  const Case cases[] = {
      {"\xff\xd8\xff\xe0"s, SniffedFormat::kJpeg, "image/jpeg"},
      {"\x89PNG\r\n\x1a\n...."s, SniffedFormat::kPng, "image/png"},
      {"GIF89a.."s, SniffedFormat::kGif, "image/gif"},
      {"RIFF\x10\0\0\0WEBPVP8 "s, SniffedFormat::kWebp, "image/webp"},
      {"II*\0...."s, SniffedFormat::kTiff, "image/tiff"},
      {"MM\0+...."s, SniffedFormat::kTiff, "image/tiff"},  // BigTIFF
      {"\xff\x0a...."s, SniffedFormat::kJxl, "image/jxl"},
      {"\0\0\0\x18"
       "ftypheic\0\0\0\0"s,
       SniffedFormat::kHeic, "image/heic"},
      {"\0\0\0\x18"
       "ftypmif1\0\0\0\0"s,
       SniffedFormat::kHeif, "image/heif"},
      {"\0\0\0\x1c"
       "ftypavif\0\0\0\0"s,
       SniffedFormat::kAvif, "image/avif"},
      {"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c -->\n<svg xmlns=\"x\"/>"s, SniffedFormat::kSvg,
       "image/svg+xml"},
      {"<html><svg/></html>"s, SniffedFormat::kUnknown, "application/octet-stream"},
      {"\0\0\0\x18"
       "ftypisom\0\0\0\0"s,
       SniffedFormat::kUnknown, "application/octet-stream"},
      {"RIFF\x10\0\0\0WAVE"s, SniffedFormat::kUnknown, "application/octet-stream"},
      {"%PDF-1.7"s, SniffedFormat::kUnknown, "application/octet-stream"},
      {""s, SniffedFormat::kUnknown, "application/octet-stream"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SniffImageFormat(c.head), c.format) << c.head;
    EXPECT_EQ(SniffedFormatMime(SniffImageFormat(c.head)), c.mime) << c.head;
  }
}

TEST(FormatSniff, SvgRootMustAppearInTheFirstFourKiB) {
  std::string late = "<?xml version=\"1.0\"?>" + std::string(5000, ' ') + "<svg/>";
  EXPECT_EQ(SniffImageFormat(late), SniffedFormat::kUnknown);
  EXPECT_EQ(SniffImageFormat("  \n<svg/>"), SniffedFormat::kSvg);
}

}  // namespace
}  // namespace thumbflow
