// `thumbflow queue ...` and `thumbflow dlq ...`: look into and operate the embedded queue.
//
// Every command opens DIR/thumbflow.db with the same settings as `thumbflow serve`, so it can
// run while another process uses the file. Only `queue send` creates a missing folder; the
// others fail on one (a mistyped --data must not look like an empty queue).
// The queue's settings come from [queue] in --config; --queue overrides its name.
#include <filesystem>
#include <memory>
#include <vector>

#include "cli/cli.h"
#include "core/clock.h"
#include "queue/sqlite_queue.h"

namespace thumbflow::cli {
namespace {

struct CommonOptions {
  std::string data;
  std::string queue;
  std::string config;
  bool create = false;  // create DIR and its database when missing
};

// The queue and what it needs alive (the clock it reads).
struct OpenedQueue {
  SystemClock clock;
  std::unique_ptr<SqliteQueue> queue;
};

void AddCommonOptions(CLI::App* command, CommonOptions& common) {
  command->add_option("--data", common.data, "data folder (the queue lives in DIR/thumbflow.db)")
      ->required();
  command->add_option("--queue", common.queue, "queue name (default: [queue] name, thumbnails)");
  command->add_option("--config", common.config, "config file");
}

Result<std::unique_ptr<OpenedQueue>> Open(const CommonOptions& common) {
  ASSIGN_OR_RETURN(Config config, LoadConfigOrDefault(common.config));
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
  ASSIGN_OR_RETURN(opened->queue, SqliteQueue::Open(std::move(db), options, opened->clock));
  return opened;
}

nlohmann::json AttributesJson(const MessageAttributes& attributes) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : attributes) out[name] = value;
  return out;
}

// Runs `body` with the opened queue and turns a failure into the exit code.
template <typename Fn>
void Run(CliContext& ctx, const CommonOptions& common, Fn body) {
  auto opened = Open(common);
  if (!opened.ok()) {
    ctx.exit_code = ReportFailure(opened.status());
    return;
  }
  Status status = body(*(*opened)->queue);
  ctx.exit_code = status.ok() ? kExitOk : ReportFailure(status);
}

void RegisterQueue(CLI::App& app, CliContext& ctx) {
  CLI::App* queue = app.add_subcommand("queue", "send, receive, delete, purge, stats");
  queue->require_subcommand(1);

  {
    auto common = std::make_shared<CommonOptions>();
    auto body = std::make_shared<std::string>();
    auto delay = std::make_shared<int>(0);
    common->create = true;
    CLI::App* cmd = queue->add_subcommand("send", "send one message; prints {\"id\"}");
    cmd->add_option("BODY", *body, "message body (UTF-8)")->required();
    cmd->add_option("--delay", *delay, "seconds before it can be received (0-900)");
    AddCommonOptions(cmd, *common);
    cmd->callback([&ctx, common, body, delay] {
      Run(ctx, *common, [&](Queue& q) -> Status {
        SendRequest request;
        request.body = *body;
        request.delay_seconds = *delay;
        ASSIGN_OR_RETURN(std::string id, q.Send(request));
        PrintJson({{"id", id}});
        return Status::Ok();
      });
    });
  }
  {
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
      Run(ctx, *common, [&](Queue& q) -> Status {
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
  {
    auto common = std::make_shared<CommonOptions>();
    auto receipts = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = queue->add_subcommand("delete", "delete messages by receipt handle");
    cmd->add_option("RECEIPT", *receipts, "receipt handles from `queue receive`")->required();
    AddCommonOptions(cmd, *common);
    cmd->callback([&ctx, common, receipts] {
      Run(ctx, *common, [&](Queue& q) -> Status {
        for (const auto& receipt : *receipts) RETURN_IF_ERROR(q.Delete(receipt));
        PrintJson({{"deleted", receipts->size()}});
        return Status::Ok();
      });
    });
  }
  {
    auto common = std::make_shared<CommonOptions>();
    CLI::App* cmd = queue->add_subcommand("purge", "delete every message (not the DLQ)");
    AddCommonOptions(cmd, *common);
    cmd->callback([&ctx, common] {
      Run(ctx, *common, [&](Queue& q) -> Status {
        RETURN_IF_ERROR(q.Purge());
        PrintJson({{"purged", true}});
        return Status::Ok();
      });
    });
  }
  {
    auto common = std::make_shared<CommonOptions>();
    CLI::App* cmd = queue->add_subcommand("stats", "message counts by state");
    AddCommonOptions(cmd, *common);
    cmd->callback([&ctx, common] {
      Run(ctx, *common, [&](Queue& q) -> Status {
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
}

void RegisterDlq(CLI::App& app, CliContext& ctx) {
  CLI::App* dlq = app.add_subcommand("dlq", "list, redrive and purge dead letters");
  dlq->require_subcommand(1);
  {
    auto common = std::make_shared<CommonOptions>();
    auto max = std::make_shared<int>(1000);
    CLI::App* cmd = dlq->add_subcommand("list", "dead letters as a JSON array");
    cmd->add_option("--max", *max, "most entries (default 1000)");
    AddCommonOptions(cmd, *common);
    cmd->callback([&ctx, common, max] {
      Run(ctx, *common, [&](Queue& q) -> Status {
        if (*max < 1) return InvalidArgumentError("--max must be 1 or more");
        ASSIGN_OR_RETURN(auto letters, q.ListDeadLetters(*max));
        nlohmann::json out = nlohmann::json::array();
        for (const auto& d : letters) {
          out.push_back({{"id", d.id},
                         {"body", d.body},
                         {"receive_count", d.receive_count},
                         {"reason", d.reason}});
        }
        PrintJson(out);
        return Status::Ok();
      });
    });
  }
  {
    auto common = std::make_shared<CommonOptions>();
    auto all = std::make_shared<bool>(false);
    auto ids = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = dlq->add_subcommand("redrive", "move dead letters back to their queue");
    cmd->add_flag("--all", *all, "every dead letter");
    cmd->add_option("ID", *ids, "message ids from `dlq list`");
    AddCommonOptions(cmd, *common);
    cmd->callback([&ctx, common, all, ids] {
      if (*all == !ids->empty()) {
        ctx.exit_code = ReportUsage("dlq redrive: give either --all or message ids");
        return;
      }
      Run(ctx, *common, [&](Queue& q) -> Status {
        ASSIGN_OR_RETURN(int64_t moved, q.Redrive(*all ? std::vector<std::string>{} : *ids));
        PrintJson({{"redriven", moved}});
        return Status::Ok();
      });
    });
  }
  {
    auto common = std::make_shared<CommonOptions>();
    CLI::App* cmd = dlq->add_subcommand("purge", "delete every dead letter");
    AddCommonOptions(cmd, *common);
    cmd->callback([&ctx, common] {
      Run(ctx, *common, [&](Queue& q) -> Status {
        RETURN_IF_ERROR(q.PurgeDeadLetters());
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
