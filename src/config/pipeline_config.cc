#include "config/pipeline_config.h"

namespace thumbflow {

Status ParsePipelineConfig(FieldReader& root, PipelineConfig* out) {
  if (const toml::value* output = root.Table("output")) {
    FieldReader r(*output, "output");
    RETURN_IF_ERROR(r.String("prefix", &out->output_prefix));
    RETURN_IF_ERROR(r.String("bucket", &out->output_bucket));
    RETURN_IF_ERROR(r.Finish());
  }
  return Status::Ok();
}

}  // namespace thumbflow
