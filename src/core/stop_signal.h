// StopSignals: SIGTERM, SIGINT and SIGHUP as a graceful stop, taken by ordinary code on an
// ordinary thread (sigtimedwait), so nothing ever runs in signal context. SIGHUP is a
// graceful stop too, not a reload: the config is read once, at start, and the default action
// would kill the process without giving its work back.
//
// Construct it in the main thread BEFORE any other thread starts: the constructor blocks
// the signals in the calling thread, threads started afterwards inherit that mask, and the
// signals stay pending until Wait() or the OnSignal() thread takes them.
//
// Two ways to take them; use one per object:
//  - Wait(timeout) in the constructing thread (serve: wakes every second to flush counts).
//    A second signal during the drain stays blocked and changes nothing.
//  - OnSignal(callback): a dedicated thread calls the callback at the first signal; a second
//    signal exits the process at once with status 130 (the impatient Ctrl-C). Messages not
//    yet acknowledged then reappear after their visibility timeout: delayed, never lost.
//
// Not copyable. One per process.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace thumbflow {

class StopSignals {
 public:
  StopSignals();
  // Stops the OnSignal() thread, if any, discards stop signals still pending and restores the
  // constructing thread's signal mask.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The number of the first stop signal that arrives within `timeout`; nullopt when none did.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  // Starts the waiting thread; `on_stop` receives the signal number, once. Call once.
  void OnSignal(std::function<void(int)> on_stop);

 private:
  sigset_t previous_mask_;
  std::atomic<bool> closing_{false};
  std::thread waiter_;
};

}  // namespace thumbflow
