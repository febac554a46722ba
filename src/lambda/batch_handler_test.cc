#include "lambda/batch_handler.h"

#include <atomic>
#include <map>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "events/s3_event.h"
#include "image/testing/fake_thumbnailer.h"
#include "lambda/runtime.h"
#include "storage/memory_store.h"

namespace thumbflow::lambda {
namespace {

using thumbflow::testing::FakeThumbnailer;

constexpr char kBucket[] = "images";
constexpr char kQueueArn[] = "arn:aws:sqs:us-east-1:123456789012:uploads";

// A store whose reads of one key fail as if S3 were unreachable.
class FlakyStore : public MemoryObjectStore {
 public:
  using MemoryObjectStore::MemoryObjectStore;
  std::string unreachable_key;
  Result<ObjectData> Get(const std::string& bucket, const std::string& key,
                         const GetOptions& options = {}) override {
    if (key == unreachable_key) return UnavailableError("connection refused");
    return MemoryObjectStore::Get(bucket, key, options);
  }
};

class RecordingDeadLetters : public DeadLetterSender {
 public:
  Status answer;
  std::mutex mu;
  std::map<std::string, std::string> sent;  // message id -> reason
  Status Send(const SqsEventRecord& message, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(message.event_source_arn, kQueueArn);
    if (!answer.ok()) return answer;
    sent[message.message_id] = reason;
    return Status::Ok();
  }
};

SqsEventRecord MessageFor(const std::string& id, const std::vector<std::string>& keys) {
  std::vector<S3EventRecord> records;
  for (const auto& key : keys) {
    S3EventRecord r;
    r.bucket = kBucket;
    r.key = key;
    r.size = 10;
    r.event_time_ms = 1'700'000'000'000;
    records.push_back(r);
  }
  SqsEventRecord m;
  m.message_id = id;
  m.receipt_handle = "receipt-" + id;
  m.body = BuildS3Event(records);
  m.event_source_arn = kQueueArn;
  m.receive_count = 1;
  return m;
}

class BatchHandlerTest : public ::testing::Test {
 protected:
  BatchHandlerTest() : store_({kBucket}, &clock_) {
    thumbnailer_.SetRequiredPrefix("IMG");  // "hello, world" is not an image
    pipeline::RecordProcessorOptions options;
    options.upload_prefix = "uploads/";
    options.output_prefix = "thumbnails/";
    processor_ = std::make_unique<pipeline::RecordProcessor>(store_, thumbnailer_, clock_, options);
    EXPECT_TRUE(store_.Put(kBucket, "uploads/good.jpg", "IMG data").ok());
    EXPECT_TRUE(store_.Put(kBucket, "uploads/text.jpg", "hello, world").ok());
    EXPECT_TRUE(store_.Put(kBucket, "uploads/flaky.jpg", "IMG data").ok());
    store_.unreachable_key = "uploads/flaky.jpg";
  }

  BatchResult Handle(const std::vector<SqsEventRecord>& messages, int64_t deadline_ms,
                     DeadLetterSender* dead_letters, int concurrency = 1) {
    BatchOptions options;
    options.deadline_margin_ms = 1'000;
    options.concurrency = concurrency;
    return HandleSqsBatch(*processor_, dead_letters, clock_, deadline_ms, messages, options);
  }

  ManualClock clock_;
  FlakyStore store_;
  FakeThumbnailer thumbnailer_;
  std::unique_ptr<pipeline::RecordProcessor> processor_;
};

TEST_F(BatchHandlerTest, ListsExactlyTheMessagesToRetry) {
  RecordingDeadLetters dlq;
  std::vector<SqsEventRecord> batch = {
      MessageFor("good", {"uploads/good.jpg"}),
      MessageFor("text", {"uploads/text.jpg"}),
      MessageFor("missing", {"uploads/missing.jpg"}),
      MessageFor("flaky", {"uploads/flaky.jpg"}),
      MessageFor("garbage", {}),
  };
  batch[4].body = "this is not an S3 event";
  SqsEventRecord test_event = MessageFor("test-event", {});
  test_event.body = BuildS3TestEvent(kBucket, clock_.NowMillis());
  batch.push_back(test_event);

  BatchResult result = Handle(batch, clock_.NowMillis() + 60'000, &dlq);

  EXPECT_EQ(result.failed_message_ids, std::vector<std::string>{"flaky"});
  EXPECT_EQ(dlq.sent, (std::map<std::string, std::string>{{"text", "not-an-image"},
                                                          {"garbage", "not-an-event"}}));
  ASSERT_EQ(result.messages.size(), batch.size());
  EXPECT_EQ(result.messages[0].disposition, Disposition::kDone);
  EXPECT_EQ(result.messages[1].disposition, Disposition::kDeadLettered);
  EXPECT_EQ(result.messages[2].disposition, Disposition::kDone);  // gone: acknowledged
  EXPECT_EQ(result.messages[3].disposition, Disposition::kRetry);
  EXPECT_EQ(result.messages[5].disposition, Disposition::kDone);
  auto thumb = store_.Get(kBucket, "thumbnails/small/good.jpg");
  ASSERT_TRUE(thumb.ok()) << thumb.status().ToString();
  EXPECT_EQ(thumb->bytes, "small:IMG data");
  EXPECT_FALSE(store_.Head(kBucket, "thumbnails/small/text.jpg").ok());
}

TEST_F(BatchHandlerTest, PermanentFailuresAreRetriedWhenNoDeadLetterQueueTakesThem) {
  std::vector<SqsEventRecord> batch = {MessageFor("good", {"uploads/good.jpg"}),
                                       MessageFor("text", {"uploads/text.jpg"})};
  EXPECT_EQ(Handle(batch, clock_.NowMillis() + 60'000, nullptr).failed_message_ids,
            std::vector<std::string>{"text"});

  RecordingDeadLetters refusing;
  refusing.answer = FailedPreconditionError("queue has no RedrivePolicy");
  BatchResult result = Handle(batch, clock_.NowMillis() + 60'000, &refusing);
  EXPECT_EQ(result.failed_message_ids, std::vector<std::string>{"text"});
  EXPECT_NE(result.messages[1].detail.find("RedrivePolicy"), std::string::npos);
}

TEST_F(BatchHandlerTest, NothingStartsWhenTheDeadlineIsTooClose) {
  RecordingDeadLetters dlq;
  std::vector<SqsEventRecord> batch = {MessageFor("good", {"uploads/good.jpg"}),
                                       MessageFor("text", {"uploads/text.jpg"})};
  BatchResult result = Handle(batch, clock_.NowMillis() + 999, &dlq);
  EXPECT_EQ(result.failed_message_ids, (std::vector<std::string>{"good", "text"}));
  EXPECT_EQ(thumbnailer_.calls(), 0);
  EXPECT_TRUE(dlq.sent.empty());
  for (const auto& m : result.messages) {
    EXPECT_FALSE(m.started);
    EXPECT_EQ(m.reason, "deadline");
  }
  EXPECT_FALSE(store_.Head(kBucket, "thumbnails/small/good.jpg").ok());
}

// The deadline is asked before every record: a message whose first record ran into the
// margin does not start its second one, and is retried whole.
class AdvancingThumbnailer : public FakeThumbnailer {
 public:
  explicit AdvancingThumbnailer(ManualClock& clock) : clock_(clock) {}
  Result<Thumbnails> Make(std::string_view encoded, const MakeOptions&) const override {
    clock_.AdvanceMillis(5'000);
    return FakeThumbnailer::Make(encoded, {});
  }

 private:
  ManualClock& clock_;
};

TEST_F(BatchHandlerTest, StopsBetweenRecordsWhenTimeRunsOut) {
  ASSERT_TRUE(store_.Put(kBucket, "uploads/second.jpg", "IMG two").ok());
  AdvancingThumbnailer slow(clock_);
  pipeline::RecordProcessor processor(store_, slow, clock_, processor_->options());
  std::vector<SqsEventRecord> batch = {
      MessageFor("both", {"uploads/good.jpg", "uploads/second.jpg"}),
      MessageFor("later", {"uploads/second.jpg"})};
  BatchOptions options;
  options.deadline_margin_ms = 1'000;
  BatchResult result =
      HandleSqsBatch(processor, nullptr, clock_, clock_.NowMillis() + 4'000, batch, options);
  EXPECT_EQ(result.failed_message_ids, (std::vector<std::string>{"both", "later"}));
  EXPECT_EQ(slow.calls(), 1);
  EXPECT_TRUE(store_.Head(kBucket, "thumbnails/small/good.jpg").ok());
  EXPECT_FALSE(store_.Head(kBucket, "thumbnails/small/second.jpg").ok());
  EXPECT_TRUE(result.messages[0].started);
  EXPECT_FALSE(result.messages[1].started);
}

TEST_F(BatchHandlerTest, ConcurrentMessagesGiveTheSameAnswer) {
  RecordingDeadLetters dlq;
  std::vector<SqsEventRecord> batch;
  for (int i = 0; i < 8; ++i) {
    batch.push_back(MessageFor("good" + std::to_string(i), {"uploads/good.jpg"}));
    batch.push_back(MessageFor("flaky" + std::to_string(i), {"uploads/flaky.jpg"}));
  }
  BatchResult result = Handle(batch, clock_.NowMillis() + 60'000, &dlq, 4);
  std::vector<std::string> expected;
  for (int i = 0; i < 8; ++i) expected.push_back("flaky" + std::to_string(i));
  EXPECT_EQ(result.failed_message_ids, expected);
}

TEST_F(BatchHandlerTest, HandlerAnswersInLambdaFormat) {
  RecordingDeadLetters dlq;
  auto handler = SqsBatchHandler(*processor_, &dlq, clock_, BatchOptions{});
  nlohmann::json event = {{"Records", nlohmann::json::array()}};
  for (const auto& m :
       {MessageFor("good", {"uploads/good.jpg"}), MessageFor("flaky", {"uploads/flaky.jpg"})}) {
    event["Records"].push_back({{"messageId", m.message_id},
                                {"receiptHandle", m.receipt_handle},
                                {"body", m.body},
                                {"attributes", {{"ApproximateReceiveCount", "1"}}},
                                {"eventSource", "aws:sqs"},
                                {"eventSourceARN", kQueueArn}});
  }
  Invocation invocation;
  invocation.request_id = "r";
  invocation.deadline_ms = clock_.NowMillis() + 60'000;
  invocation.event = event.dump();
  auto answer = handler(invocation);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(*answer),
            nlohmann::json::parse(R"({"batchItemFailures":[{"itemIdentifier":"flaky"}]})"));

  invocation.event = R"({"not":"sqs"})";
  auto bad = handler(invocation);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace thumbflow::lambda
