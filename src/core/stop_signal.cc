#include "core/stop_signal.h"

#include <pthread.h>

#include <cstdlib>

namespace thumbflow {
namespace {

sigset_t StopSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// Written once by BlockStopSignalsAtStart() before main() and any other thread; read by
// RestoreInheritedSignalMask() in the main thread.
struct InheritedMask {
  bool saved = false;
  sigset_t mask{};
};
constinit InheritedMask inherited_mask;  // constant-initialised: valid before any constructor

}  // namespace

void BlockStopSignalsAtStart() {
  const sigset_t set = StopSignalSet();
  if (pthread_sigmask(SIG_BLOCK, &set, &inherited_mask.mask) == 0) inherited_mask.saved = true;
}

void RestoreInheritedSignalMask() {
  if (inherited_mask.saved) pthread_sigmask(SIG_SETMASK, &inherited_mask.mask, nullptr);
}

StopSignals::StopSignals() {
  sigset_t set = StopSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
}

StopSignals::~StopSignals() {
  if (waiter_.joinable()) {
    closing_.store(true);
    // Directed at the waiting thread: it wakes, sees closing_ and returns.
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
  }
  // Stop signals still pending (a second one during a drain) are discarded rather than
  // delivered, with their default action, when the mask is restored.
  const sigset_t set = StopSignalSet();
  const timespec now{0, 0};
  while (sigtimedwait(&set, nullptr, &now) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

std::optional<int> StopSignals::Wait(std::chrono::milliseconds timeout) {
  const sigset_t set = StopSignalSet();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timespec wait{static_cast<time_t>(seconds.count()),
                      static_cast<long>((timeout - seconds).count() * 1'000'000)};
  int signal_number = sigtimedwait(&set, nullptr, &wait);
  if (signal_number < 0) return std::nullopt;  // EAGAIN (timed out) or EINTR
  return signal_number;
}

void StopSignals::OnSignal(std::function<void(int)> on_stop) {
  waiter_ = std::thread([this, on_stop = std::move(on_stop)] {
    const sigset_t set = StopSignalSet();
    bool stopping = false;
    while (true) {
      int signal_number = sigwaitinfo(&set, nullptr);
      if (signal_number < 0) continue;  // EINTR
      if (closing_.load()) return;
      if (stopping) std::_Exit(130);
      stopping = true;
      on_stop(signal_number);
    }
  });
}

}  // namespace thumbflow
