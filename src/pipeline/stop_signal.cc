#include "pipeline/stop_signal.h"

#include <pthread.h>

#include <cstdlib>

namespace thumbflow::pipeline {

namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  // SIGHUP (terminal closed, or an operator's "reload") stops gracefully too: the config is
  // read only at start, so a restart is the reload; the default action would kill the
  // process without giving its messages back.
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

StopSignal::StopSignal() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
}

StopSignal::~StopSignal() {
  if (waiter_.joinable()) {
    closing_.store(true);
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

void StopSignal::OnSignal(std::function<void(int)> on_stop) {
  waiter_ = std::thread([this, on_stop = std::move(on_stop)] {
    sigset_t set = StopSignals();
    bool stopping = false;
    while (true) {
      int signal_number = 0;
      if (sigwait(&set, &signal_number) != 0) continue;
      if (closing_.load()) return;
      if (stopping) std::_Exit(130);
      stopping = true;
      on_stop(signal_number);
    }
  });
}

}  // namespace thumbflow::pipeline
