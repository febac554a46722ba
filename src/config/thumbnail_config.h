// Config section(s) thumbnails, limits: what thumbnails to make and the safety limits (image/ owns its meaning).
#pragma once

#include "config/field_reader.h"

namespace thumbflow {

struct ThumbnailConfig {};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseThumbnailConfig(FieldReader& root, ThumbnailConfig* out);

}  // namespace thumbflow
