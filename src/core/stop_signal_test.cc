#include "core/stop_signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <future>

namespace thumbflow {
namespace {

TEST(StopSignalsTest, WaitReturnsTheSignalOrNothing) {
  StopSignals stop;
  EXPECT_EQ(stop.Wait(std::chrono::milliseconds(1)), std::nullopt);
  // Blocked, so it stays pending until Wait takes it instead of ending the test binary.
  ASSERT_EQ(pthread_kill(pthread_self(), SIGHUP), 0);
  EXPECT_EQ(stop.Wait(std::chrono::seconds(60)), SIGHUP);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(stop.Wait(std::chrono::seconds(60)), SIGINT);
}

TEST(StopSignalsTest, OnSignalCallsBackOnItsOwnThreadForAProcessSignal) {
  std::promise<int> got;
  {
    StopSignals stop;
    stop.OnSignal([&got](int signal_number) { got.set_value(signal_number); });
    // Sent to the process, where every thread blocks it: the waiting thread's sigwaitinfo
    // takes it.
    ASSERT_EQ(kill(getpid(), SIGTERM), 0);
    EXPECT_EQ(got.get_future().get(), SIGTERM);
  }
  // Destroyed: the mask is restored and the waiting thread is gone.
  sigset_t mask;
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &mask), 0);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
}

TEST(StopSignalsTest, ASignalStillPendingAtDestructionIsDiscarded) {
  {
    StopSignals stop;
    ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  }
  // Had it been delivered when the mask was restored, SIGTERM's default action would have
  // ended the test binary here.
  sigset_t pending;
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_FALSE(sigismember(&pending, SIGTERM));
}

}  // namespace
}  // namespace thumbflow
