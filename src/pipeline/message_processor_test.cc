// ProcessMessage: how the records of one queue message combine into what happens to the
// message (message_processor.h).
#include "pipeline/message_processor.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"
#include "core/clock.h"
#include "events/s3_event.h"
#include "image/testing/fake_thumbnailer.h"
#include "pipeline/pipeline_test_util.h"
#include "storage/memory_store.h"

namespace thumbflow::pipeline {
namespace {

using pipeline::testing::CreatedRecord;
using thumbflow::testing::FakeThumbnailer;

constexpr char kBucket[] = "images";

class ProcessMessageTest : public ::testing::Test {
 protected:
  ProcessMessageTest()
      : store_({kBucket}, &clock_),
        processor_(store_, thumbnailer_, clock_, RecordProcessorOptionsFromConfig(Config{}),
                   nullptr,
                   Logger([this](std::string_view line) { lines_.emplace_back(line); }, &clock_)) {}

  void PutSource(const std::string& key, const std::string& bytes) {
    ASSERT_TRUE(store_.Put(kBucket, key, bytes).ok()) << key;
  }

  ManualClock clock_;
  MemoryObjectStore store_;
  FakeThumbnailer thumbnailer_;
  std::vector<std::string> lines_;
  RecordProcessor processor_;
};

TEST_F(ProcessMessageTest, EveryRecordOfAMessageIsProcessed) {
  std::vector<S3EventRecord> records;
  for (int i = 0; i < 4; ++i) {
    std::string key = "uploads/m" + std::to_string(i) + ".jpg";
    PutSource(key, "x");
    records.push_back(CreatedRecord(kBucket, key, "", 1, clock_.NowMillis()));
  }
  auto result = ProcessMessage(processor_, BuildS3Event(records), {"m1", 1});
  EXPECT_EQ(result.action, MessageAction::kDelete);
  EXPECT_EQ(result.records.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(store_.Head(kBucket, "thumbnails/large/m" + std::to_string(i) + ".jpg").ok());
  }
}

TEST_F(ProcessMessageTest, MalformedBodyIsDeadLettered) {
  auto result = ProcessMessage(processor_, "{not json", {});
  EXPECT_EQ(result.action, MessageAction::kDeadLetter);
  EXPECT_EQ(result.reason, Reason::kNotAnEvent);
}

TEST_F(ProcessMessageTest, TestEventIsAcknowledged) {
  auto result = ProcessMessage(processor_, BuildS3TestEvent(kBucket, clock_.NowMillis()), {});
  EXPECT_EQ(result.action, MessageAction::kDelete);
  EXPECT_TRUE(result.test_event);
  EXPECT_TRUE(lines_.empty());
}

TEST_F(ProcessMessageTest, TransientWinsOverPermanentAndGoneIsAcknowledged) {
  PutSource("uploads/ok.jpg", "x");
  PutSource("uploads/bad.jpg", "fail:truncated");
  PutSource("uploads/slow.jpg", "retry:internal");
  auto body = [&](std::vector<std::string> keys) {
    std::vector<S3EventRecord> records;
    for (auto& k : keys) records.push_back(CreatedRecord(kBucket, k));
    return BuildS3Event(records);
  };
  auto gone = ProcessMessage(processor_, body({"uploads/ok.jpg", "uploads/missing.jpg"}), {});
  EXPECT_EQ(gone.action, MessageAction::kDelete);
  auto permanent = ProcessMessage(processor_, body({"uploads/bad.jpg", "uploads/ok.jpg"}), {});
  EXPECT_EQ(permanent.action, MessageAction::kDeadLetter);
  EXPECT_EQ(permanent.reason, Reason::kTruncated);
  EXPECT_EQ(permanent.records.size(), 2u) << "records after a failed one still run";
  auto transient = ProcessMessage(
      processor_, body({"uploads/bad.jpg", "uploads/slow.jpg", "uploads/ok.jpg"}), {});
  EXPECT_EQ(transient.action, MessageAction::kRetry);
  EXPECT_EQ(transient.reason, Reason::kInternal);
}

TEST_F(ProcessMessageTest, MayStartRecordStopsTheMessage) {
  PutSource("uploads/a.jpg", "x");
  PutSource("uploads/b.jpg", "x");
  int allowed = 1;
  MessageOptions options;
  options.may_start_record = [&] { return allowed-- > 0; };
  auto result = ProcessMessage(processor_,
                               BuildS3Event({CreatedRecord(kBucket, "uploads/a.jpg"),
                                             CreatedRecord(kBucket, "uploads/b.jpg")}),
                               {}, options);
  EXPECT_EQ(result.action, MessageAction::kRelease);
  EXPECT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records_total, 2);
}

}  // namespace
}  // namespace thumbflow::pipeline
