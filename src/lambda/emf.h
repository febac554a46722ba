// CloudWatch Embedded Metric Format (EMF): the Lambda runtime's metrics, one JSON log line
// per invocation's batch. CloudWatch Logs turns the line into metrics by itself (no agent,
// no PutMetricData call, nothing to scrape):
//
//   {"time":...,"level":"info","msg":"metrics",
//    "_aws":{"Timestamp":<ms>,"CloudWatchMetrics":[{"Namespace":"thumbflow",
//            "Dimensions":[["FunctionName"]],"Metrics":[{"Name":"Messages","Unit":"Count"},...]}]},
//    "FunctionName":"thumbnails","Messages":4,...,"ProcessingTime":[120,3,...]}
//
// Metrics (Unit Count unless said):
//   Messages, BatchItemFailures (listed for retry), DeadLettered
//   Records, RecordsOk, RecordsDuplicate, RecordsSkipped, RecordsGone, RecordsPermanent,
//   RecordsTransient, RecordsAborted (duplicates are counted apart from RecordsOk)
//   ProcessingTime (Milliseconds): each record's duration, one value each (at most 100, the
//     format's limit per metric: a larger batch reports its first 100)
//   BatchTime (Milliseconds): the whole batch, from the event received to the answer
// The dimension is FunctionName (AWS_LAMBDA_FUNCTION_NAME) when known, else none.
#pragma once

#include <cstdint>
#include <string>

#include "core/log.h"
#include "lambda/batch_handler.h"

namespace thumbflow::lambda {

inline constexpr char kEmfNamespace[] = "thumbflow";
// EMF's limit on the values of one metric in one line.
inline constexpr size_t kEmfMaxValues = 100;

// The fields of the line (after time, level and msg): "_aws", the dimension, the values.
LogFields EmfBatchFields(const BatchResult& batch, int64_t timestamp_ms, int64_t batch_ms,
                         const std::string& function_name,
                         const std::string& metric_namespace = kEmfNamespace);

}  // namespace thumbflow::lambda
