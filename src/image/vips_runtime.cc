#include "image/vips_runtime.h"

#include <atomic>
#include <string>

#include <vips/vips.h>

#include "image/vips_warnings.h"

namespace thumbflow {
namespace {

// libvips can be initialised once per process; this guards against a second runtime.
std::atomic<bool> runtime_alive{false};

constexpr const char* kAllowedLoaders[] = {
    "VipsForeignLoadJpeg",  "VipsForeignLoadPng",  "VipsForeignLoadWebp",
    "VipsForeignLoadNsgif", "VipsForeignLoadTiff", "VipsForeignLoadHeif",
    "VipsForeignLoadJxl",   "VipsForeignLoadSvg",  nullptr};

}  // namespace

const char* const* VipsRuntime::AllowedLoaderClasses() { return kAllowedLoaders; }

std::string VipsRuntime::LibvipsVersion() { return vips_version_string(); }

Result<std::unique_ptr<VipsRuntime>> VipsRuntime::Start(const VipsRuntimeOptions& options) {
  bool expected = false;
  if (!runtime_alive.compare_exchange_strong(expected, true)) {
    return FailedPreconditionError("vips runtime: already started in this process");
  }
  // Warnings are attributed to the image being made (damage libvips only warns about); the
  // rest become JSON lines. Installed before VIPS_INIT: loading modules may already warn.
  internal::InstallVipsWarningHandler(options.log);
  if (VIPS_INIT(options.program_name.c_str()) != 0) {
    std::string message = vips_error_buffer();
    vips_error_clear();
    internal::RemoveVipsWarningHandler();
    runtime_alive = false;
    return InternalError("vips runtime: init failed: " + message);
  }
  // Cached operations would keep decoded sources alive across images and across threads.
  vips_cache_set_max(0);
  vips_cache_set_max_mem(0);
  vips_cache_set_max_files(0);
  // Block every loader, then re-enable the allowlist (block_set applies to subclasses).
  vips_operation_block_set("VipsForeignLoad", TRUE);
  for (const char* const* name = kAllowedLoaders; *name != nullptr; ++name) {
    vips_operation_block_set(*name, FALSE);
  }
  if (options.concurrency > 0) vips_concurrency_set(options.concurrency);
  return std::unique_ptr<VipsRuntime>(new VipsRuntime());
}

VipsRuntime::~VipsRuntime() {
  internal::RemoveVipsWarningHandler();
  vips_shutdown();
  runtime_alive = false;
}

}  // namespace thumbflow
