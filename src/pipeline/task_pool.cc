#include "pipeline/task_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>

namespace thumbflow::pipeline {

struct TaskPool::Batch {
  Batch(size_t count, const std::function<void(size_t)>& fn) : n(count), task(fn), errors(count) {}

  const size_t n;
  const std::function<void(size_t)>& task;  // the caller's; used only while tasks remain
  std::atomic<size_t> next{0};              // the next index no one has taken
  std::vector<std::exception_ptr> errors;   // by index
  std::mutex mu;
  std::condition_variable finished;
  size_t done = 0;  // guarded by mu
};

TaskPool::TaskPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

TaskPool::~TaskPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void TaskPool::Drain(Batch& batch) {
  for (size_t i = batch.next++; i < batch.n; i = batch.next++) {
    try {
      batch.task(i);
    } catch (...) {
      batch.errors[i] = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(batch.mu);
    if (++batch.done == batch.n) batch.finished.notify_all();
  }
}

void TaskPool::Run(size_t n, const std::function<void(size_t)>& task) {
  if (n == 0) return;
  auto batch = std::make_shared<Batch>(n, task);
  size_t helpers = std::min(n - 1, threads_.size());
  if (helpers > 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < helpers; ++i) queue_.push_back(batch);
    }
    work_.notify_all();
  }
  Drain(*batch);
  {
    std::unique_lock<std::mutex> lock(batch->mu);
    batch->finished.wait(lock, [&] { return batch->done == batch->n; });
  }
  for (const std::exception_ptr& error : batch->errors) {
    if (error) std::rethrow_exception(error);
  }
}

void TaskPool::Loop() {
  for (;;) {
    std::shared_ptr<Batch> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    Drain(*batch);
  }
}

}  // namespace thumbflow::pipeline
