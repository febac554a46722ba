// Pipeline overhead benchmark: images/s and per-image latency of the WorkerPool (memory
// queue, memory store, the real libvips thumbnailer) against the bare thumbnailer on the
// same threads, over the benchmark photos (bench/corpus). Both sides read sources from memory, so
// the difference is the pipeline's own cost (queue, event parsing, idempotency HEADs, puts,
// acknowledgement).
//
//   pipeline_bench [--workers N] [--rounds R] [--corpus DIR]
//                  [--thumbnailer in-process|isolated] [--helper-bin PATH]
//
// --thumbnailer chooses what both sides use: libvips in this process (the default) or the
// pool of sandboxed codec helpers (image/isolated_thumbnailer.h, one per worker, started
// from --helper-bin, default $THUMBFLOW_BIN or build/src/cli/thumbflow). `--thumbnailer
// compare` instead runs the bare thumbnailer R rounds per side, in-process and isolated
// interleaved round by round, and reports both and the isolation overhead.
//
// Run from the repository root: the default corpus is bench/corpus/photos, built by
// bench/corpus/build.sh when missing.
//
// Prints one JSON document.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "events/s3_event.h"
#include "image/isolated_thumbnailer.h"
#include "image/vips_thumbnailer.h"
#include "pipeline/worker_pool.h"
#include "queue/memory_queue.h"
#include "storage/memory_store.h"

namespace thumbflow {
namespace {

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int Main(int argc, char** argv) {
  int workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int rounds = 2;
  std::string corpus = "bench/corpus/photos";
  std::string mode = "in-process";
  std::string helper_bin =
      std::getenv("THUMBFLOW_BIN") ? std::getenv("THUMBFLOW_BIN") : "build/src/cli/thumbflow";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--workers") workers = std::stoi(argv[i + 1]);
    if (flag == "--rounds") rounds = std::stoi(argv[i + 1]);
    if (flag == "--corpus") corpus = argv[i + 1];
    if (flag == "--thumbnailer") mode = argv[i + 1];
    if (flag == "--helper-bin") helper_bin = argv[i + 1];
  }
  if (mode != "in-process" && mode != "isolated" && mode != "compare") {
    std::fprintf(stderr, "--thumbnailer: in-process, isolated or compare\n");
    return 2;
  }
  if (std::system(("bench/corpus/build.sh --if-missing '" + corpus + "'").c_str()) != 0) {
    std::fprintf(stderr, "bench/corpus/build.sh could not build %s\n", corpus.c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> images;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 4 ||
        (name.rfind(".jpg") == std::string::npos && name.rfind(".png") == std::string::npos &&
         name.rfind(".webp") == std::string::npos)) {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    images.emplace_back(name, bytes.str());
  }
  std::sort(images.begin(), images.end());
  if (images.empty()) {
    std::fprintf(stderr, "no images in %s\n", corpus.c_str());
    return 1;
  }

  VipsRuntimeOptions vips_options;
  vips_options.concurrency = 1;
  auto runtime = VipsRuntime::Start(vips_options);
  if (!runtime.ok()) return 1;
  Config config;
  SystemClock clock;
  auto in_process = MakeVipsThumbnailer(config.thumbnails, **runtime, &clock);
  if (!in_process.ok()) return 1;
  std::unique_ptr<Thumbnailer> isolated;
  if (mode != "in-process") {
    IsolationOptions isolation;
    isolation.helper_binary = helper_bin;
    isolation.helpers = workers;
    auto pool = IsolatedThumbnailer::Start(config.thumbnails, isolation);
    if (!pool.ok()) {
      std::fprintf(stderr, "%s\n", pool.status().ToString().c_str());
      return 1;
    }
    isolated = std::move(pool).value();
  }

  // Bare: the same work items on `workers` threads, each calling Make() directly.
  std::mutex mu;
  struct Bare {
    std::vector<double> ms;
    double seconds = 0;
    double ImagesPerSecond() const { return static_cast<double>(ms.size()) / seconds; }
  };
  auto bare_round = [&](const Thumbnailer& thumbnailer, Bare* bare) {
    auto start = Clock::now();
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < workers; ++t) {
      threads.emplace_back([&] {
        for (size_t i; (i = next++) < images.size();) {
          auto image_start = Clock::now();
          auto out = thumbnailer.Make(images[i].second);
          double ms = std::chrono::duration<double, std::milli>(Clock::now() - image_start).count();
          std::lock_guard<std::mutex> lock(mu);
          if (out.ok()) bare->ms.push_back(ms);
        }
      });
    }
    for (auto& t : threads) t.join();
    bare->seconds += std::chrono::duration<double>(Clock::now() - start).count();
  };
  if (mode == "compare") {
    Bare local, helpers;
    for (int round = 0; round < rounds; ++round) {
      bare_round(**in_process, &local);
      bare_round(*isolated, &helpers);
    }
    nlohmann::json doc = {{"corpus", corpus},
                          {"images", images.size()},
                          {"rounds", rounds},
                          {"workers", workers},
                          {"in_process",
                           {{"images_per_s", local.ImagesPerSecond()},
                            {"p50_ms", Percentile(local.ms, 0.5)},
                            {"p99_ms", Percentile(local.ms, 0.99)}}},
                          {"isolated",
                           {{"images_per_s", helpers.ImagesPerSecond()},
                            {"p50_ms", Percentile(helpers.ms, 0.5)},
                            {"p99_ms", Percentile(helpers.ms, 0.99)}}},
                          {"isolation_overhead_pct",
                           (local.ImagesPerSecond() / helpers.ImagesPerSecond() - 1.0) * 100.0}};
    std::printf("%s\n", doc.dump(2).c_str());
    return 0;
  }
  const Thumbnailer& chosen = mode == "isolated" ? *isolated : **in_process;
  Bare bare;
  for (int round = 0; round < rounds; ++round) bare_round(chosen, &bare);
  std::vector<double>& bare_ms = bare.ms;
  double bare_s = bare.seconds;

  // Pipeline: one S3 event per image on the queue, the pool draining it.
  MemoryObjectStore store({"images"}, &clock);
  auto queue = MemoryQueue::Create(QueueOptions{}, clock).value();
  config.pipeline.workers = workers;
  config.queue.receive_wait_s = 1;
  std::vector<double> pipeline_ms;
  std::condition_variable cv;
  size_t finished = 0;
  size_t total = images.size() * static_cast<size_t>(rounds);
  pipeline::WorkerPool pool(*queue, store, chosen, config, clock, nullptr, {});
  pool.SetMessageObserver([&](const Message&, const pipeline::MessageResult& r) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& record : r.records) {
      if (record.outcome == pipeline::Outcome::kOk) {
        pipeline_ms.push_back(static_cast<double>(record.duration_ms));
      }
    }
    ++finished;
    cv.notify_all();
  });
  for (int round = 0; round < rounds; ++round) {
    for (const auto& [name, bytes] : images) {
      // A fresh key per round, so that idempotency does not skip the second round.
      std::string key = "uploads/r" + std::to_string(round) + "/" + name;
      auto info = store.Put("images", key, bytes);
      S3EventRecord record;
      record.bucket = "images";
      record.key = key;
      record.etag = info->etag.substr(1, info->etag.size() - 2);
      record.size = static_cast<int64_t>(bytes.size());
      record.event_time_ms = clock.NowMillis();
      (void)queue->Send({BuildS3Event({record}), {}, 0});
    }
  }
  auto pipeline_start = Clock::now();
  if (!pool.Start().ok()) return 1;
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished == total; });
  }
  double pipeline_s = std::chrono::duration<double>(Clock::now() - pipeline_start).count();
  pool.Shutdown();

  double bare_ips = static_cast<double>(bare_ms.size()) / bare_s;
  double pipeline_ips = static_cast<double>(pipeline_ms.size()) / pipeline_s;
  nlohmann::json doc = {{"corpus", corpus},
                        {"thumbnailer", mode},
                        {"images", images.size()},
                        {"rounds", rounds},
                        {"workers", workers},
                        {"bare",
                         {{"images_per_s", bare_ips},
                          {"p50_ms", Percentile(bare_ms, 0.5)},
                          {"p99_ms", Percentile(bare_ms, 0.99)}}},
                        {"pipeline",
                         {{"images_per_s", pipeline_ips},
                          {"p50_ms", Percentile(pipeline_ms, 0.5)},
                          {"p99_ms", Percentile(pipeline_ms, 0.99)}}},
                        {"pipeline_overhead_pct", (bare_ips / pipeline_ips - 1.0) * 100.0}};
  std::printf("%s\n", doc.dump(2).c_str());
  return 0;
}

}  // namespace
}  // namespace thumbflow

int main(int argc, char** argv) { return thumbflow::Main(argc, argv); }
