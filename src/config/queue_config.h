// Config section(s) queue: the embedded queue's name and SQS-like settings.
#pragma once

#include "config/field_reader.h"

namespace thumbflow {

struct QueueConfig {};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseQueueConfig(FieldReader& root, QueueConfig* out);

}  // namespace thumbflow
