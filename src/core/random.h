// Unpredictable identifiers (upload ids, request ids, file names) from the kernel's CSPRNG.
#pragma once

#include <cstddef>
#include <string>

namespace thumbflow {

// 2 * `bytes` lower-case hex digits of getrandom(2) output. Thread-safe; never fails.
std::string RandomHex(size_t bytes);

}  // namespace thumbflow
