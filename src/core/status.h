// Status: the result of every fallible call that crosses a module boundary.
//
// A Status is OK or carries a code, a human message, a Reason in thumbflow's vocabulary
// (core/reason.h: "not-an-image", "truncated", ...; kNone when none applies), a peer's own
// error code (an AWS error code or an S3 wire code: "NoSuchBucket", "MalformedXML"; empty
// when none) and one bit that decides retry versus dead-letter: retryable() is true for
// transient failures. The reason and the error code are separate fields: a peer's code is
// never mistaken for one of our reasons, nor the other way round.
// Statuses are plain values: cheap to copy, safe to pass between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "core/reason.h"

namespace thumbflow {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (bad config, bad key, bad body)
  kNotFound,            // the object, queue, bucket or receipt does not exist
  kAlreadyExists,       // create of something that exists
  kPermissionDenied,    // credentials or policy refuse the operation
  kUnauthenticated,     // the signature or credentials are missing or wrong
  kFailedPrecondition,  // the state does not allow the operation (bucket not empty, ...)
  kResourceExhausted,   // a limit was hit (size, pixels, frames, throttling)
  kDeadlineExceeded,    // a timeout
  kUnavailable,         // a peer could not be reached or answered 5xx
  kAborted,             // the operation was cancelled (shutdown)
  kUnimplemented,       // the operation is not supported
  kDataLoss,            // stored bytes do not match what was written
  kInternal,            // a bug or an unexpected vendor failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, Reason reason = Reason::kNone,
         bool retryable = false)
      : code_(code), message_(std::move(message)), reason_(reason), retryable_(retryable) {}
  // A peer's failure: `error_code` is its own code (AWS, S3 wire), not a Reason.
  Status(StatusCode code, std::string message, std::string error_code, bool retryable = false)
      : code_(code),
        message_(std::move(message)),
        error_code_(std::move(error_code)),
        retryable_(retryable) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Why, in thumbflow's vocabulary (core/reason.h); kNone when none applies.
  Reason reason() const { return reason_; }
  // The peer's own code ("NoSuchBucket", "SlowDown", "MalformedXML"); empty when none.
  const std::string& error_code() const { return error_code_; }
  // True when the same operation may succeed if tried again later (transient failure).
  bool retryable() const { return retryable_; }

  // Returns a copy whose message is prefixed with `context` ("put uploads/a.jpg: ...").
  Status WithContext(std::string_view context) const;
  Status WithReason(Reason reason) const;
  Status WithErrorCode(std::string error_code) const;
  Status WithRetryable(bool retryable) const;

  // "NotFound: message [reason] [ErrorCode] (retryable)"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  Reason reason_ = Reason::kNone;
  std::string error_code_;
  bool retryable_ = false;
};

inline bool operator==(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message() && a.reason() == b.reason() &&
         a.error_code() == b.error_code() && a.retryable() == b.retryable();
}

// Constructors for the common cases. Transient failures (Unavailable, DeadlineExceeded from
// a peer, throttling) pass retryable = true explicitly where they are created.
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status UnauthenticatedError(std::string message);
Status FailedPreconditionError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DeadlineExceededError(std::string message);
Status UnavailableError(std::string message);  // retryable
Status AbortedError(std::string message);
Status UnimplementedError(std::string message);
Status DataLossError(std::string message);
Status InternalError(std::string message);

}  // namespace thumbflow

#define TF_CONCAT_INNER_(a, b) a##b
#define TF_CONCAT_(a, b) TF_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::thumbflow::Status tf_status_ = (expr); \
    if (!tf_status_.ok()) return tf_status_; \
  } while (0)
