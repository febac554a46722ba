// ProcessMessage: one queue message body (an S3 event notification) -> what to do with the
// message. Shared by the worker pool and the Lambda runtime, so both treat a message alike.
//
//   body is not an S3 event ............................ kDeadLetter "not-an-event"
//   s3:TestEvent ........................................ kDelete (nothing processed)
//   every record processed (ALL records, in order), then:
//     any record aborted (shutdown / deadline) .......... kRelease: make visible again now
//     else any transient ................................ kRetry with that record's reason
//     else any permanent ................................ kDeadLetter with that reason
//     else (ok, skipped, gone) .......................... kDelete
//
// A retried or dead-lettered message is redelivered whole; records already done are
// recognised by the idempotency check without fetching or decoding anything: one HEAD per
// configured size, and one more for each output name tried in vain first (format = auto
// may have appended ".jpg" or ".png"; RecordProcessor::OutputsCurrent).
//
// Thread-safety: as RecordProcessor::Process.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/record_processor.h"

namespace thumbflow::pipeline {

enum class MessageAction { kDelete, kRetry, kDeadLetter, kRelease };

// "delete", "retry", "dead-letter", "release".
const char* MessageActionName(MessageAction action);

struct MessageResult {
  MessageAction action = MessageAction::kDelete;
  Reason reason = Reason::kNone;  // for kRetry / kDeadLetter / kRelease
  std::string error_code;         // of the deciding record (RecordResult::error_code)
  std::string message;            // human detail (for example the parse error)
  bool test_event = false;
  std::vector<RecordResult> records;  // one per record started, in order
  int records_total = 0;              // records in the message, started or not

  // ReasonLabel(reason, error_code): the reason written to the queue, the DLQ and logs.
  std::string reason_label() const { return ReasonLabel(reason, error_code); }
};

struct MessageOptions {
  // Asked before each record; false stops the message there (the rest are not started and
  // the message is released). Empty: always true. The Lambda runtime uses it for its
  // deadline, the worker pool for shutdown.
  std::function<bool()> may_start_record;
  const CancelFlag* cancel = nullptr;  // passed to RecordProcessor::Process
};

MessageResult ProcessMessage(const RecordProcessor& processor, std::string_view body,
                             const RecordContext& context, const MessageOptions& options = {});

}  // namespace thumbflow::pipeline
