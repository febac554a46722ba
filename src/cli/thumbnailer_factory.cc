#include "cli/thumbnailer_factory.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "image/isolated_thumbnailer.h"
#include "image/vips_thumbnailer.h"

namespace thumbflow::cli {

Result<ConfiguredThumbnailer> MakeConfiguredThumbnailer(const Config& config, int in_flight,
                                                        int vips_threads, const Clock* clock) {
  ConfiguredThumbnailer made;
  const IsolationConfig& isolation = config.isolation;
  if (!isolation.isolated()) {
    VipsRuntimeOptions options;
    options.concurrency = vips_threads;
    options.log = Logger::Stderr(clock, config.log.level);
    ASSIGN_OR_RETURN(made.runtime, VipsRuntime::Start(options));
    ASSIGN_OR_RETURN(made.thumbnailer,
                     MakeVipsThumbnailer(config.thumbnails, *made.runtime, clock));
    return made;
  }
  IsolationOptions options;
  options.helpers = std::max(1, in_flight);
  options.vips_threads = std::max(0, vips_threads);  // 0: libvips default
  options.max_images_per_helper = isolation.max_images_per_helper;
  options.max_rss_bytes = isolation.max_rss_mb << 20;
  options.memory_limit_bytes = isolation.memory_limit_mb << 20;
  options.cpu_limit_s = isolation.cpu_limit_s;
  options.sandbox = isolation.sandbox;
  options.kill_grace_ms = isolation.kill_grace_ms;
  options.log_level = config.log.level;
  if (const char* hooks = std::getenv("THUMBFLOW_TEST_CODEC_HOOKS")) {
    options.test_hooks = std::string(hooks) == "1";
  }
  if (const char* bytes = std::getenv("THUMBFLOW_TEST_KILL_HELPER_ONCE_BYTES")) {
    options.kill_helper_once_source_bytes = std::atoll(bytes);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<IsolatedThumbnailer> pool,
                   IsolatedThumbnailer::Start(config.thumbnails, options));
  made.thumbnailer = std::move(pool);
  return made;
}

}  // namespace thumbflow::cli
