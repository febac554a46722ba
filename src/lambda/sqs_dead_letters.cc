#include "lambda/sqs_dead_letters.h"

namespace thumbflow::lambda {

SqsDeadLetters::SqsDeadLetters(SqsDeadLettersOptions options, std::shared_ptr<aws::HttpClient> http,
                               std::shared_ptr<aws::CredentialsProvider> credentials,
                               const Clock* clock)
    : options_(std::move(options)),
      http_(std::move(http)),
      credentials_(std::move(credentials)),
      clock_(clock) {}

Result<aws::SqsQueue*> SqsDeadLetters::QueueFor(const std::string& event_source_arn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = queues_.find(event_source_arn);
  if (it != queues_.end()) return it->second.get();
  auto parsed = aws::ParseSqsQueueArn(event_source_arn);
  if (!parsed.ok()) {
    return FailedPreconditionError("message has no usable eventSourceARN (\"" + event_source_arn +
                                   "\"), so its queue is unknown");
  }
  const auto& [account, name] = *parsed;
  aws::SqsQueueOptions queue_options;
  queue_options.endpoint = options_.endpoint;
  queue_options.region = options_.region;
  queue_options.dlq = options_.dlq;
  // The source queue may belong to another account: ask for its URL with the owner.
  {
    auto client =
        aws::SqsClient::Create(options_.endpoint, options_.region, http_, credentials_, clock_);
    if (!client.ok()) return client.status();
    auto url = (*client)->GetQueueUrl(name, account);
    if (!url.ok()) return url.status().WithContext("source queue " + event_source_arn);
    queue_options.queue = *url;
  }
  auto queue = aws::NewSqsQueue(std::move(queue_options), http_, credentials_, clock_);
  if (!queue.ok()) return queue.status().WithContext("source queue " + event_source_arn);
  aws::SqsQueue* raw = queue->get();
  queues_[event_source_arn] = std::move(*queue);
  return raw;
}

Status SqsDeadLetters::Send(const SqsEventRecord& message, const std::string& reason) {
  ASSIGN_OR_RETURN(aws::SqsQueue * queue, QueueFor(message.event_source_arn));
  if (queue->dlq_url().empty()) {
    return FailedPreconditionError("queue " + queue->queue_url() +
                                   " has no dead-letter queue (no RedrivePolicy) and none is "
                                   "configured ([lambda] dlq)");
  }
  Message m;
  m.id = message.message_id;
  m.receipt = message.receipt_handle;
  m.body = message.body;
  m.attributes = message.message_attributes;
  m.receive_count = message.receive_count;
  m.sent_ms = message.sent_ms;
  Failure failure;
  failure.reason = reason;
  failure.permanent = true;
  return queue->Fail(m, failure);
}

}  // namespace thumbflow::lambda
