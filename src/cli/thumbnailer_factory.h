// The thumbnailer every command uses, as [isolation] says: a pool of sandboxed codec helper
// processes (image/isolated_thumbnailer.h), or libvips in this process (mode "in-process",
// for benchmarks and debugging).
#pragma once

#include <memory>

#include "config/config.h"
#include "core/clock.h"
#include "core/result.h"
#include "image/thumbnailer.h"
#include "image/vips_runtime.h"

namespace thumbflow::cli {

struct ConfiguredThumbnailer {
  std::unique_ptr<VipsRuntime> runtime;  // in-process only; declared first, destroyed last
  std::unique_ptr<Thumbnailer> thumbnailer;
};

// `in_flight`: how many Make() calls may run at once (workers, --jobs, Lambda concurrency);
// one helper each. `vips_threads`: libvips threads per image. `clock` is used in-process
// only (helpers time images on the system clock). Environment used by integration tests:
// THUMBFLOW_TEST_CODEC_HOOKS=1 enables the helpers' test markers (image/codec_helper.h);
// THUMBFLOW_TEST_KILL_HELPER_ONCE_BYTES=N SIGKILLs the helper of the first source of N bytes.
Result<ConfiguredThumbnailer> MakeConfiguredThumbnailer(const Config& config, int in_flight,
                                                        int vips_threads, const Clock* clock);

}  // namespace thumbflow::cli
