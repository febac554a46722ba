// The dashboard's files (assets/), compiled into the binary by CMake (embed_assets.cmake),
// so serve needs no files beside it and no network.
#pragma once

#include <cstddef>
#include <string_view>

namespace thumbflow::dashboard {

struct Asset {
  std::string_view name;          // file name under assets/, e.g. "app.js"
  std::string_view content_type;  // from the extension
  const char* data;
  size_t size;
};

// nullptr when there is no such file.
const Asset* FindAsset(std::string_view name);

}  // namespace thumbflow::dashboard
