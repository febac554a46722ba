// RecordProcessor: turns one S3 event record into its thumbnails, independent of how the
// record arrived (the worker pool's queue, the Lambda runtime's event batch, a test).
//
// One record, in order:
//   1. only ObjectCreated:* records are work; others are `skipped`;
//   2. the key is validated (no "..", not absolute, no NUL, at most 1024 bytes, UTF-8):
//      `permanent` "invalid-key" otherwise;
//   3. keys outside the upload prefix, folder markers and names without an accepted suffix
//      are `skipped` (acknowledged, nothing written);
//   4. a source larger than max_source_bytes according to the event is `permanent`
//      "too-large" without being fetched;
//   5. idempotency: when the record carries an ETag and every expected output exists with
//      that ETag in its "source-etag" metadata, the record is `ok` (duplicate = true)
//      without fetching or decoding anything (the largest output is looked up first, so a
//      new image costs one HEAD);
//   6. the source is fetched: the object missing is `gone` ("source-missing"); a key the
//      store refuses is `permanent` "invalid-key"; a fault of the store's set-up or of the
//      machine (credentials, region, missing bucket, full disk) or of the transport is
//      `transient` (IsEnvironmentReason); if the fetched ETag differs from the event's,
//      step 5 is repeated with it;
//   7. the thumbnailer runs (bounded by the context's deadline when it has one); its
//      classified errors become `permanent` with its reason, or `transient` when the
//      status is retryable, with two exceptions decided by the receive count:
//      "crashed" (the codec helper died on the image) is transient on the first receive
//      and permanent from the second (retried once, then dead-lettered); "timeout" caused
//      by the caller's deadline rather than limits.timeout_s is transient, and permanent
//      on the last receive (context.max_receive_count);
//   8. every output is put at {output_prefix}{size}/{path} (path = key below the upload
//      prefix, sub-folders kept, ThumbnailName appends the format's extension when it
//      changed), Content-Type of the real format, metadata "source-key" (URL-encoded as in
//      S3 events, so it is plain ASCII), "source-etag" (no quotes), "width", "height".
//      The outputs are written concurrently on the processor's fixed pool of threads
//      (options.output_threads; so durable puts share their fsyncs and S3 round trips
//      overlap) and on the calling thread; the first failure in configuration order decides the
//      outcome, after every put has returned, classified as in step 6 (a full disk or a missing
//      output bucket is `transient`, never permanent).
//
// Every call logs one JSON line (core/log.h, "msg":"record") and updates the metrics of
// PipelineMetrics.
//
// Thread-safety: Process() may be called from many threads at once; the store, the
// thumbnailer, the clock and the sinks must be thread-safe (the ports promise it).
// Ownership: the processor keeps references to everything passed to the constructor; they
// must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/disk.h"
#include "core/log.h"
#include "events/s3_event.h"
#include "image/thumbnailer.h"
#include "pipeline/task_pool.h"
#include "storage/keys.h"
#include "storage/object_store.h"

namespace thumbflow {

struct Config;
class MetricsRegistry;

namespace pipeline {

class PipelineMetrics;

// Faults of the environment, not of the message (core/reason.h): the credentials or policy
// refuse (Reason::kAccessDenied), the store is not set up for the request
// (Reason::kMisconfigured: wrong region or endpoint, missing bucket), the disk is full
// (Reason::kNoSpace). Every message fails alike until an operator or the disk recovers, so
// the worker pool holds such messages and stops receiving rather than spend their receive
// counts (worker_pool.h); they are never dead-lettered for it. True for these three.
bool IsEnvironmentReason(Reason reason);

// The `reason` written to logs, metric labels and queue failures: ReasonName(reason), except
// that a transient store failure with no reason of ours (Reason::kUnavailable) carrying a
// peer's code is labelled with that code ("SlowDown", "InternalError"), as it always was.
// Empty for Reason::kNone.
std::string ReasonLabel(Reason reason, std::string_view error_code);

enum class Outcome {
  kOk,         // outputs written (or already there: duplicate)
  kSkipped,    // not our work (prefix, suffix, event type); acknowledge
  kGone,       // the source no longer exists; acknowledge
  kPermanent,  // retrying cannot help; dead-letter with `reason`
  kTransient,  // may succeed later; retry after a back-off
  kAborted,    // stopped before finishing (shutdown, deadline); make visible again
};

// "ok", "skipped", "gone", "permanent", "transient", "aborted" (also the metrics label).
const char* OutcomeName(Outcome outcome);

struct OutputSummary {
  std::string size_name;
  std::string key;
  std::string content_type;
  int width = 0;
  int height = 0;
  int64_t bytes = 0;
};

struct RecordResult {
  Outcome outcome = Outcome::kOk;
  Reason reason = Reason::kNone;  // kNone for ok
  std::string error_code;         // the store's own code behind a store failure; may be empty
  std::string message;            // human detail for logs; may be empty
  std::string bucket;             // of the source
  std::string key;                // of the source (decoded)
  std::string output_bucket;
  bool duplicate = false;  // ok because the outputs already carried this source ETag
  int64_t source_bytes = 0;
  std::vector<OutputSummary> outputs;
  int64_t duration_ms = 0;
  int64_t end_to_end_ms = -1;  // event time -> outputs written; -1 when unknown or not ok
};

// What the idempotency check expects to find: one entry per configured size, in
// configuration order. `format` empty means format = auto: the candidate names are
// AutoThumbnailNames (image/thumbnail_name.h, the table the thumbnailer chooses from);
// otherwise ThumbnailName decides.
struct ExpectedOutput {
  std::string size_name;
  std::string format;     // "jpeg", "png", "webp", "avif" or empty
  std::string extension;  // ".jpg", ... (with the dot) or empty
};

struct RecordProcessorOptions {
  std::string upload_prefix = "uploads/";
  std::vector<std::string> suffixes;  // case-insensitive; empty accepts every key
  std::string output_prefix = "thumbnails/";
  std::string output_bucket;     // empty: the record's bucket
  int64_t max_source_bytes = 0;  // 0: no check before fetching (the thumbnailer checks)
  std::vector<ExpectedOutput> expected_outputs;  // empty: no idempotency pre-check
  int64_t image_timeout_ms = 30'000;             // limits.timeout_s: the thumbnailer's own bound
  // Threads of the processor's TaskPool that write a record's outputs beside the calling
  // thread (0: the caller writes them one after the other). From the config: ([pipeline]
  // workers) x (sizes - 1), the most that the workers' records can use at once.
  int output_threads = 2;
};

// Options derived from the config file ([output], [pipeline].suffixes, [thumbnails] sizes
// and format, [limits].max_bytes).
RecordProcessorOptions RecordProcessorOptionsFromConfig(const Config& config);

// Per-call context.
struct RecordContext {
  std::string message_id;  // for logging
  int receive_count = 0;   // this delivery's, 1 for the first; 0 when unknown
  // The caller's bound on this record (Unix ms; 0: none): the thumbnailer's deadline and
  // that of every store request (core/request_deadline.h). The Lambda sets it from the
  // invocation's deadline.
  int64_t deadline_ms = 0;
  // Receives after which the queue dead-letters the message (0: unknown): on that last
  // receive a deadline-caused timeout is permanent.
  int max_receive_count = 0;
};

// Lets a long-running caller stop work between steps (before decoding, before writing).
using CancelFlag = std::atomic<bool>;

class RecordProcessor {
 public:
  // `output_store` receives the thumbnails; nullptr: the same store as the sources.
  // `metrics` may be null (nothing is counted); a default Logger logs nothing.
  RecordProcessor(ObjectStore& store, const Thumbnailer& thumbnailer, const Clock& clock,
                  RecordProcessorOptions options, PipelineMetrics* metrics = nullptr,
                  Logger log = {}, ObjectStore* output_store = nullptr);

  // Never throws; every failure is in the result. `cancel` may be null.
  RecordResult Process(const S3EventRecord& record, const RecordContext& context = {},
                       const CancelFlag* cancel = nullptr) const;

  // {output_prefix}{size_name}/{name}: where a thumbnail of a source whose key below the
  // upload prefix is `path` goes (`name` = ThumbnailName(path, thumbnail)).
  std::string OutputKey(const std::string& size_name, const std::string& name) const;

  const RecordProcessorOptions& options() const { return options_; }

 private:
  // One record on its way through the steps (record_processor.cc).
  struct Work;
  // Runs the steps in order, with one check between them (Interrupted).
  RecordResult Run(const S3EventRecord& record, const RecordContext& context,
                   const CancelFlag* cancel) const;
  // The steps, in order (steps 1-8 above). Each returns false when it has decided the
  // record's result, true to go on.
  bool Validate(Work& work) const;     // a create, not a folder marker, a valid key
  bool Filter(Work& work) const;       // upload prefix, accepted suffix
  bool CheckLimits(Work& work) const;  // output keys not too long, event size
  bool Dedupe(Work& work) const;       // outputs already carry the event's ETag
  bool Fetch(Work& work) const;        // the source (and dedupe by its ETag)
  bool Decode(Work& work) const;       // the thumbnailer
  bool Write(Work& work) const;        // every output
  // The check between steps: true (the result decided) when a stop was asked for or the
  // caller's deadline has passed before `next` (a step name), as far as `next` heeds them.
  bool Interrupted(Work& work, const char* next, bool heeds_deadline) const;
  // The outputs' keys (ThumbnailName below the output prefix); false when one is refused.
  bool OutputKeys(Work& work, std::vector<std::string>* keys) const;
  // Puts every output concurrently; one status per output, in order.
  std::vector<Status> PutOutputs(const Work& work, const std::vector<std::string>& keys) const;
  bool OutputsCurrent(const std::string& bucket, const std::string& path,
                      const std::string& etag) const;
  void Report(const RecordResult& result, const RecordContext& context) const;

  ObjectStore& store_;
  ObjectStore& output_store_;
  const Thumbnailer& thumbnailer_;
  const Clock& clock_;
  RecordProcessorOptions options_;
  PipelineMetrics* metrics_;
  Logger log_;
  std::unique_ptr<TaskPool> output_pool_;  // writes outputs; Run is thread-safe
};

// Pure helpers, exposed for tests and for other callers that map keys.

// OK when `key` may be processed (ValidatePipelineKey); InvalidArgument otherwise.
Status ValidateSourceKey(std::string_view key);
// True when `key` ends with one of `suffixes` (ASCII case-insensitive); true when empty.
bool HasAcceptedSuffix(std::string_view key, const std::vector<std::string>& suffixes);

}  // namespace pipeline
}  // namespace thumbflow
