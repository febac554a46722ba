// The command line: one binary, subcommands, options after the last subcommand word.
//
// Exit codes everywhere: 0 success, 1 the operation failed (stderr says why), 2 bad usage or
// bad config (stderr names the option or field). Machine-readable output goes to stdout as
// JSON; human messages go to stderr.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "queue/queue.h"

namespace thumbflow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Shared by every command: where a command's callback leaves its exit code.
struct CliContext {
  int exit_code = kExitOk;
};

// Prints "thumbflow: <message>" to stderr (after UseJsonErrors: one JSON line, level
// "error") and returns kExitFailed, or kExitUsage for InvalidArgument (bad usage or config).
int ReportFailure(const Status& status);
int ReportUsage(const std::string& message);

// The long-running commands (serve, worker, lambda) call this first: from then on every
// error they report is a JSON log line like the rest of their stderr. One-shot commands
// keep "thumbflow: <message>", written for the person who typed the command; usage errors
// CLI11 finds in the command line itself are always that plain text.
void UseJsonErrors();

// The log level from --log-level, else THUMBFLOW_LOG_LEVEL, over `config->log.level`
// ([log] level). InvalidArgument naming the option or variable for a bad value.
// LoadConfigOrDefault applies it; commands that load their config otherwise call it.
Status ApplyLogLevelOverrides(Config* config);

// The stderr JSON logger at the config's level (after ApplyLogLevelOverrides).
Logger CommandLogger(const Config& config, const Clock* clock);

// A command's config, from the first of: --config FILE; THUMBFLOW_CONFIG (a TOML document
// or the path of one, read as the Lambda runtime reads it: a [lambda] table is ignored), for
// container images, which have no config file; $XDG_CONFIG_HOME/thumbflow/config.toml (or
// ~/.config/thumbflow/config.toml); /etc/thumbflow/config.toml; else the defaults.
// `origin`, when given, receives what was used (a path, "THUMBFLOW_CONFIG" or "defaults").
// --log-level and THUMBFLOW_LOG_LEVEL are applied over [log] level (ApplyLogLevelOverrides).
// No other variable changes the result here: the AWS variables are applied later, over
// [aws] (aws::EnvironmentForConfig), and serve's THUMBFLOW_ACCESS_KEY_ID /
// THUMBFLOW_SECRET_ACCESS_KEY over [server].
Result<Config> LoadConfigOrDefault(const std::string& path, std::string* origin = nullptr);

// The config files searched when neither --config nor THUMBFLOW_CONFIG is given, in order.
std::vector<std::string> DefaultConfigPaths();

// The embedded queue's settings from [queue]: serve, status and the queue commands must
// open the same queue the same way.
QueueOptions QueueOptionsFromConfig(const QueueConfig& queue);

// One JSON document (or line) on stdout, flushed.
void PrintJson(const nlohmann::json& doc);

// Each command group adds its subcommands to `app`; callbacks set ctx.exit_code.
void RegisterThumbCommand(CLI::App& app, CliContext& ctx);
void RegisterQueueCommands(CLI::App& app, CliContext& ctx);    // queue ..., dlq ...
void RegisterObjectCommands(CLI::App& app, CliContext& ctx);   // put, get, ls
void RegisterServeCommand(CLI::App& app, CliContext& ctx);     // serve
void RegisterStatusCommand(CLI::App& app, CliContext& ctx);    // status
void RegisterWorkerCommand(CLI::App& app, CliContext& ctx);    // worker
void RegisterLambdaCommand(CLI::App& app, CliContext& ctx);    // lambda
void RegisterBackfillCommand(CLI::App& app, CliContext& ctx);  // backfill

// The Lambda custom runtime entry point; also used when the binary is named `bootstrap`.
int RunLambda(CliContext& ctx);

}  // namespace thumbflow::cli
