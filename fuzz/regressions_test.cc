// Replays every seed (fuzz/corpus/<target>/) and every input that once crashed a fuzz
// target (fuzz/regressions/<target>/) through the target's entry point, so normal builds
// and CI keep them fixed. A crash or a broken contract aborts the test binary.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fuzz/targets.h"

namespace thumbflow::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename() != "README.md") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class FuzzReplayTest : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(FuzzReplayTest, SeedsAndRegressionsRunClean) {
  const FuzzTarget& target = GetParam();
  std::vector<fs::path> files = FilesIn(fs::path("fuzz/corpus") / target.name);
  // Every target has seeds; none found means the working directory is wrong.
  ASSERT_FALSE(files.empty()) << "no seeds in fuzz/corpus/" << target.name;
  for (const fs::path& file : FilesIn(fs::path("fuzz/regressions") / target.name)) {
    files.push_back(file);
  }
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    target.run(bytes.str());
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplayTest, ::testing::ValuesIn(FuzzTargets()),
                         [](const auto& target) { return std::string(target.param.name); });

}  // namespace
}  // namespace thumbflow::fuzz
