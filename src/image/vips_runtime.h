// VipsRuntime: libvips start-up and shutdown for the process, in one RAII object.
//
// Create exactly one, in main() (or a test environment), before any VipsThumbnailer, and
// keep it alive until every thumbnailer is gone. It turns the operation cache off and
// blocks every loader except the allowlist (JPEG, PNG, WebP, GIF, TIFF, HEIF/AVIF, JPEG XL,
// SVG), per loader: libvips' global "block untrusted" switch would also block SVG and JPEG
// XL. libvips itself keeps process-wide state; this object is the only place that touches
// it. Not copyable; Start() fails if another runtime is alive.
#pragma once

#include <memory>
#include <string>

#include "core/log.h"
#include "core/result.h"

namespace thumbflow {

struct VipsRuntimeOptions {
  std::string program_name = "thumbflow";
  // Worker threads libvips uses for one image; 0 keeps libvips' default (the core count).
  // With several images in flight, 1 per image avoids oversubscribing the cores.
  int concurrency = 0;
  // Where libvips' and GLib's messages that no image claims go, as JSON lines
  // (vips_warnings.h); never GLib's plain text.
  Logger log = Logger::Stderr();
};

class VipsRuntime {
 public:
  static Result<std::unique_ptr<VipsRuntime>> Start(const VipsRuntimeOptions& options);
  ~VipsRuntime();
  VipsRuntime(const VipsRuntime&) = delete;
  VipsRuntime& operator=(const VipsRuntime&) = delete;

  // The loader base classes that stay enabled ("VipsForeignLoadJpeg", ...).
  static const char* const* AllowedLoaderClasses();
  // The libvips version this binary runs with ("8.14.1"); usable before Start().
  static std::string LibvipsVersion();

 private:
  VipsRuntime() = default;
};

}  // namespace thumbflow
