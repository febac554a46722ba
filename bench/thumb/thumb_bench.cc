// Thumbnailer throughput benchmark (issue 14), the in-process half of bench/thumb/compare.sh:
//
//   thumb_bench --corpus DIR --concurrency N [--repeat R] [--warmup W]
//               [--config PATH] [--mode isolated|in-process|plain] [--vips-threads T]
//               [--helper-bin PATH] [--out DIR]
//
// Reads every file of DIR into memory first, builds the thumbnailer exactly as `thumbflow
// thumb --jobs N` does (cli/thumbnailer_factory.h: the configured [isolation] mode, by
// default codec helper processes, one per image in flight; libvips threads per image 0 =
// libvips' default when N is 1, else 1), runs W untimed passes over the corpus, then times R
// passes with N images in flight (N lanes taking the next image in turn). Every configured
// size and format is made; nothing is written to disk. --out DIR writes the thumbnails of one
// more, untimed, pass as DIR/{size}/{name} (for bench/thumb/thumb_quality).
// --mode plain times no thumbflow code at all: a bare decode-once libvips program
// (thumbnail_buffer to the largest width, copy to memory, resize to each smaller width,
// save in the input's format with the configured quality), the floor thumbflow's own steps
// are measured against.
//
// Prints one JSON line on stdout:
//   images, thumbs, wall_s, images_per_s       over the R timed passes
//   peak_rss_mib    the largest sum of resident memory of this process and its codec helpers,
//                   sampled every 10 ms over the whole run (corpus bytes included)
//   bytes           output bytes of one pass, per output format
//   classes         per image class (jpeg_24mp, jpeg_12mp, jpeg_2mp, png, webp, ...):
//                   images, ms_per_image (mean time one image is in flight) and images_per_s
//                   = N * 1000 / ms_per_image (the throughput had every lane held that class)
// Failures of single images are counted ("failed") and named on stderr; exit status 1 then.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <vips/vips.h>
#include <nlohmann/json.hpp>

#include "cli/thumbnailer_factory.h"
#include "config/config.h"
#include "image/thumbnail_name.h"

namespace thumbflow {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Source {
  std::string name;
  std::string bytes;
};

// Sums the resident memory of this process and of every child of any of its threads
// (the codec helpers are children of the isolated thumbnailer's supervisor thread).
int64_t TreeResidentBytes() {
  auto resident = [](const std::string& pid) -> int64_t {
    std::ifstream statm("/proc/" + pid + "/statm");
    int64_t size = 0, pages = 0;
    if (!(statm >> size >> pages)) return 0;
    return pages * ::sysconf(_SC_PAGESIZE);
  };
  int64_t total = resident("self");
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream children(task.path() / "children");
    std::string child;
    while (children >> child) total += resident(child);
  }
  return total;
}

// Samples TreeResidentBytes until stopped; keeps the peak.
class RssSampler {
 public:
  RssSampler() : thread_([this] { Loop(); }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  int64_t peak() const { return peak_.load(); }

 private:
  void Loop() {
    while (!stop_) {
      int64_t now = TreeResidentBytes();
      if (now > peak_) peak_ = now;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread thread_;
};

std::string ClassOf(const Thumbnails& t) {
  double mp = static_cast<double>(t.source_width) * t.source_height / 1e6;
  if (t.source_format == "jpeg") {
    if (mp >= 18) return "jpeg_24mp";
    if (mp >= 6) return "jpeg_12mp";
    return "jpeg_2mp";
  }
  return t.source_format;
}

struct ImageRecord {
  std::string klass;
  double seconds = 0;  // summed over the timed passes
  bool failed = false;
};

// One pass over the corpus with `concurrency` lanes; calls `done(index, result, seconds)`.
template <typename Done>
void RunPass(const Thumbnailer& thumbnailer, const std::vector<Source>& sources, int concurrency,
             Done done) {
  std::atomic<size_t> next{0};
  auto lane = [&] {
    for (size_t i = next++; i < sources.size(); i = next++) {
      auto start = SteadyClock::now();
      Result<Thumbnails> result = thumbnailer.Make(sources[i].bytes);
      double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
      done(i, result, seconds);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < concurrency; ++i) threads.emplace_back(lane);
  lane();
  for (std::thread& t : threads) t.join();
}

// The bare decode-once libvips program of --mode plain (no limits, no deadline, no
// isolation, no sniffing beyond libvips' own; JPEG, PNG and WebP sources only).
class PlainThumbnailer final : public Thumbnailer {
 public:
  explicit PlainThumbnailer(const ThumbnailConfig& config) : config_(config) {}
  using Thumbnailer::Make;
  Result<Thumbnails> Make(std::string_view encoded, const MakeOptions&) const override {
    const char* loader = vips_foreign_find_load_buffer(encoded.data(), encoded.size());
    std::string format = loader == nullptr                        ? ""
                         : std::strstr(loader, "Jpeg") != nullptr ? "jpeg"
                         : std::strstr(loader, "Png") != nullptr  ? "png"
                         : std::strstr(loader, "Webp") != nullptr ? "webp"
                                                                  : "";
    if (format.empty()) return InvalidArgumentError("plain: not JPEG, PNG or WebP");
    int largest = 0;
    for (const ThumbnailSize& size : config_.sizes) largest = std::max(largest, size.width);
    void* data = const_cast<char*>(encoded.data());
    VipsImage* decoded = nullptr;
    if (vips_thumbnail_buffer(data, encoded.size(), &decoded, largest, "height", VIPS_MAX_COORD,
                              "size", VIPS_SIZE_DOWN, nullptr) != 0) {
      return InternalError(std::string("plain: ") + vips_error_buffer());
    }
    VipsImage* memory = vips_image_copy_memory(decoded);
    g_object_unref(decoded);
    if (memory == nullptr) return InternalError("plain: copy_memory");
    Thumbnails out;
    out.source_format = format;
    VipsImage* header = vips_image_new_from_buffer(encoded.data(), encoded.size(), "", nullptr);
    if (header != nullptr) {
      out.source_width = header->Xsize;
      out.source_height = header->Ysize;
      g_object_unref(header);
    }
    for (const ThumbnailSize& size : config_.sizes) {
      VipsImage* resized = memory;
      g_object_ref(resized);
      if (size.width < memory->Xsize) {
        g_object_unref(resized);
        if (vips_resize(memory, &resized, static_cast<double>(size.width) / memory->Xsize,
                        nullptr) != 0) {
          g_object_unref(memory);
          return InternalError("plain: resize");
        }
      }
      void* buffer = nullptr;
      size_t length = 0;
      int rc = format == "jpeg"
                   ? vips_jpegsave_buffer(resized, &buffer, &length, "Q", config_.jpeg_quality,
                                          "optimize_coding", TRUE, "strip", TRUE, nullptr)
               : format == "png"
                   ? vips_pngsave_buffer(resized, &buffer, &length, "compression",
                                         config_.png_compression, "filter",
                                         VIPS_FOREIGN_PNG_FILTER_NONE, "strip", TRUE, nullptr)
                   : vips_webpsave_buffer(resized, &buffer, &length, "Q", config_.webp_quality,
                                          "strip", TRUE, nullptr);
      Thumbnail t;
      t.size_name = size.name;
      t.format = format;
      t.extension = format == "jpeg" ? ".jpg" : "." + format;
      t.width = resized->Xsize;
      t.height = resized->Ysize;
      g_object_unref(resized);
      if (rc != 0) {
        g_object_unref(memory);
        return InternalError("plain: save");
      }
      t.bytes.assign(static_cast<const char*>(buffer), length);
      g_free(buffer);
      out.outputs.push_back(std::move(t));
    }
    g_object_unref(memory);
    return out;
  }

 private:
  ThumbnailConfig config_;
};

int Usage() {
  std::fprintf(stderr,
               "usage: thumb_bench --corpus DIR --concurrency N [--repeat R] [--warmup W]\n"
               "                   [--config PATH] [--mode isolated|in-process|plain]\n"
               "                   [--vips-threads T] [--helper-bin PATH] [--out DIR]\n");
  return 2;
}

int Main(int argc, char** argv) {
  std::string corpus, config_path, mode, helper_bin, out_dir;
  int concurrency = 0, repeat = 3, warmup = 1, vips_threads = -1;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    try {
      if (flag == "--corpus")
        corpus = value;
      else if (flag == "--concurrency")
        concurrency = std::stoi(value);
      else if (flag == "--repeat")
        repeat = std::stoi(value);
      else if (flag == "--warmup")
        warmup = std::stoi(value);
      else if (flag == "--config")
        config_path = value;
      else if (flag == "--mode")
        mode = value;
      else if (flag == "--vips-threads")
        vips_threads = std::stoi(value);
      else if (flag == "--helper-bin")
        helper_bin = value;
      else if (flag == "--out")
        out_dir = value;
      else
        return Usage();
    } catch (const std::exception&) {
      return Usage();
    }
  }
  if (corpus.empty() || concurrency < 1 || repeat < 1 || warmup < 0) return Usage();

  Config config;
  if (!config_path.empty()) {
    Result<Config> loaded = LoadConfigFile(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "thumb_bench: %s\n", loaded.status().message().c_str());
      return 2;
    }
    config = *loaded;
  }
  if (!mode.empty()) {
    if (mode != "isolated" && mode != "in-process" && mode != "plain") return Usage();
    config.isolation.mode = mode == "plain" ? "in-process" : mode;
  }
  // The helpers are this build's thumbflow binary unless told otherwise.
  if (helper_bin.empty() && std::getenv("THUMBFLOW_HELPER_EXE") == nullptr) {
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
    helper_bin = (self.parent_path() / "../../src/cli/thumbflow").lexically_normal().string();
  }
  if (!helper_bin.empty()) ::setenv("THUMBFLOW_HELPER_EXE", helper_bin.c_str(), 1);

  std::vector<Source> sources;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.is_regular_file() && entry.path().filename().string()[0] != '.' &&
        entry.path().extension() != ".md" && entry.path().extension() != ".tsv") {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    sources.push_back({path.filename().string(), std::move(bytes).str()});
  }
  if (sources.empty()) {
    std::fprintf(stderr, "thumb_bench: no images in %s\n", corpus.c_str());
    return 2;
  }

  RssSampler sampler;
  // As `thumbflow thumb --jobs N` (cli/thumb_command.cc): libvips' own threads for one
  // image in flight, one thread per image when several are.
  if (vips_threads < 0) vips_threads = concurrency > 1 ? 1 : 0;
  Result<cli::ConfiguredThumbnailer> made =
      cli::MakeConfiguredThumbnailer(config, concurrency, vips_threads, nullptr);
  if (!made.ok()) {
    std::fprintf(stderr, "thumb_bench: %s\n", made.status().message().c_str());
    return 1;
  }
  if (mode == "plain") made->thumbnailer = std::make_unique<PlainThumbnailer>(config.thumbnails);
  const Thumbnailer& thumbnailer = *made->thumbnailer;

  std::mutex mu;
  std::vector<ImageRecord> records(sources.size());
  std::map<std::string, int64_t> bytes_per_format;
  int64_t thumbs = 0;
  int failed = 0;
  bool timed = false;
  auto done = [&](size_t i, const Result<Thumbnails>& result, double seconds) {
    std::lock_guard<std::mutex> lock(mu);
    ImageRecord& record = records[i];
    if (!result.ok()) {
      if (!record.failed) {
        std::fprintf(stderr, "thumb_bench: %s: %s\n", sources[i].name.c_str(),
                     result.status().message().c_str());
        ++failed;
      }
      record.failed = true;
      return;
    }
    record.klass = ClassOf(*result);
    if (!timed) return;
    record.seconds += seconds;
    thumbs += static_cast<int64_t>(result->outputs.size());
  };

  for (int pass = 0; pass < warmup; ++pass) RunPass(thumbnailer, sources, concurrency, done);
  timed = true;
  auto start = SteadyClock::now();
  for (int pass = 0; pass < repeat; ++pass) RunPass(thumbnailer, sources, concurrency, done);
  double wall = std::chrono::duration<double>(SteadyClock::now() - start).count();
  timed = false;

  // Bytes per format (and the thumbnails, with --out) from one more pass.
  RunPass(thumbnailer, sources, concurrency,
          [&](size_t i, const Result<Thumbnails>& result, double) {
            if (!result.ok()) return;
            std::lock_guard<std::mutex> lock(mu);
            for (const Thumbnail& t : result->outputs) {
              bytes_per_format[t.format] += static_cast<int64_t>(t.bytes.size());
              if (out_dir.empty()) continue;
              std::filesystem::path dir = std::filesystem::path(out_dir) / t.size_name;
              std::filesystem::create_directories(dir);
              std::ofstream(dir / ThumbnailName(sources[i].name, t), std::ios::binary) << t.bytes;
            }
          });
  int64_t peak = sampler.peak();

  struct ClassSum {
    int images = 0;
    double seconds = 0;
  };
  std::map<std::string, ClassSum> classes;
  for (const ImageRecord& record : records) {
    if (record.failed) continue;
    ClassSum& sum = classes[record.klass];
    ++sum.images;
    sum.seconds += record.seconds;
  }
  nlohmann::ordered_json line;
  line["tool"] = "thumbflow";
  line["mode"] = mode == "plain" ? mode : config.isolation.mode;
  line["concurrency"] = concurrency;
  line["vips_threads"] = vips_threads;
  line["repeat"] = repeat;
  line["warmup"] = warmup;
  line["images"] = static_cast<int64_t>(sources.size() - failed) * repeat;
  line["thumbs"] = thumbs;
  line["failed"] = failed;
  line["wall_s"] = wall;
  line["images_per_s"] = static_cast<double>(sources.size() - failed) * repeat / wall;
  line["peak_rss_mib"] = static_cast<double>(peak) / (1 << 20);
  line["bytes"] = bytes_per_format;
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (const auto& [name, sum] : classes) {
    double ms = sum.seconds * 1000 / (sum.images * repeat);
    per_class[name] = {
        {"images", sum.images}, {"ms_per_image", ms}, {"images_per_s", concurrency * 1000.0 / ms}};
  }
  line["classes"] = per_class;
  std::printf("%s\n", line.dump().c_str());
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace thumbflow

int main(int argc, char** argv) { return thumbflow::Main(argc, argv); }
