// Throughput of the embedded queue: messages per second through send -> receive -> delete,
// with durable commits (WAL, synchronous=FULL), single-message calls and batches of 10, from
// 1 and 4 threads, after a 1 s warm-up. Also reports how many commits (fsyncs) were needed, to show
// group commit.
//
//   queue_bench [--dir DIR] [--seconds S] [--only SCENARIO] [--messages N]
//
// DIR (default: a fresh folder under /tmp) must be on the disk being measured. Prints one
// JSON line per scenario. --only runs one scenario. --messages runs each scenario until N
// messages went through (no warm-up, no timing): for instruction counts under
// `valgrind --tool=callgrind`, where the wall clock means little.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "queue/sqlite_queue.h"

namespace thumbflow {
namespace {

struct Scenario {
  const char* name;
  int threads;
  int batch;       // 1: single-message calls; 10: batches
  bool send_only;  // only sends (the group-commit target), else send -> receive -> delete
};

struct Outcome {
  int64_t messages = 0;
  double seconds = 0;
  int64_t commits = 0;
  int64_t writes = 0;
  std::string error;
};

// One worker's loop: each iteration moves `batch` messages through the whole flow. Several
// workers share the queue, so a worker may receive another's messages; every message is
// still sent, received and deleted once.
Status FlowOnce(Queue& q, int batch, bool send_only, int64_t* done) {
  const std::string body(200, 'x');  // about the size of an S3 event notification's key part
  if (batch == 1) {
    ASSIGN_OR_RETURN(std::string id, q.Send(SendRequest{body, {}, 0}));
    if (send_only) {
      *done += 1;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(auto got, q.Receive(ReceiveOptions{1, std::nullopt, 0}));
    for (const auto& m : got) RETURN_IF_ERROR(q.Delete(m.receipt));
    *done += static_cast<int64_t>(got.size());
    return Status::Ok();
  }
  std::vector<SendRequest> requests(static_cast<size_t>(batch), SendRequest{body, {}, 0});
  ASSIGN_OR_RETURN(auto ids, q.SendBatch(requests));
  for (const auto& id : ids) RETURN_IF_ERROR(id.status());
  if (send_only) {
    *done += batch;
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(auto got, q.Receive(ReceiveOptions{batch, std::nullopt, 0}));
  if (got.empty()) return Status::Ok();
  std::vector<std::string> receipts;
  for (const auto& m : got) receipts.push_back(m.receipt);
  ASSIGN_OR_RETURN(auto deleted, q.DeleteBatch(receipts));
  for (const auto& s : deleted) RETURN_IF_ERROR(s);
  *done += static_cast<int64_t>(got.size());
  return Status::Ok();
}

// `seconds` > 0: measure for that long after a 1 s warm-up. Else run until `count` messages
// went through and count everything from the start.
Outcome RunScenario(const std::filesystem::path& dir, const Scenario& s, double seconds,
                    int64_t count) {
  Outcome out;
  const auto file = dir / (std::string(s.name) + ".db");
  std::filesystem::remove(file);
  auto db = sqlite::Database::Open(file.string());
  if (!db.ok()) {
    out.error = db.status().ToString();
    return out;
  }
  SystemClock clock;
  auto queue = SqliteQueue::Open(*db, QueueOptions{}, clock);
  if (!queue.ok()) {
    out.error = queue.status().ToString();
    return out;
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> total{0};
  std::vector<std::atomic<int64_t>> done(static_cast<size_t>(s.threads));
  std::vector<std::string> errors(static_cast<size_t>(s.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < s.threads; ++t) {
    threads.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        int64_t moved = 0;
        Status st = FlowOnce(**queue, s.batch, s.send_only, &moved);
        done[static_cast<size_t>(t)].fetch_add(moved);
        if (count > 0 && total.fetch_add(moved) + moved >= count) stop = true;
        if (!st.ok()) {
          errors[static_cast<size_t>(t)] = st.ToString();
          return;
        }
      }
    });
  }
  int64_t done_before = 0;
  int64_t commits_before = 0;
  int64_t writes_before = 0;
  auto start = std::chrono::steady_clock::now();
  if (seconds > 0) {
    // Warm-up: the first commits grow the WAL file (appends cost more than the overwrites
    // of a running server's steady state), so they are not counted.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    for (auto& n : done) done_before += n.load();
    commits_before = (*db)->commit_count();
    writes_before = (*db)->write_count();
    start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
  }
  if (seconds <= 0) {
    for (auto& t : threads) t.join();
  }
  int64_t done_after = 0;
  for (auto& n : done) done_after += n.load();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.commits = (*db)->commit_count() - commits_before;
  out.writes = (*db)->write_count() - writes_before;
  out.messages = done_after - done_before;
  if (seconds > 0) {
    for (auto& t : threads) t.join();
  }
  for (auto& e : errors) {
    if (!e.empty()) out.error = e;
  }
  queue->reset();
  db->reset();
  std::filesystem::remove(file);
  std::filesystem::remove(file.string() + "-wal");
  std::filesystem::remove(file.string() + "-shm");
  return out;
}

int Main(int argc, char** argv) {
  std::filesystem::path dir;
  double seconds = 3;
  int64_t count = 0;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (std::strcmp(argv[i], "--messages") == 0 && i + 1 < argc) {
      count = std::stoll(argv[++i]);
      seconds = 0;
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: queue_bench [--dir DIR] [--seconds S] [--only SCENARIO] "
                   "[--messages N]\n");
      return 2;
    }
  }
  if (seconds <= 0 && count <= 0) {
    std::fprintf(stderr, "queue_bench: --seconds or --messages must be positive\n");
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    dir = std::filesystem::temp_directory_path() / ("tf-queue-bench-" + std::to_string(::getpid()));
  }
  std::filesystem::create_directories(dir);
  const Scenario scenarios[] = {
      {"single_1_thread", 1, 1, false},           {"single_4_threads", 4, 1, false},
      {"batch10_1_thread", 1, 10, false},         {"batch10_4_threads", 4, 10, false},
      {"send_only_single_4_threads", 4, 1, true},
  };
  int rc = 0;
  for (const auto& s : scenarios) {
    if (!only.empty() && only != s.name) continue;
    Outcome o = RunScenario(dir, s, seconds, count);
    if (!o.error.empty()) {
      std::fprintf(stderr, "%s: %s\n", s.name, o.error.c_str());
      rc = 1;
    }
    std::printf(
        "{\"impl\":\"embedded-sqlite\",\"scenario\":\"%s\",\"threads\":%d,\"batch\":%d,"
        "\"flow\":\"%s\",\"messages\":%lld,\"seconds\":%.2f,\"msg_per_s\":%.0f,"
        "\"commits\":%lld,\"writes\":%lld}\n",
        s.name, s.threads, s.batch, s.send_only ? "send" : "send-receive-delete",
        static_cast<long long>(o.messages), o.seconds, o.messages / o.seconds,
        static_cast<long long>(o.commits), static_cast<long long>(o.writes));
    std::fflush(stdout);
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace
}  // namespace thumbflow

int main(int argc, char** argv) { return thumbflow::Main(argc, argv); }
