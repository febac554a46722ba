// Outbox: how the local store publishes the S3 event notification of a change in the same
// transaction that commits the change, so that an object is visible exactly when its event is
// queued (and a delete is gone exactly when its event is). The store is given an Outbox
// (LocalStoreOptions::outbox) and calls it once per change, inside its write transaction;
// which rules fire, the event's sequencer and where the message goes are the outbox's
// business (queue/sqlite_outbox.h publishes to the embedded SQLite queue).
//
// Thread-safety: Publish may be called from any thread, each call with its own transaction.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace thumbflow {

namespace sqlite {
class Transaction;
}

// One change of one object, as the event notification describes it.
struct ObjectChange {
  std::string bucket;
  std::string key;
  // As S3 writes it in the message: "ObjectCreated:Put", "ObjectCreated:Copy",
  // "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete", ...
  std::string event_name;
  int64_t size = 0;  // of the new object; 0 for a removal
  std::string etag;  // quoted, as S3 writes it; empty for a removal
  int64_t time_ms = 0;
  // Who asked, for userIdentity / requestParameters / responseElements.
  std::string principal_id = "thumbflow";
  std::string source_ip = "127.0.0.1";
  std::string request_id;  // empty: a random one
};

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Called once in the transaction that opens the store, so that whatever the outbox writes
  // to exists before the first change.
  virtual Status Prepare(sqlite::Transaction& tx) = 0;
  // Publishes the event of `change` (when it has anywhere to go) within `tx`, the open write
  // transaction that commits the change. A failure makes the store roll the change back.
  virtual Status Publish(sqlite::Transaction& tx, const ObjectChange& change) = 0;
};

}  // namespace thumbflow
