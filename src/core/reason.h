// Reason: the one vocabulary of why something failed or was skipped, in thumbflow's own
// words. A Reason's name is a user contract: it is the `reason` of the DLQ entry (the
// embedded queue's column, the "thumbflow-reason" attribute on SQS), the label of
// thumbflow_pipeline_records_failed_total{reason}, the "reason" of log lines and of the
// CLI's JSON. Names never change; a new reason is added at the end of its group.
//
// A peer's own error code (an AWS error code, an S3 wire code such as "NoSuchBucket" or
// "MalformedXML") is not a Reason: it travels in Status::error_code().
#pragma once

#include <iosfwd>
#include <string_view>

namespace thumbflow {

enum class Reason {
  kNone = 0,  // no reason applies (success, or a failure described by its code alone)

  // The image (image/thumbnailer.h). Permanent unless said otherwise.
  kNotAnImage,         // "not-an-image"
  kTruncated,          // "truncated"
  kCorrupt,            // "corrupt"
  kUnsupportedFormat,  // "unsupported-format": a format thumbflow does not read or blocks
  kTooManyPixels,      // "too-many-pixels"
  kTooLarge,           // "too-large": bytes over a limit (the image's or the store's)
  kTooManyFrames,      // "too-many-frames"
  kTimeout,            // "timeout": the processing deadline passed
  kCrashed,            // "crashed": the codec process died on the image (retryable)
  kInternal,           // "internal": a bug or an unexpected failure

  // The key and the store (storage/object_store.h).
  kInvalidKey,          // "invalid-key": the key, not the store's set-up, is refused
  kSourceMissing,       // "source-missing": the event's object no longer exists
  kNoSuchBucket,        // "no-such-bucket"
  kNoSuchUpload,        // "no-such-upload": a multipart upload id that does not exist
  kInvalidRange,        // "invalid-range": a range past the end of the object (416)
  kPreconditionFailed,  // "precondition-failed": If-Match did not hold (412)
  kNotModified,         // "not-modified": If-None-Match held (304)
  kBucketNotEmpty,      // "bucket-not-empty"
  kInvalidPartNumber,   // "invalid-part-number": a part the object does not have (416)
  kObjectLocked,        // "object-locked": an S3 Object Lock protects the version (delete)

  // The environment: every message fails alike until it recovers (transient).
  kNoSpace,        // "no-space": a full disk or quota, or the free-space reserve
  kAccessDenied,   // "access-denied": credentials or policy refuse
  kMisconfigured,  // "misconfigured": wrong region or endpoint, missing bucket
  kUnavailable,    // "unavailable": the store or queue could not be reached, 5xx

  // The message and the queue.
  kNotAnEvent,   // "not-an-event": a body that is not an S3 event
  kMaxReceives,  // "max-receives": received more than max_receive_count times
  kDeadline,     // "deadline": the Lambda's deadline kept the message from starting
  kShutdown,     // "shutdown": stopped before finishing (the work goes back)

  // Records acknowledged without work (outcome `skipped`).
  kNotACreate,     // "not-a-create": not an ObjectCreated:* event
  kFolder,         // "folder": a key ending in "/"
  kOutsidePrefix,  // "outside-prefix": not below the upload prefix
  kSuffix,         // "suffix": not one of the accepted suffixes
};

// The stable name ("not-an-image", ...); "" for kNone.
std::string_view ReasonName(Reason reason);

// The Reason named `name`; kNone for "" and for a name that is not one (a reason written
// by another version, or a peer's code).
Reason ReasonFromName(std::string_view name);

// Writes the name ("<none>" for kNone): readable test failures.
std::ostream& operator<<(std::ostream& out, Reason reason);

}  // namespace thumbflow
