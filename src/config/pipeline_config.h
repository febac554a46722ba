// Config section(s) pipeline, output: workers, retry policy and where thumbnails go.
#pragma once

#include "config/field_reader.h"

namespace thumbflow {

struct PipelineConfig {};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParsePipelineConfig(FieldReader& root, PipelineConfig* out);

}  // namespace thumbflow
