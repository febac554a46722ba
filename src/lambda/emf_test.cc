#include "lambda/emf.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace thumbflow::lambda {
namespace {

pipeline::RecordResult Record(pipeline::Outcome outcome, int64_t duration_ms,
                              bool duplicate = false) {
  pipeline::RecordResult r;
  r.outcome = outcome;
  r.duration_ms = duration_ms;
  r.duplicate = duplicate;
  return r;
}

// The line as the runtime writes it: through the logger, then parsed as CloudWatch would.
nlohmann::json Line(const BatchResult& batch, const std::string& function_name) {
  std::string line;
  ManualClock clock(1'700'000'000'000);
  Logger log([&line](std::string_view l) { line = l; }, &clock, LogLevel::kError);
  log.LogAlways(LogLevel::kInfo, "metrics",
                EmfBatchFields(batch, 1'700'000'000'123, 250, function_name));
  return nlohmann::json::parse(line);  // throws unless valid JSON
}

BatchResult SampleBatch() {
  BatchResult batch;
  MessageOutcome done;
  done.message_id = "m1";
  done.records = {Record(pipeline::Outcome::kOk, 120),
                  Record(pipeline::Outcome::kOk, 4, /*duplicate=*/true)};
  MessageOutcome dead;
  dead.message_id = "m2";
  dead.disposition = Disposition::kDeadLettered;
  dead.records = {Record(pipeline::Outcome::kPermanent, 30)};
  MessageOutcome retry;
  retry.message_id = "m3";
  retry.disposition = Disposition::kRetry;
  retry.records = {Record(pipeline::Outcome::kTransient, 900)};
  batch.messages = {done, dead, retry};
  batch.failed_message_ids = {"m3"};
  return batch;
}

TEST(EmfTest, ARemovalIsCountedAsRecordsRemovedNotRecordsOk) {
  BatchResult batch;
  MessageOutcome done;
  done.message_id = "m1";
  pipeline::RecordResult removal = Record(pipeline::Outcome::kOk, 7);
  removal.removal = true;  // its source's thumbnails deleted: no thumbnails made
  done.records = {Record(pipeline::Outcome::kOk, 120), removal};
  batch.messages = {done};
  nlohmann::json doc = Line(batch, "thumbnails");
  EXPECT_EQ(doc["Records"], 2);
  EXPECT_EQ(doc["RecordsOk"], 1);
  EXPECT_EQ(doc["RecordsRemoved"], 1);
}

TEST(EmfTest, OneLineWithTheAwsMetadataAndEveryDeclaredValue) {
  nlohmann::json doc = Line(SampleBatch(), "thumbnails");
  EXPECT_EQ(doc["level"], "info");
  EXPECT_EQ(doc["msg"], "metrics");
  ASSERT_TRUE(doc.contains("time"));
  const nlohmann::json& aws = doc["_aws"];
  EXPECT_EQ(aws["Timestamp"], 1'700'000'000'123);
  ASSERT_EQ(aws["CloudWatchMetrics"].size(), 1u);
  const nlohmann::json& directive = aws["CloudWatchMetrics"][0];
  EXPECT_EQ(directive["Namespace"], "thumbflow");
  EXPECT_EQ(directive["Dimensions"], nlohmann::json::parse(R"([["FunctionName"]])"));
  EXPECT_EQ(doc["FunctionName"], "thumbnails");
  // Every declared metric has a value at the root, and every dimension too (EMF's rules).
  for (const auto& metric : directive["Metrics"]) {
    ASSERT_TRUE(doc.contains(metric["Name"].get<std::string>())) << metric;
    EXPECT_TRUE(metric["Unit"] == "Count" || metric["Unit"] == "Milliseconds") << metric;
  }
  EXPECT_EQ(doc["Messages"], 3);
  EXPECT_EQ(doc["BatchItemFailures"], 1);
  EXPECT_EQ(doc["DeadLettered"], 1);
  EXPECT_EQ(doc["Records"], 4);
  EXPECT_EQ(doc["RecordsOk"], 1);
  EXPECT_EQ(doc["RecordsDuplicate"], 1);
  EXPECT_EQ(doc["RecordsPermanent"], 1);
  EXPECT_EQ(doc["RecordsTransient"], 1);
  EXPECT_EQ(doc["RecordsGone"], 0);
  EXPECT_EQ(doc["BatchTime"], 250);
  EXPECT_EQ(doc["ProcessingTime"], nlohmann::json::parse("[120,4,30,900]"));
}

TEST(EmfTest, NoFunctionNameMeansNoDimensionAndNoRecordsMeansNoProcessingTime) {
  BatchResult empty;
  nlohmann::json doc = Line(empty, "");
  const nlohmann::json& directive = doc["_aws"]["CloudWatchMetrics"][0];
  EXPECT_EQ(directive["Dimensions"], nlohmann::json::parse("[[]]"));
  EXPECT_FALSE(doc.contains("FunctionName"));
  EXPECT_FALSE(doc.contains("ProcessingTime"));
  for (const auto& metric : directive["Metrics"]) EXPECT_NE(metric["Name"], "ProcessingTime");
  EXPECT_EQ(doc["Messages"], 0);
}

TEST(EmfTest, AtMostOneHundredValuesPerMetric) {
  BatchResult batch;
  MessageOutcome message;
  for (int i = 0; i < 150; ++i) message.records.push_back(Record(pipeline::Outcome::kOk, i));
  batch.messages = {message};
  nlohmann::json doc = Line(batch, "f");
  EXPECT_EQ(doc["ProcessingTime"].size(), kEmfMaxValues);
  EXPECT_EQ(doc["Records"], 150);
}

TEST(EmfTest, FunctionNameIsEscaped) {
  nlohmann::json doc = Line(BatchResult{}, "we\"ird\\name");
  EXPECT_EQ(doc["FunctionName"], "we\"ird\\name");
}

}  // namespace
}  // namespace thumbflow::lambda
