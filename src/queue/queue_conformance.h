// The Queue port's conformance suite: one parameterised GoogleTest suite run against every
// adapter (the in-memory fake, the embedded SQLite queue, the SQS adapter on moto_server).
//
// To run it for an adapter, link the object library `tf_queue_conformance` into a test binary
// and instantiate it with a factory:
//
//   QueueUnderTest MakeMine(const QueueOptions& options) { ... }
//   INSTANTIATE_TEST_SUITE_P(Mine, QueueConformanceTest,
//                            ::testing::Values(QueueConformanceParam{"mine", &MakeMine}),
//                            QueueConformanceParamName);
//
// Each test calls the factory once with the options it needs (a fresh, empty queue whose
// name is unique per test; visibility timeout, max receive count, retention and body limit
// as given). Cases that must move time forward run only when the factory supplies a
// ManualClock that the queue reads; for adapters whose clock cannot be moved (SQS) they are
// skipped with GTEST_SKIP and a reason, and cases that can use ChangeVisibility(0) instead
// do so.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "queue/queue.h"

namespace thumbflow {

struct QueueUnderTest {
  std::shared_ptr<Queue> queue;
  // The clock the queue reads, when the test may move it; null otherwise (real time).
  ManualClock* clock = nullptr;
  // Whatever must stay alive as long as the queue (its clock, database, HTTP client, ...).
  std::shared_ptr<void> keep_alive;
  // Set when the factory could not build the queue: the test fails with this message.
  std::string error;
};

struct QueueConformanceParam {
  std::string name;  // used in test names: letters, digits and '_'
  std::function<QueueUnderTest(const QueueOptions& options)> factory;
};

void PrintTo(const QueueConformanceParam& param, std::ostream* os);
std::string QueueConformanceParamName(const ::testing::TestParamInfo<QueueConformanceParam>& info);

class QueueConformanceTest : public ::testing::TestWithParam<QueueConformanceParam> {
 protected:
  // Builds the queue under test; fails the test (returns null) when the factory fails.
  Queue* Make(QueueOptions options = {});
  // Skips the test unless time can be moved.
  bool RequireClock();
  void Advance(int64_t seconds);

  QueueUnderTest under_test_;
};

}  // namespace thumbflow
