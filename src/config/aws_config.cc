#include "config/aws_config.h"

namespace thumbflow {

Status ParseAwsConfig(FieldReader&, AwsConfig*) { return Status::Ok(); }

}  // namespace thumbflow
