// libFuzzer entry for one target of targets.h, chosen at build time (THUMBFLOW_FUZZ_TARGET).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const thumbflow::fuzz::FuzzTarget* target =
      thumbflow::fuzz::FindFuzzTarget(THUMBFLOW_FUZZ_TARGET);
  target->run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
