#include "config/store_config.h"

namespace thumbflow {

Status ParseStoreConfig(FieldReader&, StoreConfig*) { return Status::Ok(); }

}  // namespace thumbflow
