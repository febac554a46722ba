// Config section [queue]: the embedded queue's name and its SQS-like settings (the same
// names and defaults as an SQS queue with a redrive policy).
//
//   [queue]
//   name = "thumbnails"            # letters, digits, '-', '_' (1-80)
//   visibility_timeout_s = 60      # 0..43200
//   max_receive_count = 3          # 1..1000; then the DLQ
//   retention_s = 345600           # 4 days; 60..1209600
//   dlq_retention_s = 864000       # 10 days; 60..1209600
//   max_body_bytes = 262144        # 1..262144
//   receive_wait_s = 20            # long-poll wait of the workers' receives; 0..20
#pragma once

#include <cstdint>
#include <string>

#include "config/field_reader.h"

namespace thumbflow {

struct QueueConfig {
  std::string name = "thumbnails";
  int visibility_timeout_s = 60;
  int max_receive_count = 3;
  int64_t retention_s = 4 * 86400;
  int64_t dlq_retention_s = 10 * 86400;
  int64_t max_body_bytes = 256 * 1024;
  int receive_wait_s = 20;
};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseQueueConfig(FieldReader& root, QueueConfig* out);

}  // namespace thumbflow
