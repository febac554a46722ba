#include "queue/sqlite_queue.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "queue/message_checks.h"

namespace thumbflow {

using internal::CheckBatchSize;
using internal::CheckReceiveOptions;
using internal::CheckSendRequest;
using internal::CheckVisibility;
using internal::kMaxBatch;
using internal::MakeReceipt;
using internal::NewDeliveryTokens;
using internal::NewMessageIds;
using internal::ParseReceipt;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

// Version history of the queue tables; append, never edit.
const std::vector<std::string>& QueueMigrations() {
  static const std::vector<std::string> kMigrations = {
      "CREATE TABLE queue_messages("
      "  seq INTEGER PRIMARY KEY,"
      "  queue TEXT NOT NULL,"
      "  id TEXT NOT NULL UNIQUE,"
      "  body BLOB NOT NULL,"
      "  attributes TEXT NOT NULL DEFAULT '',"
      "  sent_ms INTEGER NOT NULL,"
      "  visible_at_ms INTEGER NOT NULL,"
      "  receive_count INTEGER NOT NULL DEFAULT 0,"
      "  first_receive_ms INTEGER NOT NULL DEFAULT 0,"
      "  receipt INTEGER NOT NULL DEFAULT 0,"  // token of the current delivery; 0: none
      "  dead INTEGER NOT NULL DEFAULT 0,"     // 1: in the queue's DLQ
      "  reason TEXT NOT NULL DEFAULT '',"
      "  dead_ms INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX queue_messages_ready ON queue_messages(queue, dead, visible_at_ms);",
      // 2: no UNIQUE index on id. Ids are random version 4 UUIDs (122 bits from the OS), and
      // the index cost one more b-tree insert and delete per message and one more page in
      // most commits; the only lookup by id (Redrive of chosen dead letters) scans the
      // queue's dead letters through queue_messages_ready instead. SQLite cannot drop a
      // UNIQUE constraint, so the table is rebuilt (same columns, rows and sequences).
      "CREATE TABLE queue_messages_new("
      "  seq INTEGER PRIMARY KEY,"
      "  queue TEXT NOT NULL,"
      "  id TEXT NOT NULL,"
      "  body BLOB NOT NULL,"
      "  attributes TEXT NOT NULL DEFAULT '',"
      "  sent_ms INTEGER NOT NULL,"
      "  visible_at_ms INTEGER NOT NULL,"
      "  receive_count INTEGER NOT NULL DEFAULT 0,"
      "  first_receive_ms INTEGER NOT NULL DEFAULT 0,"
      "  receipt INTEGER NOT NULL DEFAULT 0,"
      "  dead INTEGER NOT NULL DEFAULT 0,"
      "  reason TEXT NOT NULL DEFAULT '',"
      "  dead_ms INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO queue_messages_new SELECT seq, queue, id, body, attributes, sent_ms, "
      "  visible_at_ms, receive_count, first_receive_ms, receipt, dead, reason, dead_ms "
      "  FROM queue_messages;"
      "DROP TABLE queue_messages;"
      "ALTER TABLE queue_messages_new RENAME TO queue_messages;"
      "CREATE INDEX queue_messages_ready ON queue_messages(queue, dead, visible_at_ms);",
      // 3: who holds the current delivery's lease ('' when unknown or not leased), so a
      // restarted serve can give back at once what its dead predecessor held.
      "ALTER TABLE queue_messages ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';",
  };
  return kMigrations;
}

std::string EncodeAttributes(const MessageAttributes& attributes) {
  if (attributes.empty()) return {};
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, value] : attributes) doc[name] = value;
  return doc.dump();
}

MessageAttributes DecodeAttributes(const std::string& text) {
  MessageAttributes out;
  if (text.empty()) return out;
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::string Topic(const std::string& queue_name) { return "queue:" + queue_name; }

// The texts of one statement for 1..kMaxBatch rows (index = rows), built once each; the
// statements below act on a whole batch at once instead of once per message.
using SqlByRows = std::vector<std::string>;
SqlByRows BuildSqlByRows(const std::function<std::string(int rows)>& build) {
  SqlByRows out(kMaxBatch + 1);
  for (int n = 1; n <= kMaxBatch; ++n) out[static_cast<size_t>(n)] = build(n);
  return out;
}

// Appends rather than `"?" + std::to_string(index)`: GCC 12 at -O3 reports a false
// -Wrestrict on that operator+ (it inlines the insert at offset 0 of the temporary).
std::string Param(int index) {
  std::string param = "?";
  param += std::to_string(index);
  return param;
}

// INSERT of `rows` messages: ?1 is the queue name, row r binds ?(2+5r)..?(6+5r) (id, body,
// attributes, sent_ms, visible_at_ms).
const std::string& InsertSql(size_t rows) {
  static const SqlByRows kSql = BuildSqlByRows([](int n) {
    std::string sql =
        "INSERT INTO queue_messages(queue, id, body, attributes, sent_ms, visible_at_ms) VALUES";
    for (int r = 0; r < n; ++r) {
      sql += r == 0 ? "(?1" : ", (?1";
      for (int k = 0; k < 5; ++k) sql += ", " + Param(2 + 5 * r + k);
      sql += ")";
    }
    return sql;
  });
  return kSql.at(rows);
}

// DELETE of `rows` deliveries: ?1 is the queue name, row r binds ?(2+2r) (sequence) and
// ?(3+2r) (delivery token); a row goes only while its token still matches (not received
// again since). SQLite looks each term up by primary key ("multi-index OR", no temporary
// b-tree); the unary + keeps it from scanning the queue's index instead.
const std::string& DeleteSql(size_t rows) {
  static const SqlByRows kSql = BuildSqlByRows([](int n) {
    std::string terms;
    for (int r = 0; r < n; ++r) {
      terms += (r == 0 ? "(seq = " : " OR (seq = ") + Param(2 + 2 * r) +
               " AND receipt = " + Param(3 + 2 * r) + ")";
    }
    return "DELETE FROM queue_messages WHERE (" + terms + ") AND +queue = ?1 AND +dead = 0";
  });
  return kSql.at(rows);
}

// UPDATE that hands out `rows` messages: ?1 is now, ?2 when they become visible again, row
// r binds ?(3+2r) (sequence) and ?(4+2r) (its new delivery token), ?(3+2*rows) the lease
// owner.
const std::string& DeliverSql(size_t rows) {
  static const SqlByRows kSql = BuildSqlByRows([](int n) {
    std::string tokens;
    std::string terms;
    for (int r = 0; r < n; ++r) {
      tokens += " WHEN " + Param(3 + 2 * r) + " THEN " + Param(4 + 2 * r);
      terms += (r == 0 ? "(seq = " : " OR (seq = ") + Param(3 + 2 * r) + " AND dead = 0)";
    }
    return "UPDATE queue_messages SET receive_count = receive_count + 1, first_receive_ms = "
           "CASE WHEN first_receive_ms = 0 THEN ?1 ELSE first_receive_ms END, visible_at_ms = "
           "?2, lease_owner = " +
           Param(3 + 2 * n) + ", receipt = CASE seq" + tokens + " END WHERE " + terms;
  });
  return kSql.at(rows);
}

// Adds `requests` (already checked; 1..kMaxBatch of them) to `queue_name` with one
// statement; `ids` receives their ids in order.
Status InsertRows(Transaction& tx, const std::string& queue_name,
                  const std::vector<const SendRequest*>& requests, int64_t now_ms,
                  std::vector<std::string>* ids) {
  ASSIGN_OR_RETURN(Statement * st, tx.Prepare(InsertSql(requests.size())));
  *ids = NewMessageIds(requests.size());
  std::vector<std::string> attributes(requests.size());
  st->BindTextRef(1, queue_name);
  for (size_t r = 0; r < requests.size(); ++r) {
    const SendRequest& request = *requests[r];
    const int b = 2 + 5 * static_cast<int>(r);
    attributes[r] = EncodeAttributes(request.attributes);
    st->BindTextRef(b, (*ids)[r])
        .BindBlobRef(b + 1, request.body)
        .BindTextRef(b + 2, attributes[r])
        .Bind(b + 3, now_ms)
        .Bind(b + 4, now_ms + int64_t{request.delay_seconds} * 1000);
  }
  RETURN_IF_ERROR(st->Run().WithContext("send to queue " + queue_name));
  tx.Signal(Topic(queue_name));
  return Status::Ok();
}

Status Insert(Transaction& tx, const std::string& queue_name, const SendRequest& request,
              int64_t now_ms, std::string* id_out) {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(InsertRows(tx, queue_name, {&request}, now_ms, &ids));
  if (id_out != nullptr) *id_out = std::move(ids[0]);
  return Status::Ok();
}

// SqliteQueue::ReceiveOnce, read as named steps. This one reads up to `ask` visible rows of
// `queue_name` with ReceiveOnce's prepared SELECT, appends them to `out` (skipping rows already
// delivered in this call) and returns their sequence numbers in the same order.
Result<std::vector<int64_t>> ReadVisibleRows(Statement* select, const std::string& queue_name,
                                             int64_t now_ms, int ask,
                                             const std::vector<int64_t>& delivered,
                                             std::vector<Message>* out) {
  std::vector<int64_t> seqs;
  select->BindTextRef(1, queue_name).Bind(2, now_ms).Bind(3, ask);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, select->Step());
    if (!row) break;
    const int64_t seq = select->ColumnInt(0);
    if (std::find(delivered.begin(), delivered.end(), seq) != delivered.end()) continue;
    seqs.push_back(seq);
    Message m;
    m.id = select->ColumnText(1);
    m.body = select->ColumnText(2);
    m.attributes = DecodeAttributes(select->ColumnText(3));
    m.sent_ms = select->ColumnInt(4);
    m.receive_count = static_cast<int>(select->ColumnInt(5));
    m.first_receive_ms = select->ColumnInt(6);
    out->push_back(std::move(m));
  }
  return seqs;
}

// Hands out `deliveries` (sequence, new delivery token) with one UPDATE (DeliverSql): counted,
// hidden until `hidden_until_ms`, leased by `lease_owner`. Nothing to do for none.
Status MarkDelivered(Transaction& tx, const std::vector<std::pair<int64_t, int64_t>>& deliveries,
                     int64_t now_ms, int64_t hidden_until_ms, const std::string& lease_owner) {
  if (deliveries.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(Statement * deliver, tx.Prepare(DeliverSql(deliveries.size())));
  deliver->Bind(1, now_ms).Bind(2, hidden_until_ms);
  deliver->BindTextRef(3 + 2 * static_cast<int>(deliveries.size()), lease_owner);
  for (size_t r = 0; r < deliveries.size(); ++r) {
    const int b = 3 + 2 * static_cast<int>(r);
    deliver->Bind(b, deliveries[r].first).Bind(b + 1, deliveries[r].second);
  }
  return deliver->Run();
}

}  // namespace

Status EnsureQueueSchema(Transaction& tx) { return tx.EnsureSchema("queue", QueueMigrations()); }

Status EnqueueInTransaction(Transaction& tx, const std::string& queue_name,
                            const SendRequest& request, const Clock& clock, std::string* id_out,
                            int64_t max_body_bytes) {
  if (!tx.is_write()) return InternalError("EnqueueInTransaction needs a write transaction");
  QueueOptions check;
  check.name = queue_name;
  RETURN_IF_ERROR(internal::CheckQueueOptions(check));
  RETURN_IF_ERROR(CheckSendRequest(request, max_body_bytes));
  RETURN_IF_ERROR(EnsureQueueSchema(tx));
  return Insert(tx, queue_name, request, clock.NowMillis(), id_out);
}

// ---------------------------------------------------------------------------------------

SqliteQueue::SqliteQueue(std::shared_ptr<sqlite::Database> db, const QueueOptions& options,
                         const Clock& clock)
    : db_(std::move(db)), options_(options), clock_(clock), topic_(Topic(options.name)) {}

SqliteQueue::~SqliteQueue() {
  if (listener_id_ != 0) db_->RemoveCommitListener(listener_id_);
}

Result<std::unique_ptr<SqliteQueue>> SqliteQueue::Open(std::shared_ptr<sqlite::Database> db,
                                                       const QueueOptions& options,
                                                       const Clock& clock) {
  RETURN_IF_ERROR(internal::CheckQueueOptions(options));
  RETURN_IF_ERROR(db->Write([](Transaction& tx) { return EnsureQueueSchema(tx); }));
  std::unique_ptr<SqliteQueue> queue(new SqliteQueue(std::move(db), options, clock));
  SqliteQueue* self = queue.get();
  queue->listener_id_ = queue->db_->AddCommitListener([self](const std::string& topic) {
    if (topic != self->topic_) return;
    std::lock_guard<std::mutex> lock(self->wake_mu_);
    ++self->generation_;
    self->wake_cv_.notify_all();
  });
  return queue;
}

Result<std::string> SqliteQueue::Send(const SendRequest& request) {
  RETURN_IF_ERROR(CheckSendRequest(request, options_.max_body_bytes));
  std::string id;
  Status done = db_->Write(
      [&](Transaction& tx) { return Insert(tx, options_.name, request, clock_.NowMillis(), &id); });
  if (!done.ok()) return done;
  return id;
}

Result<std::vector<Result<std::string>>> SqliteQueue::SendBatch(
    const std::vector<SendRequest>& requests) {
  RETURN_IF_ERROR(CheckBatchSize(requests.size()));
  // Checked outside the write: the group commit's leader runs only the insert.
  std::vector<Result<std::string>> results;
  std::vector<const SendRequest*> valid;
  for (const auto& request : requests) {
    Status check = CheckSendRequest(request, options_.max_body_bytes);
    results.emplace_back(check.ok() ? Result<std::string>(std::string()) : check);
    if (check.ok()) valid.push_back(&request);
  }
  if (valid.empty()) return results;
  std::vector<std::string> ids;
  Status done = db_->Write([&](Transaction& tx) {
    return InsertRows(tx, options_.name, valid, clock_.NowMillis(), &ids);
  });
  if (!done.ok()) return done;
  size_t next = 0;
  for (auto& result : results) {
    if (result.ok()) result = std::move(ids[next++]);
  }
  return results;
}

Result<bool> SqliteQueue::AnyVisible() {
  bool any = false;
  Status done = db_->Read([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Statement * st,
                     tx.Prepare("SELECT 1 FROM queue_messages WHERE queue = ?1 AND dead = 0 "
                                "AND visible_at_ms <= ?2 LIMIT 1"));
    st->Bind(1, options_.name).Bind(2, clock_.NowMillis());
    ASSIGN_OR_RETURN(any, st->Step());
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return any;
}

Result<std::vector<Message>> SqliteQueue::ReceiveOnce(const ReceiveOptions& options,
                                                      bool check_first) {
  if (check_first) {
    ASSIGN_OR_RETURN(bool any, AnyVisible());
    if (!any) return std::vector<Message>{};
  }
  const int visibility = options.visibility_timeout_s.value_or(options_.visibility_timeout_s);
  std::vector<Message> out;
  Status done = db_->Write([&](Transaction& tx) -> Status {
    out.clear();
    const int64_t now = clock_.NowMillis();
    const int64_t cutoff = now - options_.retention_s * 1000;
    const int64_t dlq_cutoff = now - options_.dlq_retention_s * 1000;
    if (now - last_cleanup_ms_.load() >= 60'000) {
      ASSIGN_OR_RETURN(Statement * expire,
                       tx.Prepare("DELETE FROM queue_messages WHERE queue = ?1 AND "
                                  "((dead = 0 AND sent_ms < ?2) OR (dead = 1 AND dead_ms < ?3))"));
      RETURN_IF_ERROR(expire->Bind(1, options_.name).Bind(2, cutoff).Bind(3, dlq_cutoff).Run());
      tx.OnCommit([this, now] { last_cleanup_ms_.store(now); });
    }
    // Plain SELECT, then one UPDATE for all delivered rows (DeliverSql: an OR of primary keys,
    // each row's new receipt from a CASE), so a batch costs one statement, not one per row.
    // Expired rows are deleted and over-received ones dead-lettered one by one: both are rare.
    ASSIGN_OR_RETURN(Statement * select,
                     tx.Prepare("SELECT seq, id, body, attributes, sent_ms, receive_count, "
                                "first_receive_ms FROM queue_messages WHERE queue = ?1 AND "
                                "dead = 0 AND visible_at_ms <= ?2 ORDER BY visible_at_ms "
                                "LIMIT ?3"));
    ASSIGN_OR_RETURN(Statement * kill,
                     tx.Prepare("UPDATE queue_messages SET dead = 1, reason = ?3, "
                                "dead_ms = ?2, receipt = 0 WHERE seq = ?1"));
    ASSIGN_OR_RETURN(Statement * drop, tx.Prepare("DELETE FROM queue_messages WHERE seq = ?1"));
    const int want = options.max_messages;
    const int64_t hidden_until = now + int64_t{visibility} * 1000;
    // Rows skipped (expired or dead-lettered) leave the result set, so when a full pass
    // skipped some, another pass may find more. With a visibility of 0 a delivered row stays
    // visible: it is not handed out twice in one call (as on SQS); seeing only such rows ends
    // the call.
    std::vector<int64_t> delivered;
    for (;;) {
      const int ask = want - static_cast<int>(out.size());
      if (ask <= 0) break;
      const size_t before = out.size();
      ASSIGN_OR_RETURN(std::vector<int64_t> seqs,
                       ReadVisibleRows(select, options_.name, now, ask, delivered, &out));
      if (seqs.empty()) break;
      const std::vector<int64_t> tokens = NewDeliveryTokens(seqs.size());
      std::vector<std::pair<int64_t, int64_t>> deliveries;  // sequence, token
      size_t kept = before;
      for (size_t i = 0; i < seqs.size(); ++i) {
        Message& m = out[before + i];
        if (m.sent_ms < cutoff) {
          RETURN_IF_ERROR(drop->Bind(1, seqs[i]).Run());
          continue;
        }
        if (m.receive_count >= options_.max_receive_count) {
          RETURN_IF_ERROR(
              kill->Bind(1, seqs[i]).Bind(2, now).Bind(3, ReasonName(Reason::kMaxReceives)).Run());
          continue;
        }
        m.receive_count += 1;
        if (m.first_receive_ms == 0) m.first_receive_ms = now;
        m.receipt = MakeReceipt(seqs[i], tokens[i]);
        deliveries.emplace_back(seqs[i], tokens[i]);
        delivered.push_back(seqs[i]);
        if (kept != before + i) out[kept] = std::move(m);
        ++kept;
      }
      out.resize(kept);
      RETURN_IF_ERROR(MarkDelivered(tx, deliveries, now, hidden_until, lease_owner_));
      // All delivered, or fewer rows than asked: nothing more is visible.
      if (kept == before + seqs.size() || static_cast<int>(seqs.size()) < ask) break;
    }
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

void SqliteQueue::SetLeaseOwner(std::string owner) { lease_owner_ = std::move(owner); }

Result<int64_t> SqliteQueue::ReleaseLeasesOfOthers(std::string_view owner_prefix) {
  if (owner_prefix.empty()) return InvalidArgumentError("lease owner prefix is empty");
  int64_t released = 0;
  Status done = db_->Write([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        Statement * st,
        tx.Prepare("UPDATE queue_messages SET visible_at_ms = ?2, lease_owner = '' WHERE "
                   "queue = ?1 AND dead = 0 AND visible_at_ms > ?2 AND lease_owner <> '' AND "
                   "lease_owner <> ?3 AND substr(lease_owner, 1, length(?4)) = ?4"));
    RETURN_IF_ERROR(st->BindTextRef(1, options_.name)
                        .Bind(2, clock_.NowMillis())
                        .BindTextRef(3, lease_owner_)
                        .Bind(4, owner_prefix)
                        .Run());
    released = tx.Changes();
    if (released > 0) tx.Signal(topic_);
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return released;
}

Result<std::vector<Message>> SqliteQueue::Receive(const ReceiveOptions& options) {
  RETURN_IF_ERROR(CheckReceiveOptions(options));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_seconds);
  bool first = true;
  for (;;) {
    int64_t seen;
    {
      std::lock_guard<std::mutex> lock(wake_mu_);
      seen = generation_;
    }
    // The first attempt goes straight to the write (a busy queue has messages); later
    // polls first look in a read snapshot, so an idle long-poll never takes the write lock.
    ASSIGN_OR_RETURN(auto messages, ReceiveOnce(options, /*check_first=*/!first));
    first = false;
    const auto now = std::chrono::steady_clock::now();
    if (!messages.empty() || now >= deadline) return messages;
    if (options.abort != nullptr && options.abort->load()) return messages;
    // Wake on an in-process commit to this queue, else poll for other processes' sends
    // (and for delayed messages coming due).
    const auto poll_until =
        std::min(deadline, now + std::chrono::milliseconds(kCrossProcessPollMs));
    std::unique_lock<std::mutex> lock(wake_mu_);
    wake_cv_.wait_until(lock, poll_until, [&] { return generation_ != seen; });
  }
}

Status SqliteQueue::DeleteIn(Transaction& tx, const std::string& receipt) {
  int64_t seq, token;
  RETURN_IF_ERROR(ParseReceipt(receipt, &seq, &token));
  ASSIGN_OR_RETURN(Statement * st, tx.Prepare(DeleteSql(1)));
  // No row: the message is gone (fine) or was received again (the newer delivery stays).
  return st->BindTextRef(1, options_.name).Bind(2, seq).Bind(3, token).Run();
}

Status SqliteQueue::Delete(const std::string& receipt) {
  int64_t seq, token;
  RETURN_IF_ERROR(ParseReceipt(receipt, &seq, &token));
  return db_->Write([&](Transaction& tx) { return DeleteIn(tx, receipt); });
}

Result<std::vector<Status>> SqliteQueue::DeleteBatch(const std::vector<std::string>& receipts) {
  RETURN_IF_ERROR(CheckBatchSize(receipts.size()));
  std::vector<Status> results;
  std::vector<std::pair<int64_t, int64_t>> deliveries;  // sequence, token
  for (const auto& receipt : receipts) {
    int64_t seq, token;
    Status s = ParseReceipt(receipt, &seq, &token);
    results.push_back(s);
    if (s.ok()) deliveries.emplace_back(seq, token);
  }
  if (deliveries.empty()) return results;
  Status done = db_->Write([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Statement * st, tx.Prepare(DeleteSql(deliveries.size())));
    st->BindTextRef(1, options_.name);
    for (size_t r = 0; r < deliveries.size(); ++r) {
      const int b = 2 + 2 * static_cast<int>(r);
      st->Bind(b, deliveries[r].first).Bind(b + 1, deliveries[r].second);
    }
    // Rows not found are gone already (fine) or were received again (the newer delivery
    // stays): both succeed, as on SQS.
    return st->Run();
  });
  if (!done.ok()) return done;
  return results;
}

Status SqliteQueue::ChangeVisibilityIn(Transaction& tx, const std::string& receipt, int seconds,
                                       bool keep_lease) {
  RETURN_IF_ERROR(CheckVisibility(seconds));
  int64_t seq, token;
  RETURN_IF_ERROR(ParseReceipt(receipt, &seq, &token));
  // A heartbeat keeps the lease (and its owner); a retry back-off ends it.
  ASSIGN_OR_RETURN(Statement * st,
                   tx.Prepare("UPDATE queue_messages SET visible_at_ms = ?4, lease_owner = "
                              "CASE WHEN ?5 THEN lease_owner ELSE '' END WHERE seq = ?1 AND "
                              "receipt = ?2 AND queue = ?3 AND dead = 0"));
  RETURN_IF_ERROR(st->Bind(1, seq)
                      .Bind(2, token)
                      .Bind(3, options_.name)
                      .Bind(4, clock_.NowMillis() + int64_t{seconds} * 1000)
                      .Bind(5, int64_t{keep_lease ? 1 : 0})
                      .Run());
  if (tx.Changes() == 0) {
    return FailedPreconditionError("receipt " + receipt +
                                   " is stale: the message was received again or is gone");
  }
  if (seconds == 0) tx.Signal(topic_);
  return Status::Ok();
}

Status SqliteQueue::ChangeVisibility(const std::string& receipt, int seconds) {
  RETURN_IF_ERROR(CheckVisibility(seconds));
  return db_->Write(
      [&](Transaction& tx) { return ChangeVisibilityIn(tx, receipt, seconds, true); });
}

Result<std::vector<Status>> SqliteQueue::ChangeVisibilityBatch(
    const std::vector<std::pair<std::string, int>>& receipts_and_seconds) {
  RETURN_IF_ERROR(CheckBatchSize(receipts_and_seconds.size()));
  std::vector<Status> results;
  Status done = db_->Write([&](Transaction& tx) -> Status {
    results.clear();
    for (const auto& [receipt, seconds] : receipts_and_seconds) {
      Status s = ChangeVisibilityIn(tx, receipt, seconds, /*keep_lease=*/true);
      if (!s.ok() && s.code() != StatusCode::kInvalidArgument &&
          s.code() != StatusCode::kFailedPrecondition) {
        return s;
      }
      results.push_back(s);
    }
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return results;
}

Status SqliteQueue::Fail(const Message& message, const Failure& failure) {
  if (!failure.permanent) {
    RETURN_IF_ERROR(CheckVisibility(failure.retry_after_s));
    return db_->Write([&](Transaction& tx) {
      return ChangeVisibilityIn(tx, message.receipt, failure.retry_after_s, /*keep_lease=*/false);
    });
  }
  int64_t seq, token;
  RETURN_IF_ERROR(ParseReceipt(message.receipt, &seq, &token));
  return db_->Write([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Statement * st,
                     tx.Prepare("UPDATE queue_messages SET dead = 1, reason = ?4, dead_ms = ?5, "
                                "receipt = 0 WHERE seq = ?1 AND receipt = ?2 AND queue = ?3 AND "
                                "dead = 0"));
    RETURN_IF_ERROR(st->Bind(1, seq)
                        .Bind(2, token)
                        .Bind(3, options_.name)
                        .Bind(4, failure.reason.empty() ? std::string(ReasonName(Reason::kInternal))
                                                        : failure.reason)
                        .Bind(5, clock_.NowMillis())
                        .Run());
    if (tx.Changes() == 0) {
      return FailedPreconditionError("receipt " + message.receipt +
                                     " is stale: the message was received again or is gone");
    }
    return Status::Ok();
  });
}

Result<QueueStats> SqliteQueue::Stats() {
  QueueStats stats;
  Status done = db_->Read([&](Transaction& tx) -> Status {
    const int64_t now = clock_.NowMillis();
    ASSIGN_OR_RETURN(
        Statement * st,
        tx.Prepare("SELECT "
                   "coalesce(sum(dead = 0 AND sent_ms >= ?3 AND visible_at_ms <= ?2), 0), "
                   "coalesce(sum(dead = 0 AND sent_ms >= ?3 AND visible_at_ms > ?2 AND "
                   "receive_count > 0), 0), "
                   "coalesce(sum(dead = 0 AND sent_ms >= ?3 AND visible_at_ms > ?2 AND "
                   "receive_count = 0), 0), "
                   "coalesce(sum(dead = 1 AND dead_ms >= ?4), 0), "
                   "min(CASE WHEN dead = 0 AND sent_ms >= ?3 THEN sent_ms END) "
                   "FROM queue_messages WHERE queue = ?1"));
    st->Bind(1, options_.name)
        .Bind(2, now)
        .Bind(3, now - options_.retention_s * 1000)
        .Bind(4, now - options_.dlq_retention_s * 1000);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return InternalError("queue stats: no row");
    stats.visible = st->ColumnInt(0);
    stats.in_flight = st->ColumnInt(1);
    stats.delayed = st->ColumnInt(2);
    stats.dlq = st->ColumnInt(3);
    stats.oldest_age_s =
        st->ColumnIsNull(4) ? 0 : std::max<int64_t>(0, (now - st->ColumnInt(4)) / 1000);
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return stats;
}

Result<std::vector<DeadLetter>> SqliteQueue::ListDeadLetters(int max_items) {
  std::vector<DeadLetter> out;
  Status done = db_->Read([&](Transaction& tx) -> Status {
    const int64_t now = clock_.NowMillis();
    ASSIGN_OR_RETURN(
        Statement * st,
        tx.Prepare(
            "SELECT id, body, attributes, receive_count, reason, sent_ms, "
            "dead_ms, first_receive_ms FROM queue_messages WHERE queue = ?1 AND dead = 1 AND "
            "dead_ms >= ?2 ORDER BY dead_ms, seq LIMIT ?3"));
    st->Bind(1, options_.name)
        .Bind(2, now - options_.dlq_retention_s * 1000)
        .Bind(3, max_items <= 0 ? int64_t{-1} : int64_t{max_items});
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      DeadLetter d;
      d.id = st->ColumnText(0);
      d.body = st->ColumnText(1);
      d.attributes = DecodeAttributes(st->ColumnText(2));
      d.receive_count = static_cast<int>(st->ColumnInt(3));
      d.reason = st->ColumnText(4);
      d.sent_ms = st->ColumnInt(5);
      d.dead_ms = st->ColumnInt(6);
      d.first_receive_ms = st->ColumnInt(7);
      out.push_back(std::move(d));
    }
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return out;
}

Result<int64_t> SqliteQueue::Redrive(const std::vector<std::string>& ids) {
  int64_t moved = 0;
  Status done = db_->Write([&](Transaction& tx) -> Status {
    moved = 0;
    const int64_t now = clock_.NowMillis();
    const char* kSet =
        "UPDATE queue_messages SET dead = 0, reason = '', dead_ms = 0, receive_count = 0, "
        "first_receive_ms = 0, receipt = 0, sent_ms = ?2, visible_at_ms = ?2 "
        "WHERE queue = ?1 AND dead = 1 AND dead_ms >= ?3";
    const int64_t dlq_cutoff = now - options_.dlq_retention_s * 1000;
    if (ids.empty()) {
      ASSIGN_OR_RETURN(Statement * st, tx.Prepare(kSet));
      RETURN_IF_ERROR(st->Bind(1, options_.name).Bind(2, now).Bind(3, dlq_cutoff).Run());
      moved = tx.Changes();
    } else {
      ASSIGN_OR_RETURN(Statement * st, tx.Prepare(std::string(kSet) + " AND id = ?4"));
      for (const auto& id : ids) {
        RETURN_IF_ERROR(
            st->Bind(1, options_.name).Bind(2, now).Bind(3, dlq_cutoff).Bind(4, id).Run());
        moved += tx.Changes();
      }
    }
    if (moved > 0) tx.Signal(topic_);
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return moved;
}

Status SqliteQueue::Purge() {
  return db_->Write([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Statement * st,
                     tx.Prepare("DELETE FROM queue_messages WHERE queue = ?1 AND dead = 0"));
    return st->Bind(1, options_.name).Run();
  });
}

Status SqliteQueue::PurgeDeadLetters() {
  return db_->Write([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Statement * st,
                     tx.Prepare("DELETE FROM queue_messages WHERE queue = ?1 AND dead = 1"));
    return st->Bind(1, options_.name).Run();
  });
}

}  // namespace thumbflow
