// `thumbflow worker`: the cloud mode. SQS long polling, S3 for sources and thumbnails,
// libvips, and the pipeline's WorkerPool; any number of these processes may share a queue.
//
//   thumbflow worker [--config FILE] [--queue-url URL] [--dlq-url URL] [--region R]
//                    [--metrics-listen HOST:PORT] [--workers N]
//
// The config: --config FILE, else THUMBFLOW_CONFIG (a TOML document or a path), else the
// default paths (cli.h LoadConfigOrDefault).
// The queue is --queue-url (a URL or a name). The DLQ is --dlq-url, else the dead-letter
// target of the queue's RedrivePolicy; with neither, permanent failures are left to be
// retried (SqsQueue::Fail says so in the log). Credentials come from the AWS chain
// (environment, web identity, profile incl. roles/SSO/process, container, IMDS); endpoints and
// region from [aws] and the AWS_* variables (aws/aws_settings.h). SIGTERM / SIGINT / SIGHUP: stop
// receiving (the waiting long poll is cut off), finish within [pipeline] grace_period, give the
// rest back at once, exit 0. SIGHUP is a stop, not a reload: the config is read once, at start.
//
// --metrics-listen serves GET /metrics (Prometheus text), /healthz (alive) and /readyz
// (200 while receiving; 503 with the reason once stopping, or while paused because the
// store is misconfigured or refuses the credentials: see pipeline/worker_pool.h).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "aws/aws_settings.h"
#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/s3_store.h"
#include "aws/sqs_queue.h"
#include "cli/cli.h"
#include "cli/thumbnailer_factory.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/process_metrics.h"
#include "core/stop_signal.h"
#include "image/vips_runtime.h"
#include "pipeline/worker_pool.h"
#include "server/http_server.h"
#include "server/listen_address.h"
#include "server/operational_endpoints.h"

namespace thumbflow::cli {
namespace {

struct WorkerFlags {
  std::string config_path;
  std::string queue_url;
  std::string dlq_url;
  std::string region;
  std::string metrics_listen;
  int workers = 0;
};

// --metrics-listen HOST:PORT -> the options of the metrics server (one thread: it serves a
// scraper and a health check).
Status MetricsServerOptions(const std::string& text, server::HttpServerOptions* options) {
  Result<server::ListenAddress> address = server::ParseListenAddress(text);
  if (!address.ok()) return address.status().WithContext("--metrics-listen");
  options->host = address->host;
  options->port = address->port;
  options->threads = 1;
  options->max_connections = 64;
  options->drain_timeout_ms = 1000;
  return Status::Ok();
}

int RunWorker(const WorkerFlags& flags) {
  // Before any thread exists, so that only the signal thread receives the stop signals.
  StopSignals stop_signal;
  UseJsonErrors();

  Result<Config> loaded = LoadConfigOrDefault(flags.config_path);
  if (!loaded.ok()) return ReportFailure(loaded.status());
  Config config = std::move(loaded).value();
  if (!flags.region.empty()) config.aws.region = flags.region;
  if (flags.workers > 0) config.pipeline.workers = flags.workers;
  if (flags.queue_url.empty()) return ReportUsage("worker: --queue-url is required");
  server::HttpServerOptions listen_options;
  if (!flags.metrics_listen.empty()) {
    Status s = MetricsServerOptions(flags.metrics_listen, &listen_options);
    if (!s.ok()) return ReportFailure(s);
  }

  SystemClock clock;
  aws::Environment env = aws::EnvironmentForConfig(config.aws, aws::ProcessEnvironment());
  auto settings = aws::ResolveAwsSettings(config.aws, env);
  if (!settings.ok()) return ReportFailure(settings.status());
  std::shared_ptr<aws::CredentialsProvider> credentials =
      aws::NewDefaultCredentialsChain(env, &clock, aws::CredentialsOptionsForSettings(*settings));
  // A long poll holds the request open for up to 20 s; leave room for it.
  // Declared before everything that counts into it (the HTTP client, the pool).
  MetricsRegistry registry;
  RegisterProcessMetrics(registry);
  RegisterBuildInfo(registry, VipsRuntime::LibvipsVersion());
  std::shared_ptr<aws::HttpClient> http =
      aws::NewHttpClientForSettings(*settings, 30'000, &registry);
  auto store =
      aws::NewS3Store(aws::S3StoreOptionsForSettings(*settings), http, credentials, &clock);
  if (!store.ok()) return ReportFailure(store.status().WithContext("s3"));

  aws::SqsQueueOptions queue_options;
  queue_options.endpoint = settings->sqs_endpoint;
  queue_options.region = settings->region;
  queue_options.queue = flags.queue_url;
  queue_options.dlq = flags.dlq_url;
  auto queue = aws::NewSqsQueue(queue_options, http, credentials, &clock);
  if (!queue.ok()) return ReportFailure(queue.status().WithContext("sqs"));

  auto thumbnailer = MakeConfiguredThumbnailer(config, EffectiveWorkers(config.pipeline),
                                               config.pipeline.vips_threads, &clock);
  if (!thumbnailer.ok()) return ReportFailure(thumbnailer.status());

  const Logger log = CommandLogger(config, &clock);
  pipeline::WorkerPool pool(**queue, **store, *thumbnailer->thumbnailer, config, clock, &registry,
                            log);

  // /readyz: 200 while receiving and the pool is not paused; 503 with the reason otherwise
  // ("starting" before the first receive, "stopping" once a stop was asked for).
  enum class Phase { kStarting, kRunning, kStopping };
  std::atomic<Phase> phase{Phase::kStarting};
  server::OperationalHttpHandler handler({&registry, [&pool, &phase]() -> Status {
                                            switch (phase.load()) {
                                              case Phase::kStarting:
                                                return UnavailableError("starting");
                                              case Phase::kRunning:
                                                return pool.Readiness();
                                              case Phase::kStopping:
                                                break;
                                            }
                                            return UnavailableError("stopping");
                                          }});
  std::unique_ptr<server::HttpServer> metrics_server;
  if (!flags.metrics_listen.empty()) {
    metrics_server = std::make_unique<server::HttpServer>(listen_options, &handler, nullptr);
    Status s = metrics_server->Start();
    if (!s.ok()) return ReportFailure(s.WithContext("--metrics-listen"));
  }

  stop_signal.OnSignal([&pool, &phase](int) {
    phase.store(Phase::kStopping);
    pool.RequestStop();
  });
  log.Info("worker started", LogFields()
                                 .Add("queue", (*queue)->queue_url())
                                 .Add("dlq", (*queue)->dlq_url())
                                 .Add("workers", pool.options().workers)
                                 .Add("max_in_flight", pool.options().max_in_flight)
                                 .Add("visibility_timeout_s", pool.options().visibility_timeout_s));
  Phase expected = Phase::kStarting;
  phase.compare_exchange_strong(expected, Phase::kRunning);  // a signal may have come first
  Status status = pool.Run();
  phase.store(Phase::kStopping);
  if (metrics_server) metrics_server->Stop();
  pipeline::WorkerPoolCounters counters = pool.counters();
  log.Info("worker stopped", LogFields()
                                 .Add("received", counters.received)
                                 .Add("deleted", counters.deleted)
                                 .Add("retried", counters.retried)
                                 .Add("dead_lettered", counters.dead_lettered)
                                 .Add("released", counters.released));
  if (!status.ok()) return ReportFailure(status);
  return kExitOk;
}

}  // namespace

void RegisterWorkerCommand(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<WorkerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "worker", "Process S3 events from an SQS queue into thumbnails on S3 (cloud mode)");
  cmd->add_option("--config", flags->config_path, "Config file (TOML)");
  cmd->add_option("--queue-url", flags->queue_url, "SQS queue URL (or name)");
  cmd->add_option("--dlq-url", flags->dlq_url,
                  "Dead-letter queue URL (default: the queue's RedrivePolicy target)");
  cmd->add_option("--region", flags->region, "AWS region (overrides [aws] region)");
  cmd->add_option("--metrics-listen", flags->metrics_listen,
                  "Serve /metrics, /healthz and /readyz on HOST:PORT");
  cmd->add_option("--workers", flags->workers,
                  "Images processed at once (overrides [pipeline] workers)")
      ->check(CLI::Range(1, 1024));
  cmd->callback([&ctx, flags] { ctx.exit_code = RunWorker(*flags); });
}

}  // namespace thumbflow::cli
