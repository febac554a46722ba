// Config section `[isolation]`: where images are decoded and encoded.
//
//   [isolation]
//   mode = "isolated"            # isolated: sandboxed codec helper processes, one image each
//                                # at a time; in-process: libvips in the service itself
//                                # (benchmarks, debugging; a codec crash then ends the process)
//   max_images_per_helper = 1000 # a helper is replaced after this many images; 0: never
//   max_rss_mb = 1024            # ... or when its resident memory after an image exceeds this
//   memory_limit_mb = 4096       # address-space limit of a helper (RLIMIT_AS); 0: none
//   cpu_limit_s = 0              # CPU seconds one image may use; 0: 2 x limits.timeout_s
//   sandbox = true               # seccomp allowlist, no network, no file writes
//   kill_grace_ms = 1000         # a helper still busy this long after the deadline is killed
//
// The number of helpers is not configured: it follows the images in flight ([pipeline]
// workers for serve and worker, the Lambda's concurrency, thumb's --jobs).
#pragma once

#include <cstdint>
#include <string>

#include "config/field_reader.h"

namespace thumbflow {

struct IsolationConfig {
  std::string mode = "isolated";  // isolated | in-process
  int max_images_per_helper = 1000;
  int64_t max_rss_mb = 1024;
  int64_t memory_limit_mb = 4096;
  int cpu_limit_s = 0;
  bool sandbox = true;
  int kill_grace_ms = 1000;

  bool isolated() const { return mode == "isolated"; }
};

// Reads [isolation]; absent keys keep their defaults; errors name the field.
Status ParseIsolationConfig(FieldReader& root, IsolationConfig* out);

}  // namespace thumbflow
