#include "config/thumbnail_config.h"

namespace thumbflow {

Status ParseThumbnailConfig(FieldReader&, ThumbnailConfig*) { return Status::Ok(); }

}  // namespace thumbflow
