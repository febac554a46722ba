// DeadLetterSender: where the Lambda runtime puts a message that retrying cannot help.
//
// With an SQS event source, Lambda itself deletes the messages a function does not list as
// failures, and moves a message to the queue's dead-letter queue only after
// maxReceiveCount failed receives. A permanent failure (not an image, corrupt, ...) should
// not wait for that: the runtime sends it to the DLQ at once, with the reason beside the
// unchanged body, and then reports it as done.
#pragma once

#include <string>

#include "core/status.h"
#include "lambda/sqs_event.h"

namespace thumbflow::lambda {

class DeadLetterSender {
 public:
  virtual ~DeadLetterSender() = default;

  // Stores `message` (body and message attributes unchanged) in the dead-letter queue of
  // the queue it came from (message.event_source_arn) with `reason` beside it.
  // OK once the DLQ holds it. FailedPrecondition when there is no DLQ to send to; other
  // errors when it could not be sent. Either way the caller must let the message be
  // retried. Thread-safe.
  virtual Status Send(const SqsEventRecord& message, const std::string& reason) = 0;
};

}  // namespace thumbflow::lambda
