// thumbflow: the single binary. Chooses the subcommand; the commands wire the adapters.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/build_info.h"
#include "core/stop_signal.h"
#include "image/codec_helper.h"
#include "lambda/lambda_config.h"

namespace thumbflow::cli {
namespace {

// How this process writes its errors and which level --log-level asked for: set once by
// Main() and by a long-running command's first line (UseJsonErrors), before any thread.
// Process-wide because an error can be reported from anywhere in a command.
struct StderrSettings {
  std::string log_level_flag;  // --log-level, empty when not given
  bool json_errors = false;
};

StderrSettings& Settings() {
  static StderrSettings settings;
  return settings;
}

void WriteError(const std::string& message) {
  if (Settings().json_errors) {
    Logger::Stderr(nullptr, LogLevel::kError).Error(message);
  } else {
    std::fprintf(stderr, "thumbflow: %s\n", message.c_str());
  }
}

}  // namespace

int ReportFailure(const Status& status) {
  WriteError(status.message());
  return status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

int ReportUsage(const std::string& message) {
  WriteError(message);
  return kExitUsage;
}

void UseJsonErrors() { Settings().json_errors = true; }

Status ApplyLogLevelOverrides(Config* config) {
  const std::string& flag = Settings().log_level_flag;
  const char* env = std::getenv("THUMBFLOW_LOG_LEVEL");
  std::string origin = !flag.empty() ? "--log-level" : "THUMBFLOW_LOG_LEVEL";
  std::string text = !flag.empty() ? flag : (env != nullptr ? env : "");
  if (text.empty()) return Status::Ok();
  std::optional<LogLevel> level = ParseLogLevel(text);
  if (!level) {
    return InvalidArgumentError(origin + ": must be one of debug, info, warn, error (got \"" +
                                text + "\")");
  }
  config->log.level = *level;
  return Status::Ok();
}

Logger CommandLogger(const Config& config, const Clock* clock) {
  return Logger::Stderr(clock, config.log.level);
}

std::vector<std::string> DefaultConfigPaths() {
  std::vector<std::string> paths;
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  if (xdg != nullptr && *xdg == '/') {
    paths.push_back(std::string(xdg) + "/thumbflow/config.toml");
  } else if (home != nullptr && *home != '\0') {
    paths.push_back(std::string(home) + "/.config/thumbflow/config.toml");
  }
  paths.push_back("/etc/thumbflow/config.toml");
  return paths;
}

Result<Config> LoadConfigOrDefault(const std::string& path, std::string* origin) {
  std::string used = path;
  Result<Config> config = Config{};
  const char* env_config = std::getenv("THUMBFLOW_CONFIG");
  if (!path.empty()) {
    config = LoadConfigFile(path);
  } else if (env_config != nullptr && *env_config != '\0') {
    used = "THUMBFLOW_CONFIG";
    Result<lambda::LambdaConfig> loaded = lambda::LoadLambdaConfig(env_config);
    config = loaded.ok() ? Result<Config>(std::move(loaded->config)) : loaded.status();
  } else {
    used = "defaults";
    for (const std::string& candidate : DefaultConfigPaths()) {
      std::error_code ec;
      if (!std::filesystem::exists(candidate, ec)) continue;
      used = candidate;
      config = LoadConfigFile(candidate);
      break;
    }
  }
  if (origin) *origin = used;
  if (config.ok()) RETURN_IF_ERROR(ApplyLogLevelOverrides(&*config));
  return config;
}

QueueOptions QueueOptionsFromConfig(const QueueConfig& queue) {
  QueueOptions options;
  options.name = queue.name;
  options.visibility_timeout_s = queue.visibility_timeout_s;
  options.max_receive_count = queue.max_receive_count;
  options.retention_s = queue.retention_s;
  options.dlq_retention_s = queue.dlq_retention_s;
  options.max_body_bytes = queue.max_body_bytes;
  return options;
}

void PrintJson(const nlohmann::json& doc) {
  std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

namespace {

// The commands that take the stop signals themselves (core/stop_signal.h StopSignals): they
// keep them blocked from the process's start (BlockStopSignalsAtStart below), so that a stop
// signal at any moment of their life is a graceful stop. Every other command gets the mask
// the process inherited back before it runs.
bool TakesStopSignals(const CLI::App& app) {
  for (const char* name : {"serve", "worker", "backfill"}) {
    if (app.got_subcommand(name)) return true;
  }
  // `dlq list` and `dlq redrive` on SQS give the messages they hold back at once when stopped
  // (queue_command.cc ScanStop).
  const CLI::App* dlq = app.get_subcommand("dlq");
  for (const char* name : {"list", "redrive"}) {
    if (dlq->got_subcommand(name) && dlq->get_subcommand(name)->count("--queue-url") > 0) {
      return true;
    }
  }
  return false;
}

int Main(int argc, char** argv) {
  CliContext ctx;
  // Codec helpers (image/codec_helper.h) skip the command line machinery; checked before
  // the `bootstrap` name, which the Lambda package also starts helpers under.
  if (argc >= 2 && std::strcmp(argv[1], kCodecHelperCommand) == 0) {
    RestoreInheritedSignalMask();
    return RunCodecHelper(argc, argv);
  }
  const char* base = std::strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (std::strcmp(base, "bootstrap") == 0) {
    RestoreInheritedSignalMask();
    return RunLambda(ctx);
  }

  // `thumbflow help [COMMAND...]` is `thumbflow [COMMAND...] --help`.
  std::vector<char*> args(argv, argv + argc);
  if (argc >= 2 && std::strcmp(argv[1], "help") == 0) {
    args.erase(args.begin() + 1);
    static char help_flag[] = "--help";
    args.push_back(help_flag);
  }
  CLI::App app{"thumbflow: event-driven image thumbnails", "thumbflow"};
  app.footer(
      "Config: --config FILE, else THUMBFLOW_CONFIG (a TOML document or a path), else the first "
      "of $XDG_CONFIG_HOME/thumbflow/config.toml (~/.config/thumbflow/config.toml) and "
      "/etc/thumbflow/config.toml, else the defaults.\n`thumbflow help COMMAND` shows a "
      "command's options.");
  app.require_subcommand(1);
  app.set_version_flag("--version", "thumbflow " + std::string(ThumbflowVersion()));
  // Global: accepted before the command or after it (subcommands pass it up).
  app.fallthrough();
  app.add_option("--log-level", Settings().log_level_flag,
                 "Lines written on stderr: debug, info, warn or error (over "
                 "THUMBFLOW_LOG_LEVEL and [log] level; default info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  RegisterThumbCommand(app, ctx);
  RegisterQueueCommands(app, ctx);
  RegisterObjectCommands(app, ctx);
  RegisterServeCommand(app, ctx);
  RegisterStatusCommand(app, ctx);
  RegisterWorkerCommand(app, ctx);
  RegisterLambdaCommand(app, ctx);
  RegisterBackfillCommand(app, ctx);
  // Runs once the command line is parsed, before the chosen command's callback.
  app.parse_complete_callback([&app] {
    if (!TakesStopSignals(app)) RestoreInheritedSignalMask();
  });
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;  // CLI11 uses its own codes; every usage error is 2 here
  }
  return ctx.exit_code;
}

}  // namespace
}  // namespace thumbflow::cli

namespace {

void BlockStopSignalsBeforeAnyConstructor(int, char**, char**) {
  thumbflow::BlockStopSignalsAtStart();
}

}  // namespace

// The first code of the process: .preinit_array runs after the dynamic loader and before every
// library's and this binary's constructors, any of which may start a thread that would
// inherit an unblocked mask (a stop signal delivered to it would end the process by the
// default action). Only an executable may have a .preinit_array.
[[gnu::section(".preinit_array"), gnu::used]] static void (*const block_stop_signals)(
    int, char**, char**) = &BlockStopSignalsBeforeAnyConstructor;

int main(int argc, char** argv) { return thumbflow::cli::Main(argc, argv); }
