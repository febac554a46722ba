#include "pipeline/backfill.h"

#include <atomic>
#include <set>

#include <gtest/gtest.h>

#include "config/config.h"
#include "image/testing/fake_thumbnailer.h"
#include "pipeline/pipeline_test_util.h"
#include "queue/memory_queue.h"
#include "storage/memory_store.h"

namespace thumbflow::pipeline {
namespace {

constexpr char kBucket[] = "images";

// A queue that refuses the entries `refuse` says so, once each, and counts batches.
class FlakyQueue final : public Queue {
 public:
  explicit FlakyQueue(Queue& base) : base_(base) {}
  std::function<Status(const SendRequest&)> refuse;
  int batches = 0;

  Result<std::string> Send(const SendRequest& r) override { return base_.Send(r); }
  Result<std::vector<Result<std::string>>> SendBatch(
      const std::vector<SendRequest>& requests) override {
    ++batches;
    EXPECT_LE(requests.size(), 10u);
    std::vector<Result<std::string>> out;
    for (const SendRequest& r : requests) {
      Status s = refuse ? refuse(r) : Status::Ok();
      out.push_back(s.ok() ? base_.Send(r) : Result<std::string>(s));
    }
    return out;
  }
  Result<std::vector<Message>> Receive(const ReceiveOptions& o) override {
    return base_.Receive(o);
  }
  Status Delete(const std::string& r) override { return base_.Delete(r); }
  Result<std::vector<Status>> DeleteBatch(const std::vector<std::string>& r) override {
    return base_.DeleteBatch(r);
  }
  Status ChangeVisibility(const std::string& r, int s) override {
    return base_.ChangeVisibility(r, s);
  }
  Result<std::vector<Status>> ChangeVisibilityBatch(
      const std::vector<std::pair<std::string, int>>& r) override {
    return base_.ChangeVisibilityBatch(r);
  }
  Status Fail(const Message& m, const Failure& f) override { return base_.Fail(m, f); }
  Result<QueueStats> Stats() override { return base_.Stats(); }
  Result<std::vector<DeadLetter>> ListDeadLetters(int n) override {
    return base_.ListDeadLetters(n);
  }
  Result<int64_t> Redrive(const std::vector<std::string>& ids) override {
    return base_.Redrive(ids);
  }
  Status Purge() override { return base_.Purge(); }
  Status PurgeDeadLetters() override { return base_.PurgeDeadLetters(); }

 private:
  Queue& base_;
};

class BackfillTest : public ::testing::Test {
 protected:
  BackfillTest()
      : store_({kBucket}, &clock_),
        memory_queue_(MemoryQueue::Create(QueueOptions{}, clock_).value()),
        queue_(*memory_queue_),
        pipeline_(RecordProcessorOptionsFromConfig(Config{})) {
    clock_.AdvanceMillis(1'700'000'000'000);
  }

  void Put(const std::string& key, const std::string& bytes = "x") {
    ASSERT_TRUE(store_.Put(kBucket, key, bytes).ok());
  }

  // Makes the thumbnails of `key` as a worker would.
  void Thumbnail(const std::string& key) {
    RecordProcessorOptions options = pipeline_;
    options.output_threads = 0;
    RecordProcessor processor(store_, thumbnailer_, clock_, options);
    S3EventRecord record;
    record.bucket = kBucket;
    record.key = key;
    ASSERT_EQ(processor.Process(record).outcome, Outcome::kOk);
  }

  BackfillOptions Options() {
    BackfillOptions options;
    options.bucket = kBucket;
    options.prefix = "uploads/";
    options.page_size = 7;  // several pages, batches cut by page ends
    options.retry_base_ms = 0;
    return options;
  }

  // Runs a pass; `checkpoints` receives every checkpoint's last key.
  Result<BackfillProgress> RunPass(const BackfillOptions& options,
                                   std::vector<std::string>* checkpoints = nullptr,
                                   const std::atomic<bool>* stop = nullptr) {
    Backfill backfill(store_, store_, &queue_, pipeline_, options, clock_);
    return backfill.Run(stop, [&](const BackfillProgress& p) {
      if (checkpoints) checkpoints->push_back(p.last_key);
      return Status::Ok();
    });
  }

  // The keys of the messages on the queue (received and deleted).
  std::multiset<std::string> Drain(std::vector<Message>* all = nullptr) {
    std::multiset<std::string> keys;
    while (true) {
      ReceiveOptions o;
      o.max_messages = 10;
      auto got = memory_queue_->Receive(o);
      EXPECT_TRUE(got.ok());
      if (!got.ok() || got->empty()) break;
      for (const Message& m : *got) {
        auto event = ParseS3Event(m.body);
        EXPECT_TRUE(event.ok()) << m.body;
        for (const auto& r : event->records) keys.insert(r.key);
        EXPECT_TRUE(memory_queue_->Delete(m.receipt).ok());
        if (all) all->push_back(m);
      }
    }
    return keys;
  }

  ManualClock clock_;
  MemoryObjectStore store_;
  std::unique_ptr<MemoryQueue> memory_queue_;
  FlakyQueue queue_;
  RecordProcessorOptions pipeline_;
  thumbflow::testing::FakeThumbnailer thumbnailer_;
};

TEST_F(BackfillTest, PlansEachObjectByWhatTheWorkersWouldDo) {
  Put("uploads/a.jpg");
  Put("uploads/b.jpg");
  Put("uploads/notes.txt");
  Put("uploads/dir/");
  Thumbnail("uploads/b.jpg");
  BackfillOptions options = Options();
  auto plan = [&](const std::string& key) {
    ObjectInfo info = store_.Head(kBucket, key).value();
    return PlanObject(info, pipeline_, store_, kBucket, options);
  };
  EXPECT_EQ(plan("uploads/a.jpg"), BackfillDecision::kQueue);
  EXPECT_EQ(plan("uploads/b.jpg"), BackfillDecision::kSkipped);
  EXPECT_EQ(plan("uploads/notes.txt"), BackfillDecision::kIgnored);
  EXPECT_EQ(plan("uploads/dir/"), BackfillDecision::kIgnored);
  // A new upload under b.jpg: its thumbnails carry the old ETag, so it needs work.
  Put("uploads/b.jpg", "newer");
  EXPECT_EQ(plan("uploads/b.jpg"), BackfillDecision::kQueue);
  // Sent by an earlier complete pass that started after it was written: pending.
  options.previous_pass_started_ms = clock_.NowMillis() + 1;
  EXPECT_EQ(plan("uploads/a.jpg"), BackfillDecision::kPending);
  // --force: everything the workers take, current or not, pending or not.
  Thumbnail("uploads/b.jpg");
  options.force = true;
  EXPECT_EQ(plan("uploads/a.jpg"), BackfillDecision::kQueue);
  EXPECT_EQ(plan("uploads/b.jpg"), BackfillDecision::kQueue);
  EXPECT_EQ(plan("uploads/notes.txt"), BackfillDecision::kIgnored);
  EXPECT_STREQ(BackfillDecisionName(BackfillDecision::kPending), "pending");
}

TEST_F(BackfillTest, OneEventPerObjectThatNeedsWorkInBatches) {
  for (int i = 0; i < 25; ++i) Put("uploads/" + std::to_string(100 + i) + ".jpg");
  Put("uploads/readme.txt");
  Put("other/x.jpg");
  Thumbnail("uploads/100.jpg");
  Thumbnail("uploads/101.jpg");
  std::vector<std::string> checkpoints;
  auto progress = RunPass(Options(), &checkpoints);
  ASSERT_TRUE(progress.ok()) << progress.status().ToString();
  EXPECT_TRUE(progress->complete);
  EXPECT_EQ(progress->counts.listed, 26);  // uploads/ only
  EXPECT_EQ(progress->counts.queued, 23);
  EXPECT_EQ(progress->counts.skipped, 2);
  EXPECT_EQ(progress->counts.ignored, 1);
  EXPECT_EQ(progress->last_key, "uploads/readme.txt");
  EXPECT_EQ(checkpoints.back(), "uploads/readme.txt");
  EXPECT_TRUE(std::is_sorted(checkpoints.begin(), checkpoints.end()));
  std::vector<Message> messages;
  std::multiset<std::string> keys = Drain(&messages);
  EXPECT_EQ(keys.size(), 23u);
  EXPECT_EQ(keys.count("uploads/100.jpg"), 0u);
  EXPECT_EQ(keys.count("uploads/124.jpg"), 1u);
  // The message an upload's notification sends: key, size and ETag, no force attribute.
  auto event = ParseS3Event(messages.front().body).value();
  const S3EventRecord& r = event.records.at(0);
  EXPECT_EQ(r.event_name, "ObjectCreated:Put");
  EXPECT_EQ(r.bucket, kBucket);
  EXPECT_EQ(r.size, 1);
  EXPECT_EQ("\"" + r.etag + "\"", store_.Head(kBucket, r.key)->etag);
  EXPECT_EQ(r.configuration_id, "thumbflow-backfill");
  EXPECT_TRUE(messages.front().attributes.empty());
  // Batches of at most 10, cut at page ends: 26 objects in pages of 7.
  EXPECT_LE(queue_.batches, 6);
}

TEST_F(BackfillTest, APageWithoutThumbnailsCostsListsNotAHeadPerObject) {
  for (int i = 0; i < 20; ++i) Put("uploads/" + std::to_string(100 + i) + ".jpg");
  Thumbnail("uploads/105.jpg");
  Thumbnail("uploads/112.jpg");
  Put("uploads/112.jpg", "changed");  // its thumbnails are stale: HEADed, then queued
  pipeline::testing::FaultyStore counted(store_);
  Backfill backfill(store_, counted, &queue_, pipeline_, Options(), clock_);
  auto progress = backfill.Run(nullptr, [](const BackfillProgress&) { return Status::Ok(); });
  ASSERT_TRUE(progress.ok()) << progress.status().ToString();
  EXPECT_EQ(progress->counts.skipped, 1);
  EXPECT_EQ(progress->counts.queued, 19);
  // Only the two objects that have a large thumbnail are looked at: 3 HEADs for the current
  // one, 1 for the stale one (its large thumbnail already names another ETag).
  EXPECT_EQ(counted.heads.load(), 4);
}

TEST_F(BackfillTest, DryRunSendsNothing) {
  for (int i = 0; i < 5; ++i) Put("uploads/" + std::to_string(i) + ".png");
  BackfillOptions options = Options();
  options.dry_run = true;
  Backfill backfill(store_, store_, nullptr, pipeline_, options, clock_);
  auto progress = backfill.Run(nullptr, [](const BackfillProgress&) { return Status::Ok(); });
  ASSERT_TRUE(progress.ok()) << progress.status().ToString();
  EXPECT_EQ(progress->counts.queued, 5);
  EXPECT_EQ(queue_.batches, 0);
  EXPECT_TRUE(Drain().empty());
}

TEST_F(BackfillTest, AStoppedPassResumesAfterItsCheckpointWithNothingLostOrDoubled) {
  for (int i = 0; i < 40; ++i) Put("uploads/" + std::to_string(100 + i) + ".jpg");
  BackfillOptions options = Options();
  std::atomic<bool> stop{false};
  std::string last;
  Backfill first(store_, store_, &queue_, pipeline_, options, clock_);
  auto stopped = first.Run(&stop, [&](const BackfillProgress& p) {
    last = p.last_key;
    if (p.counts.listed >= 12) stop = true;  // a SIGINT after the second checkpoint or so
    return Status::Ok();
  });
  ASSERT_TRUE(stopped.ok());
  EXPECT_FALSE(stopped->complete);
  EXPECT_EQ(stopped->last_key, last);
  options.start_after = last;
  auto resumed = RunPass(options);
  ASSERT_TRUE(resumed.ok());
  EXPECT_TRUE(resumed->complete);
  EXPECT_EQ(stopped->counts.queued + resumed->counts.queued, 40);
  std::multiset<std::string> keys = Drain();
  EXPECT_EQ(keys.size(), 40u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 40u) << "none twice";
}

TEST_F(BackfillTest, RefusedEntriesAreRetriedAndAPermanentRefusalStopsAtTheCheckpoint) {
  for (int i = 0; i < 12; ++i) Put("uploads/" + std::to_string(100 + i) + ".jpg");
  std::set<std::string> refused_once;
  queue_.refuse = [&](const SendRequest& r) {
    if (refused_once.insert(r.body).second) return UnavailableError("throttled");
    return Status::Ok();
  };
  auto progress = RunPass(Options());
  ASSERT_TRUE(progress.ok()) << progress.status().ToString();
  EXPECT_EQ(Drain().size(), 12u);

  Put("uploads/200.jpg");
  Put("uploads/300.jpg");
  queue_.refuse = [](const SendRequest& r) {
    return r.body.find("300.jpg") != std::string::npos ? InvalidArgumentError("too big")
                                                       : Status::Ok();
  };
  BackfillOptions options = Options();
  options.start_after = "uploads/111.jpg";
  std::vector<std::string> checkpoints;
  auto failed = RunPass(options, &checkpoints);
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(checkpoints.empty()) << "the batch holding 300.jpg was never complete";
}

TEST_F(BackfillTest, ForcedMessagesAskForARemakeAndCountIsTheListing) {
  for (int i = 0; i < 9; ++i) Put("uploads/" + std::to_string(i) + ".jpg");
  Thumbnail("uploads/0.jpg");
  BackfillOptions options = Options();
  options.force = true;
  Backfill counter(store_, store_, &queue_, pipeline_, options, clock_);
  EXPECT_EQ(counter.Count(nullptr).value(), 9);
  options.start_after = "uploads/4.jpg";
  EXPECT_EQ(Backfill(store_, store_, &queue_, pipeline_, options, clock_).Count(nullptr).value(),
            4);
  options.start_after.clear();
  auto progress = RunPass(options);
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(progress->counts.queued, 9);
  std::vector<Message> messages;
  Drain(&messages);
  ASSERT_EQ(messages.size(), 9u);
  for (const Message& m : messages) EXPECT_TRUE(ForceRequested(m.attributes));
}

}  // namespace
}  // namespace thumbflow::pipeline
