// SqsDeadLetters: DeadLetterSender on Amazon SQS, through aws::SqsQueue, so a dead letter
// written by the Lambda runtime looks exactly like one written by `thumbflow worker`
// (original body and attributes, reason in the "thumbflow-reason" message attribute) and
// `thumbflow dlq list` reads both alike.
//
// The DLQ is the configured one, else the deadLetterTargetArn of the RedrivePolicy of the
// message's source queue (found from eventSourceARN: GetQueueUrl, GetQueueAttributes). The
// resolved queue pair is cached per source ARN for the life of the process (a Lambda
// execution environment), so the lookup costs one round of requests per cold start.
// Failed lookups are not cached. After the DLQ holds the message, the message is deleted
// from the source queue with its receipt handle (Lambda would delete it too, once the
// function returns without listing it; deleting first keeps a crash in between from
// delivering it again).
//
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/sqs_queue.h"
#include "core/clock.h"
#include "lambda/dead_letters.h"

namespace thumbflow::lambda {

struct SqsDeadLettersOptions {
  std::string endpoint;  // SQS endpoint ("https://sqs.us-east-1.amazonaws.com")
  std::string region = "us-east-1";
  std::string dlq;  // URL or name; empty: the source queue's RedrivePolicy target
};

class SqsDeadLetters final : public DeadLetterSender {
 public:
  // `clock` is not owned and must outlive this object.
  SqsDeadLetters(SqsDeadLettersOptions options, std::shared_ptr<aws::HttpClient> http,
                 std::shared_ptr<aws::CredentialsProvider> credentials, const Clock* clock);

  Status Send(const SqsEventRecord& message, const std::string& reason) override;

 private:
  Result<aws::SqsQueue*> QueueFor(const std::string& event_source_arn);

  SqsDeadLettersOptions options_;
  std::shared_ptr<aws::HttpClient> http_;
  std::shared_ptr<aws::CredentialsProvider> credentials_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<aws::SqsQueue>> queues_;  // by source ARN
};

}  // namespace thumbflow::lambda
