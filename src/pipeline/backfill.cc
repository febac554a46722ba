#include "pipeline/backfill.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

#include "events/s3_event.h"
#include "pipeline/task_pool.h"
#include "storage/etag.h"

namespace thumbflow::pipeline {

namespace {

constexpr size_t kMaxBatch = 10;  // SQS SendMessageBatch's limit, and the port's

}  // namespace

const char* BackfillDecisionName(BackfillDecision decision) {
  switch (decision) {
    case BackfillDecision::kQueue:
      return "queue";
    case BackfillDecision::kSkipped:
      return "skipped";
    case BackfillDecision::kPending:
      return "pending";
    case BackfillDecision::kIgnored:
      return "ignored";
  }
  return "ignored";
}

BackfillDecision PlanObject(const ObjectInfo& object, const RecordProcessorOptions& pipeline,
                            ObjectStore& output_store, const std::string& output_bucket,
                            const BackfillOptions& options,
                            const std::set<std::string>* largest_names) {
  std::optional<std::string> path = SourcePath(pipeline, object.key);
  if (!path) return BackfillDecision::kIgnored;
  if (options.force) return BackfillDecision::kQueue;
  bool may_exist = true;
  if (largest_names && !pipeline.expected_outputs.empty()) {
    may_exist = false;
    for (const std::string& name : ExpectedOutputNames(*path, pipeline.expected_outputs.back())) {
      may_exist = may_exist || largest_names->count(name) > 0;
    }
  }
  if (may_exist &&
      OutputsCurrent(output_store, pipeline, output_bucket, *path, UnquoteEtag(object.etag))) {
    return BackfillDecision::kSkipped;
  }
  if (options.previous_pass_started_ms > 0 &&
      object.last_modified_ms < options.previous_pass_started_ms) {
    return BackfillDecision::kPending;
  }
  return BackfillDecision::kQueue;
}

SendRequest BackfillMessage(const std::string& bucket, const ObjectInfo& object,
                            const std::string& region, bool force, int64_t now_ms) {
  S3EventRecord record;
  record.aws_region = region;
  record.event_time_ms = now_ms;
  record.event_name = "ObjectCreated:Put";
  record.principal_id = "thumbflow-backfill";
  record.configuration_id = "thumbflow-backfill";
  record.bucket = bucket;
  record.key = object.key;
  record.size = object.size;
  record.etag = UnquoteEtag(object.etag);
  char sequencer[32];
  std::snprintf(sequencer, sizeof sequencer, "%018llX", static_cast<unsigned long long>(now_ms));
  record.sequencer = sequencer;
  SendRequest request;
  request.body = BuildS3Event({record});
  if (force) request.attributes[kForceAttribute] = kForceValue;
  return request;
}

Backfill::Backfill(ObjectStore& store, ObjectStore& output_store, Queue* queue,
                   RecordProcessorOptions pipeline, BackfillOptions options, const Clock& clock)
    : store_(store),
      output_store_(output_store),
      queue_(queue),
      pipeline_(std::move(pipeline)),
      options_(std::move(options)),
      clock_(clock),
      output_bucket_(pipeline_.output_bucket.empty() ? options_.bucket : pipeline_.output_bucket),
      pool_(std::make_unique<TaskPool>(std::max(0, options_.head_threads - 1))) {}

Backfill::~Backfill() = default;

Result<int64_t> Backfill::Count(const std::atomic<bool>* stop) const {
  ListOptions list;
  list.prefix = options_.prefix;
  list.start_after = options_.start_after;
  list.max_keys = options_.page_size;
  int64_t total = 0;
  while (!(stop && stop->load())) {
    ASSIGN_OR_RETURN(ListResult page, store_.List(options_.bucket, list));
    total += static_cast<int64_t>(page.objects.size());
    if (!page.truncated) break;
    list.continuation_token = page.next_continuation_token;
  }
  return total;
}

std::optional<std::set<std::string>> Backfill::LargestNames(
    const std::vector<ObjectInfo>& objects) const {
  std::vector<std::string> paths;
  for (const ObjectInfo& object : objects) {
    if (std::optional<std::string> path = SourcePath(pipeline_, object.key)) {
      paths.push_back(std::move(*path));
    }
  }
  if (paths.empty() || pipeline_.expected_outputs.empty()) return std::nullopt;
  // Keys are listed in order, and every source of the page shares the upload prefix, so the
  // paths are in order too: the names of their thumbnails lie between the first path and
  // names that start with the last one.
  const std::string folder =
      pipeline_.output_prefix + pipeline_.expected_outputs.back().size_name + "/";
  std::string first = folder + paths.front();
  // start_after is exclusive: one below the first name. Only for an ASCII last byte, so that
  // the bound stays valid UTF-8 (S3 refuses it otherwise).
  const auto tail = static_cast<unsigned char>(first.back());
  if (tail <= 0x20 || tail >= 0x80) return std::nullopt;
  first.back() = static_cast<char>(tail - 1);
  const std::string last = folder + paths.back();
  ListOptions list;
  list.prefix = folder;
  list.start_after = first;
  list.max_keys = options_.page_size;
  std::set<std::string> names;
  const size_t limit = 4 * std::max<size_t>(paths.size(), 1);
  while (true) {
    Result<ListResult> page = output_store_.List(output_bucket_, list);
    if (!page.ok()) return std::nullopt;
    for (const ObjectInfo& object : page->objects) {
      if (object.key > last && object.key.compare(0, last.size(), last) != 0) return names;
      names.insert(object.key.substr(folder.size()));
    }
    if (!page->truncated) return names;
    if (names.size() > limit) return std::nullopt;  // dense with other thumbnails: HEAD
    list.continuation_token = page->next_continuation_token;
  }
}

Status Backfill::Send(const std::vector<SendRequest>& requests) const {
  std::vector<SendRequest> left = requests;
  Status last = Status::Ok();
  for (int attempt = 0; attempt < std::max(1, options_.send_attempts); ++attempt) {
    if (attempt > 0 && options_.retry_base_ms > 0) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(options_.retry_base_ms << (attempt - 1)));
    }
    Result<std::vector<Result<std::string>>> sent = queue_->SendBatch(left);
    if (!sent.ok()) {
      last = sent.status();
      if (!last.retryable()) return last.WithContext("send batch");
      continue;
    }
    std::vector<SendRequest> refused;
    for (size_t i = 0; i < sent->size() && i < left.size(); ++i) {
      const Result<std::string>& entry = (*sent)[i];
      if (entry.ok()) continue;
      if (!entry.status().retryable()) return entry.status().WithContext("send batch entry");
      last = entry.status();
      refused.push_back(left[i]);
    }
    if (refused.empty()) return Status::Ok();
    left = std::move(refused);
  }
  return last.WithContext("send batch (" + std::to_string(options_.send_attempts) + " attempts)");
}

Result<BackfillProgress> Backfill::Run(
    const std::atomic<bool>* stop,
    const std::function<Status(const BackfillProgress&)>& checkpoint) {
  if (!queue_ && !options_.dry_run) return InvalidArgumentError("backfill: no queue to send to");
  BackfillProgress progress;
  progress.last_key = options_.start_after;
  ListOptions list;
  list.prefix = options_.prefix;
  list.start_after = options_.start_after;
  list.max_keys = options_.page_size;
  auto stopped = [stop] { return stop && stop->load(); };
  while (!stopped()) {
    ASSIGN_OR_RETURN(ListResult page, store_.List(options_.bucket, list));
    const std::vector<ObjectInfo>& objects = page.objects;
    std::vector<BackfillDecision> decisions(objects.size(), BackfillDecision::kIgnored);
    const std::optional<std::set<std::string>> largest =
        options_.force ? std::nullopt : LargestNames(objects);
    pool_->Run(objects.size(), [&](size_t i) {
      decisions[i] = PlanObject(objects[i], pipeline_, output_store_, output_bucket_, options_,
                                largest ? &*largest : nullptr);
    });
    // Walks the page in key order; a batch is sent when full and at the end of the page,
    // and the checkpoint then moves to the last key the batch covers.
    std::vector<SendRequest> batch;
    size_t i = 0;
    for (; i < objects.size(); ++i) {
      ++progress.counts.listed;
      switch (decisions[i]) {
        case BackfillDecision::kQueue:
          batch.push_back(BackfillMessage(options_.bucket, objects[i], options_.region,
                                          options_.force, clock_.NowMillis()));
          break;
        case BackfillDecision::kSkipped:
          ++progress.counts.skipped;
          break;
        case BackfillDecision::kPending:
          ++progress.counts.pending;
          break;
        case BackfillDecision::kIgnored:
          ++progress.counts.ignored;
          break;
      }
      const bool page_end = i + 1 == objects.size();
      if (batch.size() < kMaxBatch && !page_end) continue;
      if (!batch.empty() && !options_.dry_run) RETURN_IF_ERROR(Send(batch));
      progress.counts.queued += static_cast<int64_t>(batch.size());
      batch.clear();
      progress.last_key = objects[i].key;
      progress.complete = page_end && !page.truncated;
      RETURN_IF_ERROR(checkpoint(progress));
      if (stopped()) return progress;
    }
    if (!page.truncated) {
      if (!progress.complete) {  // an empty last page
        progress.complete = true;
        RETURN_IF_ERROR(checkpoint(progress));
      }
      return progress;
    }
    list.continuation_token = page.next_continuation_token;
  }
  return progress;
}

}  // namespace thumbflow::pipeline
