// Config section(s) aws: region, endpoints and addressing for S3 and SQS.
#pragma once

#include "config/field_reader.h"

namespace thumbflow {

struct AwsConfig {};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseAwsConfig(FieldReader& root, AwsConfig* out);

}  // namespace thumbflow
