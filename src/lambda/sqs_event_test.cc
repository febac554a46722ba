#include "lambda/sqs_event.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace thumbflow::lambda {
namespace {

// As Lambda's SQS event source delivers it (AWS documentation example, two records).
constexpr char kEvent[] = R"({
  "Records": [
    {
      "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
      "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
      "body": "{\"Records\":[]}",
      "attributes": {
        "ApproximateReceiveCount": "2",
        "SentTimestamp": "1545082649183",
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": "1545082649185"
      },
      "messageAttributes": {
        "origin": {"stringValue": "test", "dataType": "String"},
        "blob": {"binaryValue": "AAE=", "dataType": "Binary"}
      },
      "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
      "eventSource": "aws:sqs",
      "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
      "awsRegion": "us-east-2"
    },
    {
      "messageId": "2e1424d4-f796-459a-8184-9c92662be6da",
      "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
      "body": "Test message.",
      "attributes": {"ApproximateReceiveCount": "1"},
      "messageAttributes": {},
      "eventSource": "aws:sqs",
      "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
      "awsRegion": "us-east-2"
    }
  ]
})";

TEST(SqsEventTest, ParsesLambdaSqsEvent) {
  auto records = ParseSqsEvent(kEvent);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  const SqsEventRecord& first = (*records)[0];
  EXPECT_EQ(first.message_id, "059f36b4-87a3-44ab-83d2-661975830a7d");
  EXPECT_EQ(first.receipt_handle, "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...");
  EXPECT_EQ(first.body, "{\"Records\":[]}");
  EXPECT_EQ(first.event_source_arn, "arn:aws:sqs:us-east-2:123456789012:my-queue");
  EXPECT_EQ(first.aws_region, "us-east-2");
  EXPECT_EQ(first.receive_count, 2);
  EXPECT_EQ(first.sent_ms, 1545082649183);
  EXPECT_EQ(first.message_attributes, (std::map<std::string, std::string>{{"origin", "test"}}));
  EXPECT_EQ((*records)[1].body, "Test message.");
  EXPECT_EQ((*records)[1].receive_count, 1);
}

TEST(SqsEventTest, EmptyBatchIsValid) {
  auto records = ParseSqsEvent(R"({"Records":[]})");
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
}

TEST(SqsEventTest, RejectsWhatIsNotAnSqsBatch) {
  for (const char* bad : {"", "not json", "[]", R"({"records":[]})", R"({"Records":{}})",
                          R"({"Records":[{"body":"x"}]})", R"({"Records":[{"messageId":"a"}]})",
                          R"({"Records":[{"messageId":"a","body":3}]})",
                          R"({"Records":[{"messageId":"a","body":"x","eventSource":"aws:s3"}]})"}) {
    auto records = ParseSqsEvent(bad);
    EXPECT_FALSE(records.ok()) << bad;
    if (!records.ok()) {
      EXPECT_EQ(records.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  auto missing = ParseSqsEvent(R"({"Records":[{"messageId":"a","body":"x"},{"body":"y"}]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("Records[1].messageId"), std::string::npos)
      << missing.status().message();
}

TEST(SqsEventTest, BatchResponseListsExactlyTheGivenIds) {
  EXPECT_EQ(nlohmann::json::parse(BuildBatchResponse({})),
            nlohmann::json::parse(R"({"batchItemFailures":[]})"));
  EXPECT_EQ(nlohmann::json::parse(BuildBatchResponse({"a", "b\"c"})),
            nlohmann::json::parse(
                R"({"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b\"c"}]})"));
}

}  // namespace
}  // namespace thumbflow::lambda
