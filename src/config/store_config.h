// Config section(s) storage, notifications, server: the embedded store and its S3 endpoint.
#pragma once

#include "config/field_reader.h"

namespace thumbflow {

struct StoreConfig {};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseStoreConfig(FieldReader& root, StoreConfig* out);

}  // namespace thumbflow
