#include <gtest/gtest.h>

#include "config/config.h"

namespace thumbflow {
namespace {

std::string ErrorOf(const std::string& toml) {
  auto r = ParseConfig(toml, "t.toml");
  EXPECT_FALSE(r.ok()) << toml;
  return r.ok() ? "" : r.status().message();
}

TEST(ThumbnailConfigTest, DefaultsMirrorTheReference) {
  auto r = ParseConfig("", "t.toml");
  ASSERT_TRUE(r.ok());
  const ThumbnailConfig& c = r->thumbnails;
  ASSERT_EQ(c.sizes.size(), 3u);
  EXPECT_EQ(c.sizes[0].name, "small");
  EXPECT_EQ(c.sizes[0].width, 50);
  EXPECT_EQ(c.sizes[1].width, 150);
  EXPECT_EQ(c.sizes[2].width, 300);
  EXPECT_EQ(c.sizes[2].height, 0);
  EXPECT_EQ(c.sizes[2].fit, Fit::kInside);
  EXPECT_EQ(c.format, "auto");
  EXPECT_EQ(c.png_compression, 5);
  EXPECT_TRUE(c.strip_metadata);
  EXPECT_FALSE(c.animated);
  EXPECT_EQ(c.limits.max_bytes, 50 * 1024 * 1024);
  EXPECT_EQ(c.limits.max_pixels, 100'000'000);
  EXPECT_EQ(c.limits.timeout_s, 30);
}

TEST(ThumbnailConfigTest, ReadsEveryField) {
  auto r = ParseConfig(R"(
[thumbnails]
format = "webp"
jpeg_quality = 70
webp_quality = 75
avif_quality = 40
png_compression = 9
progressive = true
strip_metadata = false
animated = true
[[thumbnails.sizes]]
name = "square"
width = 120
height = 120
fit = "cover"
gravity = "attention"
[[thumbnails.sizes]]
name = "boxed"
width = 200
height = 100
fit = "contain"
background = "#00000080"
[limits]
max_bytes = 1000
max_pixels = 2000
max_frames = 7
timeout_s = 5
)",
                       "t.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ThumbnailConfig& c = r->thumbnails;
  EXPECT_EQ(c.format, "webp");
  EXPECT_EQ(c.jpeg_quality, 70);
  EXPECT_EQ(c.webp_quality, 75);
  EXPECT_EQ(c.avif_quality, 40);
  EXPECT_EQ(c.png_compression, 9);
  EXPECT_TRUE(c.progressive);
  EXPECT_FALSE(c.strip_metadata);
  EXPECT_TRUE(c.animated);
  ASSERT_EQ(c.sizes.size(), 2u);
  EXPECT_EQ(c.sizes[0].fit, Fit::kCover);
  EXPECT_EQ(c.sizes[0].gravity, Gravity::kAttention);
  EXPECT_EQ(c.sizes[1].height, 100);
  EXPECT_EQ(c.sizes[1].background, (std::array<int, 4>{0, 0, 0, 128}));
  EXPECT_EQ(c.limits.max_bytes, 1000);
  EXPECT_EQ(c.limits.max_pixels, 2000);
  EXPECT_EQ(c.limits.max_frames, 7);
  EXPECT_EQ(c.limits.timeout_s, 5);
}

TEST(ThumbnailConfigTest, ErrorsNameTheField) {
  struct Case {
    const char* toml;
    const char* names;
  };
  const Case cases[] = {
      {"[thumbnails]\nformat = \"bmp\"\n", "thumbnails.format"},
      {"[thumbnails]\njpeg_quality = 0\n", "thumbnails.jpeg_quality"},
      {"[thumbnails]\nprogressive = 1\n", "thumbnails.progressive"},
      {"[thumbnails]\nbogus = 1\n", "thumbnails.bogus"},
      {"[thumbnails]\nsizes = 3\n", "thumbnails.sizes"},
      {"[thumbnails]\nsizes = []\n", "thumbnails.sizes"},
      {"[[thumbnails.sizes]]\nname = \"a\"\nwidth = 0\n", "thumbnails.sizes[0].width"},
      {"[[thumbnails.sizes]]\nwidth = 10\n", "thumbnails.sizes[0].name"},
      {"[[thumbnails.sizes]]\nname = \"a\"\n", "thumbnails.sizes[0].width"},
      {"[[thumbnails.sizes]]\nname = \"a/b\"\nwidth = 5\n", "thumbnails.sizes[0].name"},
      {"[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\n[[thumbnails.sizes]]\nname = \"b\"\n"
       "width = 5\nfit = \"fill\"\n",
       "thumbnails.sizes[1].fit"},
      {"[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\nfit = \"cover\"\n",
       "thumbnails.sizes[0].height"},
      {"[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\ngravity = \"north\"\n",
       "thumbnails.sizes[0].gravity"},
      {"[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\nbackground = \"white\"\n",
       "thumbnails.sizes[0].background"},
      {"[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\ncolour = 1\n", "thumbnails.sizes[0].colour"},
      {"[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\n[[thumbnails.sizes]]\nname = \"a\"\n"
       "width = 6\n",
       "thumbnails.sizes[1].name"},
      {"[limits]\nmax_bytes = \"big\"\n", "limits.max_bytes"},
      {"[limits]\nmax_pixels = 0\n", "limits.max_pixels"},
      {"[limits]\nmax_frames = -1\n", "limits.max_frames"},
      {"[limits]\ntimeout_s = 0\n", "limits.timeout_s"},
      {"[limits]\ntimeout = 3\n", "limits.timeout"},
      {"limits = 3\n", "limits"},
  };
  for (const Case& c : cases) {
    std::string message = ErrorOf(c.toml);
    EXPECT_NE(message.find(c.names), std::string::npos) << c.toml << " -> " << message;
    EXPECT_NE(message.find("t.toml"), std::string::npos) << message;
  }
}

TEST(ThumbnailConfigTest, FitAndGravityNamesRoundTrip) {
  for (Fit fit : {Fit::kInside, Fit::kCover, Fit::kContain}) {
    Fit parsed = Fit::kInside;
    ASSERT_TRUE(ParseFit(FitName(fit), &parsed)) << FitName(fit);
    EXPECT_EQ(parsed, fit);
  }
  for (Gravity gravity : {Gravity::kCentre, Gravity::kAttention}) {
    Gravity parsed = Gravity::kCentre;
    ASSERT_TRUE(ParseGravity(GravityName(gravity), &parsed)) << GravityName(gravity);
    EXPECT_EQ(parsed, gravity);
  }
  EXPECT_STREQ(FitName(Fit::kContain), "contain");
  EXPECT_STREQ(GravityName(Gravity::kCentre), "centre");
  Fit fit = Fit::kCover;
  EXPECT_FALSE(ParseFit("fill", &fit));
  EXPECT_EQ(fit, Fit::kCover);
  // The error of a bad value lists the names and says which field.
  std::string message = ErrorOf("[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\nfit = \"fill\"\n");
  EXPECT_NE(message.find("thumbnails.sizes[0].fit: must be one of inside, cover, contain (got "
                         "\"fill\")"),
            std::string::npos)
      << message;
  message = ErrorOf("[[thumbnails.sizes]]\nname = \"a\"\nwidth = 5\nfit = \"contain\"\n");
  EXPECT_NE(message.find("height: is required when fit is \"contain\""), std::string::npos)
      << message;
}

TEST(ThumbnailConfigTest, HexColours) {
  std::array<int, 4> rgba{};
  EXPECT_TRUE(ParseHexColour("#fff", &rgba));
  EXPECT_EQ(rgba, (std::array<int, 4>{255, 255, 255, 255}));
  EXPECT_TRUE(ParseHexColour("#102030", &rgba));
  EXPECT_EQ(rgba, (std::array<int, 4>{16, 32, 48, 255}));
  EXPECT_FALSE(ParseHexColour("102030", &rgba));
  EXPECT_FALSE(ParseHexColour("#12345", &rgba));
  EXPECT_FALSE(ParseHexColour("#gggggg", &rgba));
}

}  // namespace
}  // namespace thumbflow
