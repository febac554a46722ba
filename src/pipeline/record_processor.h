// RecordProcessor: turns one S3 event record into its thumbnails, independent of how the
// record arrived (the worker pool's queue, the Lambda runtime's event batch, a test).
//
// One record, in order:
//   1. only ObjectCreated:* records are work, and ObjectRemoved:* ones when
//      options.delete_thumbnails is on; others are `skipped` ("not-a-create");
//   2. the key is validated (no "..", not absolute, no NUL, at most 1024 bytes, UTF-8):
//      `permanent` "invalid-key" otherwise;
//   3. keys outside the upload prefix, folder markers and names without an accepted suffix
//      are `skipped` (acknowledged, nothing written);
//   4. a source larger than max_source_bytes according to the event is `permanent`
//      "too-large" without being fetched;
//   4b. a removal (ObjectRemoved:*, delete_thumbnails on) deletes the source's thumbnails
//      when, and only when, the source is gone. S3's removal events carry no ETag of the
//      removed object, so the rule is about the present, not the event:
//        - HEAD the source: an object under the key (a newer upload, or the current
//          version after a noncurrent one was removed) keeps its thumbnails: `skipped`
//          (detail "source exists: ..."); a HEAD failure other than NotFound is classified as in
//          step 6;
//        - otherwise each thumbnail the source can have (every size; under format auto
//          every name a format may give, since the content decides it) is HEADed and
//          deleted when its "source-key" metadata names the removed key, and, when the
//          record does carry an ETag, its "source-etag" is that one. Thumbnails of another
//          source that happen to share the name ("a.heic" -> "a.heic.jpg" and a source
//          "a.heic.jpg") and objects without that metadata are kept;
//        - then the source is HEADed again: when an upload landed meanwhile, the record
//          goes on as a create of the current object (steps 5-8 below) so its thumbnails
//          exist whichever order the two events were processed in.
//      The result is `ok` with `deleted` listing the keys removed (none: nothing was there).
//   5. idempotency (not when context.force): when the record carries an ETag and every expected
//   output exists with
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
#include <map>
#include <memory>
#include <optional>
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

struct RecordResult;
// The label a record is counted under in metrics and the dashboard's figures: OutcomeName,
// except that an ok record is "duplicate" when its outputs were already there and "removed"
// when it was a removal (its source's thumbnails deleted, or none there): neither made a
// thumbnail set, and counting them as "ok" would overstate the work done.
const char* RecordLabel(const RecordResult& result);

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
  bool duplicate = false;            // ok because the outputs already carried this source ETag
  bool removal = false;              // ok: a removal record (step 4b), no thumbnails made
  std::vector<std::string> deleted;  // a removal: the thumbnails deleted (output bucket)
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
  // [pipeline] delete_thumbnails: ObjectRemoved:* records delete thumbnails (step 4b);
  // false: they are `skipped` "not-a-create".
  bool delete_thumbnails = false;
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
  // Remake the outputs even when they already carry the source's ETag (steps 5 and 6 do not
  // dedupe): a message with the attribute kForceAttribute = "true" (`thumbflow backfill
  // --force`).
  bool force = false;
};

// The message attribute that asks for a remake (RecordContext::force), and its value.
inline constexpr char kForceAttribute[] = "thumbflow-force";
inline constexpr char kForceValue[] = "true";

// True when `attributes` (a message's) ask for a remake.
bool ForceRequested(const std::map<std::string, std::string>& attributes);

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
  bool Remove(Work& work) const;       // a removal: the gone source's thumbnails
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
  // The thumbnails of the removed source `work.record.key` that step 4b deletes, deleted;
  // false when a store call failed (the result is decided).
  bool DeleteOutputsOf(Work& work) const;
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

// True when every output `options.expected_outputs` names for a source whose key below the
// upload prefix is `path` exists in `output_bucket` of `output_store` with `etag` (unquoted)
// in its "source-etag" metadata: step 5's check, also what `thumbflow backfill` skips. The
// largest size is looked up first, so a source without thumbnails costs one HEAD. A failed
// HEAD counts as "not current". False when expected_outputs is empty.
bool OutputsCurrent(ObjectStore& output_store, const RecordProcessorOptions& options,
                    const std::string& output_bucket, const std::string& path,
                    const std::string& etag);

// The names (below {output_prefix}{size}/) that the output `output` of a source whose key
// below the upload prefix is `path` may have; the names OutputsCurrent looks for.
std::vector<std::string> ExpectedOutputNames(const std::string& path, const ExpectedOutput& output);

// The key below the upload prefix when `key` is the pipeline's work (step 1-3's checks of a
// key: valid, below the upload prefix, not a folder marker, an accepted suffix); nullopt
// when a record for it would be `skipped` or refused.
std::optional<std::string> SourcePath(const RecordProcessorOptions& options, std::string_view key);

// Pure helpers, exposed for tests and for other callers that map keys.

// OK when `key` may be processed (ValidatePipelineKey); InvalidArgument otherwise.
Status ValidateSourceKey(std::string_view key);
// True when `key` ends with one of `suffixes` (ASCII case-insensitive); true when empty.
bool HasAcceptedSuffix(std::string_view key, const std::vector<std::string>& suffixes);

}  // namespace pipeline
}  // namespace thumbflow
