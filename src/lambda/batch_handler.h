// HandleSqsBatch: one Lambda invocation's SQS batch -> which messages Lambda must retry.
//
// Every message goes through pipeline::ProcessMessage (the same per-message and per-record
// code as `thumbflow worker`), then:
//   delete (ok, skipped, gone, test event) ....... done, not listed
//   dead-letter (permanent: not an image, ...) ... sent to the DLQ with the reason, not
//                                                   listed; listed when it cannot be sent
//                                                   (no DLQ, or the send failed)
//   retry (transient) ............................. listed
//   release (deadline reached before a record) ... listed
// Messages whose turn comes when less than `deadline_margin_ms` is left before the
// invocation's deadline are not started and are listed; ProcessMessage asks the same
// question before each record. A record that has started is bounded by the invocation's
// deadline minus `answer_margin_ms` (its decode and its S3 requests); one that cannot finish
// by then is listed for retry (reason "timeout"), or dead-lettered as "timeout" on its last
// receive (pipeline/record_processor.h).
//
// Thread-safety: HandleSqsBatch may run concurrently with itself if its arguments allow it
// (the processor and the sender are thread-safe by contract).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "lambda/dead_letters.h"
#include "lambda/sqs_event.h"
#include "pipeline/message_processor.h"

namespace thumbflow::lambda {

struct BatchOptions {
  // No record starts once deadline - now < this margin: the time a record may need to
  // finish (fetch, decode, write), plus the answer to the Runtime API.
  int64_t deadline_margin_ms = 3'000;
  // Messages processed at once (each on its own thread); 1: one after the other.
  int concurrency = 1;
  // Every record's work (decode, S3 requests and their retries) is bounded by the
  // invocation's deadline minus this, so the invocation answers before it is killed.
  int64_t answer_margin_ms = 1'000;
  // The source queue's maxReceiveCount (0: unknown): on that receive a record the deadline
  // cut short is dead-lettered as "timeout" instead of listed for retry.
  int max_receive_count = 0;
  // SqsBatchHandler only: after each batch, one CloudWatch EMF line (lambda/emf.h) with
  // this dimension value (AWS_LAMBDA_FUNCTION_NAME; empty: no dimension).
  bool emit_metrics = true;
  std::string function_name;
};

enum class Disposition {
  kDone,          // acknowledged (Lambda deletes it)
  kDeadLettered,  // in the DLQ with its reason (Lambda deletes it from the source queue)
  kRetry,         // listed in batchItemFailures
};

// "done", "dead-lettered", "retry".
const char* DispositionName(Disposition disposition);

struct MessageOutcome {
  std::string message_id;
  Disposition disposition = Disposition::kDone;
  pipeline::MessageAction action = pipeline::MessageAction::kDelete;
  // The pipeline's reason (MessageResult::reason_label), or "deadline" for messages not
  // started: the string the DLQ and the log get.
  std::string reason;
  std::string detail;  // why a dead letter could not be sent, for the log
  bool started = false;
  std::vector<pipeline::RecordResult> records;  // the records started, for the metrics
};

struct BatchResult {
  std::vector<MessageOutcome> messages;         // one per event record, in event order
  std::vector<std::string> failed_message_ids;  // kRetry ones, in event order
};

// `dead_letters` may be null (no DLQ: permanent failures are listed for retry). `log` gets
// one "warn" line ("msg":"lambda-message") per message that is not simply done.
BatchResult HandleSqsBatch(const pipeline::RecordProcessor& processor,
                           DeadLetterSender* dead_letters, const Clock& clock, int64_t deadline_ms,
                           const std::vector<SqsEventRecord>& messages, const BatchOptions& options,
                           const Logger& log = {});

}  // namespace thumbflow::lambda
