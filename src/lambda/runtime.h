// The Lambda custom-runtime loop and the SQS invocation handler it runs.
//
// RunRuntimeLoop: next invocation -> handler -> response or error, forever. The handler's
// failure (a Status) becomes an invocation error: InvalidArgument (the event is not an SQS
// batch) as Runtime.InvalidEvent, anything else as Runtime.InternalError; Lambda then
// retries the whole batch. _X_AMZN_TRACE_ID is set to the invocation's trace id before the
// handler runs, as the AWS SDKs expect.
//
// Not thread-safe: one loop per process (the Runtime API serves one invocation at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "lambda/batch_handler.h"
#include "lambda/dead_letters.h"
#include "lambda/runtime_api.h"
#include "pipeline/record_processor.h"

namespace thumbflow::lambda {

// Returns the response body (JSON) for one invocation, or why there is none.
using InvocationHandler = std::function<Result<std::string>(const Invocation&)>;

struct LoopOptions {
  // Stop after this many invocations (tests); 0: run until the Runtime API goes away.
  int64_t max_invocations = 0;
};

// Returns when Next() or a POST to the Runtime API fails (the execution environment is
// being shut down or is broken: the process should exit non-zero) or after
// max_invocations (OK).
Status RunRuntimeLoop(RuntimeApiClient& api, const InvocationHandler& handler,
                      const LoopOptions& options = {});

// The handler thumbflow runs: parse the SQS event, HandleSqsBatch, answer
// {"batchItemFailures": [...]}. Everything passed must outlive the returned function.
InvocationHandler SqsBatchHandler(const pipeline::RecordProcessor& processor,
                                  DeadLetterSender* dead_letters, const Clock& clock,
                                  BatchOptions options, Logger log = {});

}  // namespace thumbflow::lambda
