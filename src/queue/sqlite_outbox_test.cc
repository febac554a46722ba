// The SqliteOutbox on its own: a database with the store's counter table and the queue, no
// object store. What fires, the sequencer, the records, and that a failure reaches the caller
// (whose transaction then rolls back: LocalObjectStoreOutboxTest.AFailingOutboxRollsTheChangeBack).
#include "queue/sqlite_outbox.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/testing/temp_dir.h"
#include "events/s3_event.h"
#include "queue/sqlite_queue.h"
#include "sqlite/database.h"

namespace thumbflow {
namespace {

class SqliteOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    auto db = sqlite::Database::Open(tmp_.path() + "/thumbflow.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    // The counter table LocalObjectStore creates in the same database (its schema).
    ASSERT_TRUE(db_->Write([](sqlite::Transaction& tx) {
                     return tx.Exec(
                         "CREATE TABLE store_counters(name TEXT PRIMARY KEY, "
                         "value INTEGER NOT NULL) WITHOUT ROWID");
                   })
                    .ok());
  }

  // Publishes `change` in a write transaction of its own.
  Status Publish(Outbox& outbox, const ObjectChange& change) {
    return db_->Write([&](sqlite::Transaction& tx) { return outbox.Publish(tx, change); });
  }

  // The S3 event records now on queue `name` (left in flight).
  std::vector<S3EventRecord> Received(const std::string& name) {
    QueueOptions options;
    options.name = name;
    auto queue = SqliteQueue::Open(db_, options, clock_);
    EXPECT_TRUE(queue.ok()) << queue.status().ToString();
    std::vector<S3EventRecord> records;
    if (!queue.ok()) return records;
    ReceiveOptions receive;
    receive.max_messages = 10;
    receive.visibility_timeout_s = 3600;
    auto messages = (*queue)->Receive(receive);
    EXPECT_TRUE(messages.ok()) << messages.status().ToString();
    if (!messages.ok()) return records;
    for (const Message& m : *messages) {
      auto event = ParseS3Event(m.body);
      EXPECT_TRUE(event.ok()) << event.status().ToString();
      if (event.ok()) records.insert(records.end(), event->records.begin(), event->records.end());
    }
    return records;
  }

  static ObjectChange Created(std::string key) {
    ObjectChange change;
    change.bucket = "images";
    change.key = std::move(key);
    change.event_name = "ObjectCreated:Put";
    change.size = 42;
    change.etag = "\"0123456789abcdef0123456789abcdef\"";
    change.time_ms = 1'700'000'000'000;
    change.request_id = "REQ1";
    return change;
  }

  testing::TempDir tmp_;
  std::shared_ptr<sqlite::Database> db_;
  ManualClock clock_{1'700'000'000'000};
};

TEST_F(SqliteOutboxTest, MatchingChangeEnqueuesOneEventWithTheChangesFields) {
  SqliteOutbox outbox({NotificationRule{}}, "eu-west-1", clock_);
  ASSERT_TRUE(Publish(outbox, Created("uploads/a.jpg")).ok());
  auto records = Received("thumbnails");
  ASSERT_EQ(records.size(), 1u);
  const S3EventRecord& r = records[0];
  EXPECT_EQ(r.aws_region, "eu-west-1");
  EXPECT_EQ(r.event_name, "ObjectCreated:Put");
  EXPECT_EQ(r.event_time_ms, 1'700'000'000'000);
  EXPECT_EQ(r.bucket, "images");
  EXPECT_EQ(r.key, "uploads/a.jpg");
  EXPECT_EQ(r.size, 42);
  EXPECT_EQ(r.etag, "0123456789abcdef0123456789abcdef");  // without quotes, as S3 writes it
  EXPECT_EQ(r.configuration_id, "thumbflow");
  EXPECT_EQ(r.request_id, "REQ1");
  EXPECT_EQ(r.principal_id, "thumbflow");
  EXPECT_EQ(r.sequencer, "000000000000000001");
}

TEST_F(SqliteOutboxTest, ChangesNoRuleSelectsEnqueueNothingAndKeepTheSequencer) {
  SqliteOutbox outbox({NotificationRule{}}, "us-east-1", clock_);
  ObjectChange other_bucket = Created("uploads/a.jpg");
  other_bucket.bucket = "other";
  ObjectChange removed = Created("uploads/a.jpg");
  removed.event_name = "ObjectRemoved:Delete";  // the default rule selects ObjectCreated:*
  for (const ObjectChange& change :
       {Created("thumbs/a.jpg"), Created("uploads/a.txt"), other_bucket, removed}) {
    SCOPED_TRACE(change.bucket + "/" + change.key + " " + change.event_name);
    ASSERT_TRUE(Publish(outbox, change).ok());
  }
  EXPECT_TRUE(Received("thumbnails").empty());
  ASSERT_TRUE(Publish(outbox, Created("uploads/b.png")).ok());
  auto records = Received("thumbnails");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sequencer, "000000000000000001");
}

TEST_F(SqliteOutboxTest, OneEventPerDestinationQueueFirstRuleNamesIt) {
  NotificationRule first;
  first.id = "first";
  NotificationRule same_queue;  // a second rule for the same queue adds no second event
  same_queue.id = "same-queue";
  NotificationRule audit;
  audit.id = "audit";
  audit.prefix = "";
  audit.suffixes = {};
  audit.queue = "audit";
  audit.events = {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"};
  SqliteOutbox outbox({first, same_queue, audit}, "us-east-1", clock_);
  ASSERT_TRUE(Publish(outbox, Created("uploads/a.jpg")).ok());
  auto thumbnails = Received("thumbnails");
  ASSERT_EQ(thumbnails.size(), 1u);
  EXPECT_EQ(thumbnails[0].configuration_id, "first");
  auto audited = Received("audit");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].configuration_id, "audit");
  EXPECT_EQ(audited[0].sequencer, thumbnails[0].sequencer);  // one change, one sequencer

  ObjectChange removed;
  removed.bucket = "images";
  removed.key = "uploads/a.jpg";
  removed.event_name = "ObjectRemoved:Delete";
  removed.time_ms = 1'700'000'001'000;
  ASSERT_TRUE(Publish(outbox, removed).ok());
  auto removal = Received("audit");
  ASSERT_EQ(removal.size(), 1u);
  EXPECT_EQ(removal[0].event_name, "ObjectRemoved:Delete");
  EXPECT_EQ(removal[0].size, 0);
  EXPECT_EQ(removal[0].etag, "");
  EXPECT_EQ(removal[0].request_id.size(), 16u);  // a random one when none is given
  EXPECT_GT(removal[0].sequencer, thumbnails[0].sequencer);
}

TEST_F(SqliteOutboxTest, AFailureReachesTheCaller) {
  NotificationRule bad;
  bad.queue = "no spaces allowed";  // not a valid queue name: EnqueueInTransaction refuses it
  SqliteOutbox outbox({bad}, "us-east-1", clock_);
  Status status = Publish(outbox, Created("uploads/a.jpg"));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no spaces allowed"), std::string::npos) << status.ToString();
}

}  // namespace
}  // namespace thumbflow
