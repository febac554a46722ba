#include "pipeline/record_processor.h"

#include <algorithm>
#include <utility>

#include "config/config.h"
#include "core/disk.h"
#include "core/request_deadline.h"
#include "core/strings.h"
#include "image/thumbnail_name.h"
#include "pipeline/pipeline_metrics.h"
#include "storage/etag.h"
#include "storage/keys.h"

namespace thumbflow::pipeline {

namespace {

RecordResult Finish(RecordResult result, Outcome outcome, Reason reason, std::string message) {
  result.outcome = outcome;
  result.reason = reason;
  result.message = std::move(message);
  return result;
}

// A store failure while reading a source or writing an output, classified by what happened
// (storage/object_store.h), never by the code's shape alone: only a fault of the object
// itself is permanent. A fault of the store's set-up (credentials, region, a missing bucket,
// a request refused for a reason that is not the key) or of the machine (a full disk) is the
// environment's: transient, and the worker pool holds the message and pauses instead of
// spending its receives (IsEnvironmentReason). `source` tells a GET of the event's object
// from a PUT of an output.
std::pair<Outcome, Reason> ClassifyStoreError(const Status& status, bool source) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      if (status.reason() == Reason::kInvalidKey) return {Outcome::kPermanent, Reason::kInvalidKey};
      return {Outcome::kTransient, Reason::kMisconfigured};
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
      return {Outcome::kTransient, Reason::kAccessDenied};
    case StatusCode::kNotFound:
      // The event's object missing is `gone` (handled by the caller); a missing bucket, or
      // NotFound for a PUT, is the set-up's.
      if (source && status.reason() != Reason::kNoSuchBucket) {
        return {Outcome::kGone, Reason::kSourceMissing};
      }
      return {Outcome::kTransient, Reason::kMisconfigured};
    case StatusCode::kFailedPrecondition:  // the pipeline sends no conditions: the set-up's
      return {Outcome::kTransient, Reason::kMisconfigured};
    case StatusCode::kResourceExhausted:
      if (IsNoSpace(status)) return {Outcome::kTransient, Reason::kNoSpace};
      if (!status.retryable()) return {Outcome::kPermanent, Reason::kTooLarge};
      break;
    default:
      break;
  }
  return {Outcome::kTransient,
          status.reason() == Reason::kNone ? Reason::kUnavailable : status.reason()};
}

// The names the outputs of `path` may have: one for a fixed format, those that "auto" may
// give (image/thumbnail_name.h) otherwise.
std::vector<std::string> ExpectedNames(const std::string& path, const ExpectedOutput& output) {
  if (output.format.empty()) return AutoThumbnailNames(path);
  Thumbnail probe;
  probe.format = output.format;
  probe.extension = output.extension;
  return {ThumbnailName(path, probe)};
}

// Every name an output of `path` can have, whatever the content turns out to be: the fixed
// format's one, or under "auto" the path itself and the path with each output format's
// extension (a removal cannot know which format the content chose).
std::vector<std::string> PossibleNames(const std::string& path, const ExpectedOutput& output) {
  if (!output.format.empty()) return ExpectedNames(path, output);
  std::vector<std::string> names = {path};
  for (const char* format : {"jpeg", "png", "webp", "gif", "avif"}) {
    std::string name = ThumbnailName(path, format);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

bool IsRemoval(const S3EventRecord& record) {
  return record.event_name.rfind("ObjectRemoved", 0) == 0;
}

// The extension of the output format called `format`; empty for "" (auto).
std::string ExtensionOf(const std::string& format) {
  const OutputFormat* output = FindOutputFormat(format);
  return output != nullptr ? std::string(output->extension) : "";
}

}  // namespace

bool IsEnvironmentReason(Reason reason) {
  return reason == Reason::kNoSpace || reason == Reason::kMisconfigured ||
         reason == Reason::kAccessDenied;
}

std::string ReasonLabel(Reason reason, std::string_view error_code) {
  if (reason == Reason::kUnavailable && !error_code.empty()) return std::string(error_code);
  return std::string(ReasonName(reason));
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kGone:
      return "gone";
    case Outcome::kPermanent:
      return "permanent";
    case Outcome::kTransient:
      return "transient";
    case Outcome::kAborted:
      return "aborted";
  }
  return "internal";
}

const char* RecordLabel(const RecordResult& result) {
  if (result.outcome == Outcome::kOk && result.duplicate) return "duplicate";
  if (result.outcome == Outcome::kOk && result.removal) return "removed";
  return OutcomeName(result.outcome);
}

Status ValidateSourceKey(std::string_view key) {
  if (!IsValidUtf8(key)) return InvalidArgumentError("key is not valid UTF-8");
  return ValidatePipelineKey(key);
}

bool HasAcceptedSuffix(std::string_view key, const std::vector<std::string>& suffixes) {
  if (suffixes.empty()) return true;
  for (const auto& suffix : suffixes) {
    if (EndsWithIgnoreCase(key, suffix)) return true;
  }
  return false;
}

RecordProcessorOptions RecordProcessorOptionsFromConfig(const Config& config) {
  RecordProcessorOptions options;
  options.upload_prefix = config.pipeline.upload_prefix;
  options.suffixes = config.pipeline.suffixes;
  options.output_prefix = config.pipeline.output_prefix;
  options.output_bucket = config.pipeline.output_bucket;
  options.max_source_bytes = config.thumbnails.limits.max_bytes;
  options.image_timeout_ms = int64_t{config.thumbnails.limits.timeout_s} * 1000;
  options.output_threads =
      EffectiveWorkers(config.pipeline) * (static_cast<int>(config.thumbnails.sizes.size()) - 1);
  options.delete_thumbnails = config.pipeline.delete_thumbnails;
  std::string format = config.thumbnails.format == "auto" ? "" : config.thumbnails.format;
  for (const auto& size : config.thumbnails.sizes) {
    options.expected_outputs.push_back({size.name, format, ExtensionOf(format)});
  }
  return options;
}

RecordProcessor::RecordProcessor(ObjectStore& store, const Thumbnailer& thumbnailer,
                                 const Clock& clock, RecordProcessorOptions options,
                                 PipelineMetrics* metrics, Logger log, ObjectStore* output_store)
    : store_(store),
      output_store_(output_store ? *output_store : store),
      thumbnailer_(thumbnailer),
      clock_(clock),
      options_(std::move(options)),
      metrics_(metrics),
      log_(std::move(log)),
      output_pool_(std::make_unique<TaskPool>(std::max(0, options_.output_threads))) {}

std::string RecordProcessor::OutputKey(const std::string& size_name,
                                       const std::string& name) const {
  return options_.output_prefix + size_name + "/" + name;
}

RecordResult RecordProcessor::Process(const S3EventRecord& record, const RecordContext& context,
                                      const CancelFlag* cancel) const {
  int64_t start_ms = clock_.NowMillis();
  RecordResult result;
  ScopedRequestDeadline request_deadline(context.deadline_ms);
  try {
    result = Run(record, context, cancel);
  } catch (const std::exception& e) {
    // Adapters must not throw; if one does, the message is retried rather than lost.
    result.bucket = record.bucket;
    result.key = record.key;
    result = Finish(std::move(result), Outcome::kTransient, Reason::kInternal,
                    std::string("unexpected exception: ") + e.what());
  }
  int64_t end_ms = clock_.NowMillis();
  result.duration_ms = end_ms - start_ms;
  if (result.outcome == Outcome::kOk && !result.outputs.empty() && record.event_time_ms > 0) {
    result.end_to_end_ms = std::max<int64_t>(0, end_ms - record.event_time_ms);
  }
  Report(result, context);
  return result;
}

struct RecordProcessor::Work {
  const S3EventRecord& record;
  const RecordContext& context;
  const CancelFlag* cancel;
  RecordResult result;
  std::string path;        // the key below the upload prefix
  std::string event_etag;  // the event's, unquoted; may be empty
  std::string etag;        // the fetched source's, unquoted
  ObjectData source;
  int64_t checked_ms = 0;  // when the last check between steps read the clock
  Thumbnails thumbnails;

  // Decides the record's result; returns false, as a step that stops does.
  bool Stop(Outcome outcome, Reason reason, std::string message) {
    result = Finish(std::move(result), outcome, reason, std::move(message));
    return false;
  }
};

RecordResult RecordProcessor::Run(const S3EventRecord& record, const RecordContext& context,
                                  const CancelFlag* cancel) const {
  struct Step {
    const char* name;
    bool (RecordProcessor::*run)(Work&) const;
    // Whether a stop (shutdown) or the caller's deadline ends the record before this step.
    // Only the costly steps heed them: the steps before decoding are cheap, or bounded by
    // the request deadline (core/request_deadline.h), and a record that is not our work
    // stays `skipped` whatever the time. Writing ignores the deadline for the same reason.
    bool heeds_stop;
    bool heeds_deadline;
  };
  static constexpr Step kSteps[] = {
      {"validating", &RecordProcessor::Validate, false, false},
      {"filtering", &RecordProcessor::Filter, false, false},
      {"checking limits", &RecordProcessor::CheckLimits, false, false},
      {"removing", &RecordProcessor::Remove, false, false},
      {"deduplicating", &RecordProcessor::Dedupe, false, false},
      {"fetching", &RecordProcessor::Fetch, false, false},
      {"decoding", &RecordProcessor::Decode, true, true},
      {"writing", &RecordProcessor::Write, true, false},
  };
  Work work{record, context, cancel};
  work.result.bucket = record.bucket;
  work.result.key = record.key;
  work.result.output_bucket =
      options_.output_bucket.empty() ? record.bucket : options_.output_bucket;
  for (const Step& step : kSteps) {
    if (step.heeds_stop && Interrupted(work, step.name, step.heeds_deadline)) break;
    if (!(this->*step.run)(work)) break;
  }
  return std::move(work.result);
}

bool RecordProcessor::Interrupted(Work& work, const char* next, bool heeds_deadline) const {
  if (work.cancel && work.cancel->load()) {
    work.Stop(Outcome::kAborted, Reason::kShutdown, std::string("before ") + next);
    return true;
  }
  if (!heeds_deadline) return false;
  work.checked_ms = clock_.NowMillis();
  const int64_t deadline_ms = work.context.deadline_ms;
  if (deadline_ms > 0 && work.checked_ms >= deadline_ms) {
    work.Stop(Outcome::kTransient, Reason::kTimeout,
              std::string("the caller's deadline passed before ") + next);
    return true;
  }
  return false;
}

bool RecordProcessor::Validate(Work& work) const {
  const S3EventRecord& record = work.record;
  if (record.event_name.rfind("ObjectCreated", 0) != 0 &&
      !(options_.delete_thumbnails && IsRemoval(record))) {
    return work.Stop(Outcome::kSkipped, Reason::kNotACreate, "event " + record.event_name);
  }
  if (!record.key.empty() && record.key.back() == '/') {
    return work.Stop(Outcome::kSkipped, Reason::kFolder, "");
  }
  if (Status valid = ValidateSourceKey(record.key); !valid.ok()) {
    return work.Stop(Outcome::kPermanent, Reason::kInvalidKey, valid.message());
  }
  return true;
}

bool RecordProcessor::Filter(Work& work) const {
  const std::string& key = work.record.key;
  const std::string& prefix = options_.upload_prefix;
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) {
    return work.Stop(Outcome::kSkipped, Reason::kOutsidePrefix, "");
  }
  if (!HasAcceptedSuffix(key, options_.suffixes)) {
    return work.Stop(Outcome::kSkipped, Reason::kSuffix, "");
  }
  work.path = key.substr(prefix.size());
  return true;
}

bool RecordProcessor::CheckLimits(Work& work) const {
  // The output keys are known before anything is fetched, up to the extension "auto" may
  // append once the content is known: a key whose shortest possible output key is already
  // refused (over 1024 bytes) is refused here, without fetching or decoding the source. The
  // exact keys are checked again after decoding.
  for (const ExpectedOutput& output : options_.expected_outputs) {
    std::vector<std::string> names = ExpectedNames(work.path, output);
    auto shortest = std::min_element(names.begin(), names.end(), [](const auto& a, const auto& b) {
      return a.size() < b.size();
    });
    if (Status valid = ValidatePipelineKey(OutputKey(output.size_name, *shortest)); !valid.ok()) {
      return work.Stop(Outcome::kPermanent, Reason::kInvalidKey, "output key: " + valid.message());
    }
  }
  const int64_t size = work.record.size;
  if (options_.max_source_bytes > 0 && size > options_.max_source_bytes) {
    work.result.source_bytes = size;
    return work.Stop(Outcome::kPermanent, Reason::kTooLarge,
                     "event size " + std::to_string(size) + " bytes exceeds the limit");
  }
  return true;
}

bool RecordProcessor::Remove(Work& work) const {
  const S3EventRecord& record = work.record;
  if (!IsRemoval(record)) return true;
  // Is there an object under the key now? Asked before deleting anything, and again after.
  auto source_exists = [&](bool* exists) {
    Result<ObjectInfo> head = store_.Head(record.bucket, record.key);
    if (head.ok()) {
      *exists = true;
      work.event_etag = UnquoteEtag(head->etag);
      return true;
    }
    const Status& s = head.status();
    auto [outcome, reason] = ClassifyStoreError(s, /*source=*/true);
    if (outcome == Outcome::kGone) {
      *exists = false;
      return true;
    }
    work.result.error_code = s.error_code();
    return work.Stop(outcome, reason,
                     "head " + record.bucket + "/" + record.key + ": " + s.message());
  };
  bool exists = false;
  if (!source_exists(&exists)) return false;
  if (exists) {
    return work.Stop(Outcome::kSkipped, Reason::kNone,
                     "source exists: an object is under the key again (etag " + work.event_etag +
                         "), its thumbnails are kept");
  }
  if (!DeleteOutputsOf(work)) return false;
  if (work.result.deleted.empty()) {
    work.result.removal = true;
    return work.Stop(Outcome::kOk, Reason::kNone, "no thumbnails to delete");
  }
  if (!source_exists(&exists)) return false;
  if (!exists) {
    work.result.removal = true;
    return work.Stop(Outcome::kOk, Reason::kNone, "thumbnails deleted");
  }
  // An upload landed between the first look and the deletes: its thumbnails may have been
  // among them, so they are made again from the object now there (steps 5-8).
  work.event_etag.clear();
  return true;
}

bool RecordProcessor::DeleteOutputsOf(Work& work) const {
  const std::string& bucket = work.result.output_bucket;
  const std::string encoded_key = UrlEncodeS3Key(work.record.key);
  const std::string event_etag = UnquoteEtag(work.record.etag);
  for (const ExpectedOutput& output : options_.expected_outputs) {
    for (const std::string& name : PossibleNames(work.path, output)) {
      const std::string key = OutputKey(output.size_name, name);
      Result<ObjectInfo> info = output_store_.Head(bucket, key);
      Status failed = info.status();
      if (info.ok()) {
        auto source_key = info->metadata.find("source-key");
        auto source_etag = info->metadata.find("source-etag");
        // Ours exactly when it names the removed key (S3 events' encoding, as written).
        if (source_key == info->metadata.end() || source_key->second != encoded_key) continue;
        if (!event_etag.empty() && (source_etag == info->metadata.end() ||
                                    UnquoteEtag(source_etag->second) != event_etag)) {
          continue;
        }
        failed = output_store_.Delete(bucket, key);
        if (failed.ok()) {
          work.result.deleted.push_back(key);
          continue;
        }
      } else if (failed.code() == StatusCode::kNotFound &&
                 failed.reason() != Reason::kNoSuchBucket) {
        continue;
      }
      auto [outcome, reason] = ClassifyStoreError(failed, /*source=*/false);
      work.result.error_code = failed.error_code();
      return work.Stop(outcome, reason, "delete " + bucket + "/" + key + ": " + failed.message());
    }
  }
  return true;
}

bool RecordProcessor::Dedupe(Work& work) const {
  work.event_etag = UnquoteEtag(work.record.etag);
  if (work.context.force || work.event_etag.empty() ||
      !OutputsCurrent(work.result.output_bucket, work.path, work.event_etag)) {
    return true;
  }
  work.result.duplicate = true;
  return work.Stop(Outcome::kOk, Reason::kNone, "outputs already current");
}

bool RecordProcessor::Fetch(Work& work) const {
  const S3EventRecord& record = work.record;
  Result<ObjectData> source = store_.Get(record.bucket, record.key);
  if (!source.ok()) {
    const Status& s = source.status();
    auto [outcome, reason] = ClassifyStoreError(s, /*source=*/true);
    work.result.error_code = s.error_code();
    return work.Stop(outcome, reason,
                     "get " + record.bucket + "/" + record.key + ": " + s.message());
  }
  work.source = std::move(source).value();
  work.result.source_bytes = static_cast<int64_t>(work.source.bytes.size());
  work.etag = UnquoteEtag(work.source.info.etag);
  if (!work.context.force && work.etag != work.event_etag && !work.etag.empty() &&
      OutputsCurrent(work.result.output_bucket, work.path, work.etag)) {
    work.result.duplicate = true;
    return work.Stop(Outcome::kOk, Reason::kNone, "outputs already current");
  }
  if (options_.max_source_bytes > 0 && work.result.source_bytes > options_.max_source_bytes) {
    return work.Stop(Outcome::kPermanent, Reason::kTooLarge,
                     std::to_string(work.result.source_bytes) + " bytes exceeds the limit");
  }
  return true;
}

bool RecordProcessor::Decode(Work& work) const {
  const RecordContext& context = work.context;
  MakeOptions make;
  make.deadline_ms = context.deadline_ms;
  Result<Thumbnails> thumbnails = thumbnailer_.Make(work.source.bytes, make);
  if (thumbnails.ok()) {
    work.thumbnails = std::move(thumbnails).value();
    return true;
  }
  const Status& s = thumbnails.status();
  Reason reason = s.reason() == Reason::kNone ? Reason::kInternal : s.reason();
  Outcome outcome = s.retryable() ? Outcome::kTransient : Outcome::kPermanent;
  bool last_receive =
      context.max_receive_count > 0 && context.receive_count >= context.max_receive_count;
  if (reason == Reason::kCrashed) {
    // Once may be bad luck (a helper killed from outside); twice is the image.
    outcome = context.receive_count >= 2 ? Outcome::kPermanent : Outcome::kTransient;
  } else if (reason == Reason::kTimeout && context.deadline_ms > 0 &&
             context.deadline_ms < work.checked_ms + options_.image_timeout_ms) {
    // The caller's deadline, not the image's limit, cut it short.
    outcome = last_receive ? Outcome::kPermanent : Outcome::kTransient;
  }
  return work.Stop(outcome, reason, s.message());
}

bool RecordProcessor::Write(Work& work) const {
  std::vector<std::string> keys;
  if (!OutputKeys(work, &keys)) return false;
  const std::vector<Thumbnail>& outputs = work.thumbnails.outputs;
  std::vector<Status> written = PutOutputs(work, keys);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (written[i].ok()) continue;
    auto [outcome, reason] = ClassifyStoreError(written[i], /*source=*/false);
    work.result.error_code = written[i].error_code();
    return work.Stop(
        outcome, reason,
        "put " + work.result.output_bucket + "/" + keys[i] + ": " + written[i].message());
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    work.result.outputs.push_back({outputs[i].size_name, keys[i], outputs[i].content_type,
                                   outputs[i].width, outputs[i].height,
                                   static_cast<int64_t>(outputs[i].bytes.size())});
  }
  return work.Stop(Outcome::kOk, Reason::kNone, "");
}

bool RecordProcessor::OutputKeys(Work& work, std::vector<std::string>* keys) const {
  for (const Thumbnail& thumbnail : work.thumbnails.outputs) {
    keys->push_back(OutputKey(thumbnail.size_name, ThumbnailName(work.path, thumbnail)));
    if (Status valid = ValidatePipelineKey(keys->back()); !valid.ok()) {
      return work.Stop(Outcome::kPermanent, Reason::kInvalidKey, "output key: " + valid.message());
    }
  }
  return true;
}

std::vector<Status> RecordProcessor::PutOutputs(const Work& work,
                                                const std::vector<std::string>& keys) const {
  const std::vector<Thumbnail>& outputs = work.thumbnails.outputs;
  const std::string encoded_key = UrlEncodeS3Key(work.record.key);
  auto put_output = [&](size_t i) -> Status {
    ScopedRequestDeadline output_deadline(work.context.deadline_ms);  // also on the other threads
    PutOptions put;
    put.content_type = outputs[i].content_type;
    put.metadata = {{"source-key", encoded_key},
                    {"source-etag", work.etag},
                    {"width", std::to_string(outputs[i].width)},
                    {"height", std::to_string(outputs[i].height)}};
    return output_store_.Put(work.result.output_bucket, keys[i], outputs[i].bytes, put).status();
  };
  // Every put has returned when Run does (put_output borrows this frame); an exception
  // from one reaches Process as it did from a thread of its own.
  std::vector<Status> written(outputs.size());
  output_pool_->Run(outputs.size(), [&](size_t i) { written[i] = put_output(i); });
  return written;
}

bool RecordProcessor::OutputsCurrent(const std::string& bucket, const std::string& path,
                                     const std::string& etag) const {
  return pipeline::OutputsCurrent(output_store_, options_, bucket, path, etag);
}

std::vector<std::string> ExpectedOutputNames(const std::string& path,
                                             const ExpectedOutput& output) {
  return ExpectedNames(path, output);
}

bool ForceRequested(const std::map<std::string, std::string>& attributes) {
  auto it = attributes.find(kForceAttribute);
  return it != attributes.end() && it->second == kForceValue;
}

std::optional<std::string> SourcePath(const RecordProcessorOptions& options, std::string_view key) {
  const std::string& prefix = options.upload_prefix;
  if (!key.empty() && key.back() == '/') return std::nullopt;
  if (!ValidateSourceKey(key).ok()) return std::nullopt;
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  if (!HasAcceptedSuffix(key, options.suffixes)) return std::nullopt;
  return std::string(key.substr(prefix.size()));
}

bool OutputsCurrent(ObjectStore& output_store, const RecordProcessorOptions& options,
                    const std::string& bucket, const std::string& path, const std::string& etag) {
  const auto& expected = options.expected_outputs;
  if (expected.empty()) return false;
  auto current = [&](const ExpectedOutput& output, const std::string& name) {
    // A failed HEAD only means "not known to be done": the record is processed again.
    Result<ObjectInfo> info =
        output_store.Head(bucket, options.output_prefix + output.size_name + "/" + name);
    if (!info.ok()) return false;
    auto it = info->metadata.find("source-etag");
    return it != info->metadata.end() && UnquoteEtag(it->second) == etag;
  };
  for (const std::string& name : ExpectedNames(path, expected.back())) {
    if (!current(expected.back(), name)) continue;
    // Every size shares the format setting, so the other outputs have the same name. They
    // are written concurrently, so one being there says nothing of the others.
    for (size_t i = 0; i + 1 < expected.size(); ++i) {
      if (!current(expected[i], name)) return false;
    }
    return true;
  }
  return false;
}

void RecordProcessor::Report(const RecordResult& result, const RecordContext& context) const {
  if (metrics_) {
    metrics_->RecordDone(result, ReasonLabel(result.reason, result.error_code));
  }
  const LogLevel level = (result.outcome == Outcome::kOk || result.outcome == Outcome::kSkipped)
                             ? LogLevel::kInfo
                             : LogLevel::kWarn;
  if (!log_.Enabled(level)) return;
  LogFields line;
  line.Add("bucket", result.bucket)
      .Add("key", result.key)
      .Add("outcome", OutcomeName(result.outcome));
  if (result.reason != Reason::kNone) {
    line.Add("reason", ReasonLabel(result.reason, result.error_code));
  }
  if (!result.error_code.empty()) line.Add("error_code", result.error_code);
  if (!result.message.empty()) line.Add("detail", result.message);
  if (result.duplicate) line.Add("duplicate", true);
  if (!result.deleted.empty()) {
    std::vector<LogFields> deleted;
    for (const std::string& key : result.deleted) deleted.push_back(LogFields().Add("key", key));
    line.Add("deleted", deleted);
  }
  line.Add("duration_ms", result.duration_ms);
  if (result.end_to_end_ms >= 0) line.Add("end_to_end_ms", result.end_to_end_ms);
  if (result.source_bytes > 0) line.Add("source_bytes", result.source_bytes);
  if (!result.outputs.empty() || !result.deleted.empty()) {
    line.Add("output_bucket", result.output_bucket);
  }
  if (!result.outputs.empty()) {
    std::vector<LogFields> sizes;
    for (const auto& o : result.outputs) {
      sizes.push_back(LogFields()
                          .Add("size", o.size_name)
                          .Add("key", o.key)
                          .Add("width", o.width)
                          .Add("height", o.height)
                          .Add("bytes", o.bytes));
    }
    line.Add("sizes", sizes);
  }
  if (!context.message_id.empty()) line.Add("message_id", context.message_id);
  if (context.receive_count > 0) line.Add("receive_count", context.receive_count);
  log_.Log(level, "record", line);
}

}  // namespace thumbflow::pipeline
