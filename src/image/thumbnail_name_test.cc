#include <algorithm>

#include <gtest/gtest.h>

#include "image/thumbnail_name.h"
#include "image/thumbnailer.h"

namespace thumbflow {
namespace {

Thumbnail Of(const char* format, const char* extension) {
  Thumbnail t;
  t.format = format;
  t.extension = extension;
  return t;
}

TEST(ThumbnailNameTest, KeepsTheNameWhenTheExtensionAlreadyNamesTheFormat) {
  EXPECT_EQ(ThumbnailName("a.jpg", Of("jpeg", ".jpg")), "a.jpg");
  EXPECT_EQ(ThumbnailName("dir/a.JPEG", Of("jpeg", ".jpg")), "dir/a.JPEG");
  EXPECT_EQ(ThumbnailName("a.Png", Of("png", ".png")), "a.Png");
  EXPECT_EQ(ThumbnailName("a.webp", Of("webp", ".webp")), "a.webp");
  EXPECT_EQ(ThumbnailName("a.gif", Of("gif", ".gif")), "a.gif");
  EXPECT_EQ(ThumbnailName("a.avif", Of("avif", ".avif")), "a.avif");
}

TEST(ThumbnailNameTest, AppendsTheExtensionWhenTheFormatChanges) {
  EXPECT_EQ(ThumbnailName("a.heic", Of("jpeg", ".jpg")), "a.heic.jpg");
  EXPECT_EQ(ThumbnailName("a.svg", Of("png", ".png")), "a.svg.png");
  EXPECT_EQ(ThumbnailName("a.png", Of("jpeg", ".jpg")), "a.png.jpg");
  EXPECT_EQ(ThumbnailName("a.jpg", Of("png", ".png")), "a.jpg.png");
  EXPECT_EQ(ThumbnailName("noext", Of("webp", ".webp")), "noext.webp");
  EXPECT_EQ(ThumbnailName("jpg", Of("jpeg", ".jpg")), "jpg.jpg");
}

TEST(ThumbnailNameTest, AutoKeepsTheWebFormatsAndConvertsTheRest) {
  for (const char* kept : {"jpeg", "png", "webp", "gif", "avif"}) {
    EXPECT_EQ(AutoOutputFormat(kept, false).name, kept);
    EXPECT_EQ(AutoOutputFormat(kept, true).name, kept);
  }
  for (const char* other : {"heic", "tiff", "jxl", "svg", ""}) {
    EXPECT_EQ(AutoOutputFormat(other, false).name, "jpeg") << other;
    EXPECT_EQ(AutoOutputFormat(other, true).name, "png") << other;
  }
}

TEST(ThumbnailNameTest, AutoNamesComeFromTheSourceName) {
  using Names = std::vector<std::string>;
  EXPECT_EQ(AutoThumbnailNames("a/b.JPG"), Names{"a/b.JPG"});
  EXPECT_EQ(AutoThumbnailNames("b.jpe"), Names{"b.jpe"});
  EXPECT_EQ(AutoThumbnailNames("b.avif"), Names{"b.avif"});
  EXPECT_EQ(AutoThumbnailNames("b.heic"), (Names{"b.heic.jpg", "b.heic.png"}));
  EXPECT_EQ(AutoThumbnailNames("noext"), (Names{"noext.jpg", "noext.png"}));
  ASSERT_NE(KeptFormatNamedBy("x.Webp"), nullptr);
  EXPECT_EQ(KeptFormatNamedBy("x.Webp")->name, "webp");
  EXPECT_EQ(KeptFormatNamedBy("x.tif"), nullptr);
}

// For a source whose name says what it holds, the name of what auto writes is one of
// AutoThumbnailNames, whatever the alpha channel (the pipeline's idempotency check relies on
// it; vips_thumbnailer_test checks the same against real decodes of the corpus).
TEST(ThumbnailNameTest, AutoNamesCoverWhatAutoWrites) {
  const std::pair<const char*, const char*> sources[] = {
      {"jpeg", "a.jpg"}, {"jpeg", "a.jpeg"}, {"png", "a.png"},   {"webp", "a.webp"},
      {"gif", "a.gif"},  {"avif", "a.avif"}, {"heic", "a.heic"}, {"tiff", "a.tif"},
      {"jxl", "a.jxl"},  {"svg", "a.svg"}};
  for (const auto& [format, name] : sources) {
    for (bool alpha : {false, true}) {
      std::string written = ThumbnailName(name, AutoOutputFormat(format, alpha).name);
      std::vector<std::string> names = AutoThumbnailNames(name);
      EXPECT_NE(std::find(names.begin(), names.end(), written), names.end())
          << name << " alpha " << alpha << " -> " << written;
    }
  }
}

}  // namespace
}  // namespace thumbflow
