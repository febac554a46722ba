// Crash consistency of the local store's outbox: a child process doing a burst of puts from
// several threads is SIGKILLed at random moments, several times over one data folder. After
// reopening: every put that returned OK is there with its event queued; no object without
// its event, no event without its object; no partial bytes; no stray files.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/testing/temp_dir.h"
#include "events/s3_event.h"
#include "queue/sqlite_outbox.h"
#include "queue/sqlite_queue.h"
#include "sqlite/database.h"
#include "storage/local_store.h"

namespace thumbflow {
namespace {

constexpr int kRounds = 12;
constexpr int kThreads = 4;
constexpr int kKeys = 40;  // key n is written only by thread n % kThreads

std::string KeyName(int n) {
  // Odd keys are outside the notification rule: they must never produce an event.
  return n % 2 == 0 ? "uploads/crash/k" + std::to_string(n) + ".jpg"
                    : "other/crash/k" + std::to_string(n) + ".bin";
}

std::string Content(int64_t version) {
  std::mt19937_64 rng(static_cast<uint64_t>(version) * 7919 + 17);
  size_t size = 1 + rng() % (96 * 1024);
  std::string bytes(size, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
  return bytes;
}

void WriteLine(int fd, const std::string& line) {
  // Lines are far below PIPE_BUF, so each write() is atomic among the threads.
  ssize_t n = ::write(fd, line.data(), line.size());
  (void)n;
}

// The child: puts until killed, announcing "B key version" before and "A key version" after
// each put that returned OK.
[[noreturn]] void RunChild(const std::string& dir, int round, int out_fd) {
  SystemClock clock;
  LocalStoreOptions options;
  options.outbox = std::make_shared<SqliteOutbox>(std::vector<NotificationRule>{NotificationRule{}},
                                                  "us-east-1", clock);
  auto store = LocalObjectStore::Open(dir, options, clock);
  if (!store.ok()) {
    WriteLine(out_fd, "E " + store.status().ToString() + "\n");
    _exit(3);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(round * 131 + t);
      for (int64_t i = 0;; ++i) {
        int n = static_cast<int>(rng() % (kKeys / kThreads)) * kThreads + t;
        int64_t version = (static_cast<int64_t>(round) * kThreads + t) * 1'000'000 + i;
        std::string key = KeyName(n);
        WriteLine(out_fd, "B " + key + " " + std::to_string(version) + "\n");
        auto put = (*store)->Put("images", key, Content(version));
        if (!put.ok()) {
          WriteLine(out_fd, "E " + put.status().ToString() + "\n");
          _exit(4);
        }
        WriteLine(out_fd, "A " + key + " " + std::to_string(version) + "\n");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  _exit(0);
}

struct KeyHistory {
  std::vector<int64_t> begun;  // in order: one writer per key, so this is commit order too
  std::set<int64_t> acked;
};

TEST(LocalStoreCrashTest, KilledPutsLeaveObjectsAndEventsConsistent) {
  thumbflow::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::map<std::string, KeyHistory> history;
  std::mt19937 rng(20261127);
  int total_acked = 0;

  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(dir.path(), round, fds[1]);
    }
    ::close(fds[1]);
    // Kill after a random number of acknowledged puts plus a random delay of up to about
    // one put (the writers move in step with the group commit, so without the delay kills
    // would cluster just after a commit), so the kill lands anywhere in the write path.
    const int kill_after = 3 + static_cast<int>(rng() % 50);
    int acked_this_round = 0;
    bool killed = false;
    std::string pending;
    char buffer[4096];
    while (true) {
      ssize_t n = ::read(fds[0], buffer, sizeof buffer);
      if (n <= 0) break;
      pending.append(buffer, static_cast<size_t>(n));
      size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        std::istringstream fields(line);
        std::string kind, key;
        int64_t version = 0;
        fields >> kind >> key >> version;
        ASSERT_NE(kind, "E") << line;
        if (kind == "B") history[key].begun.push_back(version);
        if (kind == "A") {
          history[key].acked.insert(version);
          ++acked_this_round;
        }
      }
      if (!killed && acked_this_round >= kill_after) {
        ::usleep(rng() % 30000);
        ::kill(pid, SIGKILL);
        killed = true;
      }
    }
    ::close(fds[0]);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child ended on its own: " << wstatus;
    total_acked += acked_this_round;
  }
  ASSERT_GT(total_acked, kRounds * 3);

  // Reopen: the store sweeps, then everything is checked against the history.
  SystemClock clock;  // the child stamped its messages with real time
  auto db = sqlite::Database::Open(dir.path() + "/thumbflow.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto store = LocalObjectStore::Open(*db, dir.path(), {}, clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  QueueOptions queue_options;
  queue_options.name = "thumbnails";
  auto queue = SqliteQueue::Open(*db, queue_options, clock);
  ASSERT_TRUE(queue.ok());

  // etag -> version, for every version ever begun (contents differ, so ETags identify them).
  std::map<std::string, int64_t> version_of_etag;
  for (const auto& [key, h] : history) {
    for (int64_t v : h.begun) version_of_etag[Md5Hex(Content(v))] = v;
  }

  std::map<std::string, std::vector<int64_t>> events;  // key -> versions with an event
  while (true) {
    ReceiveOptions options;
    options.max_messages = 10;
    options.visibility_timeout_s = 3600;
    auto messages = (*queue)->Receive(options);
    ASSERT_TRUE(messages.ok()) << messages.status().ToString();
    if (messages->empty()) break;
    for (const Message& m : *messages) {
      auto event = ParseS3Event(m.body);
      ASSERT_TRUE(event.ok()) << m.body;
      for (const auto& r : event->records) {
        auto it = version_of_etag.find(r.etag);
        ASSERT_NE(it, version_of_etag.end()) << "event for bytes never written: " << r.key;
        events[r.key].push_back(it->second);
      }
    }
  }

  int64_t visible = 0;
  for (const auto& [key, h] : history) {
    SCOPED_TRACE(key);
    const bool notifies = key.rfind("uploads/", 0) == 0;
    auto got = (*store)->Get("images", key);
    if (!got.ok()) {
      ASSERT_EQ(got.status().code(), StatusCode::kNotFound) << got.status().ToString();
      EXPECT_TRUE(h.acked.empty()) << "an acknowledged put is missing";
      EXPECT_TRUE(events[key].empty()) << "event without its object";
      continue;
    }
    ++visible;
    // The visible bytes are exactly one version that was written (no partial bytes).
    auto it = version_of_etag.find(Md5Hex(got->bytes));
    ASSERT_NE(it, version_of_etag.end()) << "visible bytes match no version written";
    const int64_t shown = it->second;
    EXPECT_EQ(got->info.etag, "\"" + Md5Hex(got->bytes) + "\"");
    const auto& begun = h.begun;  // clang 14 cannot capture a structured binding
    const auto position = [&](int64_t v) {
      return std::find(begun.begin(), begun.end(), v) - begun.begin();
    };
    // Nothing acknowledged was lost: the visible version is the last acknowledged or newer.
    if (!h.acked.empty()) {
      int64_t last_acked = -1;
      for (int64_t v : h.begun) {
        if (h.acked.count(v)) last_acked = v;
      }
      EXPECT_GE(position(shown), position(last_acked));
    }
    const std::vector<int64_t>& evs = events[key];
    if (!notifies) {
      EXPECT_TRUE(evs.empty());
      continue;
    }
    // The visible version has its event; every acknowledged version has its event, once;
    // no event is for a version newer than what is visible.
    EXPECT_EQ(std::count(evs.begin(), evs.end(), shown), 1) << "object without its event";
    for (int64_t v : h.acked) EXPECT_EQ(std::count(evs.begin(), evs.end(), v), 1);
    for (int64_t v : evs) EXPECT_LE(position(v), position(shown)) << "event without object";
    std::set<int64_t> unique(evs.begin(), evs.end());
    EXPECT_EQ(unique.size(), evs.size()) << "an event was queued twice";
  }
  EXPECT_GT(visible, 0);

  // The sweep left exactly one file per visible object and no temporary files.
  int64_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path() + "/objects")) {
    if (!entry.is_regular_file() || entry.path().filename() == ".lock") continue;
    EXPECT_NE(entry.path().extension(), ".tmp");
    ++files;
  }
  EXPECT_EQ(files, visible);
  int64_t event_count = 0;
  for (const auto& [key, evs] : events) event_count += static_cast<int64_t>(evs.size());
  std::printf(
      "crash test: %d rounds killed, %d puts acknowledged, %lld objects visible, "
      "%lld events queued\n",
      kRounds, total_acked, static_cast<long long>(visible), static_cast<long long>(event_count));
}

}  // namespace
}  // namespace thumbflow
