// `thumbflow thumb [--config FILE] --out DIR [--jobs N] FILE...`: thumbnails of local files.
//
// Writes DIR/{size}/{name} (name = the input's base name, the new extension appended when
// the format changes) and prints one JSON line per input, in input order. A bad input
// never stops the others. Exit 0 when every input succeeded, 1 when any failed, 2 on a
// usage or config error.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "cli/thumbnailer_factory.h"

namespace thumbflow::cli {
namespace {

struct ThumbOptions {
  std::string config_path;
  std::string out_dir;
  int jobs = 0;
  std::vector<std::string> inputs;
};

Result<std::string> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status(StatusCode::kNotFound, path + ": no such file", Reason::kSourceMissing, false);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kNotFound, path + ": cannot be read", Reason::kSourceMissing, false);
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Status WriteWholeFile(const std::filesystem::path& path, const std::string& bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    return Status(StatusCode::kUnavailable, "write " + path.string() + " failed", Reason::kInternal,
                  true);
  }
  return Status::Ok();
}

nlohmann::ordered_json ErrorLine(const std::string& input, const Status& status) {
  return {{"input", input},
          {"ok", false},
          {"error",
           {{"class", status.retryable() ? "transient" : "permanent"},
            {"reason", std::string(ReasonName(status.reason() == Reason::kNone ? Reason::kInternal
                                                                               : status.reason()))},
            {"message", status.message()}}}};
}

// Like PrintJson, but keeps the keys in the documented order (input, ok, outputs/error).
void PrintLine(const nlohmann::ordered_json& line) {
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Thumbnails one input and writes its outputs; returns its JSON line.
nlohmann::ordered_json ProcessOne(const Thumbnailer& thumbnailer, const std::string& input,
                                  const std::filesystem::path& out_dir) {
  Result<std::string> bytes = ReadWholeFile(input);
  if (!bytes.ok()) return ErrorLine(input, bytes.status());
  Result<Thumbnails> thumbnails = thumbnailer.Make(*bytes);
  if (!thumbnails.ok()) return ErrorLine(input, thumbnails.status());
  std::string base = std::filesystem::path(input).filename().string();
  nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
  for (const Thumbnail& t : thumbnails->outputs) {
    std::filesystem::path path = out_dir / t.size_name / ThumbnailName(base, t);
    Status written = WriteWholeFile(path, t.bytes);
    if (!written.ok()) return ErrorLine(input, written);
    outputs.push_back({{"size", t.size_name},
                       {"path", path.string()},
                       {"width", t.width},
                       {"height", t.height},
                       {"format", t.format},
                       {"bytes", t.bytes.size()}});
  }
  return {{"input", input}, {"ok", true}, {"outputs", std::move(outputs)}};
}

int RunThumb(const ThumbOptions& options) {
  Result<Config> config = LoadConfigOrDefault(options.config_path);
  if (!config.ok()) return ReportFailure(config.status());
  int jobs = options.jobs > 0 ? options.jobs
                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  jobs = std::min<int>(jobs, static_cast<int>(options.inputs.size()));

  // Several images in flight already use every core; libvips' own threads would only
  // oversubscribe them. One codec helper per job.
  Result<ConfiguredThumbnailer> thumbnailer =
      MakeConfiguredThumbnailer(*config, jobs, jobs > 1 ? 1 : 0, nullptr);
  if (!thumbnailer.ok()) return ReportFailure(thumbnailer.status());

  // Lines are printed in input order as soon as every earlier input is done.
  std::vector<std::optional<nlohmann::ordered_json>> lines(options.inputs.size());
  size_t next_to_print = 0;
  bool any_failed = false;
  std::mutex mu;
  std::atomic<size_t> next_input{0};
  auto worker = [&] {
    for (size_t i = next_input++; i < options.inputs.size(); i = next_input++) {
      nlohmann::ordered_json line =
          ProcessOne(*thumbnailer->thumbnailer, options.inputs[i], options.out_dir);
      std::lock_guard<std::mutex> lock(mu);
      if (!line["ok"].get<bool>()) any_failed = true;
      lines[i] = std::move(line);
      while (next_to_print < lines.size() && lines[next_to_print].has_value()) {
        PrintLine(*lines[next_to_print]);
        lines[next_to_print].reset();
        ++next_to_print;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  thumbnailer->thumbnailer.reset();
  return any_failed ? kExitFailed : kExitOk;
}

}  // namespace

void RegisterThumbCommand(CLI::App& app, CliContext& ctx) {
  auto options = std::make_shared<ThumbOptions>();
  CLI::App* thumb = app.add_subcommand("thumb", "Make the configured thumbnails of local files");
  thumb->add_option("--config", options->config_path, "Config file (TOML)");
  thumb->add_option("--out", options->out_dir, "Output folder: {out}/{size}/{name}")->required();
  thumb->add_option("--jobs", options->jobs, "Images in flight (default: the number of cores)")
      ->check(CLI::Range(1, 1024));
  thumb->add_option("files", options->inputs, "Source images")->required();
  thumb->callback([options, &ctx] { ctx.exit_code = RunThumb(*options); });
}

}  // namespace thumbflow::cli
