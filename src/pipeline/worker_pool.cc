#include "pipeline/worker_pool.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "config/config.h"
#include "core/disk.h"
#include "events/s3_event.h"

namespace thumbflow::pipeline {

namespace {

constexpr int kMaxBatch = 10;  // SQS's limit for receive and the batch calls

template <typename T>
std::vector<std::vector<T>> Chunks(const std::vector<T>& items) {
  std::vector<std::vector<T>> chunks;
  for (size_t i = 0; i < items.size(); i += kMaxBatch) {
    chunks.emplace_back(
        items.begin() + static_cast<std::ptrdiff_t>(i),
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + kMaxBatch)));
  }
  return chunks;
}

}  // namespace

WorkerPoolOptions WorkerPoolOptionsFromConfig(const Config& full) {
  const PipelineConfig& config = full.pipeline;
  WorkerPoolOptions options;
  options.workers = EffectiveWorkers(config);
  options.max_in_flight = config.max_in_flight;
  options.visibility_timeout_s = config.visibility_timeout_s > 0
                                     ? config.visibility_timeout_s
                                     : std::max(2, full.queue.visibility_timeout_s);
  options.heartbeat_s = config.heartbeat_s;
  options.receive_wait_s = full.queue.receive_wait_s;
  options.grace_period =
      std::chrono::milliseconds(static_cast<int64_t>(std::llround(config.grace_period_s * 1000)));
  options.retry = {config.retry_base_s, config.retry_max_s, config.retry_jitter};
  return options;
}

WorkerPool::WorkerPool(Queue& queue, ObjectStore& store, const Thumbnailer& thumbnailer,
                       const Config& config, const Clock& clock, MetricsRegistry* metrics,
                       Logger log, ObjectStore* output_store)
    : WorkerPool(queue, store, thumbnailer, RecordProcessorOptionsFromConfig(config),
                 WorkerPoolOptionsFromConfig(config), clock, metrics, std::move(log),
                 output_store) {}

WorkerPool::WorkerPool(Queue& queue, ObjectStore& store, const Thumbnailer& thumbnailer,
                       RecordProcessorOptions record_options, WorkerPoolOptions options,
                       const Clock& clock, MetricsRegistry* metrics, Logger log,
                       ObjectStore* output_store)
    : queue_(queue),
      clock_(clock),
      options_(std::move(options)),
      metrics_(metrics ? std::make_unique<PipelineMetrics>(*metrics) : nullptr),
      log_(std::move(log)),
      processor_(store, thumbnailer, clock, std::move(record_options), metrics_.get(), log_,
                 output_store),
      retry_(options_.retry, options_.random_seed ? options_.random_seed : std::random_device{}()) {
  options_.workers = std::max(1, options_.workers);
  if (options_.max_in_flight <= 0) options_.max_in_flight = 2 * options_.workers;
  options_.max_in_flight = std::max(options_.max_in_flight, options_.workers);
  options_.visibility_timeout_s = std::max(1, options_.visibility_timeout_s);
  if (options_.heartbeat_s <= 0 || options_.heartbeat_s >= options_.visibility_timeout_s) {
    options_.heartbeat_s = std::max(1, options_.visibility_timeout_s / 2);
  }
  // A long poll outlasting the grace period would delay the exit.
  auto grace_s = std::chrono::duration_cast<std::chrono::seconds>(options_.grace_period).count();
  options_.receive_wait_s = std::clamp<int>(options_.receive_wait_s, 0,
                                            static_cast<int>(std::clamp<int64_t>(grace_s, 1, 20)));
}

WorkerPool::~WorkerPool() { Shutdown(); }

Status WorkerPool::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return FailedPreconditionError("worker pool already started");
  started_ = true;
  receiver_ = std::thread([this] { ReceiverLoop(); });
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  return Status::Ok();
}

Status WorkerPool::Run() {
  RETURN_IF_ERROR(Start());
  {
    std::unique_lock<std::mutex> lock(mu_);
    work_cv_.wait(lock, [this] { return stop_requested_; });
  }
  Shutdown();
  return Status::Ok();
}

void WorkerPool::RequestStop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_requested_ = true;
  work_cv_.notify_all();
}

void WorkerPool::Shutdown(std::optional<std::chrono::milliseconds> grace) {
  auto deadline = std::chrono::steady_clock::now() + grace.value_or(options_.grace_period);
  std::vector<std::string> not_started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || shut_down_) return;
    shut_down_ = true;
    stopping_ = true;
    stop_requested_ = true;
    abort_receive_.store(true);  // an idle long poll ends now, not after its 20 s
    for (uint64_t id : pending_) {
      auto it = held_.find(id);
      if (it == held_.end()) continue;
      not_started.push_back(it->second.message.receipt);
      held_.erase(it);
    }
    pending_.clear();
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->second.state != HeldState::kWaiting) {
        ++it;
        continue;
      }
      not_started.push_back(it->second.message.receipt);
      it = held_.erase(it);
    }
    UpdateInFlightMetricLocked();
    work_cv_.notify_all();
  }
  ReleaseNow(not_started);

  std::vector<std::string> abandoned;
  {
    std::unique_lock<std::mutex> lock(mu_);
    bool done = finished_cv_.wait_until(lock, deadline, [this] { return held_.empty(); });
    if (!done) {
      // Out of time: the work goes back to the queue; the workers stop at their next step.
      cancel_.store(true);
      for (auto& [id, held] : held_) {
        if (held.state != HeldState::kActive) continue;
        held.state = HeldState::kAbandoned;
        abandoned.push_back(held.message.receipt);
      }
    }
  }
  ReleaseNow(abandoned);

  if (receiver_.joinable()) receiver_.join();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeat_stop_ = true;
    held_.clear();
    UpdateInFlightMetricLocked();
    work_cv_.notify_all();
  }
  if (heartbeat_.joinable()) heartbeat_.join();
}

void WorkerPool::ReleaseNow(const std::vector<std::string>& receipts) {
  if (receipts.empty()) return;
  for (const auto& chunk : Chunks(receipts)) {
    std::vector<std::pair<std::string, int>> entries;
    for (const auto& receipt : chunk) entries.emplace_back(receipt, 0);
    auto result = queue_.ChangeVisibilityBatch(entries);
    if (!result.ok()) {
      log_.Error("release failed; messages reappear after their timeout",
                 LogFields().Add("error", result.status().ToString()));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  counters_.released += static_cast<int64_t>(receipts.size());
  if (metrics_) {
    for (size_t i = 0; i < receipts.size(); ++i) metrics_->MessageDone("release");
  }
}

int WorkerPool::AllowedInFlightLocked() const {
  int allowed = options_.max_in_flight;
  if (ewma_message_ms_ > 0) {
    // Messages the workers can finish before a fresh receive's visibility runs out.
    double budget = options_.workers * (options_.visibility_timeout_s * 1000.0) / ewma_message_ms_;
    if (budget < allowed) allowed = std::max(options_.workers, static_cast<int>(budget));
  }
  return allowed;
}

void WorkerPool::UpdateInFlightMetricLocked() {
  counters_.held = static_cast<int64_t>(held_.size());
  if (metrics_) metrics_->SetInFlight(counters_.held);
}

void WorkerPool::ReceiverLoop() {
  std::chrono::milliseconds error_backoff{100};
  while (true) {
    int room = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] {
        return stopping_ || (!paused_ && static_cast<int>(held_.size()) < AllowedInFlightLocked());
      });
      if (stopping_) return;
      room = AllowedInFlightLocked() - static_cast<int>(held_.size());
    }
    ReceiveOptions receive;
    receive.max_messages = std::min(room, kMaxBatch);
    receive.visibility_timeout_s = options_.visibility_timeout_s;
    receive.wait_seconds = options_.receive_wait_s;
    receive.abort = &abort_receive_;
    Result<std::vector<Message>> batch = queue_.Receive(receive);
    if (!batch.ok() && abort_receive_.load()) return;  // cut off by the shutdown
    if (!batch.ok()) {
      log_.Error("receive failed", LogFields().Add("error", batch.status().ToString()));
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait_for(lock, error_backoff, [this] { return stopping_; });
      error_backoff = std::min(error_backoff * 2, std::chrono::milliseconds(10000));
      continue;
    }
    error_backoff = std::chrono::milliseconds(100);
    int64_t now = clock_.NowMillis();
    std::vector<std::string> late;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) {
        for (const auto& message : *batch) late.push_back(message.receipt);
      } else {
        for (auto& message : *batch) {
          uint64_t id = next_id_++;
          Held held;
          held.message = std::move(message);
          held.received_ms = now;
          held.extended_ms = now;
          held_.emplace(id, std::move(held));
          pending_.push_back(id);
          ++counters_.received;
        }
        UpdateInFlightMetricLocked();
        work_cv_.notify_all();
        if (batch->empty() && options_.receive_wait_s == 0) {
          // No long poll available: avoid spinning on an empty queue.
          work_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
        }
      }
    }
    if (!late.empty()) {
      ReleaseNow(late);
      return;
    }
  }
}

void WorkerPool::WorkerLoop() {
  while (true) {
    uint64_t id = 0;
    Message message;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      id = pending_.front();
      pending_.pop_front();
      auto it = held_.find(id);
      if (it == held_.end()) continue;
      it->second.state = HeldState::kActive;
      message = it->second.message;
    }
    int64_t start_ms = clock_.NowMillis();
    MessageOptions message_options;
    message_options.cancel = &cancel_;
    RecordContext context{message.id, message.receive_count};
    context.force = ForceRequested(message.attributes);
    MessageResult result = ProcessMessage(processor_, message.body, context, message_options);
    {
      std::lock_guard<std::mutex> lock(mu_);
      double elapsed = static_cast<double>(clock_.NowMillis() - start_ms);
      ewma_message_ms_ = ewma_message_ms_ == 0 ? elapsed : 0.8 * ewma_message_ms_ + 0.2 * elapsed;
    }
    Finish(id, message, result);
  }
}

void WorkerPool::Finish(uint64_t id, const Message& message, const MessageResult& result) {
  if (!ClaimForFinish(id)) return;
  if (result.action == MessageAction::kRetry && IsEnvironmentReason(result.reason) &&
      HoldForEnvironment(id, result)) {
    return;
  }
  Status told = Acknowledge(message, result);
  if (IsNoSpace(told) && result.action != MessageAction::kRelease) {
    // The queue's own disk is full (the embedded queue): the acknowledgement did not commit.
    // Returned to the queue, the message would be received again and again while the disk
    // stays full, each receive counted; held, it is processed again here (a duplicate,
    // recognised by its outputs) and acknowledged once there is room.
    MessageResult held = result;
    held.action = MessageAction::kRetry;
    held.reason = Reason::kNoSpace;
    held.error_code.clear();
    held.message = "queue " + std::string(MessageActionName(result.action)) + ": " + told.message();
    if (HoldForEnvironment(id, held)) return;
  }
  if (!told.ok()) {
    log_.Error("queue update failed; the message will be delivered again",
               LogFields()
                   .Add("message_id", message.id)
                   .Add("action", MessageActionName(result.action))
                   .Add("error", told.ToString()));
  }
  LogMessage(message, result);
  if (metrics_) metrics_->MessageDone(MessageActionName(result.action));
  if (observer_) observer_(message, result);
  std::lock_guard<std::mutex> lock(mu_);
  CountFinishedLocked(id, result);
}

bool WorkerPool::ClaimForFinish(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(id);
  if (it != held_.end() && it->second.state != HeldState::kAbandoned) {
    it->second.state = HeldState::kFinishing;
    return true;
  }
  // Shutdown already gave the message back to the queue; acknowledging now could delete a
  // delivery that another worker holds.
  if (it != held_.end()) held_.erase(it);
  UpdateInFlightMetricLocked();
  finished_cv_.notify_all();
  work_cv_.notify_all();
  return false;
}

Status WorkerPool::Acknowledge(const Message& message, const MessageResult& result) {
  switch (result.action) {
    case MessageAction::kDelete:
      return queue_.Delete(message.receipt);
    case MessageAction::kRetry:
    case MessageAction::kDeadLetter: {
      Failure failure;
      failure.reason = result.reason_label();
      failure.permanent = result.action == MessageAction::kDeadLetter;
      if (!failure.permanent) {
        failure.retry_after_s = retry_.DelaySeconds(std::max(1, message.receive_count));
      }
      return queue_.Fail(message, failure);
    }
    case MessageAction::kRelease:
      return queue_.ChangeVisibility(message.receipt, 0);
  }
  return InternalError("unknown message action");
}

void WorkerPool::CountFinishedLocked(uint64_t id, const MessageResult& result) {
  switch (result.action) {
    case MessageAction::kDelete:
      ++counters_.deleted;
      break;
    case MessageAction::kRetry:
      ++counters_.retried;
      break;
    case MessageAction::kDeadLetter:
      ++counters_.dead_lettered;
      break;
    case MessageAction::kRelease:
      ++counters_.released;
      break;
  }
  held_.erase(id);
  // The pause ends when a record is written again (a test event or a skipped key proves
  // nothing about the store), or when no held message is left to prove it.
  bool wrote = std::any_of(result.records.begin(), result.records.end(),
                           [](const RecordResult& r) { return r.outcome == Outcome::kOk; });
  bool still_held = std::any_of(held_.begin(), held_.end(), [](const auto& entry) {
    return entry.second.state == HeldState::kWaiting;
  });
  if (paused_ && (wrote || !still_held) &&
      !(result.action == MessageAction::kRetry && IsEnvironmentReason(result.reason)) &&
      result.action != MessageAction::kRelease) {
    ResumeLocked();
  }
  UpdateInFlightMetricLocked();
  finished_cv_.notify_all();
  work_cv_.notify_all();
}

bool WorkerPool::HoldForEnvironment(uint64_t id, const MessageResult& result) {
  bool pause_began = false;
  int held_count = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_.find(id);
    if (stopping_ || it == held_.end()) return false;
    Held& held = it->second;
    held.state = HeldState::kWaiting;
    ++held.environment_attempts;
    int delay_s = std::min(kMaxEnvironmentRetryS, retry_.DelaySeconds(held.environment_attempts));
    held.retry_at_ms = clock_.NowMillis() + int64_t{delay_s} * 1000;
    ++counters_.held_back;
    pause_began = !paused_;
    if (pause_began) ++counters_.pauses;
    paused_ = true;
    pause_reason_ = result.reason;
    pause_detail_ = result.message;
    for (const auto& [other_id, other] : held_) {
      if (other.state == HeldState::kWaiting) ++held_count;
    }
    finished_cv_.notify_all();
  }
  if (metrics_) metrics_->MessageDone("hold");
  if (pause_began) {
    // The one loud line of the episode; each record still logs its own "warn" line.
    log_.Error(
        "paused: a fault of the environment fails every message; receiving stops and failed "
        "messages are held and retried here until it clears (none is dead-lettered for it)",
        LogFields()
            .Add("reason", result.reason_label())
            .Add("detail", result.message)
            .Add("held", held_count));
  }
  return true;
}

void WorkerPool::ResumeLocked() {
  paused_ = false;
  int due = 0;
  for (auto& [id, held] : held_) {
    if (held.state != HeldState::kWaiting) continue;
    held.state = HeldState::kPending;
    pending_.push_back(id);
    ++due;
  }
  log_.Info("resumed: the fault cleared (a message was written again); receiving resumes",
            LogFields().Add("reason", ReasonName(pause_reason_)).Add("retried_now", due));
  pause_reason_ = Reason::kNone;
  pause_detail_.clear();
  work_cv_.notify_all();
}

int WorkerPool::RetryHeldOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return 0;
  int64_t now = clock_.NowMillis();
  int due = 0;
  for (auto& [id, held] : held_) {
    if (held.state != HeldState::kWaiting || held.retry_at_ms > now) continue;
    held.state = HeldState::kPending;
    pending_.push_back(id);
    ++due;
  }
  if (due > 0) work_cv_.notify_all();
  return due;
}

Status WorkerPool::Readiness() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!paused_) return Status::Ok();
  return Status(StatusCode::kUnavailable,
                "paused (" + std::string(ReasonName(pause_reason_)) + "): " + pause_detail_,
                pause_reason_, true);
}

void WorkerPool::LogMessage(const Message& message, const MessageResult& result) {
  // Records log themselves; a message line is written only when there is no record line
  // that explains what happened to the message.
  bool explained =
      result.action == MessageAction::kDelete && !result.test_event && !result.records.empty();
  if (explained) return;
  LogFields line;
  line.Add("message_id", message.id)
      .Add("receive_count", message.receive_count)
      .Add("action", MessageActionName(result.action))
      .Add("records", result.records_total);
  if (result.test_event) line.Add("test_event", true);
  if (result.reason != Reason::kNone) line.Add("reason", result.reason_label());
  if (!result.message.empty()) line.Add("detail", result.message);
  log_.Log(result.action == MessageAction::kDelete ? LogLevel::kInfo : LogLevel::kWarn, "message",
           line);
}

int WorkerPool::HeartbeatOnce() {
  int64_t now = clock_.NowMillis();
  int64_t period_ms = int64_t{options_.heartbeat_s} * 1000;
  std::vector<std::pair<uint64_t, std::string>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, held] : held_) {
      if (held.state != HeldState::kPending && held.state != HeldState::kActive &&
          held.state != HeldState::kWaiting) {
        continue;
      }
      if (now - held.extended_ms >= period_ms) due.emplace_back(id, held.message.receipt);
    }
  }
  int extended = 0;
  for (const auto& chunk : Chunks(due)) {
    std::vector<std::pair<std::string, int>> entries;
    for (const auto& [id, receipt] : chunk) {
      entries.emplace_back(receipt, options_.visibility_timeout_s);
    }
    auto result = queue_.ChangeVisibilityBatch(entries);
    if (!result.ok()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < chunk.size() && i < result->size(); ++i) {
      if (!(*result)[i].ok()) continue;
      ++extended;
      auto it = held_.find(chunk[i].first);
      if (it != held_.end()) it->second.extended_ms = now;
    }
  }
  if (extended > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.heartbeats += extended;
    if (metrics_) metrics_->HeartbeatSent(extended);
  }
  return extended;
}

void WorkerPool::HeartbeatLoop() {
  auto next_stats = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait_for(lock, options_.tick, [this] { return heartbeat_stop_; });
      if (heartbeat_stop_) return;
    }
    HeartbeatOnce();
    RetryHeldOnce();
    if (metrics_ && options_.queue_stats_interval.count() > 0 &&
        std::chrono::steady_clock::now() >= next_stats) {
      next_stats = std::chrono::steady_clock::now() + options_.queue_stats_interval;
      Result<QueueStats> stats = queue_.Stats();
      if (stats.ok()) metrics_->SetQueueStats(*stats);
    }
  }
}

WorkerPoolCounters WorkerPool::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

}  // namespace thumbflow::pipeline
