// A deadline for the outgoing requests of the calling thread: the Lambda bounds every
// record by its invocation's remaining time, and the HTTP client (aws/http_client.h) caps
// each request's timeout, and the retries' back-off, at it.
//
// Why thread-local rather than a parameter: the deadline has to reach the HTTP client
// through the ObjectStore port, whose calls carry no options; the record processor sets it
// around its own calls (and those of the threads it starts) with a ScopedRequestDeadline.
#pragma once

#include <cstdint>

namespace thumbflow {

// Unix ms after which requests of this thread must not run; 0: none.
int64_t RequestDeadlineMillis();

// Sets the calling thread's deadline for its lifetime, then restores the previous one.
// 0 leaves none. Not copyable.
class ScopedRequestDeadline {
 public:
  explicit ScopedRequestDeadline(int64_t deadline_ms);
  ~ScopedRequestDeadline();
  ScopedRequestDeadline(const ScopedRequestDeadline&) = delete;
  ScopedRequestDeadline& operator=(const ScopedRequestDeadline&) = delete;

 private:
  int64_t previous_;
};

}  // namespace thumbflow
