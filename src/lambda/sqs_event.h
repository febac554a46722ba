// The JSON Lambda's SQS event source hands a function, and the partial-batch answer it
// expects back (FunctionResponseTypes: ReportBatchItemFailures).
//
// Pure functions; thread-safe; never throw.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace thumbflow::lambda {

// One entry of the event's `Records[]`. Only the fields thumbflow uses are kept.
struct SqsEventRecord {
  std::string message_id;        // messageId: what batchItemFailures names
  std::string receipt_handle;    // receiptHandle
  std::string body;              // the queue message body (an S3 event notification)
  std::string event_source_arn;  // eventSourceARN: "arn:aws:sqs:REGION:ACCOUNT:NAME"
  std::string aws_region;        // awsRegion
  int receive_count = 0;         // attributes.ApproximateReceiveCount; 0 when absent
  int64_t sent_ms = 0;           // attributes.SentTimestamp; 0 when absent
  // messageAttributes: String and Number values (stringValue); Binary ones are left out.
  std::map<std::string, std::string> message_attributes;
};

// Parses `{"Records":[...]}` whose records come from SQS (eventSource "aws:sqs"). Every
// record needs a non-empty messageId and a string body. InvalidArgument (naming the record
// and field) otherwise: the event is not something this runtime can answer per message.
Result<std::vector<SqsEventRecord>> ParseSqsEvent(std::string_view json);

// `{"batchItemFailures":[{"itemIdentifier":"<id>"},...]}` in the order given (an empty
// list tells Lambda that every message succeeded).
std::string BuildBatchResponse(const std::vector<std::string>& failed_message_ids);

}  // namespace thumbflow::lambda
