// TempDir: a fresh folder under $TMPDIR (or /tmp) for one test, removed with everything in it
// when the object is destroyed, unless THUMBFLOW_KEEP_TMP=1 (kept for a post-mortem, as the
// integration tests keep theirs). Test-only; not thread-safe.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace thumbflow::testing {

class TempDir {
 public:
  // The folder's name is `prefix` and six random characters.
  explicit TempDir(const std::string& prefix = "thumbflow-test-") {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    const char* keep = std::getenv("THUMBFLOW_KEEP_TMP");
    if (path_.empty() || (keep != nullptr && std::string(keep) == "1")) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty when the folder could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace thumbflow::testing
