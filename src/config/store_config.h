// Config sections `storage` and `notifications`: the embedded object store and the rules
// that turn its uploads into queue messages.
//
//   [storage]
//   default_bucket = "images"        # exists from the first start of `serve`
//   max_object_bytes = 5368709120    # largest single PUT (5 GiB, as S3)
//   fsync = true                     # fsync object bytes before they become visible
//   min_free_bytes = 67108864        # free-space reserve of the data folder's disk (64 MiB);
//                                    # below it `serve` refuses new uploads (503 SlowDown)
//                                    # and /readyz is 503; 0: no reserve
//   region = "us-east-1"             # awsRegion written in upload events
//
//   [[notifications]]                # zero or more; absent: the one default rule below
//   id = "thumbflow"                 # s3.configurationId in the event
//   bucket = "images"                # default: storage.default_bucket
//   prefix = "uploads/"
//   suffixes = [".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif",
//               ".tif", ".tiff", ".jxl", ".svg"]   # case-insensitive; [] = any key
//   queue = "thumbnails"
//   events = ["s3:ObjectCreated:*"]    # default rule: plus "s3:ObjectRemoved:*" when
//                                      # [pipeline] delete_thumbnails = true
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
  // Room kept free for what was already accepted: the queue database's commits and WAL
  // (checkpoints at about 4 MB), and the thumbnails of queued images (3 outputs, about
  // 10-100 KB per image: 64 MiB covers some 1,000 queued images). Refusing new uploads
  // below it means a full disk never stops the acknowledged ones from finishing.
  int64_t min_free_bytes = int64_t{64} << 20;
  std::string region = "us-east-1";
  std::vector<NotificationRule> notifications = {NotificationRule{}};
  // True when the config names no [[notifications]], so `notifications` is the default rule
  // (ParseConfig then adds removal events to it for [pipeline] delete_thumbnails).
  bool default_notifications = true;
};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseStoreConfig(FieldReader& root, StoreConfig* out);

}  // namespace thumbflow
