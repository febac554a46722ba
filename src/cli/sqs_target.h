// The SQS queue a command works on when it is given --queue-url instead of --data
// (`thumbflow dlq list|redrive|purge`, `thumbflow status`), with the AWS settings every
// S3/SQS command takes: --region, --endpoint-url, --profile, over [aws] and the AWS_*
// variables (aws/aws_settings.h), credentials from the AWS chain (aws/credentials.h).
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/sqs_queue.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/result.h"

namespace thumbflow::cli {

struct SqsTargetFlags {
  std::string queue_url;     // URL or name; empty: the command works on --data instead
  std::string dlq_url;       // URL or name; empty: the queue's RedrivePolicy target
  std::string region;        // over [aws] region and AWS_REGION
  std::string endpoint_url;  // SQS (and STS) endpoint, over every other source
  std::string profile;       // AWS profile, over [aws] profile and AWS_PROFILE
};

// Adds --queue-url, --dlq-url, --region, --endpoint-url and --profile to `command`.
void AddSqsTargetOptions(CLI::App* command, SqsTargetFlags& flags);

// The queue and what it needs alive. Members are destroyed in reverse order: the queue
// before the HTTP client, credentials and clock it uses.
struct OpenedSqsQueue {
  SystemClock clock;
  std::shared_ptr<aws::CredentialsProvider> credentials;
  std::shared_ptr<aws::HttpClient> http;
  std::unique_ptr<aws::SqsQueue> queue;
};

// Resolves settings and credentials and opens the queue and its DLQ (aws::NewSqsQueue: a
// missing queue is NotFound here). The endpoint: --endpoint-url, else AWS_ENDPOINT_URL_SQS /
// AWS_ENDPOINT_URL / [aws], else the origin of --queue-url when it is a URL, else AWS's.
Result<std::unique_ptr<OpenedSqsQueue>> OpenSqsTarget(const SqsTargetFlags& flags, Config config);

}  // namespace thumbflow::cli
