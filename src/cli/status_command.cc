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
//
// `thumbflow status --queue-url URL [--dlq-url URL] [--region R] [--endpoint-url URL]
// [--profile P]`: the same depths of an SQS queue and its dead-letter queue (from
// GetQueueAttributes: ApproximateNumberOfMessages, ...NotVisible, ...Delayed):
//
//   {"queue_url": URL, "dlq_url": URL or null,
//    "visible": 3, "in_flight": 2, "delayed": 0, "dlq": 1,
//    "dlq_depth": {"visible": 1, "in_flight": 0, "delayed": 0}, "oldest_age_s": null}
//
// SQS's counts are approximate (SQS says so); the oldest message's age is only in CloudWatch
// (ApproximateAgeOfOldestMessage), hence null; there is no throughput (workers on SQS keep
// none: see their /metrics).
#include <filesystem>
#include <memory>
#include <string>

#include "cli/cli.h"
#include "cli/sqs_target.h"
#include "pipeline/throughput_stats.h"
#include "queue/sqlite_queue.h"
#include "sqlite/database.h"

namespace thumbflow::cli {
namespace {

struct StatusFlags {
  std::string data;
  std::string config_path;
  SqsTargetFlags sqs;
};

int RunSqsStatus(const StatusFlags& flags, Config config) {
  auto opened = OpenSqsTarget(flags.sqs, std::move(config));
  if (!opened.ok()) return ReportFailure(opened.status());
  aws::SqsQueue& queue = *(*opened)->queue;
  auto stats = queue.Stats();
  if (!stats.ok()) return ReportFailure(stats.status());
  nlohmann::json dlq_depth = nullptr;
  if (!queue.dlq_url().empty()) {
    auto depth = queue.DeadLetterDepth();
    if (!depth.ok()) return ReportFailure(depth.status());
    dlq_depth = {
        {"visible", depth->visible}, {"in_flight", depth->in_flight}, {"delayed", depth->delayed}};
  }
  PrintJson({{"queue_url", queue.queue_url()},
             {"dlq_url",
              queue.dlq_url().empty() ? nlohmann::json(nullptr) : nlohmann::json(queue.dlq_url())},
             {"visible", stats->visible},
             {"in_flight", stats->in_flight},
             {"delayed", stats->delayed},
             {"dlq", stats->dlq},
             {"dlq_depth", dlq_depth},
             {"oldest_age_s", nullptr}});
  return kExitOk;
}

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
          {"removed", w.removed},
          {"records_per_second",
           w.seconds > 0 ? static_cast<double>(w.records) / static_cast<double>(w.seconds) : 0}};
}

int RunStatus(const StatusFlags& flags) {
  auto config = LoadConfigOrDefault(flags.config_path);
  if (!config.ok()) return ReportFailure(config.status());
  if (flags.data.empty() == flags.sqs.queue_url.empty()) {
    return ReportUsage("status: give either --data DIR (embedded) or --queue-url URL (SQS)");
  }
  if (!flags.sqs.queue_url.empty()) return RunSqsStatus(flags, std::move(config).value());
  for (const std::string* flag :
       {&flags.sqs.dlq_url, &flags.sqs.region, &flags.sqs.endpoint_url, &flags.sqs.profile}) {
    if (!flag->empty()) {
      return ReportUsage(
          "status: --dlq-url, --region, --endpoint-url and --profile need --queue-url (SQS)");
    }
  }
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
      "status",
      "Queue depths, in-flight, DLQ count and recent throughput of a data folder, or the depths "
      "of an SQS queue and its DLQ");
  cmd->add_option("--data", flags->data, "Data folder (DIR/thumbflow.db)");
  cmd->add_option("--config", flags->config_path, "Config file (TOML), for the queue name");
  AddSqsTargetOptions(cmd, flags->sqs);
  cmd->callback([&ctx, flags] { ctx.exit_code = RunStatus(*flags); });
}

}  // namespace thumbflow::cli
