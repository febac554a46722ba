// Config sections `pipeline` and `output`: workers, retry policy and where thumbnails go.
//
//   [pipeline]
//   workers = 0              # images processed at once; 0: one per CPU core
//   vips_threads = 1         # libvips threads per image (1: parallelism comes from workers)
//   max_in_flight = 0        # messages held at once (received, not finished); 0: 2 x workers
//   visibility_timeout = 0   # seconds requested on every receive; 0: [queue] visibility_timeout_s
//   heartbeat = 0            # seconds between visibility extensions; 0: half the timeout
//   grace_period = 25        # seconds to finish in-flight work on SIGTERM/SIGINT
//   retry_base = 2           # transient failures: visible again after base * 2^(n-1) s ...
//   retry_max = 300          # ... at most this many seconds ...
//   retry_jitter = 0.5       # ... of which this fraction is random (0: none, 1: full jitter)
//   suffixes = [".jpg", ...] # keys the workers process (case-insensitive); [] accepts all
//   delete_thumbnails = false  # an ObjectRemoved:* event deletes the removed source's
//                            # thumbnails (record_processor.h says exactly which); off by
//                            # default: thumbflow deletes nothing it was not asked to. On, the
//                            # default [[notifications]] rule also sends s3:ObjectRemoved:*.
//
// The long-poll wait of the workers' receives is [queue] receive_wait_s (capped at the
// grace period, so an idle worker still stops in time).
//
//   [output]
//   prefix = "thumbnails/"   # thumbnails go to {prefix}{size}/{path}
//   bucket = ""              # empty: the bucket of the event's source object
//   upload_prefix = "uploads/"  # {path} is the key below it; keys outside it are skipped
#pragma once

#include <string>
#include <vector>

#include "config/field_reader.h"

namespace thumbflow {

struct PipelineConfig {
  // Where thumbnails are written: {output_prefix}{size}/{path below the upload prefix}.
  std::string output_prefix = "thumbnails/";
  // Bucket for thumbnails; empty: the bucket of the event's source object.
  std::string output_bucket;
  // Sources live below this prefix; the rest of the key is the thumbnail's {path}.
  std::string upload_prefix = "uploads/";
  // Source keys the workers accept (compared case-insensitively); empty accepts every key.
  std::vector<std::string> suffixes = {".jpg",  ".jpeg", ".png", ".webp", ".gif", ".avif",
                                       ".heic", ".heif", ".tif", ".tiff", ".jxl", ".svg"};

  int workers = 0;  // 0: the number of CPU cores
  int vips_threads = 1;
  int max_in_flight = 0;         // 0: twice the workers
  int visibility_timeout_s = 0;  // 0: [queue] visibility_timeout_s
  int heartbeat_s = 0;           // 0: half the visibility timeout
  double grace_period_s = 25;
  double retry_base_s = 2;
  double retry_max_s = 300;
  double retry_jitter = 0.5;
  // ObjectRemoved:* records delete the thumbnails of a source that is gone (see
  // RecordProcessor). Off: removals are acknowledged and skipped, as they always were, so
  // turning thumbflow on or upgrading it never deletes an object nobody asked it to.
  bool delete_thumbnails = false;
};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParsePipelineConfig(FieldReader& root, PipelineConfig* out);

// The worker count to use: `workers`, or the number of CPU cores when it is 0.
int EffectiveWorkers(const PipelineConfig& config);

}  // namespace thumbflow
