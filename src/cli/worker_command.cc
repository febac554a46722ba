// `thumbflow worker`: the cloud mode. SQS long polling, S3 for sources and thumbnails,
// libvips, and the pipeline's WorkerPool; any number of these processes may share a queue.
//
//   thumbflow worker [--config FILE] [--queue-url URL] [--dlq-url URL] [--region R]
//                    [--metrics-listen HOST:PORT] [--workers N]
//
// The config is --config FILE, else THUMBFLOW_CONFIG (a TOML document or a path).
// The queue is --queue-url (a URL or a name). The DLQ is --dlq-url, else the dead-letter
// target of the queue's RedrivePolicy; with neither, permanent failures are left to be
// retried (SqsQueue::Fail says so in the log). Credentials come from the AWS chain
// (environment, profile, container, IMDS); endpoints and region from [aws] and the AWS_*
// variables (aws/aws_settings.h). SIGTERM / SIGINT / SIGHUP: stop receiving (the waiting
// long poll is cut off), finish within [pipeline] grace_period, give the rest back at once,
// exit 0. SIGHUP is a stop, not a reload: the config is read once, at start.
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
#include "image/vips_runtime.h"
#include "lambda/lambda_config.h"
#include "pipeline/stop_signal.h"
#include "pipeline/worker_pool.h"
#include "server/http_server.h"

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

// GET /metrics, /healthz, /readyz; everything else 404.
class MetricsHandler final : public server::HttpHandler {
 public:
  // /readyz: 200 while `ready` and `health` says OK; else 503 with the reason.
  MetricsHandler(MetricsRegistry& registry, const std::atomic<bool>& ready,
                 std::function<Status()> health)
      : registry_(registry), ready_(ready), health_(std::move(health)) {}

  std::unique_ptr<server::HttpExchange> Begin(const server::HttpRequestHead& head,
                                              server::HttpReply* early) override {
    std::string path = head.target.substr(0, head.target.find('?'));
    early->close = head.has_body();
    if (head.method != "GET" && head.method != "HEAD") {
      *early = Text(405, "method not allowed\n");
    } else if (path == "/metrics") {
      *early = Text(200, registry_.RenderText());
      early->headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}};
    } else if (path == "/healthz") {
      *early = Text(200, "ok\n");
    } else if (path == "/readyz") {
      Status health = ready_.load() ? health_() : UnavailableError("stopping");
      *early =
          health.ok() ? Text(200, "ready\n") : Text(503, "not ready: " + health.message() + "\n");
    } else {
      *early = Text(404, "not found\n");
    }
    early->head = head.method == "HEAD";
    return nullptr;
  }

  server::HttpReply TransportError(int status, std::string_view,
                                   std::string_view message) override {
    return Text(status, std::string(message) + "\n");
  }

 private:
  static server::HttpReply Text(int status, std::string body) {
    server::HttpReply reply;
    reply.status = status;
    reply.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
    reply.body = std::move(body);
    return reply;
  }

  MetricsRegistry& registry_;
  const std::atomic<bool>& ready_;
  std::function<Status()> health_;
};

// "host:port", ":port" or "port" -> options; InvalidArgument otherwise.
Status ParseListen(const std::string& text, server::HttpServerOptions* options) {
  std::string host = "127.0.0.1";
  std::string port = text;
  size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    if (colon > 0) host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!host.empty() && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int value = -1;
  try {
    size_t used = 0;
    value = std::stoi(port, &used);
    if (used != port.size()) value = -1;
  } catch (const std::exception&) {
    value = -1;
  }
  if (value < 0 || value > 65535) {
    return InvalidArgumentError("--metrics-listen: expected HOST:PORT, got \"" + text + "\"");
  }
  options->host = host;
  options->port = static_cast<uint16_t>(value);
  options->threads = 1;
  options->max_connections = 64;
  options->drain_timeout_ms = 1000;
  return Status::Ok();
}

int RunWorker(const WorkerFlags& flags) {
  // Before any thread exists, so that only the signal thread receives the stop signals.
  pipeline::StopSignal stop_signal;

  // --config FILE, else THUMBFLOW_CONFIG (a TOML document or a path, read as the Lambda
  // runtime reads it; a [lambda] table is ignored): a container image has no config file.
  const char* env_config = std::getenv("THUMBFLOW_CONFIG");
  Config config;
  if (flags.config_path.empty() && env_config != nullptr && *env_config != '\0') {
    auto loaded = lambda::LoadLambdaConfig(env_config);
    if (!loaded.ok()) return ReportFailure(loaded.status());
    config = std::move(loaded->config);
  } else {
    auto loaded = LoadConfigOrDefault(flags.config_path);
    if (!loaded.ok()) return ReportFailure(loaded.status());
    config = std::move(loaded).value();
  }
  if (!flags.region.empty()) config.aws.region = flags.region;
  if (flags.workers > 0) config.pipeline.workers = flags.workers;
  if (flags.queue_url.empty()) return ReportUsage("worker: --queue-url is required");
  server::HttpServerOptions listen_options;
  if (!flags.metrics_listen.empty()) {
    Status s = ParseListen(flags.metrics_listen, &listen_options);
    if (!s.ok()) return ReportFailure(s);
  }

  SystemClock clock;
  aws::Environment env = aws::EnvironmentForConfig(config.aws, aws::ProcessEnvironment());
  auto settings = aws::ResolveAwsSettings(config.aws, env);
  if (!settings.ok()) return ReportFailure(settings.status());
  std::shared_ptr<aws::CredentialsProvider> credentials =
      aws::NewDefaultCredentialsChain(env, &clock);
  // A long poll holds the request open for up to 20 s; leave room for it.
  std::shared_ptr<aws::HttpClient> http = aws::NewHttpClientForSettings(*settings, 30'000);
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

  MetricsRegistry registry;
  const Logger log = Logger::Stderr(&clock);
  pipeline::WorkerPool pool(**queue, **store, *thumbnailer->thumbnailer, config, clock, &registry,
                            log);

  std::atomic<bool> ready{false};
  MetricsHandler handler(registry, ready, [&pool] { return pool.Readiness(); });
  std::unique_ptr<server::HttpServer> metrics_server;
  if (!flags.metrics_listen.empty()) {
    metrics_server = std::make_unique<server::HttpServer>(listen_options, &handler, nullptr);
    Status s = metrics_server->Start();
    if (!s.ok()) return ReportFailure(s.WithContext("--metrics-listen"));
  }

  stop_signal.OnSignal([&pool, &ready](int) {
    ready.store(false);
    pool.RequestStop();
  });
  log.Info("worker started", LogFields()
                                 .Add("queue", (*queue)->queue_url())
                                 .Add("dlq", (*queue)->dlq_url())
                                 .Add("workers", pool.options().workers)
                                 .Add("max_in_flight", pool.options().max_in_flight)
                                 .Add("visibility_timeout_s", pool.options().visibility_timeout_s));
  ready.store(true);
  Status status = pool.Run();
  ready.store(false);
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
