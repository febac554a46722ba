#include "server/s3_metrics.h"

#include <gtest/gtest.h>

namespace thumbflow::server {
namespace {

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(S3RequestMetricsTest, CountsByOperationAndStatusAndCreatesOnlyWhatIsUsed) {
  MetricsRegistry registry;
  S3RequestMetrics metrics(&registry);
  metrics.Record(S3Operation::kPutObject, 200, 0.01, 5, 0);
  metrics.Record(S3Operation::kPutObject, 200, 0.02, 7, 0);
  metrics.Record(S3Operation::kGetObject, 404, 0.001, 0, 120);
  metrics.Record(S3Operation::kUnknown, 999, 0.001, 0, 0);  // outside the table: still counted
  std::string text = registry.RenderText();
  EXPECT_TRUE(
      Contains(text, "thumbflow_s3_requests_total{operation=\"PutObject\",status=\"200\"} 2\n"))
      << text;
  EXPECT_TRUE(
      Contains(text, "thumbflow_s3_requests_total{operation=\"GetObject\",status=\"404\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "thumbflow_s3_requests_total{operation=\"Unknown\",status=\"999\"} 1\n"));
  EXPECT_TRUE(Contains(text, "thumbflow_s3_received_bytes_total{operation=\"PutObject\"} 12\n"));
  EXPECT_TRUE(Contains(text, "thumbflow_s3_sent_bytes_total{operation=\"GetObject\"} 120\n"));
  EXPECT_TRUE(
      Contains(text, "thumbflow_s3_request_duration_seconds_count{operation=\"PutObject\"} 2\n"));
  // No child for what did not happen.
  EXPECT_FALSE(Contains(text, "operation=\"ListBuckets\""));
  EXPECT_FALSE(Contains(text, "thumbflow_s3_received_bytes_total{operation=\"GetObject\"}"));
  EXPECT_FALSE(Contains(text, "thumbflow_s3_sent_bytes_total{operation=\"PutObject\"}"));
}

TEST(S3RequestMetricsTest, NoRegistryRecordsNothing) {
  S3RequestMetrics metrics(nullptr);
  metrics.Record(S3Operation::kPutObject, 200, 0.01, 5, 5);  // must not crash
}

}  // namespace
}  // namespace thumbflow::server
