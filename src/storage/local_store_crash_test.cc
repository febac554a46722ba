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
#include <functional>
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

// Forks `child` (given the write end of a pipe; it never returns), hands each line it writes
// to `on_line`, and SIGKILLs it once `on_line` has counted `kill_after` acknowledged puts
// (returned true), after a random delay of up to about one put: the writers move in step with
// the group commit, so without the delay kills would cluster just after a commit; with it the
// kill lands anywhere in the write path. Returns the puts acknowledged; fails the test unless
// the child died of the kill.
int RunUntilKilled(const std::function<void(int fd)>& child, int kill_after, std::mt19937& rng,
                   const std::function<bool(const std::string& line)>& on_line) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1]);
    _exit(0);
  }
  ::close(fds[1]);
  int acked = 0;
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
      EXPECT_NE(line[0], 'E') << line;
      if (on_line(line)) ++acked;
    }
    if (!killed && acked >= kill_after) {
      ::usleep(rng() % 30000);
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(fds[0]);
  int wstatus = 0;
  EXPECT_EQ(::waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
      << "child ended on its own: " << wstatus;
  return acked;
}

TEST(LocalStoreCrashTest, KilledPutsLeaveObjectsAndEventsConsistent) {
  thumbflow::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::map<std::string, KeyHistory> history;
  std::mt19937 rng(20261127);
  int total_acked = 0;

  // "B key version" before each put, "A key version" after each that returned OK.
  auto record = [&](const std::string& line) {
    std::istringstream fields(line);
    std::string kind, key;
    int64_t version = 0;
    fields >> kind >> key >> version;
    if (kind == "B") history[key].begun.push_back(version);
    if (kind == "A") history[key].acked.insert(version);
    return kind == "A";
  };
  for (int round = 0; round < kRounds; ++round) {
    const int acked_this_round = RunUntilKilled([&](int fd) { RunChild(dir.path(), round, fd); },
                                                3 + static_cast<int>(rng() % 50), rng, record);
    ASSERT_FALSE(::testing::Test::HasFailure());
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

// The lock a version of the locked-puts test carries: derived from the version number, so
// the test can tell from the bytes which lock a version must have.
ObjectLock LockOfVersion(int64_t version) {
  ObjectLock lock;
  if (version % 2 == 0) {
    lock.mode = kLockCompliance;
    lock.retain_until_ms = 4'000'000'000'000 + version;
  } else {
    lock.legal_hold = lock.legal_hold_set = true;
  }
  return lock;
}

// The child of the locked-puts test: versioned puts with a lock until killed, announcing
// "A version" after each one that returned OK.
[[noreturn]] void RunLockedChild(const std::string& dir, int round, int out_fd) {
  SystemClock clock;
  auto store = LocalObjectStore::Open(dir, {}, clock);
  if (!store.ok() || !(*store)->PutBucketVersioning("images", kVersioningEnabled).ok()) {
    WriteLine(out_fd, "E open\n");
    _exit(3);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 0;; ++i) {
        const int64_t version = (static_cast<int64_t>(round) * 2 + t) * 1'000'000 + i;
        PutOptions options;
        options.lock = LockOfVersion(version);
        // The bytes name the version.
        auto put = (*store)->Put("images", "locked/k" + std::to_string(i % 5),
                                 std::to_string(version), options);
        if (!put.ok()) {
          WriteLine(out_fd, "E " + put.status().ToString() + "\n");
          _exit(4);
        }
        WriteLine(out_fd, "A " + std::to_string(version) + "\n");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  _exit(0);
}

// S3 Object Lock: a version committed with a lock never exists without it, however the
// process dies (the lock is a column of the version's row, written in the same transaction).
TEST(LocalStoreCrashTest, KilledLockedPutsNeverLeaveAVersionUnlocked) {
  thumbflow::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::mt19937 rng(20261206);
  std::set<int64_t> acked;
  for (int round = 0; round < 4; ++round) {
    RunUntilKilled([&](int fd) { RunLockedChild(dir.path(), round, fd); },
                   3 + static_cast<int>(rng() % 30), rng,
                   [&](const std::string& line) {
                     acked.insert(std::stoll(line.substr(2)));
                     return true;
                   });
    ASSERT_FALSE(::testing::Test::HasFailure());
  }
  SystemClock clock;
  auto store = LocalObjectStore::Open(dir.path(), {}, clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  // Every version there, acknowledged or not, has exactly the lock it was written with.
  auto listed = (*store)->ListVersions("images", {});
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_FALSE(listed->truncated);
  std::set<int64_t> present;
  for (const ObjectInfo& listed_version : listed->versions) {
    GetOptions options;
    options.version_id = listed_version.version_id;
    auto got = (*store)->Get("images", listed_version.key, options);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const int64_t version = std::stoll(got->bytes);
    EXPECT_EQ(got->info.lock, LockOfVersion(version)) << "version " << version;
    present.insert(version);
  }
  for (int64_t v : acked) EXPECT_EQ(present.count(v), 1u) << "acknowledged version lost: " << v;
  std::printf("locked crash test: %zu puts acknowledged, %zu versions present\n", acked.size(),
              present.size());
}

}  // namespace
}  // namespace thumbflow
