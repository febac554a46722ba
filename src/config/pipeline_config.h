// Config sections `pipeline` and `output`: workers, retry policy and where thumbnails go.
#pragma once

#include <string>

#include "config/field_reader.h"

namespace thumbflow {

struct PipelineConfig {
  // Where thumbnails are written: {output_prefix}{size}/{path below the upload prefix}.
  std::string output_prefix = "thumbnails/";
  // Bucket for thumbnails; empty: the bucket of the event's source object.
  std::string output_bucket;
};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParsePipelineConfig(FieldReader& root, PipelineConfig* out);

}  // namespace thumbflow
