#include "pipeline/record_processor.h"

#include <atomic>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/disk.h"
#include "core/metrics.h"
#include "image/testing/fake_thumbnailer.h"
#include "image/vips_thumbnailer.h"
#include "pipeline/pipeline_metrics.h"
#include "pipeline/pipeline_test_util.h"
#include "storage/memory_store.h"

namespace thumbflow::pipeline {
namespace {

using testing::CreatedRecord;
using testing::FaultyStore;
using thumbflow::testing::FakeThumbnailer;

constexpr char kBucket[] = "images";

RecordProcessorOptions DefaultOptions() {
  Config config;
  return RecordProcessorOptionsFromConfig(config);
}

class RecordProcessorTest : public ::testing::Test {
 protected:
  RecordProcessorTest()
      : memory_({kBucket, "out-bucket"}, &clock_),
        store_(memory_),
        metrics_(registry_),
        processor_(std::make_unique<RecordProcessor>(store_, thumbnailer_, clock_, DefaultOptions(),
                                                     &metrics_, Sink())) {}

  Logger Sink() {
    return Logger([this](std::string_view line) { lines_.emplace_back(line); }, &clock_);
  }

  // Puts a source and returns its ETag without quotes.
  std::string PutSource(const std::string& key, const std::string& bytes) {
    auto info = memory_.Put(kBucket, key, bytes);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    std::string etag = info->etag;
    return etag.substr(1, etag.size() - 2);
  }

  RecordResult Process(const S3EventRecord& record) { return processor_->Process(record); }

  ManualClock clock_;
  MemoryObjectStore memory_;
  FaultyStore store_;
  FakeThumbnailer thumbnailer_;
  MetricsRegistry registry_;
  PipelineMetrics metrics_;
  std::vector<std::string> lines_;
  std::unique_ptr<RecordProcessor> processor_;
};

TEST_F(RecordProcessorTest, WritesEveryOutputWithTypeAndMetadata) {
  std::string etag = PutSource("uploads/a/b/x.jpg", "pixels");
  clock_.AdvanceMillis(250);
  auto result =
      Process(CreatedRecord(kBucket, "uploads/a/b/x.jpg", etag, 6, clock_.NowMillis() - 250));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.message;
  ASSERT_EQ(result.outputs.size(), 3u);
  EXPECT_EQ(result.end_to_end_ms, 250);
  for (const char* size : {"small", "medium", "large"}) {
    std::string key = std::string("thumbnails/") + size + "/a/b/x.jpg";
    auto got = memory_.Get(kBucket, key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_EQ(got->bytes, std::string(size) + ":pixels");
    EXPECT_EQ(got->info.content_type, "image/jpeg");
    EXPECT_EQ(got->info.metadata.at("source-key"), "uploads/a/b/x.jpg");
    EXPECT_EQ(got->info.metadata.at("source-etag"), etag);
    EXPECT_FALSE(got->info.metadata.at("width").empty());
    EXPECT_FALSE(got->info.metadata.at("height").empty());
  }
  EXPECT_EQ(memory_.Head(kBucket, "thumbnails/small/a/b/x.jpg")->metadata.at("width"), "50");
  EXPECT_EQ(memory_.Head(kBucket, "thumbnails/small/a/b/x.jpg")->metadata.at("height"), "25");
}

TEST_F(RecordProcessorTest, SameNameInDifferentFoldersNeverCollides) {
  PutSource("uploads/a/x.jpg", "first");
  PutSource("uploads/b/x.jpg", "second");
  ASSERT_EQ(Process(CreatedRecord(kBucket, "uploads/a/x.jpg")).outcome, Outcome::kOk);
  ASSERT_EQ(Process(CreatedRecord(kBucket, "uploads/b/x.jpg")).outcome, Outcome::kOk);
  EXPECT_EQ(memory_.Get(kBucket, "thumbnails/small/a/x.jpg")->bytes, "small:first");
  EXPECT_EQ(memory_.Get(kBucket, "thumbnails/small/b/x.jpg")->bytes, "small:second");
}

TEST_F(RecordProcessorTest, NewFormatAppendsItsExtension) {
  thumbnailer_.SetFormat("png");
  PutSource("uploads/photo.heic", "heic");
  auto result = Process(CreatedRecord(kBucket, "uploads/photo.heic"));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.message;
  auto got = memory_.Head(kBucket, "thumbnails/large/photo.heic.png");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->content_type, "image/png");
  // format = auto: the idempotency check finds outputs whose extension was appended.
  EXPECT_TRUE(Process(CreatedRecord(kBucket, "uploads/photo.heic")).duplicate);
  EXPECT_EQ(thumbnailer_.calls(), 1);
}

TEST_F(RecordProcessorTest, NonAsciiKeyIsUrlEncodedInMetadata) {
  PutSource("uploads/caf\xC3\xA9 1.jpg", "x");
  ASSERT_EQ(Process(CreatedRecord(kBucket, "uploads/caf\xC3\xA9 1.jpg")).outcome, Outcome::kOk);
  auto got = memory_.Head(kBucket, "thumbnails/small/caf\xC3\xA9 1.jpg");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->metadata.at("source-key"), "uploads/caf%C3%A9+1.jpg");
}

TEST_F(RecordProcessorTest, UnsafeKeysArePermanent) {
  for (std::string key :
       {std::string("uploads/../etc/x.jpg"), std::string("/uploads/x.jpg"),
        std::string("uploads/a\0b.jpg", 16), "uploads/" + std::string(1100, 'a') + ".jpg",
        std::string("uploads/\xff.jpg")}) {
    auto result = Process(CreatedRecord(kBucket, key));
    EXPECT_EQ(result.outcome, Outcome::kPermanent) << key.substr(0, 40);
    EXPECT_EQ(result.reason, Reason::kInvalidKey);
  }
  EXPECT_EQ(store_.gets.load(), 0);
  EXPECT_EQ(thumbnailer_.calls(), 0);
}

TEST_F(RecordProcessorTest, KeyWhoseOutputKeyWouldBeTooLongIsRefusedBeforeFetching) {
  // The source key fits in 1024 bytes; "thumbnails/medium/" + its path does not.
  std::string path = std::string(1024 - 8 - 4 - 4, 'a') + ".jpg";
  std::string key = "uploads/" + path;
  ASSERT_LE(key.size(), 1024u);
  ASSERT_GT(("thumbnails/medium/" + path).size(), 1024u);
  PutSource(key, "image");
  auto result = Process(CreatedRecord(kBucket, key, "e", 5));
  EXPECT_EQ(result.outcome, Outcome::kPermanent);
  EXPECT_EQ(result.reason, Reason::kInvalidKey);
  EXPECT_NE(result.message.find("output key"), std::string::npos) << result.message;
  EXPECT_EQ(store_.gets.load(), 0);
  EXPECT_EQ(store_.heads.load(), 0);
  EXPECT_EQ(thumbnailer_.calls(), 0);

  // One byte shorter than the longest output key allows is still processed.
  std::string fits = std::string(1024 - std::string("thumbnails/medium/").size() - 4, 'b') + ".jpg";
  PutSource("uploads/" + fits, "image");
  auto ok = Process(CreatedRecord(kBucket, "uploads/" + fits));
  EXPECT_EQ(ok.outcome, Outcome::kOk) << ok.message;
}

TEST_F(RecordProcessorTest, KeysThatAreNotOurWorkAreSkipped) {
  PutSource("other/x.jpg", "x");
  PutSource("uploads/notes.txt", "x");
  EXPECT_EQ(Process(CreatedRecord(kBucket, "other/x.jpg")).outcome, Outcome::kSkipped);
  EXPECT_EQ(Process(CreatedRecord(kBucket, "uploads/notes.txt")).outcome, Outcome::kSkipped);
  EXPECT_EQ(Process(CreatedRecord(kBucket, "uploads/folder/")).outcome, Outcome::kSkipped);
  EXPECT_EQ(Process(CreatedRecord(kBucket, "uploads/")).outcome, Outcome::kSkipped);
  S3EventRecord removed = CreatedRecord(kBucket, "uploads/x.jpg");
  removed.event_name = "ObjectRemoved:Delete";
  EXPECT_EQ(Process(removed).outcome, Outcome::kSkipped);
  EXPECT_EQ(store_.gets.load(), 0);
  EXPECT_EQ(thumbnailer_.calls(), 0);
}

// [pipeline] delete_thumbnails = true: what an ObjectRemoved:* record does.
class RemovalTest : public RecordProcessorTest {
 protected:
  RemovalTest() {
    RecordProcessorOptions options = DefaultOptions();
    options.delete_thumbnails = true;
    processor_ =
        std::make_unique<RecordProcessor>(store_, thumbnailer_, clock_, options, &metrics_, Sink());
  }

  // An ObjectRemoved:Delete record as S3 sends it: no size, no ETag.
  static S3EventRecord Removed(const std::string& key) {
    S3EventRecord record = CreatedRecord(kBucket, key);
    record.event_name = "ObjectRemoved:Delete";
    return record;
  }

  // Uploads `key` and makes its thumbnails; returns the source ETag.
  std::string Thumbnailed(const std::string& key, const std::string& bytes) {
    std::string etag = PutSource(key, bytes);
    EXPECT_EQ(Process(CreatedRecord(kBucket, key, etag)).outcome, Outcome::kOk);
    return etag;
  }

  bool Exists(const std::string& key) { return memory_.Head(kBucket, key).ok(); }
};

TEST_F(RemovalTest, ARemovedSourceLosesItsThumbnails) {
  Thumbnailed("uploads/a/x.jpg", "pixels");
  Thumbnailed("uploads/b/x.jpg", "other");
  ASSERT_TRUE(memory_.Delete(kBucket, "uploads/a/x.jpg").ok());
  RecordResult result = Process(Removed("uploads/a/x.jpg"));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.message;
  EXPECT_EQ(result.deleted,
            (std::vector<std::string>{"thumbnails/small/a/x.jpg", "thumbnails/medium/a/x.jpg",
                                      "thumbnails/large/a/x.jpg"}));
  for (const char* size : {"small", "medium", "large"}) {
    EXPECT_FALSE(Exists(std::string("thumbnails/") + size + "/a/x.jpg")) << size;
    EXPECT_TRUE(Exists(std::string("thumbnails/") + size + "/b/x.jpg")) << size;
  }
  EXPECT_EQ(thumbnailer_.calls(), 2) << "a removal decodes nothing";
  EXPECT_NE(lines_.back().find("\"deleted\":[{\"key\":\"thumbnails/small/a/x.jpg\"}"),
            std::string::npos)
      << lines_.back();
  // A second delivery finds nothing left: ok, nothing deleted.
  RecordResult again = Process(Removed("uploads/a/x.jpg"));
  EXPECT_EQ(again.outcome, Outcome::kOk);
  EXPECT_TRUE(again.deleted.empty());
}

TEST_F(RemovalTest, RemovalsAreCountedApartFromThumbnailsMade) {
  Thumbnailed("uploads/x.jpg", "pixels");
  ASSERT_TRUE(memory_.Delete(kBucket, "uploads/x.jpg").ok());
  RecordResult result = Process(Removed("uploads/x.jpg"));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.message;
  EXPECT_TRUE(result.removal);
  EXPECT_STREQ(RecordLabel(result), "removed");
  RecordResult again = Process(Removed("uploads/x.jpg"));  // nothing left to delete
  EXPECT_TRUE(again.removal);
  const std::string text = registry_.RenderText();
  // The upload's record is the only ok one: the two removals made no thumbnails.
  for (const char* line :
       {"thumbflow_pipeline_records_total{outcome=\"ok\"} 1\n",
        "thumbflow_pipeline_records_total{outcome=\"removed\"} 2\n",
        "thumbflow_pipeline_processing_seconds_count{outcome=\"ok\"} 1\n",
        "thumbflow_pipeline_processing_seconds_count{outcome=\"removed\"} 2\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
}

TEST_F(RemovalTest, ANewerUploadUnderTheKeyKeepsItsThumbnails) {
  Thumbnailed("uploads/x.jpg", "first");
  ASSERT_TRUE(memory_.Delete(kBucket, "uploads/x.jpg").ok());
  std::string newer = Thumbnailed("uploads/x.jpg", "second");
  RecordResult result = Process(Removed("uploads/x.jpg"));
  EXPECT_EQ(result.outcome, Outcome::kSkipped);
  EXPECT_EQ(result.message.rfind("source exists", 0), 0u) << result.message;
  EXPECT_EQ(store_.deletes.load(), 0);
  auto kept = memory_.Get(kBucket, "thumbnails/small/x.jpg");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->bytes, "small:second");
  EXPECT_EQ(kept->info.metadata.at("source-etag"), newer);
}

TEST_F(RemovalTest, AnUploadDuringTheDeletesGetsItsThumbnailsBack) {
  Thumbnailed("uploads/x.jpg", "first");
  ASSERT_TRUE(memory_.Delete(kBucket, "uploads/x.jpg").ok());
  // The re-upload lands (and its own event is handled: its outputs are "current" with the
  // same bytes) after the removal looked at the source, before its deletes.
  store_.before_delete = [this](const std::string&) {
    if (!Exists("uploads/x.jpg")) PutSource("uploads/x.jpg", "first");
  };
  RecordResult result = Process(Removed("uploads/x.jpg"));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.message;
  EXPECT_EQ(result.deleted.size(), 3u);
  EXPECT_EQ(result.outputs.size(), 3u) << "made again from the object now there";
  EXPECT_FALSE(result.removal) << "thumbnails made: counted as ok";
  for (const char* size : {"small", "medium", "large"}) {
    EXPECT_TRUE(Exists(std::string("thumbnails/") + size + "/x.jpg")) << size;
  }
}

TEST_F(RemovalTest, ThumbnailsOfAnotherSourceOrWithAnotherEtagAreKept) {
  // Same output name, another source: "a.heic" (as png) and "a.heic.png" both give
  // "a.heic.png".
  thumbnailer_.SetFormat("png");
  Thumbnailed("uploads/a.heic.png", "png source");
  RecordResult other = Process(Removed("uploads/a.heic"));
  EXPECT_EQ(other.outcome, Outcome::kOk);
  EXPECT_TRUE(other.deleted.empty());
  EXPECT_TRUE(Exists("thumbnails/small/a.heic.png"));
  // An event that names an ETag (EventBridge replays, tools) deletes only thumbnails of it.
  Thumbnailed("uploads/b.png", "b");
  ASSERT_TRUE(memory_.Delete(kBucket, "uploads/b.png").ok());
  S3EventRecord stale = Removed("uploads/b.png");
  stale.etag = "0123456789abcdef0123456789abcdef";
  EXPECT_TRUE(Process(stale).deleted.empty());
  EXPECT_TRUE(Exists("thumbnails/large/b.png"));
}

TEST_F(RemovalTest, StoreFailuresAreClassifiedAndDeleteNothing) {
  Thumbnailed("uploads/x.jpg", "x");
  ASSERT_TRUE(memory_.Delete(kBucket, "uploads/x.jpg").ok());
  RecordProcessor processor(store_, thumbnailer_, clock_, [] {
    RecordProcessorOptions options = DefaultOptions();
    options.delete_thumbnails = true;
    options.output_bucket = "no-such-output-bucket";
    return options;
  }());
  RecordResult result = processor.Process(Removed("uploads/x.jpg"));
  EXPECT_EQ(result.outcome, Outcome::kTransient);
  EXPECT_EQ(result.reason, Reason::kMisconfigured);
  EXPECT_TRUE(Exists("thumbnails/small/x.jpg"));
}

TEST_F(RecordProcessorTest, SuffixesCompareIgnoringCase) {
  PutSource("uploads/X.JPG", "x");
  EXPECT_EQ(Process(CreatedRecord(kBucket, "uploads/X.JPG")).outcome, Outcome::kOk);
}

TEST_F(RecordProcessorTest, MissingSourceIsGone) {
  auto result = Process(CreatedRecord(kBucket, "uploads/deleted.jpg", "abc"));
  EXPECT_EQ(result.outcome, Outcome::kGone);
  EXPECT_EQ(result.reason, Reason::kSourceMissing);
  EXPECT_EQ(thumbnailer_.calls(), 0);
}

TEST_F(RecordProcessorTest, DuplicateDeliveryDecodesOnce) {
  std::string etag = PutSource("uploads/x.jpg", "x");
  auto record = CreatedRecord(kBucket, "uploads/x.jpg", etag);
  ASSERT_EQ(Process(record).outcome, Outcome::kOk);
  int gets = store_.gets.load();
  int puts = store_.puts.load();
  auto again = Process(record);
  EXPECT_EQ(again.outcome, Outcome::kOk);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(thumbnailer_.calls(), 1);
  EXPECT_EQ(store_.gets.load(), gets) << "a duplicate with an ETag must not fetch the source";
  EXPECT_EQ(store_.puts.load(), puts);
}

TEST_F(RecordProcessorTest, ForceRemakesCurrentOutputs) {
  std::string etag = PutSource("uploads/x.jpg", "x");
  auto record = CreatedRecord(kBucket, "uploads/x.jpg", etag);
  ASSERT_EQ(Process(record).outcome, Outcome::kOk);
  RecordContext forced;
  forced.force = ForceRequested({{kForceAttribute, kForceValue}});
  ASSERT_TRUE(forced.force);
  EXPECT_FALSE(ForceRequested({{kForceAttribute, "false"}}));
  auto again = processor_->Process(record, forced);
  EXPECT_EQ(again.outcome, Outcome::kOk);
  EXPECT_FALSE(again.duplicate);
  EXPECT_EQ(again.outputs.size(), 3u);
  EXPECT_EQ(thumbnailer_.calls(), 2);
  // Without an ETag in the event, the check after fetching is skipped too.
  auto no_etag = processor_->Process(CreatedRecord(kBucket, "uploads/x.jpg"), forced);
  EXPECT_FALSE(no_etag.duplicate);
  EXPECT_EQ(thumbnailer_.calls(), 3);
}

TEST_F(RecordProcessorTest, SourcePathAndOutputsCurrentAreWhatTheStepsUse) {
  RecordProcessorOptions options = DefaultOptions();
  EXPECT_EQ(SourcePath(options, "uploads/a/b.JPG"), "a/b.JPG");
  EXPECT_EQ(SourcePath(options, "uploads/notes.txt"), std::nullopt);
  EXPECT_EQ(SourcePath(options, "other/a.jpg"), std::nullopt);
  EXPECT_EQ(SourcePath(options, "uploads/dir/"), std::nullopt);
  EXPECT_EQ(SourcePath(options, "uploads/../a.jpg"), std::nullopt);
  std::string etag = PutSource("uploads/a/b.jpg", "x");
  EXPECT_FALSE(OutputsCurrent(memory_, options, kBucket, "a/b.jpg", etag));
  ASSERT_EQ(Process(CreatedRecord(kBucket, "uploads/a/b.jpg", etag)).outcome, Outcome::kOk);
  EXPECT_TRUE(OutputsCurrent(memory_, options, kBucket, "a/b.jpg", etag));
  EXPECT_FALSE(OutputsCurrent(memory_, options, kBucket, "a/b.jpg", "other"));
}

TEST_F(RecordProcessorTest, DuplicateWithoutEventEtagIsRecognisedAfterFetch) {
  PutSource("uploads/x.jpg", "x");
  auto record = CreatedRecord(kBucket, "uploads/x.jpg");
  ASSERT_EQ(Process(record).outcome, Outcome::kOk);
  auto again = Process(record);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(thumbnailer_.calls(), 1);
}

TEST_F(RecordProcessorTest, NewVersionOfTheSourceIsProcessedAgain) {
  std::string first = PutSource("uploads/x.jpg", "one");
  ASSERT_EQ(Process(CreatedRecord(kBucket, "uploads/x.jpg", first)).outcome, Outcome::kOk);
  std::string second = PutSource("uploads/x.jpg", "two");
  auto result = Process(CreatedRecord(kBucket, "uploads/x.jpg", second));
  EXPECT_FALSE(result.duplicate);
  EXPECT_EQ(memory_.Get(kBucket, "thumbnails/medium/x.jpg")->bytes, "medium:two");
}

TEST_F(RecordProcessorTest, PartialOutputsAreCompleted) {
  std::string etag = PutSource("uploads/x.jpg", "x");
  ASSERT_EQ(Process(CreatedRecord(kBucket, "uploads/x.jpg", etag)).outcome, Outcome::kOk);
  ASSERT_TRUE(memory_.Delete(kBucket, "thumbnails/large/x.jpg").ok());
  auto result = Process(CreatedRecord(kBucket, "uploads/x.jpg", etag));
  EXPECT_FALSE(result.duplicate);
  EXPECT_TRUE(memory_.Head(kBucket, "thumbnails/large/x.jpg").ok());
}

TEST_F(RecordProcessorTest, MissingMiddleOutputIsNotTakenForADuplicate) {
  // Outputs are written concurrently: the largest being there says nothing of the others.
  std::string etag = PutSource("uploads/y.jpg", "y");
  ASSERT_EQ(Process(CreatedRecord(kBucket, "uploads/y.jpg", etag)).outcome, Outcome::kOk);
  ASSERT_TRUE(memory_.Delete(kBucket, "thumbnails/medium/y.jpg").ok());
  auto result = Process(CreatedRecord(kBucket, "uploads/y.jpg", etag));
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_FALSE(result.duplicate);
  EXPECT_TRUE(memory_.Head(kBucket, "thumbnails/medium/y.jpg").ok());
}

TEST_F(RecordProcessorTest, EveryOutputIsAttemptedAndTheFirstFailureIsReported) {
  PutSource("uploads/z.jpg", "z");
  store_.put_fault = [](const std::string& key) {
    return key.find("/medium/") != std::string::npos ? UnavailableError("503 SlowDown")
                                                     : Status::Ok();
  };
  auto result = Process(CreatedRecord(kBucket, "uploads/z.jpg"));
  EXPECT_EQ(result.outcome, Outcome::kTransient);
  EXPECT_NE(result.message.find("thumbnails/medium/z.jpg"), std::string::npos) << result.message;
  EXPECT_TRUE(result.outputs.empty());
}

// The outputs are written on the processor's fixed pool and the calling threads: with many
// records at once every output comes out, and no put runs on a thread of its own.
TEST_F(RecordProcessorTest, OutputsOfConcurrentRecordsAreWrittenOnTheFixedPool) {
  RecordProcessorOptions options = DefaultOptions();
  options.output_threads = 1;
  RecordProcessor processor(store_, thumbnailer_, clock_, options);
  std::mutex mu;
  std::set<std::thread::id> putters;
  store_.put_fault = [&](const std::string&) {
    std::lock_guard<std::mutex> lock(mu);
    putters.insert(std::this_thread::get_id());
    return Status::Ok();
  };
  constexpr int kCallers = 6;
  std::set<std::thread::id> callers;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int c = 0; c < kCallers; ++c) {
    std::string key = "uploads/p" + std::to_string(c) + ".jpg";
    PutSource(key, "p" + std::to_string(c));
    threads.emplace_back([&, key] {
      {
        std::lock_guard<std::mutex> lock(mu);
        callers.insert(std::this_thread::get_id());
      }
      for (int round = 0; round < 5; ++round) {
        if (processor.Process(CreatedRecord(kBucket, key)).outcome == Outcome::kOk) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kCallers * 5);
  for (int c = 0; c < kCallers; ++c) {
    for (const char* size : {"small", "medium", "large"}) {
      std::string key = std::string("thumbnails/") + size + "/p" + std::to_string(c) + ".jpg";
      EXPECT_TRUE(memory_.Head(kBucket, key).ok()) << key;
    }
  }
  size_t others = 0;
  for (const auto& id : putters) others += callers.count(id) == 0 ? 1 : 0;
  EXPECT_LE(others, 1u);  // the pool's one thread
}

// An output store that throws (adapters must not) fails the record as transient, whichever
// output threw and whichever thread wrote it, after the other outputs were attempted.
TEST_F(RecordProcessorTest, AnExceptionFromOneOutputIsRetried) {
  PutSource("uploads/t.jpg", "t");
  std::atomic<int> attempts{0};
  store_.put_fault = [&](const std::string& key) -> Status {
    ++attempts;
    if (key.find("/large/") != std::string::npos) throw std::runtime_error("adapter threw");
    return Status::Ok();
  };
  auto result = Process(CreatedRecord(kBucket, "uploads/t.jpg"));
  EXPECT_EQ(result.outcome, Outcome::kTransient);
  EXPECT_EQ(result.reason, Reason::kInternal);
  EXPECT_NE(result.message.find("adapter threw"), std::string::npos) << result.message;
  EXPECT_EQ(attempts.load(), 3);
}

TEST_F(RecordProcessorTest, ThumbnailerErrorsKeepTheirClass) {
  PutSource("uploads/bad.jpg", "fail:not-an-image");
  PutSource("uploads/oom.jpg", "retry:internal");
  auto bad = Process(CreatedRecord(kBucket, "uploads/bad.jpg"));
  EXPECT_EQ(bad.outcome, Outcome::kPermanent);
  EXPECT_EQ(bad.reason, Reason::kNotAnImage);
  auto oom = Process(CreatedRecord(kBucket, "uploads/oom.jpg"));
  EXPECT_EQ(oom.outcome, Outcome::kTransient);
  EXPECT_EQ(oom.reason, Reason::kInternal);
  EXPECT_FALSE(memory_.Head(kBucket, "thumbnails/small/bad.jpg").ok());
}

TEST_F(RecordProcessorTest, ACrashedImageIsRetriedOnceThenDeadLettered) {
  PutSource("uploads/crash.jpg", "retry:crashed");
  S3EventRecord record = CreatedRecord(kBucket, "uploads/crash.jpg");
  RecordResult first = processor_->Process(record, {"m1", 1});
  EXPECT_EQ(first.outcome, Outcome::kTransient);
  EXPECT_EQ(first.reason, Reason::kCrashed);
  RecordResult second = processor_->Process(record, {"m1", 2});
  EXPECT_EQ(second.outcome, Outcome::kPermanent);
  EXPECT_EQ(second.reason, Reason::kCrashed);
}

TEST_F(RecordProcessorTest, ATimeoutOfTheCallersDeadlineIsRetriedUntilTheLastReceive) {
  PutSource("uploads/slow.jpg", "fail:timeout");
  S3EventRecord record = CreatedRecord(kBucket, "uploads/slow.jpg");
  // The caller's deadline (5 s) is shorter than limits.timeout_s (30 s): not the image's fault.
  RecordContext context{"m1", 1, clock_.NowMillis() + 5000, 3};
  RecordResult early = processor_->Process(record, context);
  EXPECT_EQ(early.outcome, Outcome::kTransient);
  EXPECT_EQ(early.reason, Reason::kTimeout);
  context.receive_count = 3;
  RecordResult last = processor_->Process(record, context);
  EXPECT_EQ(last.outcome, Outcome::kPermanent);
  EXPECT_EQ(last.reason, Reason::kTimeout);
  // Without a caller deadline the image used its whole limit: permanent at once.
  RecordResult own = processor_->Process(record, {"m1", 1, 0, 3});
  EXPECT_EQ(own.outcome, Outcome::kPermanent);
}

TEST_F(RecordProcessorTest, APassedDeadlineStopsBeforeDecoding) {
  PutSource("uploads/late.jpg", "late");
  int calls = thumbnailer_.calls();
  RecordResult late = processor_->Process(CreatedRecord(kBucket, "uploads/late.jpg"),
                                          {"m1", 1, clock_.NowMillis()});
  EXPECT_EQ(late.outcome, Outcome::kTransient);
  EXPECT_EQ(late.reason, Reason::kTimeout);
  EXPECT_EQ(thumbnailer_.calls(), calls);
}

TEST_F(RecordProcessorTest, StoreOutagesAreTransient) {
  PutSource("uploads/x.jpg", "x");
  store_.get_fault = [](const std::string&) { return UnavailableError("connection refused"); };
  auto get = Process(CreatedRecord(kBucket, "uploads/x.jpg"));
  EXPECT_EQ(get.outcome, Outcome::kTransient);
  EXPECT_EQ(get.reason, Reason::kUnavailable);
  store_.get_fault = nullptr;
  store_.put_fault = [](const std::string& key) {
    return key.find("/large/") != std::string::npos ? UnavailableError("503 SlowDown")
                                                    : Status::Ok();
  };
  auto put = Process(CreatedRecord(kBucket, "uploads/x.jpg"));
  EXPECT_EQ(put.outcome, Outcome::kTransient);
  EXPECT_NE(put.message.find("thumbnails/large/x.jpg"), std::string::npos) << put.message;
}

TEST_F(RecordProcessorTest, AFullDiskIsTransientNeverTooLarge) {
  PutSource("uploads/x.jpg", "x");
  store_.put_fault = [](const std::string& key) {
    return key.find("/small/") != std::string::npos
               ? FileError(ENOSPC, "write", "upload of bucket images")
               : Status::Ok();
  };
  auto result = Process(CreatedRecord(kBucket, "uploads/x.jpg"));
  EXPECT_EQ(result.outcome, Outcome::kTransient);
  EXPECT_EQ(result.reason, Reason::kNoSpace);
  EXPECT_TRUE(IsEnvironmentReason(result.reason));
  EXPECT_NE(result.message.find("No space left on device"), std::string::npos) << result.message;
  // The store's size limit stays permanent.
  store_.put_fault = [](const std::string&) {
    return ResourceExhaustedError("object is larger than the store accepts")
        .WithReason(Reason::kTooLarge);
  };
  auto too_large = Process(CreatedRecord(kBucket, "uploads/x.jpg"));
  EXPECT_EQ(too_large.outcome, Outcome::kPermanent);
  EXPECT_EQ(too_large.reason, Reason::kTooLarge);
}

// Only a fault of the object itself is permanent; the store's set-up (credentials, region,
// bucket) is the environment's, whatever code it arrives with.
TEST_F(RecordProcessorTest, StoreErrorsAreClassifiedByWhatHappened) {
  PutSource("uploads/x.jpg", "x");
  struct Case {
    Status fault;
    bool on_get;
    Outcome outcome;
    Reason reason;
  };
  const Case cases[] = {
      {InvalidArgumentError("key refused").WithReason(Reason::kInvalidKey), false,
       Outcome::kPermanent, Reason::kInvalidKey},
      {InvalidArgumentError("KeyTooLongError").WithReason(Reason::kInvalidKey), true,
       Outcome::kPermanent, Reason::kInvalidKey},
      // "other 4xx" of the AWS mapper: the request, not the object, was refused.
      {InvalidArgumentError("HTTP 400 InvalidArgument").WithErrorCode("InvalidArgument"), false,
       Outcome::kTransient, Reason::kMisconfigured},
      {Status(StatusCode::kFailedPrecondition,
              "misconfigured: HTTP 400 "
              "AuthorizationHeaderMalformed",
              "AuthorizationHeaderMalformed"),
       true, Outcome::kTransient, Reason::kMisconfigured},
      {PermissionDeniedError("access denied: HTTP 403 InvalidAccessKeyId"), true,
       Outcome::kTransient, Reason::kAccessDenied},
      {UnauthenticatedError("no credentials"), false, Outcome::kTransient, Reason::kAccessDenied},
      {NotFoundError("no such bucket: out").WithReason(Reason::kNoSuchBucket), false,
       Outcome::kTransient, Reason::kMisconfigured},
      {NotFoundError("no such bucket: images").WithReason(Reason::kNoSuchBucket), true,
       Outcome::kTransient, Reason::kMisconfigured},
      {NotFoundError("no such key"), true, Outcome::kGone, Reason::kSourceMissing},
  };
  for (const Case& c : cases) {
    store_.get_fault = [&](const std::string&) { return c.on_get ? c.fault : Status::Ok(); };
    store_.put_fault = [&](const std::string&) { return c.on_get ? Status::Ok() : c.fault; };
    auto result = Process(CreatedRecord(kBucket, "uploads/x.jpg"));
    EXPECT_EQ(result.outcome, c.outcome) << c.fault.ToString();
    EXPECT_EQ(result.reason, c.reason) << c.fault.ToString();
    EXPECT_EQ(IsEnvironmentReason(result.reason),
              c.reason == Reason::kMisconfigured || c.reason == Reason::kAccessDenied)
        << c.fault.ToString();
  }
}

TEST_F(RecordProcessorTest, OversizedSourceIsRefusedFromTheEvent) {
  auto result = Process(CreatedRecord(kBucket, "uploads/huge.jpg", "e", 60LL * 1024 * 1024));
  EXPECT_EQ(result.outcome, Outcome::kPermanent);
  EXPECT_EQ(result.reason, Reason::kTooLarge);
  EXPECT_EQ(store_.gets.load(), 0);
}

TEST_F(RecordProcessorTest, OutputBucketFromConfig) {
  RecordProcessorOptions options = DefaultOptions();
  options.output_bucket = "out-bucket";
  options.output_prefix = "thumbs/";
  options.upload_prefix = "in/";
  RecordProcessor processor(store_, thumbnailer_, clock_, options);
  PutSource("in/x.jpg", "x");
  auto result = processor.Process(CreatedRecord(kBucket, "in/x.jpg"));
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.message;
  EXPECT_TRUE(memory_.Head("out-bucket", "thumbs/small/x.jpg").ok());
  EXPECT_FALSE(memory_.Head(kBucket, "thumbs/small/x.jpg").ok());
}

TEST_F(RecordProcessorTest, CancelStopsBeforeDecoding) {
  PutSource("uploads/x.jpg", "x");
  CancelFlag cancel{true};
  auto result = processor_->Process(CreatedRecord(kBucket, "uploads/x.jpg"), {}, &cancel);
  EXPECT_EQ(result.outcome, Outcome::kAborted);
  EXPECT_EQ(thumbnailer_.calls(), 0);
}

TEST_F(RecordProcessorTest, OneJsonLogLinePerRecordAndMetrics) {
  PutSource("uploads/x.jpg", "x");
  Process(CreatedRecord(kBucket, "uploads/x.jpg"));
  Process(CreatedRecord(kBucket, "uploads/gone.jpg"));
  ASSERT_EQ(lines_.size(), 2u);
  auto ok = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(ok["msg"], "record");
  EXPECT_EQ(ok["level"], "info");
  EXPECT_EQ(ok["time"], FormatIso8601Millis(clock_.NowMillis()));
  EXPECT_EQ(ok["bucket"], kBucket);
  EXPECT_EQ(ok["key"], "uploads/x.jpg");
  EXPECT_EQ(ok["outcome"], "ok");
  EXPECT_TRUE(ok.contains("duration_ms"));
  EXPECT_EQ(ok["sizes"].size(), 3u);
  EXPECT_EQ(ok["sizes"][0]["width"], 50);
  auto gone = nlohmann::json::parse(lines_[1]);
  EXPECT_EQ(gone["outcome"], "gone");
  EXPECT_EQ(gone["level"], "warn");
  EXPECT_EQ(gone["reason"], "source-missing");
  std::string text = registry_.RenderText();
  EXPECT_NE(text.find("thumbflow_pipeline_records_total{outcome=\"ok\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("thumbflow_pipeline_records_failed_total{reason=\"source-missing\"} 1"),
            std::string::npos)
      << text;
  // Timed for every outcome, the failure included.
  EXPECT_NE(text.find("thumbflow_pipeline_processing_seconds_count{outcome=\"ok\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("thumbflow_pipeline_processing_seconds_count{outcome=\"gone\"} 1"),
            std::string::npos)
      << text;
}

// The real thumbnailer behind the processor, on a file from the corpus (testdata/corpus).

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(RecordProcessorVipsTest, RealImagesAndRealRejects) {
  auto runtime = VipsRuntime::Start({});
  ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
  Config config;
  auto thumbnailer = MakeVipsThumbnailer(config.thumbnails, **runtime);
  ASSERT_TRUE(thumbnailer.ok()) << thumbnailer.status().ToString();
  ManualClock clock;
  MemoryObjectStore store({kBucket}, &clock);
  FaultyStore counting(store);
  RecordProcessor processor(counting, **thumbnailer, clock,
                            RecordProcessorOptionsFromConfig(config));

  std::string jpeg = ReadFile("testdata/corpus/jpeg/progressive.jpg");
  ASSERT_FALSE(jpeg.empty());
  auto info = store.Put(kBucket, "uploads/p.jpg", jpeg);
  ASSERT_TRUE(info.ok());
  auto record = CreatedRecord(kBucket, "uploads/p.jpg", info->etag.substr(1, 32));
  auto result = processor.Process(record);
  ASSERT_EQ(result.outcome, Outcome::kOk) << result.reason << " " << result.message;
  ASSERT_EQ(result.outputs.size(), 3u);
  EXPECT_EQ(result.outputs[0].width, 50);
  EXPECT_EQ(result.outputs[2].width, 300);
  EXPECT_EQ(store.Head(kBucket, "thumbnails/medium/p.jpg")->content_type, "image/jpeg");
  int gets = counting.gets.load();
  EXPECT_TRUE(processor.Process(record).duplicate);
  EXPECT_EQ(counting.gets.load(), gets);

  ASSERT_TRUE(store.Put(kBucket, "uploads/notes.jpg", "this is plain text, not a picture").ok());
  auto reject = processor.Process(CreatedRecord(kBucket, "uploads/notes.jpg"));
  EXPECT_EQ(reject.outcome, Outcome::kPermanent);
  EXPECT_EQ(reject.reason, Reason::kNotAnImage);
}

}  // namespace
}  // namespace thumbflow::pipeline
