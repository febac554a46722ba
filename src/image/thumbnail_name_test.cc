#include <gtest/gtest.h>

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

}  // namespace
}  // namespace thumbflow
