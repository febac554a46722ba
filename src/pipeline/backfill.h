// Backfill: makes the thumbnails of objects that already exist (uploaded before the pipeline
// ran, or before the sizes changed) by putting one S3 event per object that needs work on
// the queue the workers read, the same message an upload's notification would have sent.
//
// The pass lists `bucket` under `prefix` in key order, a page at a time, and decides each
// object (PlanObject): keys the workers would skip (folder markers, outside the upload
// prefix, other suffixes, invalid keys) are `ignored`; objects whose thumbnails already carry
// their ETag are `skipped` (without `force`); objects an earlier, complete pass already sent
// and not yet done are `pending` (see BackfillOptions::previous_pass_started_ms); the rest
// are `queued`, in batches of up to 10 (one SendMessageBatch on SQS, one INSERT on the
// embedded queue). The thumbnail checks of a page run concurrently.
//
// Resuming: after every batch the caller's checkpoint receives the last key handled; every
// key up to it has been decided and, if queued, is durably on the queue. A pass started with
// start_after = that key continues where an interrupted one stopped: at most the batch in
// flight when the process died is sent twice, which the workers recognise as a duplicate
// (record_processor.h, step 5).
//
// Thread-safety: one Run at a time per object; Count may run on another thread beside it.
// The stores and the queue must be thread-safe (their ports promise it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "pipeline/record_processor.h"
#include "queue/queue.h"
#include "storage/object_store.h"

namespace thumbflow::pipeline {

struct BackfillOptions {
  std::string bucket;       // the sources'
  std::string prefix;       // listed; may be narrower or wider than the upload prefix
  bool force = false;       // queue even objects whose thumbnails are current, marked for a remake
  bool dry_run = false;     // decide everything, send nothing
  std::string start_after;  // resume: the last key a previous run of this pass handled
  // When an earlier pass of the same listing completed, when it started (0: none): objects
  // whose thumbnails are not current and that were last modified before it were queued by
  // that pass and are waiting for (or failed in) the workers: `pending`, not sent again.
  // Not with `force`.
  int64_t previous_pass_started_ms = 0;
  std::string region = "us-east-1";  // awsRegion of the events
  int head_threads = 8;              // concurrent thumbnail checks
  int page_size = 1000;
  // Attempts of a batch whose entries the queue refuses with a retryable error.
  int send_attempts = 5;
  int retry_base_ms = 200;
};

enum class BackfillDecision { kQueue, kSkipped, kPending, kIgnored };

// "queue", "skipped", "pending", "ignored".
const char* BackfillDecisionName(BackfillDecision decision);

// Decides one listed object (key, etag, size, last-modified from the listing). Costs the
// HEADs of the expected thumbnails in `output_bucket` (OutputsCurrent), none when
// `largest_names` is given (the names that exist under {output_prefix}{largest size}/ in
// the object's part of the listing) and holds none of the object's: it has no thumbnails.
BackfillDecision PlanObject(const ObjectInfo& object, const RecordProcessorOptions& pipeline,
                            ObjectStore& output_store, const std::string& output_bucket,
                            const BackfillOptions& options,
                            const std::set<std::string>* largest_names = nullptr);

// The event the pass sends for `object`: ObjectCreated:Put with its key, size and ETag,
// configurationId "thumbflow-backfill", eventTime `now_ms`; plus the attribute
// kForceAttribute when `force`.
SendRequest BackfillMessage(const std::string& bucket, const ObjectInfo& object,
                            const std::string& region, bool force, int64_t now_ms);

struct BackfillCounts {
  int64_t listed = 0;
  int64_t queued = 0;  // in a dry run: would be queued
  int64_t skipped = 0;
  int64_t pending = 0;
  int64_t ignored = 0;
};

struct BackfillProgress {
  BackfillCounts counts;
  std::string last_key;   // every key up to it is decided (and queued when it had to be)
  bool complete = false;  // the listing ended
};

class Backfill {
 public:
  // `queue` may be null for a dry run. Everything must outlive the Backfill.
  Backfill(ObjectStore& store, ObjectStore& output_store, Queue* queue,
           RecordProcessorOptions pipeline, BackfillOptions options, const Clock& clock);
  ~Backfill();

  // How many objects the pass will list (after start_after), for a progress bar's total.
  // Stops early (returning what it counted) when `stop` becomes true.
  Result<int64_t> Count(const std::atomic<bool>* stop) const;

  // Runs the pass until the listing ends or `stop` becomes true (checked between batches).
  // `checkpoint` is called after each batch and at the end of each page with the progress
  // so far (a dry run calls it too); its failure stops the run with that status. A listing
  // or queue failure that retries did not cure is returned as is; the last checkpoint
  // still holds.
  Result<BackfillProgress> Run(const std::atomic<bool>* stop,
                               const std::function<Status(const BackfillProgress&)>& checkpoint);

 private:
  // The names under {output_prefix}{largest size}/ from the first to the last path of
  // `objects` (one or two LISTs where a HEAD per object would be 1,000 requests); nullopt
  // when the listing fails or runs long (then PlanObject HEADs each object).
  std::optional<std::set<std::string>> LargestNames(const std::vector<ObjectInfo>& objects) const;
  // Sends `requests` (at most 10), retrying the entries refused with a retryable status.
  Status Send(const std::vector<SendRequest>& requests) const;

  ObjectStore& store_;
  ObjectStore& output_store_;
  Queue* queue_;
  RecordProcessorOptions pipeline_;
  BackfillOptions options_;
  const Clock& clock_;
  std::string output_bucket_;
  std::unique_ptr<TaskPool> pool_;
};

}  // namespace thumbflow::pipeline
