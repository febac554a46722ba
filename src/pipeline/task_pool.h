// TaskPool: a fixed set of threads for short blocking tasks, so that the threads a process
// runs do not grow with the messages in flight (the record processor writes a record's
// outputs on it, concurrently, so durable puts share their fsyncs and S3 round trips
// overlap).
//
// Run(n, task) runs task(0) ... task(n - 1), each once, and returns when all have returned.
// The calling thread takes tasks too, so a record never waits for a free pool thread: with
// every pool thread busy (or a pool of 0 threads) the caller runs all of its tasks itself.
// A task that throws does not stop the others; once all have returned, Run rethrows the
// first exception in index order.
//
// Thread-safety: Run may be called from many threads at once. Ownership: the pool owns its
// threads; the destructor joins them and must not run while a Run is in progress.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace thumbflow::pipeline {

class TaskPool {
 public:
  // Starts `threads` threads (0: none; Run then runs everything on the caller).
  explicit TaskPool(int threads);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void Run(size_t n, const std::function<void(size_t)>& task);

  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct Batch;
  // Runs the tasks of `batch` that no one has taken yet.
  static void Drain(Batch& batch);
  void Loop();

  std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<Batch>> queue_;  // one entry per pool thread wanted
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace thumbflow::pipeline
