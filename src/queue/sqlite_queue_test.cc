// SQLite-specific behaviour: the outbox (EnqueueInTransaction), several queues and handles
// in one file. The port's semantics are covered by the conformance suite.
#include "queue/sqlite_queue.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace thumbflow {
namespace {

class SqliteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tf-sqlite-queue-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = sqlite::Database::Open((dir_ / "thumbflow.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<SqliteQueue> OpenQueue(const std::string& name) {
    QueueOptions options;
    options.name = name;
    auto q = SqliteQueue::Open(db_, options, clock_);
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    return q.ok() ? std::move(q).value() : nullptr;
  }

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

}  // namespace
}  // namespace thumbflow
