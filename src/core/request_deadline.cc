#include "core/request_deadline.h"

namespace thumbflow {
namespace {
thread_local int64_t current_deadline_ms = 0;
}  // namespace

int64_t RequestDeadlineMillis() { return current_deadline_ms; }

ScopedRequestDeadline::ScopedRequestDeadline(int64_t deadline_ms) : previous_(current_deadline_ms) {
  current_deadline_ms = deadline_ms;
}

ScopedRequestDeadline::~ScopedRequestDeadline() { current_deadline_ms = previous_; }

}  // namespace thumbflow
