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

bool TermBlocked() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return sigismember(&mask, SIGTERM) == 1;
}

TEST(StopSignalsTest, BlockedFromStartTheyStayBlockedThroughShutDownUntilRestored) {
  ASSERT_FALSE(TermBlocked());
  BlockStopSignalsAtStart();  // as the thumbflow binary's .preinit_array does
  EXPECT_TRUE(TermBlocked());
  {
    StopSignals stop;
    ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  }
  // The destructor gave back the mask it found (blocked): a SIGTERM during the rest of the
  // shut-down stays pending instead of ending the process by its default action.
  EXPECT_TRUE(TermBlocked());
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  const sigset_t term = [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    return set;
  }();
  const timespec now{0, 0};
  EXPECT_EQ(sigtimedwait(&term, nullptr, &now), SIGTERM);  // taken here, not delivered
  RestoreInheritedSignalMask();  // what every command that takes no stop signals does
  EXPECT_FALSE(TermBlocked());
}

}  // namespace
}  // namespace thumbflow
