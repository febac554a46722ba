#include "pipeline/message_processor.h"

namespace thumbflow::pipeline {

const char* MessageActionName(MessageAction action) {
  switch (action) {
    case MessageAction::kDelete:
      return "delete";
    case MessageAction::kRetry:
      return "retry";
    case MessageAction::kDeadLetter:
      return "dead-letter";
    case MessageAction::kRelease:
      return "release";
  }
  return "release";
}

MessageResult ProcessMessage(const RecordProcessor& processor, std::string_view body,
                             const RecordContext& context, const MessageOptions& options) {
  MessageResult result;
  Result<S3Event> event = ParseS3Event(body);
  if (!event.ok()) {
    result.action = MessageAction::kDeadLetter;
    result.reason =
        event.status().reason() == Reason::kNone ? Reason::kNotAnEvent : event.status().reason();
    result.message = event.status().message();
    return result;
  }
  if (event->test_event) {
    result.test_event = true;
    return result;
  }
  result.records_total = static_cast<int>(event->records.size());
  const RecordResult* first_transient = nullptr;
  const RecordResult* first_permanent = nullptr;
  bool stopped = false;
  result.records.reserve(event->records.size());
  for (const S3EventRecord& record : event->records) {
    if ((options.may_start_record && !options.may_start_record()) ||
        (options.cancel && options.cancel->load())) {
      stopped = true;
      break;
    }
    result.records.push_back(processor.Process(record, context, options.cancel));
  }
  for (const RecordResult& r : result.records) {
    if (r.outcome == Outcome::kAborted) stopped = true;
    if (r.outcome == Outcome::kTransient && !first_transient) first_transient = &r;
    if (r.outcome == Outcome::kPermanent && !first_permanent) first_permanent = &r;
  }
  if (stopped) {
    result.action = MessageAction::kRelease;
    result.reason = Reason::kShutdown;
  } else if (first_transient) {
    result.action = MessageAction::kRetry;
    result.reason = first_transient->reason;
    result.error_code = first_transient->error_code;
    result.message = first_transient->message;
  } else if (first_permanent) {
    result.action = MessageAction::kDeadLetter;
    result.reason = first_permanent->reason;
    result.error_code = first_permanent->error_code;
    result.message = first_permanent->message;
  }
  return result;
}

}  // namespace thumbflow::pipeline
