// SQLite-specific behaviour: the outbox (EnqueueInTransaction), several queues and handles
// in one file. The port's semantics are covered by the conformance suite.
#include "queue/sqlite_queue.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/testing/temp_dir.h"

namespace thumbflow {
namespace {

class SqliteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
    auto db = sqlite::Database::Open((dir_ / "thumbflow.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
  }
  void TearDown() override { db_.reset(); }
  std::unique_ptr<SqliteQueue> OpenQueue(const std::string& name) {
    QueueOptions options;
    options.name = name;
    auto q = SqliteQueue::Open(db_, options, clock_);
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    return q.ok() ? std::move(q).value() : nullptr;
  }

  testing::TempDir tmp_;
  std::filesystem::path dir_;
  std::shared_ptr<sqlite::Database> db_;
  ManualClock clock_;
};

TEST_F(SqliteQueueTest, EnqueueInTransactionCommitsWithTheCallersRows) {
  // A fresh file: the outbox creates the queue tables itself.
  ASSERT_TRUE(db_->Write([](sqlite::Transaction& tx) {
                   return tx.Exec("CREATE TABLE objects(key TEXT PRIMARY KEY)");
                 })
                  .ok());
  std::string id;
  Status s = db_->Write([&](sqlite::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec("INSERT INTO objects VALUES('uploads/a.jpg')"));
    return EnqueueInTransaction(tx, "thumbnails", SendRequest{"event-a", {}, 0}, clock_, &id);
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(id.empty());

  // A failing transaction adds neither the row nor the message.
  s = db_->Write([&](sqlite::Transaction& tx) -> Status {
    RETURN_IF_ERROR(
        EnqueueInTransaction(tx, "thumbnails", SendRequest{"event-b", {}, 0}, clock_, nullptr));
    return tx.Exec("INSERT INTO objects VALUES('uploads/a.jpg')");  // duplicate key
  });
  EXPECT_FALSE(s.ok());

  // Bad input: nothing stored, the caller sees InvalidArgument.
  s = db_->Write([&](sqlite::Transaction& tx) {
    return EnqueueInTransaction(tx, "thumbnails", SendRequest{"\xff", {}, 0}, clock_, nullptr);
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);

  auto q = OpenQueue("thumbnails");
  ASSERT_NE(q, nullptr);
  auto got = q->Receive(ReceiveOptions{10, std::nullopt, 0});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, "event-a");
  EXPECT_EQ((*got)[0].id, id);
}

TEST_F(SqliteQueueTest, EnqueueWakesLongPollAtCommit) {
  auto q = OpenQueue("thumbnails");
  ASSERT_NE(q, nullptr);
  std::thread producer([&] {
    // Only after the receiver is (very likely) waiting; correctness does not depend on it.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(db_->Write([&](sqlite::Transaction& tx) {
                     return EnqueueInTransaction(tx, "thumbnails", SendRequest{"e", {}, 0}, clock_,
                                                 nullptr);
                   })
                    .ok());
  });
  auto got = q->Receive(ReceiveOptions{1, std::nullopt, 20});
  producer.join();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, "e");
}

TEST_F(SqliteQueueTest, QueuesInOneFileAreSeparate) {
  auto a = OpenQueue("a");
  auto b = OpenQueue("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Send(SendRequest{"for-a", {}, 0}).ok());
  auto from_b = b->Receive(ReceiveOptions{10, std::nullopt, 0});
  ASSERT_TRUE(from_b.ok());
  EXPECT_TRUE(from_b->empty());
  auto stats = a->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible, 1);
  // A receipt of queue a means nothing to queue b.
  auto got = a->Receive(ReceiveOptions{1, std::nullopt, 0});
  ASSERT_TRUE(got.ok() && got->size() == 1);
  EXPECT_TRUE(b->Delete((*got)[0].receipt).ok());
  EXPECT_EQ(a->Stats()->in_flight, 1);
}

TEST_F(SqliteQueueTest, SecondDatabaseHandleSharesTheQueue) {
  auto q = OpenQueue("thumbnails");
  auto other_db = sqlite::Database::Open(db_->path());
  ASSERT_TRUE(other_db.ok());
  auto other = SqliteQueue::Open(*other_db, QueueOptions{}, clock_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(q->Send(SendRequest{"x", {}, 0}).ok());
  auto got = (*other)->Receive(ReceiveOptions{1, std::nullopt, 1});
  ASSERT_TRUE(got.ok() && got->size() == 1);
  auto again = q->Receive(ReceiveOptions{1, std::nullopt, 0});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());  // invisible to every handle
}

TEST_F(SqliteQueueTest, DeleteBatchActsOnlyOnCurrentDeliveries) {
  auto q = OpenQueue("thumbnails");
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Send(SendRequest{"a", {}, 0}).ok());
  ASSERT_TRUE(q->Send(SendRequest{"b", {}, 0}).ok());
  auto first = q->Receive(ReceiveOptions{10, 0, 0});  // visibility 0: stays visible
  ASSERT_TRUE(first.ok() && first->size() == 2);
  auto second = q->Receive(ReceiveOptions{10, 30, 0});
  ASSERT_TRUE(second.ok() && second->size() == 2);
  // Stale receipts only (both messages were received again since): nothing goes.
  auto stale = q->DeleteBatch({(*first)[0].receipt, (*first)[1].receipt});
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(q->Stats()->in_flight, 2);
  // One message twice (stale and current receipt), the other current, one malformed.
  const std::string& a_current =
      (*second)[0].id == (*first)[0].id ? (*second)[0].receipt : (*second)[1].receipt;
  auto mixed = q->DeleteBatch({(*first)[0].receipt, a_current, "not-a-receipt"});
  ASSERT_TRUE(mixed.ok());
  ASSERT_EQ(mixed->size(), 3u);
  EXPECT_TRUE((*mixed)[0].ok());
  EXPECT_TRUE((*mixed)[1].ok());
  EXPECT_EQ((*mixed)[2].code(), StatusCode::kInvalidArgument);
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->in_flight, 1);  // only the message whose current receipt was given went
}

TEST_F(SqliteQueueTest, UpgradeFromTheFirstSchemaKeepsMessages) {
  // A file as the first version of the queue tables left it (id with a UNIQUE index).
  Status made = db_->Write([&](sqlite::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(
        "CREATE TABLE schema_versions(component TEXT PRIMARY KEY, version INTEGER NOT NULL);"
        "INSERT INTO schema_versions VALUES('queue', 1);"
        "CREATE TABLE queue_messages(seq INTEGER PRIMARY KEY, queue TEXT NOT NULL, "
        "id TEXT NOT NULL UNIQUE, body BLOB NOT NULL, attributes TEXT NOT NULL DEFAULT '', "
        "sent_ms INTEGER NOT NULL, visible_at_ms INTEGER NOT NULL, "
        "receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER NOT NULL DEFAULT 0, "
        "receipt INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0, "
        "reason TEXT NOT NULL DEFAULT '', dead_ms INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX queue_messages_ready ON queue_messages(queue, dead, visible_at_ms);"));
    ASSIGN_OR_RETURN(sqlite::Statement * insert,
                     tx.Prepare("INSERT INTO queue_messages(seq, queue, id, body, sent_ms, "
                                "visible_at_ms) VALUES(7, 'thumbnails', 'old-id', 'old-body', "
                                "?1, ?1)"));
    return insert->Bind(1, clock_.NowMillis()).Run();
  });
  ASSERT_TRUE(made.ok()) << made.ToString();

  auto q = OpenQueue("thumbnails");
  ASSERT_NE(q, nullptr);
  auto got = q->Receive(ReceiveOptions{10, std::nullopt, 0});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, "old-id");
  EXPECT_EQ((*got)[0].body, "old-body");
  EXPECT_EQ((*got)[0].receipt.rfind("7.", 0), 0u);  // same sequence number

  int64_t indexes = -1;
  ASSERT_TRUE(db_->Read([&](sqlite::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(sqlite::Statement * st,
                                    tx.Prepare("SELECT count(*) FROM sqlite_master WHERE "
                                               "type = 'index' AND tbl_name = 'queue_messages'"));
                   ASSIGN_OR_RETURN(bool row, st->Step());
                   if (row) indexes = st->ColumnInt(0);
                   st->Reset();
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(indexes, 1);  // queue_messages_ready only
}

TEST_F(SqliteQueueTest, LeasesOfADeadServeAreReleasedAndOthersAreNot) {
  // Four messages: leased by a serve that died, by the live serve, by a client that records
  // no owner, and one the dead serve put into a retry back-off.
  auto dead = OpenQueue("thumbnails");
  auto live = OpenQueue("thumbnails");
  auto client = OpenQueue("thumbnails");
  ASSERT_TRUE(dead && live && client);
  dead->SetLeaseOwner("serve:dead");
  live->SetLeaseOwner("serve:live");
  for (const char* body : {"dead-1", "backoff", "live-1", "client-1"}) {
    ASSERT_TRUE(dead->Send(SendRequest{body, {}, 0}).ok());
  }
  auto held_by_dead = dead->Receive(ReceiveOptions{2, 600, 0});
  ASSERT_TRUE(held_by_dead.ok());
  ASSERT_EQ(held_by_dead->size(), 2u);
  ASSERT_TRUE(dead->Fail((*held_by_dead)[1], Failure{"unavailable", false, 300}).ok());
  auto held_by_live = live->Receive(ReceiveOptions{1, 600, 0});
  auto held_by_client = client->Receive(ReceiveOptions{1, 600, 0});
  ASSERT_TRUE(held_by_live.ok() && held_by_client.ok());
  ASSERT_EQ(held_by_live->size() + held_by_client->size(), 2u);

  auto released = live->ReleaseLeasesOfOthers("serve:");
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(*released, 1);
  // Only the dead serve's lease is visible again, at once (the clock has not moved).
  auto again = live->Receive(ReceiveOptions{10, 600, 0});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].body, (*held_by_dead)[0].body);
  EXPECT_EQ((*again)[0].receive_count, 2);
  // The live serve's own leases (that one included) stay.
  released = live->ReleaseLeasesOfOthers("serve:");
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 0);
  auto stats = live->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible, 0);
  EXPECT_EQ(stats->in_flight + stats->delayed, 4);
}

}  // namespace
}  // namespace thumbflow
