// `thumbflow status --data DIR [--config FILE]`: one JSON document about the embedded
// pipeline in DIR, read from DIR/thumbflow.db while `serve` may be running:
//
//   {"data": DIR, "queue": "thumbnails",
//    "visible": 3, "in_flight": 2, "delayed": 0, "dlq": 1, "oldest_age_s": 4,
//    "throughput": {"last_minute":    {"seconds": 60, "messages": .., "records": .., "ok": ..,
//                                      "duplicates": .., "skipped": .., "gone": ..,
//                                      "permanent": .., "transient": .., "aborted": ..,
//                                      "records_per_second": ..},
//                   "last_5_minutes": {...}}}
//
// Depths come from the queue (SqliteQueue::Stats); throughput from the per-minute counts the
// workers keep in table pipeline_throughput (pipeline/throughput_stats.h), by whole minutes.
// A data folder without a database is an error (exit 1): status never creates one.
#include <filesystem>
#include <memory>
#include <string>

#include "cli/cli.h"
#include "pipeline/throughput_stats.h"
#include "queue/sqlite_queue.h"
#include "sqlite/database.h"

namespace thumbflow::cli {
namespace {

struct StatusFlags {
  std::string data;
  std::string config_path;
};

nlohmann::json WindowJson(const pipeline::ThroughputWindow& w) {
  return {{"seconds", w.seconds},
          {"messages", w.messages},
          {"records", w.records},
          {"ok", w.ok},
          {"duplicates", w.duplicates},
          {"skipped", w.skipped},
          {"gone", w.gone},
          {"permanent", w.permanent},
          {"transient", w.transient},
          {"aborted", w.aborted},
          {"records_per_second",
           w.seconds > 0 ? static_cast<double>(w.records) / static_cast<double>(w.seconds) : 0}};
}

int RunStatus(const StatusFlags& flags) {
  auto config = LoadConfigOrDefault(flags.config_path);
  if (!config.ok()) return ReportFailure(config.status());
  if (flags.data.empty()) return ReportUsage("status: --data DIR is required");
  std::filesystem::path db_path = std::filesystem::path(flags.data) / "thumbflow.db";
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) {
    return ReportFailure(NotFoundError("status: no thumbflow data in " + flags.data + " (" +
                                       db_path.string() + " does not exist)"));
  }
  auto db = sqlite::Database::Open(db_path.string());
  if (!db.ok()) return ReportFailure(db.status());

  SystemClock clock;
  QueueOptions queue_options = QueueOptionsFromConfig(config->queue);
  auto queue = SqliteQueue::Open(*db, queue_options, clock);
  if (!queue.ok()) return ReportFailure(queue.status());
  auto stats = (*queue)->Stats();
  if (!stats.ok()) return ReportFailure(stats.status());

  int64_t now = clock.NowMillis();
  auto minute = pipeline::ThroughputStats::ReadRecent(**db, now, 60);
  if (!minute.ok()) return ReportFailure(minute.status());
  auto five = pipeline::ThroughputStats::ReadRecent(**db, now, 300);
  if (!five.ok()) return ReportFailure(five.status());

  PrintJson({{"data", flags.data},
             {"queue", queue_options.name},
             {"visible", stats->visible},
             {"in_flight", stats->in_flight},
             {"delayed", stats->delayed},
             {"dlq", stats->dlq},
             {"oldest_age_s", stats->oldest_age_s},
             {"throughput",
              {{"last_minute", WindowJson(*minute)}, {"last_5_minutes", WindowJson(*five)}}}});
  return kExitOk;
}

}  // namespace

void RegisterStatusCommand(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<StatusFlags>();
  CLI::App* cmd = app.add_subcommand(
      "status", "Queue depths, in-flight, DLQ count and recent throughput of a data folder");
  cmd->add_option("--data", flags->data, "Data folder (DIR/thumbflow.db)")->required();
  cmd->add_option("--config", flags->config_path, "Config file (TOML), for the queue name");
  cmd->callback([&ctx, flags] { ctx.exit_code = RunStatus(*flags); });
}

}  // namespace thumbflow::cli
