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
//
// In the thumbflow binary the stop signals are blocked even earlier, by
// BlockStopSignalsAtStart() from the executable's .preinit_array, before any library
// constructor or static initialiser can start a thread; the constructor below then finds them
// blocked and the destructor "restores" that blocked mask, so a stop signal during shut-down
// (after the destructor, through exit()) stays pending and is dropped at exit rather than
// ending the process by its default action. Commands that take no stop signals give the
// inherited mask back at once (RestoreInheritedSignalMask()).
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace thumbflow {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and remembers the mask the process
// inherited. For the executable's .preinit_array: the first code of the process that runs
// after the dynamic loader (the one window left, exec to here, is the loader mapping and
// relocating the libraries: no program code can run in it). Not thread-safe: the process has
// one thread then.
void BlockStopSignalsAtStart();

// Sets the calling thread's mask back to the one BlockStopSignalsAtStart() found (a no-op
// when it never ran), so that the stop signals end the process by their default action, as
// a user expects of Ctrl-C on a short command. Call before any thread starts.
void RestoreInheritedSignalMask();

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
