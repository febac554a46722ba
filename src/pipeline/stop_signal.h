// StopSignal: turns SIGTERM, SIGINT and SIGHUP into a plain function call on a dedicated
// thread (sigwait), so no pipeline code ever runs in signal context. SIGHUP is a graceful
// stop too, not a reload (the config is read once, at start).
//
// Construct it in the controlling thread BEFORE any other thread starts: the constructor
// blocks those signals in the calling thread, and threads started afterwards inherit that
// mask, so the signals reach only the waiting thread.
//
// The first signal calls the callback once. A second signal exits the process at once with
// status 130 (the impatient Ctrl-C): messages not yet acknowledged then reappear after
// their visibility timeout, so nothing is lost, only delayed.
//
// Not copyable. One per process.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include <signal.h>

namespace thumbflow::pipeline {

class StopSignal {
 public:
  StopSignal();
  // Stops the waiting thread and restores the previous signal mask of the constructing
  // thread.
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Starts waiting; `on_stop` receives the signal number. Call once.
  void OnSignal(std::function<void(int)> on_stop);

 private:
  sigset_t previous_mask_;
  std::atomic<bool> closing_{false};
  std::thread waiter_;
};

}  // namespace thumbflow::pipeline
