#include "lambda/batch_handler.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace thumbflow::lambda {
namespace {

MessageOutcome HandleOne(const pipeline::RecordProcessor& processor, DeadLetterSender* dead_letters,
                         const SqsEventRecord& message, const std::function<bool()>& may_start,
                         int64_t record_deadline_ms, int max_receive_count) {
  MessageOutcome outcome;
  outcome.message_id = message.message_id;
  if (!may_start()) {
    outcome.disposition = Disposition::kRetry;
    outcome.action = pipeline::MessageAction::kRelease;
    outcome.reason = ReasonName(Reason::kDeadline);
    return outcome;
  }
  outcome.started = true;
  pipeline::RecordContext context{message.message_id, message.receive_count, record_deadline_ms,
                                  max_receive_count};
  context.force = pipeline::ForceRequested(message.message_attributes);
  pipeline::MessageOptions options;
  options.may_start_record = may_start;
  pipeline::MessageResult result =
      pipeline::ProcessMessage(processor, message.body, context, options);
  outcome.action = result.action;
  outcome.reason = result.reason_label();
  outcome.records = std::move(result.records);
  switch (result.action) {
    case pipeline::MessageAction::kDelete:
      outcome.disposition = Disposition::kDone;
      break;
    case pipeline::MessageAction::kRetry:
      outcome.disposition = Disposition::kRetry;
      break;
    case pipeline::MessageAction::kRelease:
      outcome.disposition = Disposition::kRetry;
      if (outcome.reason.empty()) outcome.reason = ReasonName(Reason::kDeadline);
      break;
    case pipeline::MessageAction::kDeadLetter: {
      Status sent = dead_letters ? dead_letters->Send(message, outcome.reason)
                                 : FailedPreconditionError("no dead-letter queue is configured");
      if (sent.ok()) {
        outcome.disposition = Disposition::kDeadLettered;
      } else {
        outcome.disposition = Disposition::kRetry;
        outcome.detail = sent.message();
      }
      break;
    }
  }
  return outcome;
}

// "event" predates the logger's "msg" and is kept for readers that match on it.
void Log(const Logger& log, const MessageOutcome& outcome) {
  if (outcome.disposition == Disposition::kDone) return;
  LogFields line;
  line.Add("event", "lambda-message")
      .Add("message_id", outcome.message_id)
      .Add("disposition", DispositionName(outcome.disposition))
      .Add("action", pipeline::MessageActionName(outcome.action))
      .Add("reason", outcome.reason);
  if (!outcome.detail.empty()) line.Add("detail", outcome.detail);
  log.Warn("lambda-message", line);
}

}  // namespace

const char* DispositionName(Disposition disposition) {
  switch (disposition) {
    case Disposition::kDone:
      return "done";
    case Disposition::kDeadLettered:
      return "dead-lettered";
    case Disposition::kRetry:
      return "retry";
  }
  return "unknown";
}

BatchResult HandleSqsBatch(const pipeline::RecordProcessor& processor,
                           DeadLetterSender* dead_letters, const Clock& clock, int64_t deadline_ms,
                           const std::vector<SqsEventRecord>& messages, const BatchOptions& options,
                           const Logger& log) {
  const std::function<bool()> may_start = [&clock, deadline_ms, &options] {
    return deadline_ms - clock.NowMillis() >= options.deadline_margin_ms;
  };
  BatchResult batch;
  if (messages.empty()) return batch;
  batch.messages.resize(messages.size());
  // Messages are handed out in event order, so under a deadline the earliest are done.
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < messages.size(); i = next.fetch_add(1)) {
      batch.messages[i] =
          HandleOne(processor, dead_letters, messages[i], may_start,
                    deadline_ms - options.answer_margin_ms, options.max_receive_count);
      Log(log, batch.messages[i]);
    }
  };
  int threads = std::clamp<int>(options.concurrency, 1, static_cast<int>(messages.size()));
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::jthread> pool;
    pool.reserve(threads);
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  }
  for (const auto& outcome : batch.messages) {
    if (outcome.disposition == Disposition::kRetry) {
      batch.failed_message_ids.push_back(outcome.message_id);
    }
  }
  return batch;
}

}  // namespace thumbflow::lambda
