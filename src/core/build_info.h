// What this binary is: the thumbflow version and, when known, the git commit it was built
// from (the commit checked out when the build folder was configured; empty for a build
// from a source tarball). Reported by --version and the thumbflow_build_info metric.
#pragma once

#include <string_view>

namespace thumbflow {

std::string_view ThumbflowVersion();
std::string_view ThumbflowCommit();

}  // namespace thumbflow
