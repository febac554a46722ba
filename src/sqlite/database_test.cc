#include "sqlite/database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/disk.h"
#include "core/testing/temp_dir.h"

namespace thumbflow::sqlite {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
    path_ = (dir_ / "thumbflow.db").string();
    auto db = Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    ASSERT_TRUE(
        db_->Write([](Transaction& tx) { return tx.EnsureSchema("test", kMigrations); }).ok());
  }
  void TearDown() override { db_.reset(); }

  Status Insert(Transaction& tx, const std::string& v) {
    ASSIGN_OR_RETURN(Statement * st, tx.Prepare("INSERT INTO items(v) VALUES(?1)"));
    return st->Bind(1, v).Run();
  }

  Result<int64_t> Count(Database& db) {
    int64_t n = -1;
    RETURN_IF_ERROR(db.Read([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(Statement * st, tx.Prepare("SELECT count(*) FROM items"));
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) return InternalError("no row");
      n = st->ColumnInt(0);
      return Status::Ok();
    }));
    return n;
  }

  inline static const std::vector<std::string> kMigrations = {
      "CREATE TABLE items(id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)",
      "ALTER TABLE items ADD COLUMN extra INTEGER NOT NULL DEFAULT 0",
  };
  testing::TempDir tmp_;
  std::filesystem::path dir_;
  std::string path_;
  std::shared_ptr<Database> db_;
};

TEST_F(DatabaseTest, SchemaIsIdempotentAcrossOpens) {
  auto again = Database::Open(path_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(
      (*again)->Write([](Transaction& tx) { return tx.EnsureSchema("test", kMigrations); }).ok());
  EXPECT_TRUE(
      (*again)->Read([](Transaction& tx) { return tx.EnsureSchema("test", kMigrations); }).ok());
  // Fewer migrations known than the file has: refused.
  Status older = (*again)->Write(
      [](Transaction& tx) { return tx.EnsureSchema("other", {"CREATE TABLE other(x)"}); });
  EXPECT_TRUE(older.ok()) << older.ToString();
}

TEST_F(DatabaseTest, FailingFunctionRollsBackOnlyItself) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) { return Insert(tx, "a"); }).ok());
  // Duplicate value violates UNIQUE: only that function fails.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Status s = db_->Write([&](Transaction& tx) -> Status {
        RETURN_IF_ERROR(Insert(tx, i % 2 == 0 ? "b" + std::to_string(i) : "x" + std::to_string(i)));
        if (i % 2 == 1) return Insert(tx, "a");  // fails after a successful insert
        return Status::Ok();
      });
      (s.ok() ? ok : failed)++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(failed.load(), 4);
  auto n = Count(*db_);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5);  // "a" + four "b"s, none of the "x"s
}

TEST_F(DatabaseTest, ConcurrentWritersShareCommits) {
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Status s = db_->Write([&](Transaction& tx) {
          return Insert(tx, std::to_string(t) + "-" + std::to_string(i));
        });
        ASSERT_TRUE(s.ok()) << s.ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto n = Count(*db_);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kThreads * kEach);
  EXPECT_GE(db_->write_count(), kThreads * kEach);
  EXPECT_LT(db_->commit_count(), db_->write_count());  // batching happened
}

TEST_F(DatabaseTest, HooksRunOnlyAfterCommit) {
  std::vector<std::string> seen;
  int64_t id = db_->AddCommitListener([&](const std::string& topic) { seen.push_back(topic); });
  int committed = 0;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) {
                   tx.OnCommit([&] { ++committed; });
                   tx.Signal("queue:q");
                   return Insert(tx, "h");
                 })
                  .ok());
  EXPECT_FALSE(db_->Write([&](Transaction& tx) {
                    tx.OnCommit([&] { ++committed; });
                    tx.Signal("queue:r");
                    return Insert(tx, "h");  // duplicate: rolled back
                  })
                   .ok());
  db_->RemoveCommitListener(id);
  EXPECT_EQ(committed, 1);
  EXPECT_EQ(seen, std::vector<std::string>{"queue:q"});
}

TEST_F(DatabaseTest, SecondHandleSeesCommittedData) {
  auto other = Database::Open(path_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(db_->Write([&](Transaction& tx) { return Insert(tx, "v"); }).ok());
  auto n = Count(**other);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  // Reads are read-only.
  Status s = (*other)->Read([&](Transaction& tx) { return Insert(tx, "w"); });
  EXPECT_FALSE(s.ok());
}

TEST_F(DatabaseTest, ErrorsNameTheOperation) {
  Status s = db_->Write([](Transaction& tx) { return tx.Prepare("SELECT nope FROM").status(); });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("prepare SELECT nope FROM"), std::string::npos) << s.message();
  auto bad = Database::Open("/nonexistent-dir/x/thumbflow.db");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/nonexistent-dir/x/thumbflow.db"), std::string::npos);
}

// A full database file system (SQLITE_FULL; here through max_page_count, which SQLite
// reports exactly as a full disk) fails the write cleanly and retryably: nothing committed
// before is lost, and the same write succeeds once there is room.
TEST_F(DatabaseTest, AFullDiskFailsTheWriteCleanlyAndRetryably) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) { return Insert(tx, "before"); }).ok());
  auto set_max_pages = [&](const std::string& pages) {
    return db_->Write([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(Statement * st, tx.Prepare("PRAGMA max_page_count = " + pages));
      return st->Step().status();
    });
  };
  int64_t pages = 0;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(Statement * st, tx.Prepare("PRAGMA page_count"));
                   ASSIGN_OR_RETURN(bool row, st->Step());
                   if (row) pages = st->ColumnInt(0);
                   return Status::Ok();
                 })
                  .ok());
  ASSERT_TRUE(set_max_pages(std::to_string(pages)).ok());
  const std::string big(256 * 1024, 'x');
  Status full = db_->Write([&](Transaction& tx) { return Insert(tx, big); });
  ASSERT_FALSE(full.ok());
  EXPECT_TRUE(IsNoSpace(full)) << full.ToString();
  EXPECT_TRUE(full.retryable());
  auto count = Count(*db_);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1) << "the committed row survives, the failed one is not half there";

  ASSERT_TRUE(set_max_pages("1073741823").ok());
  ASSERT_TRUE(db_->Write([&](Transaction& tx) { return Insert(tx, big); }).ok());
  EXPECT_EQ(*Count(*db_), 2);
}

TEST_F(DatabaseTest, TwoOpenersOfANewFileBothSucceed) {
  // Two openers of a new file race to switch it to WAL; neither may fail with "database is
  // locked" (SQLite answers that at once, without the busy handler, in this race).
  for (int round = 0; round < 20; ++round) {
    const std::string path = (dir_ / ("fresh-" + std::to_string(round) + ".db")).string();
    std::atomic<int> ready{0};
    std::vector<Status> results(2);
    std::vector<std::thread> openers;
    for (int i = 0; i < 2; ++i) {
      openers.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        auto db = Database::Open(path);
        results[static_cast<size_t>(i)] = db.ok() ? Status::Ok() : db.status();
      });
    }
    for (auto& t : openers) t.join();
    for (const auto& r : results) ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.ToString();
  }
}

}  // namespace
}  // namespace thumbflow::sqlite
