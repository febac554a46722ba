// `thumbflow backfill`: queues the thumbnails of objects that already exist
// (pipeline/backfill.h does the pass; this file chooses store and queue, keeps the state file,
// shows progress and prints the summary).
//
//   thumbflow backfill --data DIR [--bucket B] [--prefix P] [--dry-run] [--force] [--state F]
//   thumbflow backfill --bucket B --queue-url URL [--region R] [--endpoint-url URL] ...
//
// Store and queue: --data DIR is the embedded mode (the local store and the SQLite queue of
// DIR/thumbflow.db, as `serve` opens them; serve may be running). --bucket with --queue-url
// is S3 + SQS, with the AWS credentials chain, [aws] and the AWS_* variables as `worker` uses
// them; --endpoint-url points both S3 and SQS elsewhere (moto, MinIO + an SQS emulator).
//
// The state file remembers the pass: the last key whose decision is durable, whether the
// pass completed, when it started. A run resumes an incomplete pass after that key; a run
// after a complete pass starts a new one that skips what is current and, without --force,
// what the complete pass already sent (pipeline/backfill.h, `pending`). Default path:
// DIR/backfill/<id>.json, or $XDG_STATE_HOME/thumbflow/backfill/<id>.json (else
// ~/.local/state/...) on S3; <id> hashes bucket, prefix, queue and --force, so a different
// listing never resumes another's pass. Delete the file to start afresh.
//
// Output: progress on stderr (a bar on a terminal; else one JSON line per second and at the
// end), then one JSON summary on stdout. Exit 0 when the pass completed (a dry run too), 1
// when it failed or was interrupted (SIGINT/SIGTERM/SIGHUP: the batch being sent finishes,
// the state is written; the same command continues), 2 for bad usage or config.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "aws/aws_settings.h"
#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/s3_store.h"
#include "aws/sqs_queue.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stop_signal.h"
#include "pipeline/backfill.h"
#include "queue/sqlite_queue.h"
#include "sqlite/database.h"
#include "storage/local_store.h"

namespace thumbflow::cli {
namespace {

struct BackfillFlags {
  std::string config_path;
  std::string data;
  std::string bucket;
  std::string queue_url;
  std::string region;
  std::string endpoint_url;
  std::string prefix;
  std::string state_path;
  bool prefix_given = false;
  bool dry_run = false;
  bool force = false;
  int test_batch_delay_ms = 0;  // hidden: a pause after each batch, so tests can interrupt
};

// The store and queue of one mode, and what they need alive.
struct Target {
  SystemClock clock;
  std::string mode;            // "embedded" or "s3"
  std::string queue_identity;  // names the queue in the state file
  std::string default_state_dir;
  std::shared_ptr<sqlite::Database> db;
  std::shared_ptr<aws::HttpClient> http;
  std::shared_ptr<aws::CredentialsProvider> credentials;
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<Queue> queue;
};

Result<std::unique_ptr<Target>> OpenEmbedded(const Config& config, const BackfillFlags& flags) {
  auto target = std::make_unique<Target>();
  target->mode = "embedded";
  const std::filesystem::path db_path = std::filesystem::path(flags.data) / "thumbflow.db";
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) {
    return NotFoundError("no thumbflow data in " + flags.data + " (" + db_path.string() +
                         " does not exist; `thumbflow serve --data " + flags.data +
                         "` creates it)");
  }
  ASSIGN_OR_RETURN(target->db, sqlite::Database::Open(db_path.string()));
  LocalStoreOptions options;  // reads only: no outbox, no bucket created
  options.default_bucket.clear();
  ASSIGN_OR_RETURN(std::unique_ptr<LocalObjectStore> store,
                   LocalObjectStore::Open(target->db, flags.data, options, target->clock));
  target->store = std::move(store);
  QueueOptions queue_options = QueueOptionsFromConfig(config.queue);
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteQueue> queue,
                   SqliteQueue::Open(target->db, queue_options, target->clock));
  target->queue = std::move(queue);
  std::filesystem::path absolute = std::filesystem::absolute(flags.data, ec);
  target->queue_identity = "sqlite:" + (ec ? flags.data : absolute.lexically_normal().string()) +
                           "#" + queue_options.name;
  target->default_state_dir = (std::filesystem::path(flags.data) / "backfill").string();
  return target;
}

std::string DefaultUserStateDir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/thumbflow/backfill";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : ".") +
         "/.local/state/thumbflow/backfill";
}

Result<std::unique_ptr<Target>> OpenCloud(Config config, const BackfillFlags& flags) {
  auto target = std::make_unique<Target>();
  target->mode = "s3";
  if (!flags.region.empty()) config.aws.region = flags.region;
  aws::Environment env = aws::EnvironmentForConfig(config.aws, aws::ProcessEnvironment());
  ASSIGN_OR_RETURN(aws::AwsSettings settings,
                   aws::ResolveAwsSettings(config.aws, env, flags.endpoint_url));
  if (!flags.endpoint_url.empty()) {
    std::string endpoint = flags.endpoint_url;
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    settings.sqs_endpoint = endpoint;
  }
  target->credentials = aws::NewDefaultCredentialsChain(
      env, &target->clock, aws::CredentialsOptionsForSettings(settings));
  target->http = aws::NewHttpClientForSettings(settings);
  ASSIGN_OR_RETURN(std::unique_ptr<aws::S3Store> store,
                   aws::NewS3Store(aws::S3StoreOptionsForSettings(settings), target->http,
                                   target->credentials, &target->clock));
  target->store = std::move(store);
  aws::SqsQueueOptions queue_options;
  queue_options.endpoint = settings.sqs_endpoint;
  queue_options.region = settings.region;
  queue_options.queue = flags.queue_url;
  auto queue = aws::NewSqsQueue(queue_options, target->http, target->credentials, &target->clock);
  if (!queue.ok()) return queue.status().WithContext("sqs");
  target->queue_identity = (*queue)->queue_url();
  target->queue = std::move(queue).value();
  target->default_state_dir = DefaultUserStateDir();
  return target;
}

// FNV-1a, 64 bits: a stable name for a listing's state file.
std::string StableId(const std::string& text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash));
  return out;
}

// The state file's content.
struct PassState {
  std::string after;
  bool complete = false;
  int64_t pass_started_ms = 0;
  int64_t previous_pass_started_ms = 0;
  pipeline::BackfillCounts counts;  // over the whole pass, every run of it
};

nlohmann::json CountsJson(const pipeline::BackfillCounts& c) {
  return {{"listed", c.listed},
          {"queued", c.queued},
          {"skipped", c.skipped},
          {"pending", c.pending},
          {"ignored", c.ignored}};
}

pipeline::BackfillCounts Plus(pipeline::BackfillCounts a, const pipeline::BackfillCounts& b) {
  a.listed += b.listed;
  a.queued += b.queued;
  a.skipped += b.skipped;
  a.pending += b.pending;
  a.ignored += b.ignored;
  return a;
}

// What identifies the listing a state file belongs to.
nlohmann::json StateKey(const std::string& bucket, const std::string& prefix,
                        const std::string& queue, bool force) {
  return {{"bucket", bucket}, {"prefix", prefix}, {"queue", queue}, {"force", force}};
}

// nullopt when there is no file; an error when it is unreadable or another listing's.
Result<std::optional<PassState>> ReadState(const std::string& path, const nlohmann::json& key) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<PassState>();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!in || doc.is_discarded() || !doc.is_object()) {
    return InvalidArgumentError("--state " + path + ": not a backfill state file (delete it to " +
                                "start afresh)");
  }
  for (const auto& [name, value] : key.items()) {
    if (doc.value(name, nlohmann::json()) != value) {
      return InvalidArgumentError("--state " + path + ": belongs to another backfill (" + name +
                                  " " + doc.value(name, nlohmann::json()).dump() + ", not " +
                                  value.dump() + ")");
    }
  }
  PassState state;
  state.after = doc.value("after", "");
  state.complete = doc.value("complete", false);
  state.pass_started_ms = doc.value("pass_started_ms", int64_t{0});
  state.previous_pass_started_ms = doc.value("previous_pass_started_ms", int64_t{0});
  const nlohmann::json counts = doc.value("counts", nlohmann::json::object());
  state.counts.listed = counts.value("listed", int64_t{0});
  state.counts.queued = counts.value("queued", int64_t{0});
  state.counts.skipped = counts.value("skipped", int64_t{0});
  state.counts.pending = counts.value("pending", int64_t{0});
  state.counts.ignored = counts.value("ignored", int64_t{0});
  return std::optional<PassState>(state);
}

// Written to a temporary file, fsynced and renamed over the old one: a kill at any moment
// leaves the previous checkpoint or this one.
Status WriteState(const std::string& path, const nlohmann::json& key, const PassState& state,
                  int64_t now_ms) {
  nlohmann::json doc = key;
  doc["version"] = 1;
  doc["after"] = state.after;
  doc["complete"] = state.complete;
  doc["pass_started_ms"] = state.pass_started_ms;
  doc["previous_pass_started_ms"] = state.previous_pass_started_ms;
  doc["updated_ms"] = now_ms;
  doc["counts"] = CountsJson(state.counts);
  const std::string text = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const std::string tmp = path + ".tmp";
  FILE* file = std::fopen(tmp.c_str(), "w");
  if (file == nullptr) return FileError(errno, "open", tmp);
  bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size() &&
            std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
  int err = errno;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) return FileError(err, "write", tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return FileError(errno, "rename", path);
  return Status::Ok();
}

// The prefix to list when --prefix is not given: the embedded store's notification rule for
// the bucket (what uploads trigger on), else [output] upload_prefix.
std::string DefaultPrefix(const Config& config, const std::string& bucket, bool embedded) {
  if (embedded) {
    for (const NotificationRule& rule : config.store.notifications) {
      if (rule.bucket == bucket && RuleSelectsEvent(rule, "ObjectCreated:Put")) return rule.prefix;
    }
  }
  return config.pipeline.upload_prefix;
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char out[32];
  if (s >= 3600) {
    std::snprintf(out, sizeof out, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(out, sizeof out, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return out;
}

// Progress on stderr: a bar redrawn in place on a terminal (at most 10 times a second), else
// one JSON log line a second. Thread-safe.
class ProgressReporter {
 public:
  ProgressReporter(const Clock& clock, bool terminal, bool dry_run)
      : clock_(clock),
        terminal_(terminal),
        dry_run_(dry_run),
        log_(Logger::Stderr(&clock)),
        start_ms_(clock.NowMillis()) {}

  void SetTotal(int64_t total) { total_.store(total); }

  void Update(const pipeline::BackfillCounts& counts, bool last) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_.NowMillis();
    if (!last && now - shown_ms_ < (terminal_ ? 100 : 1000)) return;
    shown_ms_ = now;
    const double seconds = std::max(0.001, static_cast<double>(now - start_ms_) / 1000.0);
    const double rate = static_cast<double>(counts.listed) / seconds;
    const int64_t total = total_.load();
    const double eta = total >= 0 && rate > 0
                           ? static_cast<double>(std::max<int64_t>(0, total - counts.listed)) / rate
                           : NAN;
    const char* queued = dry_run_ ? "would queue" : "queued";
    if (terminal_) {
      const int width = 24;
      const double fraction =
          total > 0 ? std::min(1.0, static_cast<double>(counts.listed) / static_cast<double>(total))
                    : (last ? 1.0 : 0.0);
      std::string bar(static_cast<size_t>(fraction * width), '#');
      bar.resize(width, '.');
      std::fprintf(
          stderr,
          "\r\033[K[%s] %3d%% %lld/%s listed, %lld %s, %lld skipped, %lld pending, "
          "%.0f/s, ETA %s",
          bar.c_str(), static_cast<int>(fraction * 100), static_cast<long long>(counts.listed),
          total >= 0 ? std::to_string(total).c_str() : "?", static_cast<long long>(counts.queued),
          queued, static_cast<long long>(counts.skipped), static_cast<long long>(counts.pending),
          rate, last ? "0:00" : FormatDuration(eta).c_str());
      if (last) std::fputc('\n', stderr);
      std::fflush(stderr);
      return;
    }
    LogFields fields;
    fields.Add("listed", counts.listed)
        .Add(dry_run_ ? "would_queue" : "queued", counts.queued)
        .Add("skipped", counts.skipped)
        .Add("pending", counts.pending)
        .Add("ignored", counts.ignored)
        .Add("rate", rate);
    if (total >= 0) fields.Add("total", total);
    if (std::isfinite(eta)) fields.Add("eta_s", eta);
    log_.Info("backfill progress", fields);
  }

 private:
  const Clock& clock_;
  const bool terminal_;
  const bool dry_run_;
  const Logger log_;
  const int64_t start_ms_;
  std::atomic<int64_t> total_{-1};
  std::mutex mu_;
  int64_t shown_ms_ = 0;
};

int RunBackfill(const BackfillFlags& flags) {
  StopSignals stop_signals;  // before any thread starts

  Result<Config> loaded = LoadConfigOrDefault(flags.config_path);
  if (!loaded.ok()) return ReportFailure(loaded.status());
  const Config config = std::move(loaded).value();
  const bool embedded = !flags.data.empty();
  if (embedded && !flags.queue_url.empty()) {
    return ReportUsage("backfill: give --data DIR (embedded) or --queue-url (SQS), not both");
  }
  if (!embedded && flags.queue_url.empty()) {
    return ReportUsage(
        "backfill: give --data DIR (embedded) or --bucket and --queue-url (S3 + SQS)");
  }
  if (!embedded && flags.bucket.empty()) {
    return ReportUsage("backfill: --queue-url needs --bucket (the bucket to list)");
  }
  if (embedded && (!flags.endpoint_url.empty() || !flags.region.empty())) {
    return ReportUsage("backfill: --endpoint-url and --region are for S3 + SQS, not --data");
  }
  const std::string bucket = !flags.bucket.empty() ? flags.bucket : config.store.default_bucket;
  const std::string prefix =
      flags.prefix_given ? flags.prefix : DefaultPrefix(config, bucket, embedded);
  const std::string& upload_prefix = config.pipeline.upload_prefix;
  const size_t common = std::min(prefix.size(), upload_prefix.size());
  if (prefix.compare(0, common, upload_prefix, 0, common) != 0) {
    return ReportUsage("backfill: --prefix \"" + prefix +
                       "\" lies outside [output] upload_prefix \"" + upload_prefix +
                       "\": the workers would skip every object under it");
  }

  Result<std::unique_ptr<Target>> opened =
      embedded ? OpenEmbedded(config, flags) : OpenCloud(config, flags);
  if (!opened.ok()) return ReportFailure(opened.status());
  Target& target = **opened;
  const Clock& clock = target.clock;

  const nlohmann::json key = StateKey(bucket, prefix, target.queue_identity, flags.force);
  std::string state_path = flags.state_path;
  if (state_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(target.default_state_dir, ec);
    if (ec) {
      return ReportFailure(UnavailableError("create " + target.default_state_dir + ": " +
                                            ec.message() + " (give --state FILE)"));
    }
    state_path = target.default_state_dir + "/" + StableId(key.dump()) + ".json";
  }
  Result<std::optional<PassState>> previous = ReadState(state_path, key);
  if (!previous.ok()) return ReportFailure(previous.status());

  PassState state;
  state.pass_started_ms = clock.NowMillis();
  std::string resumed_after;
  if (previous->has_value() && !(*previous)->complete) {
    state = **previous;  // resume the incomplete pass
    resumed_after = state.after;
  } else if (previous->has_value() && !flags.force) {
    state.previous_pass_started_ms = (*previous)->pass_started_ms;
  }

  pipeline::BackfillOptions options;
  options.bucket = bucket;
  options.prefix = prefix;
  options.force = flags.force;
  options.dry_run = flags.dry_run;
  options.start_after = state.after;
  options.previous_pass_started_ms = state.previous_pass_started_ms;
  options.region = embedded                    ? config.store.region
                   : config.aws.region.empty() ? "us-east-1"
                                               : config.aws.region;
  options.head_threads = embedded ? 4 : 16;
  pipeline::Backfill backfill(*target.store, *target.store, target.queue.get(),
                              pipeline::RecordProcessorOptionsFromConfig(config), options, clock);

  std::atomic<bool> stop{false};
  std::atomic<bool> counting_done{false};
  stop_signals.OnSignal([&stop](int) { stop.store(true); });
  ProgressReporter progress(clock, ::isatty(STDERR_FILENO) == 1, flags.dry_run);
  // The total for the ETA, counted beside the pass (a LIST per 1,000 keys, so it is ahead).
  std::thread counter([&] {
    Result<int64_t> total = backfill.Count(&counting_done);
    if (total.ok() && !counting_done.load()) progress.SetTotal(*total);
  });

  const int64_t start_ms = clock.NowMillis();
  pipeline::BackfillCounts run_counts;
  // The state is written at most once a second (an fsync each) and at the end: a kill
  // re-sends at most a second of batches, which the workers take for duplicates.
  int64_t written_ms = 0;
  auto save = [&](const pipeline::BackfillProgress& p) -> Status {
    if (flags.dry_run) return Status::Ok();
    PassState next = state;
    next.after = p.last_key;
    next.complete = p.complete;
    next.counts = Plus(state.counts, p.counts);
    written_ms = clock.NowMillis();
    return WriteState(state_path, key, next, written_ms).WithContext("backfill state");
  };
  Result<pipeline::BackfillProgress> result =
      backfill.Run(&stop, [&](const pipeline::BackfillProgress& p) -> Status {
        run_counts = p.counts;
        progress.Update(p.counts, false);
        if (flags.test_batch_delay_ms > 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(flags.test_batch_delay_ms));
        }
        if (p.complete || stop.load() || clock.NowMillis() - written_ms >= 1000) return save(p);
        return Status::Ok();
      });
  if (result.ok()) {
    Status saved = save(*result);
    if (!saved.ok()) result = saved;
  }
  counting_done.store(true);
  counter.join();
  if (result.ok() && result->complete) progress.SetTotal(run_counts.listed);
  progress.Update(run_counts, true);

  const double seconds = static_cast<double>(clock.NowMillis() - start_ms) / 1000.0;
  const bool complete = result.ok() && result->complete;
  nlohmann::json summary = {
      {"mode", target.mode},
      {"bucket", bucket},
      {"prefix", prefix},
      {"queue", target.queue_identity},
      {"state", flags.dry_run ? nlohmann::json() : nlohmann::json(state_path)},
      {"dry_run", flags.dry_run},
      {"force", flags.force},
      {"resumed_after", resumed_after.empty() ? nlohmann::json() : nlohmann::json(resumed_after)},
      {"complete", complete},
      {"seconds", std::round(seconds * 1000) / 1000},
      {"objects_per_second",
       seconds > 0 ? std::round(static_cast<double>(run_counts.listed) / seconds * 10) / 10 : 0.0}};
  const nlohmann::json counts = CountsJson(run_counts);
  for (const auto& [name, value] : counts.items()) summary[name] = value;
  if (flags.dry_run) {
    summary["would_queue"] = run_counts.queued;
    summary["queued"] = 0;
  }
  summary["pass"] = CountsJson(Plus(state.counts, run_counts));
  if (result.ok()) summary["last_key"] = result->last_key;
  PrintJson(summary);

  if (!result.ok()) return ReportFailure(result.status());
  if (!complete) {
    std::fprintf(stderr,
                 "thumbflow: backfill interrupted after %s; the same command continues from there "
                 "(state %s)\n",
                 result->last_key.empty() ? "the start" : ("\"" + result->last_key + "\"").c_str(),
                 flags.dry_run ? "not written: dry run" : state_path.c_str());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

void RegisterBackfillCommand(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<BackfillFlags>();
  CLI::App* cmd = app.add_subcommand(
      "backfill", "Queue the thumbnails of objects that already exist (resumable)");
  cmd->add_option("--data", flags->data,
                  "Embedded mode: data folder (local store and queue of DIR/thumbflow.db)");
  cmd->add_option("--bucket", flags->bucket,
                  "Bucket to list (default with --data: [storage] default_bucket)");
  cmd->add_option("--queue-url", flags->queue_url, "S3 + SQS mode: the SQS queue URL (or name)");
  cmd->add_option("--prefix", flags->prefix,
                  "Key prefix to list (default: the notification prefix, [output] "
                  "upload_prefix)")
      ->each([flags](const std::string&) { flags->prefix_given = true; });
  cmd->add_flag("--dry-run", flags->dry_run, "Decide and report, send nothing, write no state");
  cmd->add_flag("--force", flags->force,
                "Queue objects whose thumbnails are current too, and make the workers remake them");
  cmd->add_option("--state", flags->state_path,
                  "State file of the pass (default: DIR/backfill/ID.json, or "
                  "$XDG_STATE_HOME/thumbflow/backfill/ID.json on S3)");
  cmd->add_option("--region", flags->region, "AWS region (overrides [aws] region)");
  cmd->add_option("--endpoint-url", flags->endpoint_url,
                  "S3 and SQS endpoint URL (default: environment/config/AWS)");
  cmd->add_option("--config", flags->config_path,
                  "Config file (TOML; default: THUMBFLOW_CONFIG, then the default paths)");
  // Test-only: a pause after each batch, so that a test can interrupt a pass midway.
  cmd->add_option("--test-batch-delay-ms", flags->test_batch_delay_ms)->group("");
  cmd->callback([&ctx, flags] { ctx.exit_code = RunBackfill(*flags); });
}

}  // namespace thumbflow::cli
