#include "pipeline/task_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace thumbflow::pipeline {
namespace {

TEST(TaskPoolTest, RunsEveryTaskOnceWhateverTheNumberOfThreads) {
  for (int threads : {0, 1, 2, 4}) {
    TaskPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{17}}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, " + std::to_string(n) + " tasks");
      std::vector<std::atomic<int>> runs(n);
      pool.Run(n, [&](size_t i) { ++runs[i]; });
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(runs[i].load(), 1) << i;
    }
  }
}

// The tasks of one Run overlap when threads are free: two tasks that each wait for the
// other can only both finish if they run at the same time.
TEST(TaskPoolTest, TasksOfOneRunRunBesideTheCaller) {
  TaskPool pool(1);
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  pool.Run(2, [&](size_t) {
    std::unique_lock<std::mutex> lock(mu);
    ++arrived;
    cv.notify_all();
    cv.wait(lock, [&] { return arrived == 2; });
  });
  EXPECT_EQ(arrived, 2);
}

// Many callers at once share the pool's threads: no task runs on a thread that is neither a
// caller nor one of the pool's, and every task of every caller runs.
TEST(TaskPoolTest, ManyCallersShareTheFixedThreads) {
  TaskPool pool(2);
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::set<std::thread::id> callers;
  std::atomic<int> total{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 8; ++c) {
    threads.emplace_back([&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        callers.insert(std::this_thread::get_id());
      }
      for (int round = 0; round < 50; ++round) {
        pool.Run(3, [&](size_t) {
          ++total;
          std::lock_guard<std::mutex> lock(mu);
          seen.insert(std::this_thread::get_id());
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(total.load(), 8 * 50 * 3);
  size_t from_pool = 0;
  for (const std::thread::id& id : seen) from_pool += callers.count(id) == 0 ? 1 : 0;
  EXPECT_LE(from_pool, 2u);
}

// A task that throws does not stop the others; the caller gets the first exception by index.
TEST(TaskPoolTest, AnExceptionReachesTheCallerAfterEveryTaskReturned) {
  TaskPool pool(2);
  std::atomic<int> ran{0};
  try {
    pool.Run(5, [&](size_t i) {
      ++ran;
      if (i == 1) throw std::runtime_error("one");
      if (i == 3) throw std::runtime_error("three");
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "one");
  }
  EXPECT_EQ(ran.load(), 5);
}

}  // namespace
}  // namespace thumbflow::pipeline
