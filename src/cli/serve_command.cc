// `thumbflow serve`: the embedded mode. Opens the store and the queue in the data folder,
// serves the S3-compatible endpoint, and runs the worker pool (unless --workers 0), until
// SIGTERM, SIGINT or SIGHUP; then stops accepting, drains requests in flight and exits 0.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "cli/thumbnailer_factory.h"
#include "core/clock.h"
#include "core/disk.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/process_metrics.h"
#include "core/random.h"
#include "core/stop_signal.h"
#include "dashboard/activity.h"
#include "dashboard/dashboard_handler.h"
#include "dashboard/sessions.h"
#include "image/vips_runtime.h"
#include "pipeline/throughput_stats.h"
#include "pipeline/worker_pool.h"
#include "queue/sqlite_outbox.h"
#include "queue/sqlite_queue.h"
#include "server/endpoint_credentials.h"
#include "server/http_server.h"
#include "server/listen_address.h"
#include "server/s3_handler.h"
#include "sqlite/database.h"
#include "storage/local_store.h"

namespace thumbflow::cli {
namespace {

// The system clock shifted by a fixed offset: a hidden test option, so integration tests
// can check signature expiry and clock skew without sleeping.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  int64_t NowMillis() const override { return system_.NowMillis() + offset_ms_; }

 private:
  SystemClock system_;
  int64_t offset_ms_;
};

constexpr char kServeLeasePrefix[] = "serve:";

struct ServeOptions {
  std::string data_dir;
  std::string listen = "127.0.0.1:9000";
  int workers = -1;  // -1: [pipeline] workers (0 there: the core count)
  std::string config_path;
  int64_t clock_offset_s = 0;
};

// One `serve` per data folder: a second one would wipe the first's multipart staging and
// double every worker. Held as an flock on DIR/serve.lock for the life of the process, so
// the kernel releases it however the process ends (SIGKILL included); the queue and
// object commands take no lock and keep working beside a running serve.
class DataFolderLock {
 public:
  DataFolderLock() = default;
  DataFolderLock(const DataFolderLock&) = delete;
  DataFolderLock& operator=(const DataFolderLock&) = delete;
  ~DataFolderLock() {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Acquire(const std::string& data_dir) {
    std::string path = data_dir + "/serve.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return FileError(errno, "open", path);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) {
        return FileError(errno, "lock", path);
      }
      char holder[32] = {};
      ssize_t n = ::pread(fd_, holder, sizeof(holder) - 1, 0);
      std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "unknown";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return FailedPreconditionError("data folder " + data_dir +
                                     " is in use by another thumbflow serve (pid " + pid + ")");
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      return FileError(errno, "write", path);
    }
    return Status::Ok();
  }

 private:
  int fd_ = -1;
};

std::string EnvOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Every connection costs a descriptor and the server caps max_connections to what the
// soft limit allows, so the soft limit is raised to the hard one (often 1024 -> 1M).
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

dashboard::DashboardOptions DashboardOptionsFor(const Config& config, const ServeOptions& opts,
                                                int64_t max_upload_bytes,
                                                MetricsRegistry& metrics) {
  dashboard::DashboardOptions options;
  options.bucket = config.store.default_bucket;
  options.upload_prefix = config.pipeline.upload_prefix;
  options.output_bucket = config.pipeline.output_bucket;
  options.output_prefix = config.pipeline.output_prefix;
  for (const auto& size : config.thumbnails.sizes) options.sizes.push_back(size.name);
  options.data_dir = opts.data_dir;
  options.max_upload_bytes = max_upload_bytes;
  options.workers = opts.workers == 0  ? 0
                    : opts.workers > 0 ? opts.workers
                                       : EffectiveWorkers(config.pipeline);
  // The pool's own gauge (pipeline_metrics.cc): messages being processed now.
  Gauge& in_flight = metrics.GetGauge("thumbflow_pipeline_in_flight",
                                      "Messages received and not yet finished by this process.");
  options.workers_busy = [&in_flight] { return static_cast<int64_t>(in_flight.Value()); };
  return options;
}

// The two `export` lines a user pastes into a shell so that the aws CLI (and SDKs) talk to
// this endpoint with its key pair. A secret given by environment or config is not printed.
std::vector<std::string> AwsCliExports(const std::string& host, uint16_t port,
                                       const server::EndpointCredentials& credentials) {
  std::string keys;
  if (credentials.source == "environment") {
    keys = "AWS_ACCESS_KEY_ID=" + credentials.access_key_id +
           " AWS_SECRET_ACCESS_KEY=\"$THUMBFLOW_SECRET_ACCESS_KEY\"";
  } else if (credentials.source == "config") {
    keys = "AWS_ACCESS_KEY_ID=" + credentials.access_key_id +
           " AWS_SECRET_ACCESS_KEY=<[server] secret_access_key>";
  } else {
    std::error_code ec;
    std::string path = std::filesystem::absolute(credentials.source, ec).string();
    keys = "AWS_SHARED_CREDENTIALS_FILE=" + (ec ? credentials.source : path) +
           " AWS_PROFILE=thumbflow";
  }
  return {"export AWS_ENDPOINT_URL=http://" + host + ":" + std::to_string(port), "export " + keys};
}

// What a person starting serve needs, on stdout (stderr holds only JSON log lines): where
// it listens, the aws CLI's two `export` lines, and the dashboard's login URL. Like MinIO's
// start-up banner; the JSON "serving" line on stderr carries the same facts as fields,
// except the dashboard's login token, which stays out of shipped logs.
void PrintBanner(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// The data folder's contents, opened for serving: the database, the store (with the outbox
// that puts its events on the embedded queue) and that queue.
struct EmbeddedData {
  std::shared_ptr<sqlite::Database> db;
  std::unique_ptr<LocalObjectStore> store;
  std::unique_ptr<SqliteQueue> queue;
};

// Opens the data folder, which `lock` must hold. Parts being received when the last process
// stopped are garbage: the multipart staging folder starts clean.
Result<EmbeddedData> OpenDataFolder(const std::string& data_dir, const Config& config,
                                    const Clock& clock, const Logger& log) {
  std::error_code ec;
  std::string staging = data_dir + "/multipart/tmp";
  std::filesystem::remove_all(staging, ec);
  std::filesystem::create_directories(staging, ec);
  if (ec) return InternalError("create " + staging + ": " + ec.message());

  EmbeddedData data;
  ASSIGN_OR_RETURN(data.db, sqlite::Database::Open(data_dir + "/thumbflow.db"));
  LocalStoreOptions store_options;
  // Events of matching writes go on the embedded queue in the store's transaction.
  store_options.outbox =
      std::make_shared<SqliteOutbox>(config.store.notifications, config.store.region, clock);
  store_options.default_bucket = config.store.default_bucket;
  store_options.max_object_bytes = config.store.max_object_bytes;
  store_options.fsync = config.store.fsync;
  store_options.staging_dir = staging;
  store_options.min_free_bytes = config.store.min_free_bytes;
  ASSIGN_OR_RETURN(data.store, LocalObjectStore::Open(data.db, data_dir, store_options, clock));
  ASSIGN_OR_RETURN(data.queue,
                   SqliteQueue::Open(data.db, QueueOptionsFromConfig(config.queue), clock));
  // Each lease records the serve that took it. Holding DIR/serve.lock proves that no other
  // serve is alive, so what an earlier one held when it died (SIGKILL, power cut) goes back
  // on the queue now instead of after its visibility timeout. Leases of other processes
  // (`thumbflow queue receive`) carry no serve owner and are left alone.
  data.queue->SetLeaseOwner(std::string(kServeLeasePrefix) + RandomHex(8));
  ASSIGN_OR_RETURN(int64_t released, data.queue->ReleaseLeasesOfOthers(kServeLeasePrefix));
  if (released > 0) {
    log.Info("messages held by a previous serve are visible again",
             LogFields().Add("messages", released));
  }
  return data;
}

// The S3 endpoint's users and rules from the config; the first user's key pair is
// `credentials` (environment, config or the generated credentials file).
Result<server::S3HandlerOptions> HandlerOptionsFor(const Config& config,
                                                   const server::EndpointCredentials& credentials) {
  server::S3HandlerOptions options;
  options.access_key_id = credentials.access_key_id;
  options.secret_access_key = credentials.secret_access_key;
  options.first_user_name = kFirstUserName;
  options.first_user_email = config.server.email;
  for (size_t i = 0; i < config.server.users.size(); ++i) {
    const ServerUser& user = config.server.users[i];
    // The config checked the users among themselves; the first key may come from the
    // environment or the credentials file.
    if (user.access_key_id == credentials.access_key_id) {
      return InvalidArgumentError("server.users[" + std::to_string(i) +
                                  "].access_key_id: duplicate of the first user's access key "
                                  "(from " +
                                  credentials.source + ")");
    }
    options.users.push_back({user.name, user.access_key_id, user.secret_access_key, user.email});
  }
  options.region = config.server.region;
  options.virtual_host_domains = config.server.virtual_host_domains;
  options.public_read_prefixes = config.server.public_read_prefixes;
  options.max_put_bytes = std::min(config.server.max_put_bytes, config.store.max_object_bytes);
  options.multipart_upload_max_age_ms = config.server.multipart_upload_max_age_s * 1000;
  return options;
}

server::HttpServerOptions HttpOptionsFor(const Config& config, const server::ListenAddress& listen,
                                         int64_t max_put_bytes) {
  server::HttpServerOptions http;
  http.host = listen.host;
  http.port = listen.port;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  http.threads = config.server.threads > 0 ? config.server.threads : std::max(4, 2 * cores);
  http.max_header_bytes = static_cast<uint32_t>(config.server.max_header_bytes);
  http.max_body_bytes = static_cast<uint64_t>(max_put_bytes) + (64ull << 20);
  http.header_timeout_ms = config.server.header_timeout_s * 1000;
  http.idle_timeout_ms = config.server.idle_timeout_s * 1000;
  http.max_connections = config.server.max_connections;
  http.max_connections_per_address = config.server.max_connections_per_address;
  http.blocking_threads = config.server.blocking_threads;
  return http;
}

// The worker pool with what it needs alive beside it. Same process and database as the
// store, so an upload's event wakes a waiting receive the moment its transaction commits.
struct EmbeddedWorkers {
  ConfiguredThumbnailer thumbnailer;
  std::unique_ptr<pipeline::ThroughputStats> throughput;
  std::unique_ptr<pipeline::WorkerPool> pool;
};

Result<EmbeddedWorkers> StartWorkers(const ServeOptions& opts, const Config& config,
                                     EmbeddedData& data, const Clock& clock,
                                     MetricsRegistry& metrics, const Logger& log,
                                     dashboard::Activity& activity) {
  Config pool_config = config;
  if (opts.workers > 0) pool_config.pipeline.workers = opts.workers;
  // Events wake a waiting receive the moment they commit in this process, so a short wait
  // costs nothing in latency and lets a stop signal end an idle poll within a second.
  pool_config.queue.receive_wait_s = std::min(pool_config.queue.receive_wait_s, 1);
  EmbeddedWorkers workers;
  ASSIGN_OR_RETURN(workers.thumbnailer,
                   MakeConfiguredThumbnailer(pool_config, EffectiveWorkers(pool_config.pipeline),
                                             pool_config.pipeline.vips_threads, &clock));
  ASSIGN_OR_RETURN(workers.throughput, pipeline::ThroughputStats::Open(data.db, clock));
  workers.pool = std::make_unique<pipeline::WorkerPool>(*data.queue, *data.store,
                                                        *workers.thumbnailer.thumbnailer,
                                                        pool_config, clock, &metrics, log);
  workers.pool->SetMessageObserver(
      [stats = workers.throughput->Observer(), &activity](const Message& message,
                                                          const pipeline::MessageResult& result) {
        stats(message, result);
        activity.Observe(result);
      });
  RETURN_IF_ERROR(workers.pool->Start());
  return workers;
}

// The "serving" log line and the banner on stdout.
void AnnounceServing(const ServeOptions& opts, const Config& config,
                     const std::string& config_origin, const server::ListenAddress& listen,
                     uint16_t port, const server::EndpointCredentials& credentials,
                     size_t other_users, int workers, const std::string& login_token,
                     const Logger& log) {
  // An IPv6 address is written in brackets in a URL.
  std::string url_host =
      listen.host.find(':') == std::string::npos ? listen.host : "[" + listen.host + "]";
  // A wildcard address is reached on loopback from this machine.
  std::string local_host = listen.host == "0.0.0.0" ? "127.0.0.1"
                           : listen.host == "::"    ? "[::1]"
                                                    : url_host;
  const std::string url = "http://" + url_host + ":" + std::to_string(port);
  const std::string local_url = "http://" + local_host + ":" + std::to_string(port);
  std::vector<std::string> exports = AwsCliExports(local_host, port, credentials);
  log.Info("serving", LogFields()
                          .Add("url", url)
                          .Add("data", opts.data_dir)
                          .Add("bucket", config.store.default_bucket)
                          .Add("workers", workers)
                          .Add("config", config_origin)
                          .Add("credentials", credentials.source)
                          .Add("credentials_generated", credentials.generated)
                          .Add("users", static_cast<int64_t>(other_users))
                          .Add("dashboard", local_url + "/ui/"));
  std::string users_text =
      other_users == 0 ? "" : ", and " + std::to_string(other_users) + " users of [[server.users]]";
  PrintBanner({"thumbflow: serving S3 on " + url + " (data " + opts.data_dir + ", bucket " +
                   config.store.default_bucket + ", " + std::to_string(workers) + " worker" +
                   (workers == 1 ? "" : "s") + ")",
               "thumbflow: config: " + config_origin,
               "thumbflow: credentials: " + credentials.source +
                   (credentials.generated ? " (generated; profile [thumbflow])" : "") + users_text,
               "thumbflow: for the aws CLI and SDKs:", "  " + exports[0], "  " + exports[1],
               "thumbflow: dashboard: " + local_url + "/ui/?token=" + login_token});
}

int RunServe(const ServeOptions& opts) {
  // Before any thread starts, so that only the Wait() below takes the stop signals.
  StopSignals stop_signals;
  UseJsonErrors();

  std::string config_origin;
  Result<Config> config = LoadConfigOrDefault(opts.config_path, &config_origin);
  if (!config.ok()) return ReportFailure(config.status());
  OffsetClock clock(opts.clock_offset_s * 1000);
  const Logger log = CommandLogger(*config, &clock);
  if (opts.data_dir.empty()) return ReportUsage("serve: --data is required");
  Result<server::ListenAddress> listen = server::ParseListenAddress(opts.listen);
  if (!listen.ok()) return ReportUsage("serve: --listen: " + listen.status().message());
  if (opts.workers < -1) return ReportUsage("serve: --workers must be >= 0");

  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir, ec);
  DataFolderLock lock;
  Status locked = lock.Acquire(opts.data_dir);
  if (!locked.ok()) return ReportFailure(locked);
  Result<EmbeddedData> data = OpenDataFolder(opts.data_dir, *config, clock, log);
  if (!data.ok()) return ReportFailure(data.status());

  Result<server::EndpointCredentials> credentials = server::LoadEndpointCredentials(
      EnvOrEmpty("THUMBFLOW_ACCESS_KEY_ID"), EnvOrEmpty("THUMBFLOW_SECRET_ACCESS_KEY"),
      config->server.access_key_id, config->server.secret_access_key, opts.data_dir);
  if (!credentials.ok()) return ReportFailure(credentials.status());
  Result<server::S3HandlerOptions> handler_options = HandlerOptionsFor(*config, *credentials);
  if (!handler_options.ok()) return ReportFailure(handler_options.status());
  // Beside the store, never in the staging folder, which every start empties.
  handler_options->state_dir = opts.data_dir;
  // Object locks that an earlier thumbflow kept in files move into the store before any
  // request is served (a locked version must never be served unlocked).
  Status locks_moved =
      server::ObjectLockStore(opts.data_dir + "/object-lock").MoveIntoStore(*data->store);
  if (!locks_moved.ok()) return ReportFailure(locks_moved);

  MetricsRegistry metrics;
  RegisterProcessMetrics(metrics);
  RegisterBuildInfo(metrics, VipsRuntime::LibvipsVersion());
  LocalObjectStore* local_store = data->store.get();
  // Not ready while the disk is below the reserve (new uploads are refused) or the workers
  // are paused for a fault of the environment (a full disk); the pool is set below.
  std::atomic<pipeline::WorkerPool*> running_pool{nullptr};  // read by I/O threads
  auto readiness = [local_store, &running_pool]() -> Status {
    RETURN_IF_ERROR(local_store->FreeSpaceStatus());
    pipeline::WorkerPool* pool = running_pool.load();
    return pool ? pool->Readiness() : Status::Ok();
  };
  server::S3Handler handler(*handler_options, local_store, &clock, &metrics, readiness);
  // The dashboard shares the listener; the S3 API keeps its rules (dashboard_handler.h).
  dashboard::Activity activity(clock);
  // Any of the endpoint's key pairs opens a dashboard session.
  std::vector<dashboard::KeyPair> key_pairs = {
      {credentials->access_key_id, credentials->secret_access_key}};
  for (const server::S3User& user : handler_options->users) {
    key_pairs.push_back({user.access_key_id, user.secret_access_key});
  }
  dashboard::Sessions sessions(clock, std::move(key_pairs));
  dashboard::DashboardHandler dashboard(
      DashboardOptionsFor(*config, opts, handler_options->max_put_bytes, metrics), local_store,
      data->queue.get(), &activity, &sessions, &clock, &metrics);
  dashboard::RoutingHandler routing(&handler, &dashboard, config->server.virtual_host_domains);
  if (Status room = local_store->FreeSpaceStatus(); !room.ok()) {
    log.Warn(room.message());
  }

  RaiseOpenFileLimit();
  server::HttpServer server(HttpOptionsFor(*config, *listen, handler_options->max_put_bytes),
                            &routing, &metrics);
  Status started = server.Start();
  if (!started.ok()) return ReportFailure(started);

  // Started after the endpoint, stopped after it.
  std::optional<EmbeddedWorkers> workers;
  if (opts.workers != 0) {
    Result<EmbeddedWorkers> made =
        StartWorkers(opts, *config, *data, clock, metrics, log, activity);
    if (!made.ok()) return ReportFailure(made.status());
    workers = std::move(made).value();
    running_pool.store(workers->pool.get());
  }
  AnnounceServing(opts, *config, config_origin, *listen, server.port(), *credentials,
                  handler_options->users.size(), workers ? workers->pool->options().workers : 0,
                  sessions.login_token(), log);

  // Waits a second at a time so that an idle server still writes the throughput counts of
  // its last messages (the observer flushes only when another message finishes): `thumbflow
  // status` is then at most about a second behind. Flush() without pending counts is a no-op.
  std::optional<int> signal_number;
  while (!(signal_number = stop_signals.Wait(std::chrono::seconds(1)))) {
    if (workers) (void)workers->throughput->Flush();
  }
  log.Info("draining", LogFields().Add("signal", *signal_number));
  server.Stop();
  running_pool.store(nullptr);
  if (workers) {
    workers->pool->Shutdown();
    Status flushed = workers->throughput->Flush();
    if (!flushed.ok()) log.Error(flushed.message());
  }
  log.Info("stopped");
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CliContext& ctx) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the embedded store's S3 endpoint (and workers)");
  cmd->add_option("--data", opts->data_dir, "Data folder (store, queue, credentials)")->required();
  cmd->add_option("--listen", opts->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--workers", opts->workers,
                  "Images processed at once (default: [pipeline] workers, else the core count); 0: "
                  "store and endpoint only");
  cmd->add_option("--config", opts->config_path,
                  "Config file (TOML; default: THUMBFLOW_CONFIG, then the default paths)");
  // Test-only: shifts the server's clock (signature expiry and skew checks).
  cmd->add_option("--clock-offset-seconds", opts->clock_offset_s)->group("");
  cmd->callback([opts, &ctx] { ctx.exit_code = RunServe(*opts); });
}

}  // namespace thumbflow::cli
