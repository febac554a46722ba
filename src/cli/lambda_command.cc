// `thumbflow lambda` (and the binary started as `bootstrap`): the AWS Lambda custom
// runtime. Wires the S3 store, the libvips thumbnailer, the record processor and the SQS
// dead-letter sender to the Runtime API loop of lambda/.
//
// Configuration: THUMBFLOW_CONFIG (a TOML document or the path of one; `--config FILE`
// overrides it) plus the AWS variables Lambda sets (AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; AWS_ENDPOINT_URL* for emulators). Any start-up
// failure is posted to /runtime/init/error (Runtime.ConfigError for the config,
// Runtime.InitError otherwise) before the process exits non-zero.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "aws/aws_settings.h"
#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/s3_store.h"
#include "cli/cli.h"
#include "cli/thumbnailer_factory.h"
#include "core/log.h"
#include "image/vips_runtime.h"
#include "lambda/lambda_config.h"
#include "lambda/runtime.h"
#include "lambda/runtime_api.h"
#include "lambda/sqs_dead_letters.h"
#include "pipeline/record_processor.h"

namespace thumbflow::cli {
namespace {

// Lambda's advanced logging controls ("TRACE" ... "FATAL") as our level, when set.
std::optional<LogLevel> LambdaLogLevel() {
  const char* level = std::getenv("AWS_LAMBDA_LOG_LEVEL");
  std::string text = level != nullptr ? level : "";
  if (text == "TRACE" || text == "DEBUG") return LogLevel::kDebug;
  if (text == "INFO") return LogLevel::kInfo;
  if (text == "WARN") return LogLevel::kWarn;
  if (text == "ERROR" || text == "FATAL") return LogLevel::kError;
  return std::nullopt;
}

int RunLambdaWithConfig(const std::string& config_override) {
  UseJsonErrors();
  const char* api_address = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (api_address == nullptr || *api_address == '\0') {
    return ReportUsage(
        "AWS_LAMBDA_RUNTIME_API is not set: `thumbflow lambda` runs as an AWS Lambda custom "
        "runtime (or under a Runtime API emulator)");
  }
  // Next() waits for as long as the function stays idle: no total timeout, no retries.
  aws::CurlHttpClientOptions runtime_http_options;
  runtime_http_options.total_timeout_ms = 0;
  runtime_http_options.max_idle_connections = 1;
  std::unique_ptr<aws::HttpClient> runtime_http = aws::NewCurlHttpClient(runtime_http_options);
  lambda::RuntimeApiClient api(*runtime_http, api_address);

  auto init_failed = [&api](const char* type, const Status& status) {
    Status posted = api.PostInitError({type, status.message()});
    if (!posted.ok()) (void)ReportFailure(posted.WithContext("cannot report the init error"));
    return ReportFailure(status) == kExitUsage ? kExitUsage : kExitFailed;
  };

  const char* env_config = std::getenv("THUMBFLOW_CONFIG");
  auto loaded = lambda::LoadLambdaConfig(!config_override.empty() ? config_override
                                                                  : (env_config ? env_config : ""));
  if (!loaded.ok()) return init_failed(lambda::kErrorTypeConfig, loaded.status());
  // Level: --log-level, THUMBFLOW_LOG_LEVEL, AWS_LAMBDA_LOG_LEVEL, then [log] level.
  if (std::optional<LogLevel> level = LambdaLogLevel()) loaded->config.log.level = *level;
  Status overridden = ApplyLogLevelOverrides(&loaded->config);
  if (!overridden.ok()) return init_failed(lambda::kErrorTypeConfig, overridden);
  const Config& config = loaded->config;
  const lambda::LambdaSettings& settings = loaded->lambda;

  SystemClock clock;
  aws::Environment env = aws::EnvironmentForConfig(config.aws, aws::ProcessEnvironment());
  auto aws_settings = aws::ResolveAwsSettings(config.aws, env);
  if (!aws_settings.ok()) return init_failed(lambda::kErrorTypeConfig, aws_settings.status());

  std::shared_ptr<aws::CredentialsProvider> credentials = aws::NewDefaultCredentialsChain(
      env, &clock, aws::CredentialsOptionsForSettings(*aws_settings));
  std::shared_ptr<aws::HttpClient> http = aws::NewHttpClientForSettings(*aws_settings);
  auto store =
      aws::NewS3Store(aws::S3StoreOptionsForSettings(*aws_settings), http, credentials, &clock);
  if (!store.ok()) return init_failed(lambda::kErrorTypeInit, store.status());

  const int concurrency =
      settings.concurrency > 0 ? settings.concurrency : EffectiveWorkers(config.pipeline);
  auto thumbnailer =
      MakeConfiguredThumbnailer(config, concurrency, config.pipeline.vips_threads, &clock);
  if (!thumbnailer.ok()) return init_failed(lambda::kErrorTypeInit, thumbnailer.status());

  const Logger log = CommandLogger(config, &clock);
  pipeline::RecordProcessor processor(**store, *thumbnailer->thumbnailer, clock,
                                      pipeline::RecordProcessorOptionsFromConfig(config),
                                      /*metrics=*/nullptr, log);
  lambda::SqsDeadLettersOptions dlq_options;
  dlq_options.endpoint = aws_settings->sqs_endpoint;
  dlq_options.region = aws_settings->region;
  dlq_options.dlq = settings.dlq;
  lambda::SqsDeadLetters dead_letters(dlq_options, http, credentials, &clock);

  lambda::BatchOptions batch_options;
  batch_options.deadline_margin_ms = settings.deadline_margin_ms;
  batch_options.concurrency = concurrency;
  batch_options.max_receive_count = config.queue.max_receive_count;
  if (const char* function = std::getenv("AWS_LAMBDA_FUNCTION_NAME")) {
    batch_options.function_name = function;
  }
  Status status = lambda::RunRuntimeLoop(
      api, lambda::SqsBatchHandler(processor, &dead_letters, clock, batch_options, log));
  if (!status.ok()) return ReportFailure(status.WithContext("lambda runtime"));
  return kExitOk;
}

}  // namespace

void RegisterLambdaCommand(CLI::App& app, CliContext& ctx) {
  auto config_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "lambda", "Run as an AWS Lambda custom runtime (SQS event batches of S3 events)");
  cmd->add_option("--config", *config_path,
                  "Config file (default: THUMBFLOW_CONFIG, a TOML document or path)");
  cmd->callback([&ctx, config_path] { ctx.exit_code = RunLambdaWithConfig(*config_path); });
}

int RunLambda(CliContext& ctx) {
  ctx.exit_code = RunLambdaWithConfig("");
  return ctx.exit_code;
}

}  // namespace thumbflow::cli
