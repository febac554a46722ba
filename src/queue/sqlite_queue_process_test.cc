// Multi-process behaviour of the SQLite queue: SIGKILL at random moments loses no
// acknowledged send, and consumers in several threads and two processes never share a
// delivery within a visibility window. Children are fork()ed before this process opens the
// file or starts threads, and leave with _exit().
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/testing/temp_dir.h"
#include "queue/sqlite_queue.h"

namespace thumbflow {
namespace {

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
    db_path_ = (dir_ / "thumbflow.db").string();
  }
  testing::TempDir tmp_;
  std::filesystem::path dir_;
  std::string db_path_;
};

// Appends one line with a single write(2): it survives SIGKILL once write returns.
void AppendLine(int fd, const std::string& line) {
  std::string text = line + "\n";
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(3);
}

std::vector<std::string> ReadLines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t CountAcks(const std::filesystem::path& path) {
  size_t acks = 0;
  for (const auto& line : ReadLines(path)) acks += line.rfind("S ", 0) == 0 ? 1 : 0;
  return acks;
}

// The crash child: sends and consumes forever, logging "S id" after each acknowledged send
// and "X id" before each delete (so a message deleted just before the kill is accounted).
[[noreturn]] void CrashChild(const std::string& db_path, const std::string& log_path, int round) {
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) _exit(2);
  SystemClock clock;
  auto db = sqlite::Database::Open(db_path);
  if (!db.ok()) _exit(4);
  QueueOptions options;
  options.visibility_timeout_s = 1;
  options.max_receive_count = 1000;
  auto queue = SqliteQueue::Open(*db, options, clock);
  if (!queue.ok()) _exit(5);
  std::vector<std::thread> senders;
  // Two concurrent senders so group commit batches are in flight when the kill lands; one
  // sends single messages, the other batches of 3 (one multi-row INSERT each).
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&, t] {
      for (int n = 0;; ++n) {
        const std::string body =
            "r" + std::to_string(round) + "-t" + std::to_string(t) + "-" + std::to_string(n);
        if (t == 0) {
          auto id = (*queue)->Send(SendRequest{body, {}, 0});
          if (!id.ok()) _exit(6);
          AppendLine(fd, "S " + *id);
          continue;
        }
        std::vector<SendRequest> batch;
        for (int k = 0; k < 3; ++k) batch.push_back(SendRequest{body + "-" + std::to_string(k)});
        auto ids = (*queue)->SendBatch(batch);
        if (!ids.ok()) _exit(6);
        for (const auto& id : *ids) {
          if (!id.ok()) _exit(6);
          AppendLine(fd, "S " + *id);
        }
      }
    });
  }
  // The consumer alternates single deletes and batch deletes (one statement each).
  for (int pass = 0;; ++pass) {
    ReceiveOptions ro;
    ro.max_messages = 5;
    auto got = (*queue)->Receive(ro);
    if (!got.ok()) _exit(7);
    std::vector<std::string> receipts;
    for (const auto& m : *got) {
      AppendLine(fd, "X " + m.id);
      if (pass % 2 == 0) {
        if (!(*queue)->Delete(m.receipt).ok()) _exit(8);
      } else {
        receipts.push_back(m.receipt);
      }
    }
    if (!receipts.empty()) {
      auto deleted = (*queue)->DeleteBatch(receipts);
      if (!deleted.ok()) _exit(8);
      for (const auto& d : *deleted) {
        if (!d.ok()) _exit(8);
      }
    }
  }
}

TEST_F(ProcessTest, SigkillLosesNoAcknowledgedSend) {
  const auto log_path = dir_ / "acks.log";
  std::mt19937 random(12345);
  constexpr int kRounds = 40;
  constexpr size_t kAcksBeforeKill = 3;  // 40 rounds: at least 120 acknowledged sends
  int killed_mid_run = 0;
  for (int round = 0; round < kRounds; ++round) {
    const size_t acks_before = CountAcks(log_path);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) CrashChild(db_path_, log_path.string(), round);
    // The kill lands at a random moment after the child's first few acknowledged sends: a
    // slow child (a sanitizer build, a loaded machine) is never killed before it did anything.
    for (int waited_ms = 0; CountAcks(log_path) < acks_before + kAcksBeforeKill; waited_ms += 5) {
      if (waited_ms >= 120'000) ::kill(pid, SIGKILL);
      ASSERT_LT(waited_ms, 120'000) << "round " << round << ": the child did not acknowledge "
                                    << kAcksBeforeKill << " sends within 120 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 180));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child ended by itself with status " << status << " in round " << round;
    ++killed_mid_run;
  }
  EXPECT_EQ(killed_mid_run, kRounds);

  std::set<std::string> acknowledged, delete_attempted;
  for (const auto& line : ReadLines(log_path)) {
    if (line.rfind("S ", 0) == 0) acknowledged.insert(line.substr(2));
    if (line.rfind("X ", 0) == 0) delete_attempted.insert(line.substr(2));
  }
  ASSERT_GT(acknowledged.size(), 100u) << "the children made too little progress to test";

  // What is in the file now (queued, in flight, or dead), read back through the port: wait
  // out the 1 s visibility of deliveries the children never deleted, then drain.
  SystemClock clock;
  auto db = sqlite::Database::Open(db_path_);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  QueueOptions options;
  options.visibility_timeout_s = 30;
  options.max_receive_count = 1000;
  auto queue = SqliteQueue::Open(*db, options, clock);
  ASSERT_TRUE(queue.ok());
  std::set<std::string> present;
  for (int empty_in_a_row = 0; empty_in_a_row < 2;) {
    ReceiveOptions ro;
    ro.max_messages = 10;
    ro.wait_seconds = 2;  // longer than the children's visibility timeout
    auto got = (*queue)->Receive(ro);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (got->empty()) {
      ++empty_in_a_row;
      continue;
    }
    empty_in_a_row = 0;
    for (const auto& m : *got) present.insert(m.id);
  }
  int lost = 0;
  for (const auto& id : acknowledged) {
    if (!present.count(id) && !delete_attempted.count(id)) {
      ++lost;
      ADD_FAILURE() << "acknowledged message " << id << " is lost";
      if (lost > 5) break;
    }
  }
  EXPECT_EQ(lost, 0);
  auto stats = (*queue)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->dlq, 0);
  std::cout << "[ info ] " << acknowledged.size() << " acknowledged sends over " << kRounds
            << " SIGKILLs; " << present.size() << " still queued, " << delete_attempted.size()
            << " consumed\n";
}

// Consumes until the queue stays empty; records every delivery as "id" lines in `out`.
void Consume(SqliteQueue& queue, std::vector<std::string>* out) {
  for (int empty_in_a_row = 0; empty_in_a_row < 2;) {
    ReceiveOptions ro;
    ro.max_messages = 3;
    ro.wait_seconds = 1;
    auto got = queue.Receive(ro);
    if (!got.ok()) {
      ADD_FAILURE() << got.status().ToString();
      return;
    }
    if (got->empty()) {
      ++empty_in_a_row;
      continue;
    }
    empty_in_a_row = 0;
    for (const auto& m : *got) {
      out->push_back(m.id);
      // Stands for the work a real consumer does between receives. Without it one process
      // can hold SQLite's write lock back to back and drain the queue before the other
      // process's busy handler gets a turn, and the test would not exercise sharing.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (!queue.Delete(m.receipt).ok()) ADD_FAILURE() << "delete failed";
    }
  }
}

TEST_F(ProcessTest, ThreadsAndTwoProcessesNeverShareADelivery) {
  constexpr int kMessages = 600;
  const auto child_log = dir_ / "child.log";
  // Fill the queue from a child too, so this process has no connection open at fork time.
  SystemClock clock;
  QueueOptions options;
  options.visibility_timeout_s = 120;  // longer than the test: any duplicate is a violation
  std::set<std::string> sent;
  {
    auto db = sqlite::Database::Open(db_path_);
    ASSERT_TRUE(db.ok());
    auto queue = SqliteQueue::Open(*db, options, clock);
    ASSERT_TRUE(queue.ok());
    for (int i = 0; i < kMessages; i += 10) {
      std::vector<SendRequest> batch(10);
      for (int k = 0; k < 10; ++k) batch[k].body = "c-" + std::to_string(i + k);
      auto ids = (*queue)->SendBatch(batch);
      ASSERT_TRUE(ids.ok());
      for (auto& id : *ids) sent.insert(*id);
    }
  }  // closed before fork
  // A start barrier: on a loaded machine one process could otherwise drain the queue before
  // the other has opened it, and the test would not exercise two processes at all.
  int ready_pipe[2];
  int go_pipe[2];
  ASSERT_EQ(::pipe(ready_pipe), 0);
  ASSERT_EQ(::pipe(go_pipe), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready_pipe[0]);
    ::close(go_pipe[1]);
    auto db = sqlite::Database::Open(db_path_);
    if (!db.ok()) _exit(4);
    auto queue = SqliteQueue::Open(*db, options, clock);
    if (!queue.ok()) _exit(5);
    char byte = 'r';
    if (::write(ready_pipe[1], &byte, 1) != 1 || ::read(go_pipe[0], &byte, 1) != 1) _exit(6);
    std::vector<std::string> a, b;
    std::thread t1([&] { Consume(**queue, &a); });
    std::thread t2([&] { Consume(**queue, &b); });
    t1.join();
    t2.join();
    int fd = ::open(child_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (const auto& id : a) AppendLine(fd, id);
    for (const auto& id : b) AppendLine(fd, id);
    ::close(fd);
    _exit(::testing::Test::HasFailure() ? 9 : 0);
  }
  auto db = sqlite::Database::Open(db_path_);
  ASSERT_TRUE(db.ok());
  auto queue = SqliteQueue::Open(*db, options, clock);
  ASSERT_TRUE(queue.ok());
  ::close(ready_pipe[1]);  // a child that dies early then ends the read below with EOF
  ::close(go_pipe[0]);
  char byte = 0;
  ASSERT_EQ(::read(ready_pipe[0], &byte, 1), 1);
  ASSERT_EQ(::write(go_pipe[1], "g", 1), 1);
  std::vector<std::vector<std::string>> mine(3);
  std::vector<std::thread> threads;
  for (auto& v : mine) threads.emplace_back([&queue, &v] { Consume(**queue, &v); });
  for (auto& t : threads) t.join();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  std::map<std::string, int> deliveries;
  size_t in_this_process = 0;
  for (const auto& v : mine) {
    for (const auto& id : v) ++deliveries[id], ++in_this_process;
  }
  size_t in_child = 0;
  for (const auto& id : ReadLines(child_log)) ++deliveries[id], ++in_child;
  for (const auto& [id, n] : deliveries)
    EXPECT_EQ(n, 1) << id << " was handed out " << n << " times";
  std::set<std::string> processed;
  for (const auto& [id, n] : deliveries) processed.insert(id);
  EXPECT_EQ(processed, sent);
  EXPECT_GT(in_child, 0u);  // both processes took part
  EXPECT_GT(in_this_process, 0u);
  EXPECT_EQ((*queue)->Stats()->visible + (*queue)->Stats()->in_flight, 0);
}

}  // namespace
}  // namespace thumbflow
