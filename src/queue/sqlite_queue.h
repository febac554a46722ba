// SqliteQueue: the embedded durable queue, one named queue (and its dead-letter queue) in the
// shared SQLite file (sqlite::Database). Several named queues, several SqliteQueue objects
// and several processes may use one file at once.
//
// Durability: Send() returns after the message is committed to the WAL and fsynced; writes
// of concurrent callers share commits (group commit). Receives, deletes and visibility
// changes are durable the same way, so a process killed at any instant loses no
// acknowledged send and a received-but-undeleted message reappears after its visibility
// timeout.
//
// Time (visibility, delay, retention) comes from the injected Clock. Long-poll waits are
// real time: an in-process send wakes a waiting Receive() at once (commit hook); a send from
// another process is seen within kCrossProcessPollMs. The first attempt of a Receive() goes
// straight to a write transaction; the polls of a waiting one look in a read snapshot first,
// so an idle long-poll does not take the file's write lock.
//
// Batches: SendBatch, DeleteBatch and each pass of a Receive() run one SQL statement for the
// whole batch (not one per message).
//
// Storage: table queue_messages (component "queue" of sqlite::Database's schema registry;
// version 3: no index on the message id; each lease records its owner; see the migrations
// in sqlite_queue.cc).
// A dead letter stays in the same table, flagged, with its reason; its body is never
// rewritten. Retention is enforced when reading (expired messages are never handed out nor
// counted) and expired rows are deleted by Receive() at most once a minute.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "queue/queue.h"
#include "sqlite/database.h"

namespace thumbflow {

inline constexpr int kCrossProcessPollMs = 50;

// Adds one message to `queue_name` inside the caller's write transaction (for example the
// object store's, so that an object's index row and its upload event commit together: the
// outbox). The message becomes receivable exactly when `tx` commits; in-process long-polls
// on that queue wake at that moment. Validates like Queue::Send (InvalidArgument, nothing
// added); creates the queue tables when missing. `clock` gives the send time (delay and
// retention count from it). `id_out` (may be null) receives the message id.
Status EnqueueInTransaction(sqlite::Transaction& tx, const std::string& queue_name,
                            const SendRequest& request, const Clock& clock, std::string* id_out,
                            int64_t max_body_bytes = 256 * 1024);

// Creates or upgrades the queue tables (idempotent). Open() calls it; exposed for tools.
Status EnsureQueueSchema(sqlite::Transaction& tx);

class SqliteQueue final : public Queue {
 public:
  // `clock` must outlive the queue. Fails with InvalidArgument for bad options, or the
  // database's error when the tables cannot be created.
  static Result<std::unique_ptr<SqliteQueue>> Open(std::shared_ptr<sqlite::Database> db,
                                                   const QueueOptions& options, const Clock& clock);
  ~SqliteQueue() override;

  Result<std::string> Send(const SendRequest& request) override;
  Result<std::vector<Result<std::string>>> SendBatch(
      const std::vector<SendRequest>& requests) override;
  Result<std::vector<Message>> Receive(const ReceiveOptions& options) override;
  Status Delete(const std::string& receipt) override;
  Result<std::vector<Status>> DeleteBatch(const std::vector<std::string>& receipts) override;
  Status ChangeVisibility(const std::string& receipt, int seconds) override;
  Result<std::vector<Status>> ChangeVisibilityBatch(
      const std::vector<std::pair<std::string, int>>& receipts_and_seconds) override;
  Status Fail(const Message& message, const Failure& failure) override;
  Result<QueueStats> Stats() override;
  Result<std::vector<DeadLetter>> ListDeadLetters(int max_items) override;
  Result<int64_t> Redrive(const std::vector<std::string>& ids) override;
  Status Purge() override;
  Status PurgeDeadLetters() override;

  // Lease owners: every delivery this object hands out records `owner` with its lease
  // (cleared when the delivery ends in a retry back-off). Set it before the first
  // Receive(); empty (the default) records no owner. `thumbflow serve` uses
  // "serve:<random per start>".
  void SetLeaseOwner(std::string owner);
  // Makes visible at once every in-flight delivery of this queue whose lease owner starts
  // with `owner_prefix` and is not this object's owner; returns how many. Call it only when
  // those owners are known to be dead (serve: it holds DIR/serve.lock, so no other serve is
  // alive); leases of other owners (none, or another prefix) are never touched.
  Result<int64_t> ReleaseLeasesOfOthers(std::string_view owner_prefix);

  const QueueOptions& options() const { return options_; }
  sqlite::Database& database() const { return *db_; }

 private:
  SqliteQueue(std::shared_ptr<sqlite::Database> db, const QueueOptions& options,
              const Clock& clock);
  // One attempt to take messages. `check_first`: look in a read snapshot first and skip
  // the write when nothing is visible.
  Result<std::vector<Message>> ReceiveOnce(const ReceiveOptions& options, bool check_first);
  Result<bool> AnyVisible();
  Status ChangeVisibilityIn(sqlite::Transaction& tx, const std::string& receipt, int seconds,
                            bool keep_lease);
  Status DeleteIn(sqlite::Transaction& tx, const std::string& receipt);

  std::shared_ptr<sqlite::Database> db_;
  QueueOptions options_;
  const Clock& clock_;
  std::string topic_;
  std::string lease_owner_;
  int64_t listener_id_ = 0;
  std::atomic<int64_t> last_cleanup_ms_{0};

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  int64_t generation_ = 0;  // bumped on every commit that added a message to this queue
};

}  // namespace thumbflow
