#include "storage/local_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/testing/temp_dir.h"
#include "events/s3_event.h"
#include "queue/sqlite_outbox.h"
#include "queue/sqlite_queue.h"
#include "sqlite/database.h"
#include "storage/object_store_conformance.h"

namespace thumbflow {
namespace {

using thumbflow::testing::TempDir;

Result<ObjectStoreUnderTest> MakeLocalStore() {
  struct Keep {
    TempDir dir;
    SystemClock clock;
  };
  auto keep = std::make_shared<Keep>();
  if (keep->dir.path().empty()) return InternalError("cannot create a temporary folder");
  LocalStoreOptions options;
  options.default_bucket = "conformance";
  // A rule on the bucket under test, so the conformance suite also runs the outbox path.
  NotificationRule rule;
  rule.bucket = "conformance";
  rule.prefix = "uploads/";
  options.outbox =
      std::make_shared<SqliteOutbox>(std::vector<NotificationRule>{rule}, "us-east-1", keep->clock);
  ASSIGN_OR_RETURN(std::unique_ptr<LocalObjectStore> store,
                   LocalObjectStore::Open(keep->dir.path(), options, keep->clock));
  ObjectStoreUnderTest made;
  made.streaming = store.get();  // the local store implements the streaming port itself
  made.store = std::move(store);
  made.bucket = "conformance";
  made.keepalive = keep;
  return made;
}

INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreConformanceTest,
                         ::testing::Values(ObjectStoreFactory{"Local", MakeLocalStore}),
                         ObjectStoreFactoryName);

// Object files under DIR/objects (not the lock file).
std::vector<std::string> ObjectFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir + "/objects")) {
    if (entry.is_regular_file() && entry.path().filename() != ".lock") {
      files.push_back(entry.path().string());
    }
  }
  return files;
}

class LocalObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }

  // With an outbox of `rules` on the embedded queue (DESIGN.md's default rule unless given).
  void Reopen(LocalStoreOptions options = {},
              std::vector<NotificationRule> rules = {NotificationRule{}}) {
    options.outbox = std::make_shared<SqliteOutbox>(std::move(rules), "us-east-1", clock_);
    queue_.reset();
    store_.reset();
    db_.reset();
    auto db = sqlite::Database::Open(dir_.path() + "/thumbflow.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto store = LocalObjectStore::Open(db_, dir_.path(), options, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    QueueOptions queue_options;
    queue_options.name = "thumbnails";
    auto queue = SqliteQueue::Open(db_, queue_options, clock_);
    ASSERT_TRUE(queue.ok()) << queue.status().ToString();
    queue_ = std::move(queue).value();
  }

  // Every message now on `queue_`, parsed (and left in flight).
  std::vector<S3EventRecord> DrainEvents(Queue& queue) {
    std::vector<S3EventRecord> records;
    while (true) {
      ReceiveOptions options;
      options.max_messages = 10;
      options.visibility_timeout_s = 3600;
      auto messages = queue.Receive(options);
      EXPECT_TRUE(messages.ok()) << messages.status().ToString();
      if (!messages.ok() || messages->empty()) break;
      for (const Message& m : *messages) {
        auto event = ParseS3Event(m.body);
        EXPECT_TRUE(event.ok()) << event.status().ToString() << "\n" << m.body;
        if (!event.ok()) continue;
        for (auto& r : event->records) records.push_back(r);
      }
    }
    return records;
  }
  std::vector<S3EventRecord> DrainEvents() { return DrainEvents(*queue_); }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  std::shared_ptr<sqlite::Database> db_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<SqliteQueue> queue_;
};

TEST_F(LocalObjectStoreTest, UploadUnderPrefixQueuesExactlyOneEventWithTheKey) {
  const std::string key = "uploads/holiday photos/a+b 100%.JPG";
  auto put = store_->Put("images", key, "jpeg-bytes");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto records = DrainEvents();
  ASSERT_EQ(records.size(), 1u);
  const S3EventRecord& r = records[0];
  EXPECT_EQ(r.key, key);
  EXPECT_EQ(r.bucket, "images");
  EXPECT_EQ(r.event_name, "ObjectCreated:Put");
  EXPECT_EQ(r.size, 10);
  EXPECT_EQ(r.etag, Md5Hex("jpeg-bytes"));
  EXPECT_EQ(r.event_time_ms, clock_.NowMillis());
  EXPECT_EQ(r.configuration_id, "thumbflow");
  EXPECT_FALSE(r.sequencer.empty());
}

TEST_F(LocalObjectStoreTest, EventBodyIsS3Json) {
  ASSERT_TRUE(store_->Put("images", "uploads/a b.png", "png").ok());
  ReceiveOptions options;
  auto messages = queue_->Receive(options);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 1u);
  const std::string& body = (*messages)[0].body;
  EXPECT_NE(body.find("\"eventVersion\":\"2.1\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"key\":\"uploads/a+b.png\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"eventSource\":\"aws:s3\""), std::string::npos) << body;
}

TEST_F(LocalObjectStoreTest, UploadsElsewhereQueueNothing) {
  ASSERT_TRUE(store_->Put("images", "other/a.jpg", "x").ok());
  ASSERT_TRUE(store_->Put("images", "uploads/readme.txt", "x").ok());
  ASSERT_TRUE(store_->Put("images", "thumbnails/small/uploads/a.jpg", "x").ok());
  ASSERT_TRUE(store_->CreateBucket("elsewhere", "").ok());
  ASSERT_TRUE(store_->Put("elsewhere", "uploads/a.jpg", "x").ok());
  EXPECT_TRUE(DrainEvents().empty());
  auto stats = queue_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible + stats->in_flight, 0);
}

TEST_F(LocalObjectStoreTest, SequencersIncrease) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->Put("images", "uploads/same.jpg", std::to_string(i)).ok());
  }
  auto records = DrainEvents();
  ASSERT_EQ(records.size(), 5u);
  std::vector<std::string> sequencers;
  for (const auto& r : records) sequencers.push_back(r.sequencer);
  std::sort(sequencers.begin(), sequencers.end());
  for (size_t i = 1; i < sequencers.size(); ++i) {
    EXPECT_EQ(sequencers[i].size(), sequencers[i - 1].size());
    EXPECT_LT(sequencers[i - 1], sequencers[i]);
  }
}

// An Outbox that records what the store hands it, and fails when told to.
class RecordingOutbox final : public Outbox {
 public:
  Status Prepare(sqlite::Transaction&) override { return Status::Ok(); }
  Status Publish(sqlite::Transaction&, const ObjectChange& change) override {
    if (fail) return UnavailableError("outbox refused " + change.key);
    changes.push_back(change);
    return Status::Ok();
  }
  bool fail = false;
  std::vector<ObjectChange> changes;
};

// A second store on the test's folder, with `outbox`.
class LocalObjectStoreOutboxTest : public LocalObjectStoreTest {
 protected:
  Result<std::unique_ptr<LocalObjectStore>> OpenWithOutbox(std::shared_ptr<Outbox> outbox) {
    LocalStoreOptions options;
    options.outbox = std::move(outbox);
    return LocalObjectStore::Open(db_, dir_.path(), options, clock_);
  }
};

TEST_F(LocalObjectStoreOutboxTest, StreamedUploadsNameTheirCallInTheEvent) {
  auto outbox = std::make_shared<RecordingOutbox>();
  auto store = OpenWithOutbox(outbox);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (bool form_upload : {false, true}) {
    auto upload = (*store)->NewUpload("images");
    ASSERT_TRUE(upload.ok()) << upload.status().ToString();
    ASSERT_TRUE((*upload)->Write("abc").ok());
    PutOptions options;
    options.form_upload = form_upload;
    ASSERT_TRUE((*upload)->Commit(form_upload ? "post.txt" : "put.txt", options).ok());
  }
  ASSERT_EQ(outbox->changes.size(), 2u);
  EXPECT_EQ(outbox->changes[0].event_name, "ObjectCreated:Put");
  EXPECT_EQ(outbox->changes[1].event_name, "ObjectCreated:Post");
  EXPECT_EQ(outbox->changes[1].key, "post.txt");
}

TEST_F(LocalObjectStoreOutboxTest, EveryChangeIsHandedToTheOutbox) {
  auto outbox = std::make_shared<RecordingOutbox>();
  auto store = OpenWithOutbox(outbox);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  LocalObjectStore& local = **store;
  CommitOptions commit;
  commit.principal_id = "alice";
  commit.request_id = "R1";
  ASSERT_TRUE(local.PutWith("images", "a.txt", "abc", commit).ok());
  ASSERT_TRUE(local.Copy("images", "a.txt", "images", "b.txt").ok());
  ASSERT_TRUE(local.Delete("images", "a.txt").ok());
  ASSERT_TRUE(local.Delete("images", "never-was").ok());  // nothing changed: no event
  ASSERT_EQ(outbox->changes.size(), 3u);
  const ObjectChange& put = outbox->changes[0];
  EXPECT_EQ(put.event_name, "ObjectCreated:Put");
  EXPECT_EQ(put.bucket, "images");
  EXPECT_EQ(put.key, "a.txt");
  EXPECT_EQ(put.size, 3);
  EXPECT_EQ(put.etag, SinglePartEtag("abc"));
  EXPECT_EQ(put.time_ms, clock_.NowMillis());
  EXPECT_EQ(put.principal_id, "alice");
  EXPECT_EQ(put.request_id, "R1");
  EXPECT_EQ(outbox->changes[1].event_name, "ObjectCreated:Copy");
  EXPECT_EQ(outbox->changes[1].key, "b.txt");
  EXPECT_EQ(outbox->changes[2].event_name, "ObjectRemoved:Delete");
  EXPECT_EQ(outbox->changes[2].size, 0);
  EXPECT_EQ(outbox->changes[2].etag, "");
}

// The outbox runs in the transaction that commits the row: when it fails, the write is
// rolled back and leaves no file.
TEST_F(LocalObjectStoreOutboxTest, AFailingOutboxRollsTheChangeBack) {
  auto outbox = std::make_shared<RecordingOutbox>();
  auto store = OpenWithOutbox(outbox);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("images", "kept.txt", "kept").ok());
  outbox->fail = true;
  auto put = (*store)->Put("images", "refused.txt", "x");
  EXPECT_EQ(put.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*store)->Head("images", "refused.txt").status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*store)->Delete("images", "kept.txt").code(), StatusCode::kUnavailable);
  auto kept = (*store)->Get("images", "kept.txt");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->bytes, "kept");
  EXPECT_EQ(ObjectFiles(dir_.path()).size(), 1u);
}

TEST_F(LocalObjectStoreTest, OneEventPerDestinationQueue) {
  LocalStoreOptions options;
  NotificationRule second;
  second.queue = "audit";
  second.prefix = "";
  second.suffixes = {};
  second.id = "audit-all";
  Reopen(options, {NotificationRule{}, second, NotificationRule{}});
  ASSERT_TRUE(store_->Put("images", "uploads/x.gif", "gif").ok());
  EXPECT_EQ(DrainEvents().size(), 1u);
  QueueOptions audit_options;
  audit_options.name = "audit";
  auto audit = SqliteQueue::Open(db_, audit_options, clock_);
  ASSERT_TRUE(audit.ok());
  auto records = DrainEvents(**audit);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].configuration_id, "audit-all");
}

TEST_F(LocalObjectStoreTest, StreamedUploadCommits) {
  auto upload = store_->NewLocalUpload("images");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  std::string all;
  for (int i = 0; i < 100; ++i) {
    std::string chunk(10'000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE((*upload)->Write(chunk).ok());
    all += chunk;
  }
  EXPECT_EQ((*upload)->size(), 1'000'000);
  EXPECT_EQ((*upload)->Md5Hex(), Md5Hex(all));
  CommitOptions commit;
  commit.put.content_type = "image/webp";
  auto info = store_->CommitUpload(std::move(upload).value(), "uploads/big.webp", commit);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->etag, SinglePartEtag(all));
  auto got = store_->Get("images", "uploads/big.webp");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes, all);
  EXPECT_EQ(got->info.content_type, "image/webp");
  EXPECT_EQ(DrainEvents().size(), 1u);
}

// Through the port: the upload commits itself (event ObjectCreated:Put) and the object
// opens as a stream of the selected range.
TEST_F(LocalObjectStoreTest, PortUploadCommitsItselfAndOpensAsAStream) {
  StreamingObjectStore& port = *store_;
  auto upload = port.NewUpload("images");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  ASSERT_TRUE((*upload)->Write("0123").ok());
  ASSERT_TRUE((*upload)->Write("456789").ok());
  EXPECT_EQ((*upload)->Md5Hex(), Md5Hex("0123456789"));
  auto info = (*upload)->Commit("uploads/port.jpg", PutOptions{.content_type = "x/y"});
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->etag, SinglePartEtag("0123456789"));
  EXPECT_FALSE((*upload)->Commit("uploads/again.jpg", {}).ok());  // spent
  auto records = DrainEvents();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event_name, "ObjectCreated:Put");

  GetOptions range;
  range.range = ByteRange{.first = 3, .last = 5};
  auto reader = port.OpenObject("images", "uploads/port.jpg", range);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_TRUE(reader->partial);
  EXPECT_EQ(reader->offset, 3);
  EXPECT_EQ(reader->length, 3);
  EXPECT_EQ(reader->info.content_type, "x/y");
  char buffer[16];
  auto n = reader->source->Read(buffer, sizeof buffer);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buffer, *n), "345");
  EXPECT_EQ(*reader->source->Read(buffer, sizeof buffer), 0u);
  EXPECT_EQ(port.StagingDir(), dir_.path() + "/staging");  // the default
}

TEST_F(LocalObjectStoreTest, AbandonedUploadLeavesNothing) {
  {
    auto upload = store_->NewUpload("images");
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Write("partial").ok());
    EXPECT_EQ(ObjectFiles(dir_.path()).size(), 1u);
  }
  EXPECT_TRUE(ObjectFiles(dir_.path()).empty());
  EXPECT_EQ(store_->NewUpload("no-such-bucket").status().code(), StatusCode::kNotFound);
}

TEST_F(LocalObjectStoreTest, MultipartCompletionHasMultipartEtagAndEvent) {
  const std::string part1(5 * 1024 * 1024, 'x');
  const std::string part2 = "tail of the object";
  const std::string p1 = dir_.path() + "/part1";
  const std::string p2 = dir_.path() + "/part2";
  std::ofstream(p1, std::ios::binary) << part1;
  std::ofstream(p2, std::ios::binary) << part2;
  CommitOptions options;
  options.put.content_type = "image/tiff";
  auto info = store_->CompleteMultipart("images", "uploads/scan.tiff", {p1, p2},
                                        {SinglePartEtag(part1), SinglePartEtag(part2)}, options);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto expected = MultipartEtag({SinglePartEtag(part1), SinglePartEtag(part2)});
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(info->etag, *expected);
  EXPECT_NE(info->etag.find("-2\""), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(p1));  // parts are the caller's
  auto got = store_->Get("images", "uploads/scan.tiff");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Sha256Hex(got->bytes), Sha256Hex(part1 + part2));
  EXPECT_EQ(got->info.etag, *expected);
  auto records = DrainEvents();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event_name, "ObjectCreated:CompleteMultipartUpload");
  EXPECT_EQ(records[0].etag, UnquoteEtag(*expected));
  EXPECT_EQ(records[0].size, static_cast<int64_t>(part1.size() + part2.size()));
}

// GET ?partNumber and GetObjectAttributes need a completed upload's part boundaries and
// checksums: kept with the object, through versioning, and absent from other objects.
TEST_F(LocalObjectStoreTest, MultipartCompletionKeepsPartsAndChecksum) {
  const std::string part1(5 * 1024 * 1024, 'y');
  const std::string part3 = "the last part";
  const std::string p1 = dir_.path() + "/part1";
  const std::string p3 = dir_.path() + "/part3";
  std::ofstream(p1, std::ios::binary) << part1;
  std::ofstream(p3, std::ios::binary) << part3;
  CommitOptions options;
  options.put.parts = {ObjectPart{1, 0, "c1"}, ObjectPart{3, 999, "c3"}};
  options.put.checksum = ObjectChecksum{"CRC32", "AAAAAA==-2", "COMPOSITE"};
  auto info = store_->CompleteMultipart("images", "uploads/parts.tiff", {p1, p3},
                                        {SinglePartEtag(part1), SinglePartEtag(part3)}, options);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  // Sizes are the files', whatever the caller said; numbers and checksums are the caller's.
  const std::vector<ObjectPart> expected = {
      ObjectPart{1, static_cast<int64_t>(part1.size()), "c1"},
      ObjectPart{3, static_cast<int64_t>(part3.size()), "c3"}};
  auto head = store_->Head("images", "uploads/parts.tiff");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->parts, expected);
  EXPECT_EQ(head->checksum, options.put.checksum);
  // GET ?partNumber=: a part by its number, as a range of the object.
  GetOptions third;
  third.part_number = 3;
  auto got = store_->Get("images", "uploads/parts.tiff", third);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->bytes, part3);
  auto opened = store_->OpenObject("images", "uploads/parts.tiff", third);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->partial);
  EXPECT_EQ(opened->offset, static_cast<int64_t>(part1.size()));
  EXPECT_EQ(opened->length, static_cast<int64_t>(part3.size()));
  GetOptions second;
  second.part_number = 2;
  EXPECT_EQ(store_->Get("images", "uploads/parts.tiff", second).status().reason(),
            Reason::kInvalidPartNumber);
  // Without numbers from the caller: 1..N.
  auto plain =
      store_->CompleteMultipart("images", "uploads/plain.tiff", {p1, p3},
                                {SinglePartEtag(part1), SinglePartEtag(part3)}, CommitOptions{});
  ASSERT_TRUE(plain.ok());
  auto plain_head = store_->Head("images", "uploads/plain.tiff");
  ASSERT_TRUE(plain_head.ok());
  ASSERT_EQ(plain_head->parts.size(), 2u);
  EXPECT_EQ(plain_head->parts[1].part_number, 2);
  EXPECT_TRUE(plain_head->checksum.empty());
  // An object put whole has no parts; a checksum given is kept.
  PutOptions put;
  put.checksum = ObjectChecksum{"SHA256", "abc=", "FULL_OBJECT"};
  ASSERT_TRUE(store_->Put("images", "whole.bin", "bytes", put).ok());
  auto whole = store_->Head("images", "whole.bin");
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->parts.empty());
  EXPECT_EQ(whole->checksum, put.checksum);
  GetOptions first;
  first.part_number = 1;
  auto whole_part = store_->Get("images", "whole.bin", first);
  ASSERT_TRUE(whole_part.ok());
  EXPECT_EQ(whole_part->bytes, "bytes");
  EXPECT_EQ(store_->Get("images", "whole.bin", second).status().reason(),
            Reason::kInvalidPartNumber);
  // Overwritten by an object without them: gone.
  ASSERT_TRUE(store_->Put("images", "uploads/parts.tiff", "small").ok());
  auto replaced = store_->Head("images", "uploads/parts.tiff");
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(replaced->parts.empty());
  EXPECT_TRUE(replaced->checksum.empty());
}

TEST_F(LocalObjectStoreTest, CopyKeepsTypeAndMetadataUnlessReplaced) {
  PutOptions options;
  options.content_type = "image/png";
  options.metadata = {{"origin", "camera"}};
  ASSERT_TRUE(store_->Put("images", "src.png", "png-bytes", options).ok());
  auto copied = store_->Copy("images", "src.png", "images", "uploads/copy.png");
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->etag, SinglePartEtag("png-bytes"));
  auto head = store_->Head("images", "uploads/copy.png");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "image/png");
  EXPECT_EQ(head->metadata, options.metadata);
  auto records = DrainEvents();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event_name, "ObjectCreated:Copy");

  PutOptions replace;
  replace.content_type = "text/plain";
  ASSERT_TRUE(store_->Copy("images", "src.png", "images", "plain", &replace).ok());
  head = store_->Head("images", "plain");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "text/plain");
  EXPECT_TRUE(head->metadata.empty());
  EXPECT_EQ(store_->Copy("images", "absent", "images", "x").status().code(), StatusCode::kNotFound);
}

TEST_F(LocalObjectStoreTest, OverwriteAndDeleteRemoveOldFiles) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(store_->Put("images", "k", std::string(100 + i, 'v')).ok());
  }
  EXPECT_EQ(ObjectFiles(dir_.path()).size(), 1u);
  auto got = store_->Get("images", "k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes.size(), 103u);
  ASSERT_TRUE(store_->Delete("images", "k").ok());
  EXPECT_TRUE(ObjectFiles(dir_.path()).empty());
}

// Conditional writes are decided inside the commit's transaction: of writers racing with
// If-None-Match: * exactly one wins, of writers racing with the same If-Match exactly one
// wins; the losers store nothing and leave no file behind.
TEST_F(LocalObjectStoreTest, ConditionalWritesAreAtomicAgainstConcurrentWriters) {
  constexpr int kWriters = 8;
  auto race = [&](const std::string& key, const WriteCondition& condition,
                  const std::string& label) {
    std::vector<std::unique_ptr<ObjectUpload>> uploads;
    for (int i = 0; i < kWriters; ++i) {
      auto upload = store_->NewUpload("images");
      EXPECT_TRUE(upload.ok());
      // Distinct bytes in each race: a writer whose bytes equal the current object's would
      // keep its ETag, and a second If-Match on that ETag would rightly win too.
      EXPECT_TRUE((*upload)->Write(label + " writer " + std::to_string(i)).ok());
      uploads.push_back(std::move(upload).value());
    }
    std::atomic<int> won{0}, refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kWriters; ++i) {
      threads.emplace_back([&, i] {
        PutOptions options;
        options.condition = condition;
        auto committed = uploads[i]->Commit(key, options);
        if (committed.ok()) {
          ++won;
        } else if (committed.status().reason() == Reason::kPreconditionFailed) {
          ++refused;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << key;
    EXPECT_EQ(refused.load(), kWriters - 1) << key;
  };
  WriteCondition create_only;
  create_only.if_none_match = "*";
  race("fresh", create_only, "create");
  auto first = store_->Head("images", "fresh");
  ASSERT_TRUE(first.ok());
  WriteCondition replace_that;
  replace_that.if_match = first->etag;
  race("fresh", replace_that, "replace");
  EXPECT_EQ(ObjectFiles(dir_.path()).size(), 1u);

  WriteCondition missing;
  missing.if_match = "*";
  PutOptions options;
  options.condition = missing;
  EXPECT_EQ(store_->Put("images", "absent", "x", options).status().code(), StatusCode::kNotFound);
  auto current = store_->Head("images", "fresh");
  ASSERT_TRUE(current.ok());
  WriteCondition stale;
  stale.if_match = first->etag;
  EXPECT_EQ(store_->DeleteIf("images", "fresh", stale).reason(), Reason::kPreconditionFailed);
  EXPECT_TRUE(store_->Head("images", "fresh").ok());
  // The size and the Last-Modified second hold too, each on its own.
  WriteCondition wrong_size;
  wrong_size.if_match_size = current->size + 1;
  EXPECT_EQ(store_->DeleteIf("images", "fresh", wrong_size).reason(), Reason::kPreconditionFailed);
  WriteCondition wrong_time;
  wrong_time.if_match_last_modified_ms = current->last_modified_ms - 1000;
  EXPECT_EQ(store_->DeleteIf("images", "fresh", wrong_time).reason(), Reason::kPreconditionFailed);
  EXPECT_TRUE(store_->Head("images", "fresh").ok());
  WriteCondition now;
  now.if_match = current->etag;
  now.if_match_size = current->size;
  // Last-Modified is compared to the second, as clients read it from an HTTP date.
  now.if_match_last_modified_ms = current->last_modified_ms / 1000 * 1000 + 999;
  EXPECT_TRUE(store_->DeleteIf("images", "fresh", now).ok());
  // No object: a conditional delete succeeds and does nothing, as S3 answers 204.
  EXPECT_TRUE(store_->DeleteIf("images", "fresh", now).ok());
  EXPECT_TRUE(store_->DeleteIf("images", "fresh", stale).ok());
  EXPECT_TRUE(ObjectFiles(dir_.path()).empty());
}

TEST_F(LocalObjectStoreTest, ReaderKeepsItsBytesAcrossOverwrite) {
  ASSERT_TRUE(store_->Put("images", "k", "old bytes").ok());
  auto reader = store_->OpenForRead("images", "k");
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(store_->Put("images", "k", "new bytes!").ok());
  char buffer[64];
  auto n = (*reader)->Read(buffer, sizeof buffer);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buffer, *n), "old bytes");
  auto now = store_->Get("images", "k");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->bytes, "new bytes!");
}

TEST_F(LocalObjectStoreTest, ReaderStreamsARange) {
  ASSERT_TRUE(store_->Put("images", "r", "0123456789").ok());
  GetOptions options;
  options.range = ByteRange{.first = 2, .last = 8};
  auto reader = store_->OpenForRead("images", "r", options);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->offset(), 2);
  EXPECT_EQ((*reader)->length(), 7);
  EXPECT_EQ((*reader)->info().size, 10);
  std::string out;
  char buffer[3];
  while (true) {
    auto n = (*reader)->Read(buffer, sizeof buffer);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    out.append(buffer, *n);
  }
  EXPECT_EQ(out, "2345678");
}

TEST_F(LocalObjectStoreTest, Buckets) {
  EXPECT_TRUE(store_->HeadBucket("images").ok());  // the default bucket exists at open
  EXPECT_EQ(store_->HeadBucket("absent").code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->CreateBucket("second", "alice").ok());
  EXPECT_EQ(store_->CreateBucket("second", "alice").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateBucket("Bad_Name", "").code(), StatusCode::kInvalidArgument);
  auto buckets = store_->ListBuckets();
  ASSERT_TRUE(buckets.ok());
  ASSERT_EQ(buckets->size(), 2u);
  EXPECT_EQ((*buckets)[0].name, "images");
  EXPECT_EQ((*buckets)[1].name, "second");
  EXPECT_EQ((*buckets)[1].created_ms, clock_.NowMillis());
  EXPECT_EQ((*buckets)[0].owner, "") << "the default bucket is the first user's";
  EXPECT_EQ((*buckets)[1].owner, "alice");

  ASSERT_TRUE(store_->Put("second", "x", "1").ok());
  Status not_empty = store_->DeleteBucket("second");
  EXPECT_EQ(not_empty.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(not_empty.reason(), Reason::kBucketNotEmpty);
  ASSERT_TRUE(store_->Delete("second", "x").ok());
  EXPECT_TRUE(store_->DeleteBucket("second").ok());
  EXPECT_EQ(store_->DeleteBucket("second").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("second", "x").code(), StatusCode::kNotFound);
}

// A bucket made with settings has them from its first moment (one INSERT), across a reopen;
// a bucket that exists keeps its own; bad versioning is refused before anything is made.
TEST_F(LocalObjectStoreTest, ABucketIsMadeWithItsSettings) {
  StreamingObjectStore::BucketSettings settings;
  settings.acl = "<AccessControlPolicy/>";
  settings.versioning = "Enabled";
  settings.object_lock = "<ObjectLockConfiguration/>";
  ASSERT_TRUE(store_->CreateBucket("locked", "alice", settings).ok());
  StreamingObjectStore::BucketSettings other;
  other.versioning = "Suspended";
  EXPECT_EQ(store_->CreateBucket("locked", "bob", other).code(), StatusCode::kAlreadyExists);
  other.versioning = "On";
  EXPECT_EQ(store_->CreateBucket("odd", "bob", other).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->HeadBucket("odd").code(), StatusCode::kNotFound);
  Reopen();
  auto bucket = store_->GetBucket("locked");
  ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
  EXPECT_EQ(bucket->owner, "alice");
  EXPECT_EQ(bucket->acl, settings.acl);
  EXPECT_EQ(bucket->versioning, "Enabled");
  EXPECT_EQ(bucket->object_lock, settings.object_lock);
  auto plain = store_->CreateBucket("plain", "bob", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(store_->GetBucket("plain")->versioning, "");
}

// Tags and bucket owners are kept with the object and the bucket, across a reopen; tagging
// leaves the bytes, ETag and Last-Modified; a copy keeps the source's tags unless replaced.
TEST_F(LocalObjectStoreTest, TagsAndOwnersArePersisted) {
  PutOptions put;
  put.tags = {{"colour", "blue"}, {"size", ""}};
  auto stored = store_->Put("images", "tagged.jpg", "bytes", put);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->tags, put.tags);
  ASSERT_TRUE(store_->CreateBucket("bobs", "bob").ok());
  clock_.AdvanceMillis(5000);
  ASSERT_TRUE(store_->PutObjectTags("images", "tagged.jpg", {{"colour", "red"}}).ok());
  EXPECT_EQ(store_->PutObjectTags("images", "absent.jpg", {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->PutObjectTags("absent", "tagged.jpg", {}).reason(), Reason::kNoSuchBucket);
  ASSERT_TRUE(store_->Copy("images", "tagged.jpg", "images", "copy.jpg").ok());
  PutOptions replace;
  ASSERT_TRUE(store_->Copy("images", "tagged.jpg", "images", "bare.jpg", &replace).ok());
  Reopen();
  auto head = store_->Head("images", "tagged.jpg");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->tags, (TagSet{{"colour", "red"}}));
  EXPECT_EQ(head->etag, stored->etag);
  EXPECT_EQ(head->last_modified_ms, stored->last_modified_ms);
  EXPECT_EQ(store_->Head("images", "copy.jpg")->tags, (TagSet{{"colour", "red"}}));
  EXPECT_TRUE(store_->Head("images", "bare.jpg")->tags.empty());
  auto bucket = store_->GetBucket("bobs");
  ASSERT_TRUE(bucket.ok());
  EXPECT_EQ(bucket->owner, "bob");
  EXPECT_EQ(store_->GetBucket("images")->owner, "");
  EXPECT_EQ(store_->GetBucket("absent").status().reason(), Reason::kNoSuchBucket);
}

// ACLs (opaque text to the store) are kept with the object and the bucket, across a reopen;
// setting one leaves the bytes, ETag and Last-Modified; a copy never takes the source's.
TEST_F(LocalObjectStoreTest, AclsArePersisted) {
  PutOptions put;
  put.acl = "object-acl-1";
  auto stored = store_->Put("images", "a.jpg", "bytes", put);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->acl, "object-acl-1");
  ASSERT_TRUE(store_->Put("images", "default.jpg", "bytes").ok());
  ASSERT_TRUE(store_->Copy("images", "a.jpg", "images", "copy.jpg").ok());
  clock_.AdvanceMillis(5000);
  ASSERT_TRUE(store_->PutObjectAcl("images", "a.jpg", "object-acl-2").ok());
  EXPECT_EQ(store_->PutObjectAcl("images", "absent.jpg", "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->PutObjectAcl("absent", "a.jpg", "x").reason(), Reason::kNoSuchBucket);
  ASSERT_TRUE(store_->CreateBucket("bobs", "bob").ok());
  ASSERT_TRUE(store_->PutBucketAcl("bobs", "bucket-acl").ok());
  EXPECT_EQ(store_->PutBucketAcl("absent", "x").reason(), Reason::kNoSuchBucket);
  Reopen();
  auto head = store_->Head("images", "a.jpg");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->acl, "object-acl-2");
  EXPECT_EQ(head->etag, stored->etag);
  EXPECT_EQ(head->last_modified_ms, stored->last_modified_ms);
  EXPECT_EQ(store_->Get("images", "a.jpg")->info.acl, "object-acl-2");
  EXPECT_EQ(store_->Head("images", "default.jpg")->acl, "");
  EXPECT_EQ(store_->Head("images", "copy.jpg")->acl, "");
  EXPECT_EQ(store_->GetBucket("bobs")->acl, "bucket-acl");
  EXPECT_EQ(store_->GetBucket("images")->acl, "");
  auto buckets = store_->ListBuckets();
  ASSERT_TRUE(buckets.ok());
  EXPECT_EQ((*buckets)[0].acl, "bucket-acl");
}

TEST_F(LocalObjectStoreTest, TooLargeObjectsAreRefusedAndLeaveNothing) {
  LocalStoreOptions options;
  options.max_object_bytes = 10;
  Reopen(options);
  EXPECT_TRUE(store_->Put("images", "uploads/ok.jpg", "0123456789").ok());
  auto big = store_->Put("images", "uploads/big.jpg", "0123456789A");
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(big.status().reason(), Reason::kTooLarge);
  EXPECT_EQ(store_->Head("images", "uploads/big.jpg").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ObjectFiles(dir_.path()).size(), 1u);
  EXPECT_EQ(DrainEvents().size(), 1u);
}

TEST_F(LocalObjectStoreTest, InvalidKeysAreRefused) {
  EXPECT_EQ(store_->Put("images", "", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("images", std::string(1025, 'k'), "x").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("images", "bad\xff", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ObjectFiles(dir_.path()).empty());
}

TEST_F(LocalObjectStoreTest, KeysNeverBecomePaths) {
  const std::string key = "../../../../../../tmp/escaped-by-thumbflow";
  ASSERT_TRUE(store_->Put("images", key, "x").ok());
  EXPECT_FALSE(std::filesystem::exists("/tmp/escaped-by-thumbflow"));
  auto files = ObjectFiles(dir_.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].find(".."), std::string::npos);
  auto got = store_->Get("images", key);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes, "x");
}

TEST_F(LocalObjectStoreTest, ObjectsSurviveReopen) {
  PutOptions options;
  options.content_type = "image/jpeg";
  options.metadata = {{"a", "b"}};
  ASSERT_TRUE(store_->Put("images", "uploads/keep.jpg", "kept", options).ok());
  Reopen();
  auto got = store_->Get("images", "uploads/keep.jpg");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes, "kept");
  EXPECT_EQ(got->info.content_type, "image/jpeg");
  EXPECT_EQ(got->info.metadata, options.metadata);
  EXPECT_EQ(DrainEvents().size(), 1u);
}

TEST_F(LocalObjectStoreTest, OpenSweepsOrphanFiles) {
  ASSERT_TRUE(store_->Put("images", "kept", "kept").ok());
  const std::string orphan = dir_.path() + "/objects/ab/abababababababababababababababab";
  const std::string temp = dir_.path() + "/objects/cd/cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd.tmp";
  std::ofstream(orphan) << "orphan";
  std::ofstream(temp) << "half";
  Reopen();  // this test's store is the only one: it sweeps
  EXPECT_FALSE(std::filesystem::exists(orphan));
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_EQ(ObjectFiles(dir_.path()).size(), 1u);
  auto got = store_->Get("images", "kept");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes, "kept");
}

TEST_F(LocalObjectStoreTest, SecondStoreOnTheFolderDoesNotSweep) {
  auto upload = store_->NewLocalUpload("images");  // in flight in the first store
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write("in flight").ok());
  auto second = LocalObjectStore::Open(db_, dir_.path(), {}, clock_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto info = store_->CommitUpload(std::move(upload).value(), "later", {});
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto got = (*second)->Get("images", "later");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes, "in flight");
}

TEST_F(LocalObjectStoreTest, RemovalRulesQueueDeleteEvents) {
  LocalStoreOptions options;
  NotificationRule rule;
  rule.events = {"s3:ObjectRemoved:*"};
  Reopen(options, {rule});
  ASSERT_TRUE(store_->Put("images", "uploads/gone.jpg", "x").ok());
  EXPECT_TRUE(DrainEvents().empty());
  ASSERT_TRUE(store_->Delete("images", "uploads/gone.jpg").ok());
  ASSERT_TRUE(store_->Delete("images", "uploads/never.jpg").ok());
  auto records = DrainEvents();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event_name, "ObjectRemoved:Delete");
  EXPECT_EQ(records[0].key, "uploads/gone.jpg");
}

TEST_F(LocalObjectStoreTest, ConcurrentPutsAllCommitWithEvents) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        std::string key = "uploads/t" + std::to_string(t) + "/" + std::to_string(i) + ".png";
        EXPECT_TRUE(store_->Put("images", key, key).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ListOptions list;
  list.prefix = "uploads/";
  auto listed = store_->List("images", list);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->objects.size(), 200u);
  auto records = DrainEvents();
  EXPECT_EQ(records.size(), 200u);
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.key);
  EXPECT_EQ(keys.size(), 200u);
}

}  // namespace
}  // namespace thumbflow
