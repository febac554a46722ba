#include "core/build_info.h"

namespace thumbflow {

// Both are compile definitions of this file only (src/core/CMakeLists.txt), so a new
// commit recompiles one file.
std::string_view ThumbflowVersion() { return THUMBFLOW_VERSION; }
std::string_view ThumbflowCommit() { return THUMBFLOW_COMMIT; }

}  // namespace thumbflow
