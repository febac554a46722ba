#include "core/testing/temp_dir.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace thumbflow::testing {
namespace {

TEST(TempDirTest, AFreshFolderRemovedWithItsContents) {
  std::string path;
  {
    TempDir dir("tf-tempdir-test-");
    path = dir.path();
    ASSERT_FALSE(path.empty());
    EXPECT_NE(std::filesystem::path(path).filename().string().find("tf-tempdir-test-"),
              std::string::npos);
    EXPECT_TRUE(std::filesystem::is_empty(path));
    std::filesystem::create_directories(path + "/a/b");
    std::ofstream(path + "/a/b/c") << "x";
    TempDir other("tf-tempdir-test-");
    EXPECT_NE(other.path(), path);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDirTest, KeptWhenThumbflowKeepTmpIsOne) {
  const char* before = std::getenv("THUMBFLOW_KEEP_TMP");
  const std::string saved = before ? before : "";
  ASSERT_EQ(setenv("THUMBFLOW_KEEP_TMP", "1", 1), 0);
  std::string path;
  { path = TempDir("tf-tempdir-test-").path(); }
  if (before) {
    setenv("THUMBFLOW_KEEP_TMP", saved.c_str(), 1);
  } else {
    unsetenv("THUMBFLOW_KEEP_TMP");
  }
  EXPECT_TRUE(std::filesystem::is_directory(path));
  std::filesystem::remove_all(path);
}

}  // namespace
}  // namespace thumbflow::testing
