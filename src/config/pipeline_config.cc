#include "config/pipeline_config.h"

namespace thumbflow {

Status ParsePipelineConfig(FieldReader&, PipelineConfig*) { return Status::Ok(); }

}  // namespace thumbflow
