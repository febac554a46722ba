// `thumbflow queue ...` and `thumbflow dlq ...`: look into and operate the embedded queue,
// and (the dlq commands) an SQS queue's dead-letter queue.
//
// With --data, every command opens DIR/thumbflow.db with the same settings as `thumbflow
// serve`, so it can run while another process uses the file. Only `queue send` creates a
// missing folder; the others fail on one (a mistyped --data must not look like an empty queue).
// The queue's settings come from [queue] in --config; --queue overrides its name.
// With --queue-url (dlq commands only), the DLQ is --dlq-url or the queue's RedrivePolicy
// target (cli/sqs_target.h); aws::SqsQueue says how each operation maps onto SQS.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "cli/sqs_target.h"
#include "core/civil_time.h"
#include "core/clock.h"
#include "core/stop_signal.h"
#include "events/s3_event.h"
#include "queue/sqlite_queue.h"

namespace thumbflow::cli {
namespace {

struct CommonOptions {
  std::string data;
  std::string queue;
  std::string config;
  bool create = false;  // create DIR and its database when missing
  SqsTargetFlags sqs;   // dlq commands: --queue-url and the AWS settings
};

// The queue and what it needs alive: the embedded queue and its clock, or an SQS queue.
struct OpenedQueue {
  SystemClock clock;
  std::unique_ptr<SqliteQueue> sqlite;
  std::unique_ptr<OpenedSqsQueue> sqs;
  Queue& queue() { return sqlite ? static_cast<Queue&>(*sqlite) : *sqs->queue; }
};

// `sqs`: the command also works on SQS (--queue-url instead of --data).
void AddCommonOptions(CLI::App* command, CommonOptions& common, bool sqs = false) {
  CLI::Option* data = command->add_option("--data", common.data,
                                          "data folder (the queue lives in DIR/thumbflow.db)");
  if (!sqs) data->required();
  command->add_option("--queue", common.queue, "queue name (default: [queue] name, thumbnails)");
  command->add_option("--config", common.config, "config file");
  if (sqs) AddSqsTargetOptions(command, common.sqs);
}

Result<std::unique_ptr<OpenedQueue>> Open(const CommonOptions& common) {
  ASSIGN_OR_RETURN(Config config, LoadConfigOrDefault(common.config));
  if (common.data.empty() == common.sqs.queue_url.empty()) {
    return InvalidArgumentError("give either --data DIR (embedded queue) or --queue-url URL (SQS)");
  }
  if (!common.sqs.queue_url.empty()) {
    if (!common.queue.empty()) {
      return InvalidArgumentError("--queue names an embedded queue; with SQS use --queue-url");
    }
    auto opened = std::make_unique<OpenedQueue>();
    ASSIGN_OR_RETURN(opened->sqs, OpenSqsTarget(common.sqs, std::move(config)));
    return opened;
  }
  for (const std::string* flag :
       {&common.sqs.dlq_url, &common.sqs.region, &common.sqs.endpoint_url, &common.sqs.profile}) {
    if (!flag->empty()) {
      return InvalidArgumentError(
          "--dlq-url, --region, --endpoint-url and --profile need --queue-url (SQS)");
    }
  }
  QueueOptions options = QueueOptionsFromConfig(config.queue);
  if (!common.queue.empty()) options.name = common.queue;
  const std::string db_path = (std::filesystem::path(common.data) / "thumbflow.db").string();
  std::error_code ec;
  if (common.create) {
    std::filesystem::create_directories(common.data, ec);
    if (ec) {
      return UnavailableError("cannot create data folder " + common.data + ": " + ec.message());
    }
  } else if (!std::filesystem::exists(db_path, ec)) {
    return NotFoundError("no thumbflow data in " + common.data + " (" + db_path +
                         " does not exist; `thumbflow serve --data " + common.data +
                         "` creates it)");
  }
  ASSIGN_OR_RETURN(auto db, sqlite::Database::Open(db_path));
  auto opened = std::make_unique<OpenedQueue>();
  ASSIGN_OR_RETURN(opened->sqlite, SqliteQueue::Open(std::move(db), options, opened->clock));
  return opened;
}

nlohmann::json AttributesJson(const MessageAttributes& attributes) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : attributes) out[name] = value;
  return out;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ", or null when the queue does not know the time.
nlohmann::json TimeJson(int64_t ms) {
  return ms > 0 ? nlohmann::json(FormatIso8601Millis(ms)) : nlohmann::json(nullptr);
}

// One dead letter as `dlq list` prints it, the same fields for both queues: the S3 event's
// bucket and keys read from the body (null / [] when it is not an event), the reason, the
// receive count, when it was dead-lettered ("time"), sent and first received, and the body
// unchanged.
nlohmann::json DeadLetterJson(const DeadLetter& d) {
  nlohmann::json keys = nlohmann::json::array();
  nlohmann::json bucket = nullptr;
  if (Result<S3Event> event = ParseS3Event(d.body); event.ok()) {
    for (const S3EventRecord& record : event->records) {
      if (bucket.is_null()) bucket = record.bucket;
      keys.push_back(record.key);
    }
  }
  return {{"id", d.id},
          {"bucket", bucket},
          {"key", keys.empty() ? nlohmann::json(nullptr) : keys.front()},
          {"keys", keys},
          {"reason", d.reason},
          {"receive_count", d.receive_count},
          {"time", TimeJson(d.dead_ms)},
          {"sent_time", TimeJson(d.sent_ms)},
          {"first_receive_time", TimeJson(d.first_receive_ms)},
          {"attributes", AttributesJson(d.attributes)},
          {"body", d.body}};
}

// Runs `body` with the opened queue and turns a failure into the exit code.
template <typename Fn>
void Run(CliContext& ctx, const CommonOptions& common, Fn body) {
  auto opened = Open(common);
  if (!opened.ok()) {
    ctx.exit_code = ReportFailure(opened.status());
    return;
  }
  Status status = body(**opened);
  ctx.exit_code = status.ok() ? kExitOk : ReportFailure(status);
}

// `thumbflow queue send`.
// On SQS a walk of the DLQ (dlq list, dlq redrive by copy) holds what it receives: a Ctrl-C
// (SIGINT, SIGTERM, SIGHUP) ends the walk before its next receive and makes what it holds
// visible at once (exit 1, "interrupted"); a second one exits 130 at once, and what was held
// reappears within the walk's 10 s visibility timeout. main.cc keeps the signals blocked for
// these commands (TakesStopSignals). Nothing is taken on the embedded queue.
class ScanStop {
 public:
  explicit ScanStop(const CommonOptions& common) {
    if (common.sqs.queue_url.empty()) return;
    signals_.emplace();
    signals_->OnSignal([this](int) { stop_.store(true); });
  }
  void Attach(OpenedQueue& opened) const {
    if (opened.sqs) opened.sqs->queue->SetScanStop(&stop_);
  }

 private:
  std::atomic<bool> stop_{false};  // declared first: outlives the signal thread
  std::optional<StopSignals> signals_;
};

void RegisterQueueSend(CLI::App* queue, CliContext& ctx) {
  auto common = std::make_shared<CommonOptions>();
  auto body = std::make_shared<std::string>();
  auto delay = std::make_shared<int>(0);
  common->create = true;
  CLI::App* cmd = queue->add_subcommand("send", "send one message; prints {\"id\"}");
  cmd->add_option("BODY", *body, "message body (UTF-8)")->required();
  cmd->add_option("--delay", *delay, "seconds before it can be received (0-900)");
  AddCommonOptions(cmd, *common);
  cmd->callback([&ctx, common, body, delay] {
    Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
      Queue& q = opened.queue();
      SendRequest request;
      request.body = *body;
      request.delay_seconds = *delay;
      ASSIGN_OR_RETURN(std::string id, q.Send(request));
      PrintJson({{"id", id}});
      return Status::Ok();
    });
  });
}

// `thumbflow queue receive`.
void RegisterQueueReceive(CLI::App* queue, CliContext& ctx) {
  auto common = std::make_shared<CommonOptions>();
  auto options = std::make_shared<ReceiveOptions>();
  auto visibility = std::make_shared<int>(-1);
  CLI::App* cmd =
      queue->add_subcommand("receive", "receive up to --max messages; prints a JSON array");
  cmd->add_option("--max", options->max_messages, "most messages (1-10)");
  cmd->add_option("--visibility", *visibility,
                  "seconds the messages stay invisible (default: the queue's)");
  cmd->add_option("--wait", options->wait_seconds, "long-poll seconds (0-20)");
  AddCommonOptions(cmd, *common);
  cmd->callback([&ctx, common, options, visibility] {
    Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
      Queue& q = opened.queue();
      ReceiveOptions o = *options;
      if (*visibility >= 0) o.visibility_timeout_s = *visibility;
      if (*visibility < -1) return InvalidArgumentError("--visibility must be 0 or more");
      ASSIGN_OR_RETURN(auto messages, q.Receive(o));
      nlohmann::json out = nlohmann::json::array();
      for (const auto& m : messages) {
        out.push_back({{"id", m.id},
                       {"receipt", m.receipt},
                       {"body", m.body},
                       {"receive_count", m.receive_count},
                       {"attributes", AttributesJson(m.attributes)}});
      }
      PrintJson(out);
      return Status::Ok();
    });
  });
}

// `thumbflow queue delete`.
void RegisterQueueDelete(CLI::App* queue, CliContext& ctx) {
  auto common = std::make_shared<CommonOptions>();
  auto receipts = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = queue->add_subcommand("delete", "delete messages by receipt handle");
  cmd->add_option("RECEIPT", *receipts, "receipt handles from `queue receive`")->required();
  AddCommonOptions(cmd, *common);
  cmd->callback([&ctx, common, receipts] {
    Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
      Queue& q = opened.queue();
      for (const auto& receipt : *receipts) RETURN_IF_ERROR(q.Delete(receipt));
      PrintJson({{"deleted", receipts->size()}});
      return Status::Ok();
    });
  });
}

// `thumbflow queue purge`.
void RegisterQueuePurge(CLI::App* queue, CliContext& ctx) {
  auto common = std::make_shared<CommonOptions>();
  CLI::App* cmd = queue->add_subcommand("purge", "delete every message (not the DLQ)");
  AddCommonOptions(cmd, *common);
  cmd->callback([&ctx, common] {
    Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
      Queue& q = opened.queue();
      RETURN_IF_ERROR(q.Purge());
      PrintJson({{"purged", true}});
      return Status::Ok();
    });
  });
}

// `thumbflow queue stats`.
void RegisterQueueStats(CLI::App* queue, CliContext& ctx) {
  auto common = std::make_shared<CommonOptions>();
  CLI::App* cmd = queue->add_subcommand("stats", "message counts by state");
  AddCommonOptions(cmd, *common);
  cmd->callback([&ctx, common] {
    Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
      Queue& q = opened.queue();
      ASSIGN_OR_RETURN(QueueStats s, q.Stats());
      PrintJson({{"visible", s.visible},
                 {"in_flight", s.in_flight},
                 {"delayed", s.delayed},
                 {"dlq", s.dlq},
                 {"oldest_age_s", s.oldest_age_s}});
      return Status::Ok();
    });
  });
}

// `thumbflow queue ...`, read as one registration per subcommand.
void RegisterQueue(CLI::App& app, CliContext& ctx) {
  CLI::App* queue = app.add_subcommand("queue", "send, receive, delete, purge, stats");
  queue->require_subcommand(1);
  RegisterQueueSend(queue, ctx);
  RegisterQueueReceive(queue, ctx);
  RegisterQueueDelete(queue, ctx);
  RegisterQueuePurge(queue, ctx);
  RegisterQueueStats(queue, ctx);
}

void RegisterDlq(CLI::App& app, CliContext& ctx) {
  CLI::App* dlq = app.add_subcommand(
      "dlq", "list, redrive and purge dead letters (--data DIR, or SQS with --queue-url URL)");
  dlq->require_subcommand(1);
  {
    auto common = std::make_shared<CommonOptions>();
    auto max = std::make_shared<int>(1000);
    CLI::App* cmd = dlq->add_subcommand(
        "list",
        "dead letters as a JSON array (id, bucket, key, keys, reason, receive_count, time, "
        "sent_time, first_receive_time, attributes, body); on SQS a best-effort sample that "
        "leaves every message in the DLQ");
    cmd->add_option("--max", *max, "most entries (default 1000)");
    AddCommonOptions(cmd, *common, /*sqs=*/true);
    cmd->callback([&ctx, common, max] {
      if (*max < 1) {
        ctx.exit_code = ReportUsage("dlq list: --max must be 1 or more");
        return;
      }
      // On SQS each look is a receive that hides the message (ScanStop).
      ScanStop stop(*common);
      Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
        stop.Attach(opened);
        ASSIGN_OR_RETURN(auto letters, opened.queue().ListDeadLetters(*max));
        nlohmann::json out = nlohmann::json::array();
        for (const auto& d : letters) out.push_back(DeadLetterJson(d));
        PrintJson(out);
        return Status::Ok();
      });
    });
  }
  {
    auto common = std::make_shared<CommonOptions>();
    auto all = std::make_shared<bool>(false);
    auto ids = std::make_shared<std::vector<std::string>>();
    auto method = std::make_shared<std::string>("auto");
    CLI::App* cmd = dlq->add_subcommand("redrive", "move dead letters back to their queue");
    cmd->add_flag("--all", *all, "every dead letter");
    cmd->add_option("ID", *ids, "message ids from `dlq list`");
    cmd->add_option("--method", *method,
                    "SQS with --all: auto (SQS's message-move task, else copy), task, copy "
                    "(receive, send to the queue, then delete)")
        ->check(CLI::IsMember({"auto", "task", "copy"}));
    AddCommonOptions(cmd, *common, /*sqs=*/true);
    cmd->callback([&ctx, common, all, ids, method] {
      if (*all == !ids->empty()) {
        ctx.exit_code = ReportUsage("dlq redrive: give either --all or message ids");
        return;
      }
      // A Ctrl-C on SQS (ScanStop): the message in hand is finished (sent, then deleted from
      // the DLQ), what is held is given back at once, and the summary of what was moved is
      // printed with "interrupted": true before the error (exit 1).
      ScanStop stop(*common);
      Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
        stop.Attach(opened);
        if (opened.sqs && *all) {
          using Method = aws::SqsQueue::RedriveMethod;
          const Method how = *method == "task"   ? Method::kMoveTask
                             : *method == "copy" ? Method::kCopy
                                                 : Method::kAuto;
          ASSIGN_OR_RETURN(auto moved, opened.sqs->queue->RedriveAll(how, [] {
            std::this_thread::sleep_for(std::chrono::seconds(1));
          }));
          if (!moved.fallback.empty()) {
            std::fprintf(stderr,
                         "thumbflow: dlq redrive: SQS did not start a message-move task (%s); "
                         "copied the messages instead\n",
                         moved.fallback.c_str());
          }
          nlohmann::json out = {{"redriven", moved.moved}, {"method", moved.method}};
          if (!moved.task_handle.empty()) out["task_handle"] = moved.task_handle;
          if (!moved.interrupted.ok()) out["interrupted"] = true;
          PrintJson(out);
          return moved.interrupted;
        }
        if (*method == "task") {
          return InvalidArgumentError("dlq redrive: --method task needs --queue-url and --all");
        }
        if (opened.sqs) {
          int64_t moved = 0;
          Status copied = opened.sqs->queue->RedriveCopy(*ids, moved);
          if (!copied.ok() && copied.code() != StatusCode::kAborted) return copied;
          nlohmann::json out = {{"redriven", moved}, {"method", "copy"}};
          if (!copied.ok()) out["interrupted"] = true;
          PrintJson(out);
          return copied;
        }
        ASSIGN_OR_RETURN(int64_t moved,
                         opened.queue().Redrive(*all ? std::vector<std::string>{} : *ids));
        PrintJson({{"redriven", moved}});
        return Status::Ok();
      });
    });
  }
  {
    auto common = std::make_shared<CommonOptions>();
    CLI::App* cmd = dlq->add_subcommand("purge", "delete every dead letter");
    AddCommonOptions(cmd, *common, /*sqs=*/true);
    cmd->callback([&ctx, common] {
      Run(ctx, *common, [&](OpenedQueue& opened) -> Status {
        RETURN_IF_ERROR(opened.queue().PurgeDeadLetters());
        PrintJson({{"purged", true}});
        return Status::Ok();
      });
    });
  }
}

}  // namespace

void RegisterQueueCommands(CLI::App& app, CliContext& ctx) {
  RegisterQueue(app, ctx);
  RegisterDlq(app, ctx);
}

}  // namespace thumbflow::cli
