#include "config/queue_config.h"

namespace thumbflow {

Status ParseQueueConfig(FieldReader&, QueueConfig*) { return Status::Ok(); }

}  // namespace thumbflow
