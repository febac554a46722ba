// Config sections `storage` and `notifications`: the embedded object store and the rules
// that turn its uploads into queue messages.
//
//   [storage]
//   default_bucket = "images"        # exists from the first start of `serve`
//   max_object_bytes = 5368709120    # largest single PUT (5 GiB, as S3)
//   fsync = true                     # fsync object bytes before they become visible
//   region = "us-east-1"             # awsRegion written in upload events
//
//   [[notifications]]                # zero or more; absent: the one default rule below
//   id = "thumbflow"                 # s3.configurationId in the event
//   bucket = "images"                # default: storage.default_bucket
//   prefix = "uploads/"
//   suffixes = [".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif",
//               ".tif", ".tiff", ".jxl", ".svg"]   # case-insensitive; [] = any key
//   queue = "thumbnails"
//   events = ["s3:ObjectCreated:*"]
//
// `notifications = []` turns every notification off.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/field_reader.h"
#include "storage/notification_rules.h"

namespace thumbflow {

struct StoreConfig {
  std::string default_bucket = "images";
  int64_t max_object_bytes = int64_t{5} << 30;
  bool fsync = true;
  std::string region = "us-east-1";
  std::vector<NotificationRule> notifications = {NotificationRule{}};
};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseStoreConfig(FieldReader& root, StoreConfig* out);

}  // namespace thumbflow
