#include "lambda/runtime.h"

#include <cstdlib>

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
    BatchResult batch = HandleSqsBatch(processor, dead_letters, clock, invocation.deadline_ms,
                                       messages, options, log);
    return BuildBatchResponse(batch.failed_message_ids);
  };
}

}  // namespace thumbflow::lambda
