#include "cli/sqs_target.h"

#include "aws/aws_settings.h"

namespace thumbflow::cli {

void AddSqsTargetOptions(CLI::App* command, SqsTargetFlags& flags) {
  command->add_option("--queue-url", flags.queue_url,
                      "SQS queue URL (or name): work on SQS instead of --data");
  command->add_option("--dlq-url", flags.dlq_url,
                      "SQS dead-letter queue URL or name (default: the queue's RedrivePolicy "
                      "deadLetterTargetArn)");
  command->add_option("--region", flags.region, "AWS region (overrides [aws] region, AWS_REGION)");
  command->add_option("--endpoint-url", flags.endpoint_url,
                      "SQS and STS endpoint (overrides AWS_ENDPOINT_URL*, [aws])");
  command->add_option("--profile", flags.profile,
                      "AWS profile for credentials and region (overrides [aws] profile)");
}

Result<std::unique_ptr<OpenedSqsQueue>> OpenSqsTarget(const SqsTargetFlags& flags, Config config) {
  if (!flags.region.empty()) config.aws.region = flags.region;
  if (!flags.profile.empty()) config.aws.profile = flags.profile;
  aws::Environment env = aws::EnvironmentForConfig(config.aws, aws::ProcessEnvironment());
  if (!flags.endpoint_url.empty()) {
    if (!flags.endpoint_url.starts_with("http://") && !flags.endpoint_url.starts_with("https://")) {
      return InvalidArgumentError("--endpoint-url: \"" + flags.endpoint_url +
                                  "\" is not an http:// or https:// URL");
    }
    config.aws.sqs_endpoint_url = flags.endpoint_url;
    config.aws.endpoint_url = flags.endpoint_url;  // STS
    env.erase("AWS_ENDPOINT_URL_SQS");             // the flag wins over the environment
    env.erase("AWS_ENDPOINT_URL_STS");
    env.erase("AWS_ENDPOINT_URL");
    env.erase("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  }
  ASSIGN_OR_RETURN(aws::AwsSettings settings, aws::ResolveAwsSettings(config.aws, env));
  auto opened = std::make_unique<OpenedSqsQueue>();
  opened->credentials = aws::NewDefaultCredentialsChain(
      env, &opened->clock, aws::CredentialsOptionsForSettings(settings));
  opened->http = aws::NewHttpClientForSettings(settings);
  aws::SqsQueueOptions options;
  // A queue URL names its endpoint; AWS's default endpoint must not override it.
  const bool url =
      flags.queue_url.starts_with("http://") || flags.queue_url.starts_with("https://");
  options.endpoint = settings.sqs_custom_endpoint || !url ? settings.sqs_endpoint : "";
  options.region = settings.region;
  options.queue = flags.queue_url;
  options.dlq = flags.dlq_url;
  auto queue = aws::NewSqsQueue(options, opened->http, opened->credentials, &opened->clock);
  if (!queue.ok()) return queue.status().WithContext("sqs");
  opened->queue = std::move(queue).value();
  return opened;
}

}  // namespace thumbflow::cli
