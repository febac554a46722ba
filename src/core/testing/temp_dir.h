// TempDir: a fresh folder under $TMPDIR (or /tmp) for one test, removed with everything in it
// when the object is destroyed. Test-only; not thread-safe.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace thumbflow::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base ? base : "/tmp") + "/thumbflow-test-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty when the folder could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace thumbflow::testing
