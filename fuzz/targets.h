// Fuzz targets: one entry point per parser that takes untrusted bytes. Each entry runs the
// bytes through the code exactly as the service does and checks the contract of the
// result; a broken contract aborts (FuzzCheck), so libFuzzer reports it like a crash.
//
// The same entries are used by the libFuzzer executables (fuzz_main.cc, clang builds with
// THUMBFLOW_FUZZ) and by fuzz_regressions_test, which replays fuzz/corpus/<target>/ and
// fuzz/regressions/<target>/ in every normal build, so a crash once found stays fixed.
//
// Entries are not thread-safe (the thumbnailer entry starts libvips once per process).
#pragma once

#include <string_view>
#include <vector>

namespace thumbflow::fuzz {

struct FuzzTarget {
  const char* name;  // the folder name under fuzz/corpus and fuzz/regressions
  void (*run)(std::string_view data);
};

// Every target, in a fixed order.
const std::vector<FuzzTarget>& FuzzTargets();
// nullptr when no target has that name.
const FuzzTarget* FindFuzzTarget(std::string_view name);

}  // namespace thumbflow::fuzz
