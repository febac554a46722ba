#include "queue/sqlite_outbox.h"

#include <cstdio>

#include "core/random.h"
#include "events/s3_event.h"
#include "queue/sqlite_queue.h"
#include "sqlite/database.h"
#include "storage/etag.h"

namespace thumbflow {
namespace {

std::string FormatSequencer(int64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "%018llX", static_cast<unsigned long long>(value));
  return text;
}

// The next value of the sequencer counter, within `tx`.
Result<std::string> NextSequencer(sqlite::Transaction& tx) {
  ASSIGN_OR_RETURN(sqlite::Statement * next,
                   tx.Prepare("INSERT INTO store_counters(name, value) "
                              "VALUES('sequencer', 1) ON CONFLICT(name) "
                              "DO UPDATE SET value = value + 1 RETURNING value"));
  ASSIGN_OR_RETURN(bool got, next->Step());
  if (!got) return InternalError("sequencer did not advance");
  const std::string sequencer = FormatSequencer(next->ColumnInt(0));
  while (true) {  // finish the statement so it releases its row
    ASSIGN_OR_RETURN(bool more, next->Step());
    if (!more) break;
  }
  return sequencer;
}

}  // namespace

SqliteOutbox::SqliteOutbox(std::vector<NotificationRule> rules, std::string region,
                           const Clock& clock)
    : rules_(std::move(rules)), region_(std::move(region)), clock_(clock) {}

Status SqliteOutbox::Prepare(sqlite::Transaction& tx) { return EnsureQueueSchema(tx); }

Status SqliteOutbox::Publish(sqlite::Transaction& tx, const ObjectChange& change) {
  // The rules that fire, one event per destination queue (as S3 sends one per destination).
  std::vector<const NotificationRule*> fired;
  for (const NotificationRule& rule : rules_) {
    if (rule.bucket != change.bucket || !RuleMatchesKey(rule, change.key) ||
        !RuleSelectsEvent(rule, change.event_name)) {
      continue;
    }
    bool seen = false;
    for (const NotificationRule* other : fired) seen = seen || other->queue == rule.queue;
    if (!seen) fired.push_back(&rule);
  }
  if (fired.empty()) return Status::Ok();

  ASSIGN_OR_RETURN(const std::string sequencer, NextSequencer(tx));
  const std::string request_id = change.request_id.empty() ? RandomHex(8) : change.request_id;
  for (const NotificationRule* rule : fired) {
    S3EventRecord record;
    record.aws_region = region_;
    record.event_time_ms = change.time_ms;
    record.event_name = change.event_name;
    record.principal_id = change.principal_id;
    record.source_ip = change.source_ip;
    record.request_id = request_id;
    record.host_id = request_id;
    record.configuration_id = rule->id;
    record.bucket = change.bucket;
    record.bucket_owner = change.principal_id;
    record.key = change.key;
    record.size = change.size;
    record.etag = UnquoteEtag(change.etag);
    record.sequencer = sequencer;
    SendRequest message;
    message.body = BuildS3Event({record});
    RETURN_IF_ERROR(EnqueueInTransaction(tx, rule->queue, message, clock_, nullptr)
                        .WithContext("queue " + rule->queue));
  }
  return Status::Ok();
}

}  // namespace thumbflow
