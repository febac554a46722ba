#include "lambda/runtime.h"

#include <cstdlib>

#include "lambda/emf.h"

namespace thumbflow::lambda {

Status RunRuntimeLoop(RuntimeApiClient& api, const InvocationHandler& handler,
                      const LoopOptions& options) {
  for (int64_t served = 0; options.max_invocations == 0 || served < options.max_invocations;
       ++served) {
    ASSIGN_OR_RETURN(Invocation invocation, api.Next());
    if (invocation.trace_id.empty()) {
      unsetenv("_X_AMZN_TRACE_ID");
    } else {
      setenv("_X_AMZN_TRACE_ID", invocation.trace_id.c_str(), 1);
    }
    Result<std::string> answer = handler(invocation);
    if (answer.ok()) {
      RETURN_IF_ERROR(api.PostResponse(invocation.request_id, *answer));
    } else {
      ErrorReport error;
      error.type = answer.status().code() == StatusCode::kInvalidArgument ? kErrorTypeBadEvent
                                                                          : kErrorTypeInternal;
      error.message = answer.status().message();
      RETURN_IF_ERROR(api.PostInvocationError(invocation.request_id, error));
    }
  }
  return Status::Ok();
}

InvocationHandler SqsBatchHandler(const pipeline::RecordProcessor& processor,
                                  DeadLetterSender* dead_letters, const Clock& clock,
                                  BatchOptions options, Logger log) {
  return [&processor, dead_letters, &clock, options,
          log = std::move(log)](const Invocation& invocation) -> Result<std::string> {
    ASSIGN_OR_RETURN(auto messages, ParseSqsEvent(invocation.event));
    const int64_t started_ms = clock.NowMillis();
    BatchResult batch = HandleSqsBatch(processor, dead_letters, clock, invocation.deadline_ms,
                                       messages, options, log);
    if (options.emit_metrics) {
      const int64_t now_ms = clock.NowMillis();
      // Written whatever the log level: these lines are the function's metrics.
      log.LogAlways(LogLevel::kInfo, "metrics",
                    EmfBatchFields(batch, now_ms, now_ms - started_ms, options.function_name));
    }
    return BuildBatchResponse(batch.failed_message_ids);
  };
}

}  // namespace thumbflow::lambda
