// SqliteOutbox: the Outbox (storage/outbox.h) of the embedded mode. For each change it
// applies the notification rules (storage/notification_rules.h: bucket, key prefix/suffix,
// event type), and when one or more fire it advances the sequencer and enqueues one S3 event
// notification per destination queue (EnqueueInTransaction), all in the store's transaction.
//
// The sequencer (S3's per-key event order: a later change of a key has a larger one) is the
// counter "sequencer" of the table store_counters, which LocalObjectStore creates in the same
// database; the outbox uses it so data folders keep counting from where they were.
//
// Thread-safe: the rules are fixed at construction.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "storage/notification_rules.h"
#include "storage/outbox.h"

namespace thumbflow {

class SqliteOutbox final : public Outbox {
 public:
  // `rules`: DESIGN.md's default rule unless replaced. `region`: awsRegion of the events.
  // `clock` (send time of the messages) must outlive the outbox.
  SqliteOutbox(std::vector<NotificationRule> rules, std::string region, const Clock& clock);

  // Creates the queue tables (EnsureQueueSchema).
  Status Prepare(sqlite::Transaction& tx) override;
  Status Publish(sqlite::Transaction& tx, const ObjectChange& change) override;

  const std::vector<NotificationRule>& rules() const { return rules_; }

 private:
  std::vector<NotificationRule> rules_;
  std::string region_;
  const Clock& clock_;
};

}  // namespace thumbflow
