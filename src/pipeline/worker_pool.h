// WorkerPool: receives S3 event messages from a Queue and turns every record of every
// message into thumbnails with a RecordProcessor, on `workers` threads.
//
// Per message (see message_processor.h for how records combine):
//   all records done ........... Delete
//   transient failure .......... Fail(transient, retry_after_s = RetryPolicy back-off by the
//                                message's receive count); the queue dead-letters it after
//                                its max receive count (SQS: the RedrivePolicy)
//   permanent failure .......... Fail(permanent, reason): the embedded queue dead-letters it
//                                with the reason; SqsQueue sends it to the DLQ and deletes it
//   malformed body ............. Fail(permanent, "not-an-event")
//   s3:TestEvent ............... Delete
//   fault of the environment ... held: see below
//
// Faults of the environment (IsEnvironmentReason: a full disk, a misconfigured store,
// credentials or policy refusing) fail every message alike, so retrying through the queue
// would only spend receive counts until healthy messages reached the DLQ as "max-receives".
// Instead the pool pauses: the receiver stops receiving (so no further receive is counted),
// the failed message stays held (its visibility extended by the heartbeat) and is retried
// in this process after the RetryPolicy back-off (capped at kMaxEnvironmentRetryS), never
// returned to the queue for it; Readiness() reports the fault, and one "error" line is
// logged when the pause begins and one "info" line when it ends. The first message whose
// thumbnails are written again ends the pause (or the last held message ending any other
// way): held messages are retried at once and receiving resumes. Only a crash while paused
// returns a held message to the queue (after its visibility timeout, one receive counted,
// as for any crash). An acknowledgement (or retry, or dead-lettering) that the queue
// cannot commit for lack of space is held the same way. Store outages (Unavailable) are
// not paused for: they are retried through the queue per message.
//
// Flow control: one receiver thread long-polls (wait_seconds, so the embedded queue wakes
// it as soon as an event commits; no fixed polling sleep) for at most as many messages as
// there is room for: held messages (received, not finished) never exceed max_in_flight,
// nor what the workers can finish within the visibility timeout at the measured
// per-message time. A heartbeat thread extends the visibility of every held message each
// `heartbeat` seconds (default: half the timeout), so long jobs are not redelivered.
//
// Shutdown: stop receiving (a waiting long poll is cut off, ReceiveOptions::abort, so an idle pool
// stops within about a second; messages of an answer arriving anyway are released at once);
// messages received but not started are made visible again at once (ChangeVisibility 0); messages
// being processed get the grace period to finish and be acknowledged; those still running when it
// ends are made visible again at once and their workers stop at the next step (before decoding or
// writing), without acknowledging. Nothing acknowledged is unfinished; nothing finished is lost (a
// finished but unacknowledged message is redelivered and recognised as a duplicate).
//
// Wiring (cli/worker_command.cc, and `thumbflow serve`):
//
//   MetricsRegistry registry;                       // also served on /metrics
//   pipeline::WorkerPool pool(queue, store, thumbnailer, config, clock, &registry);
//   StopSignals stop;                               // before any thread (core/stop_signal.h)
//   stop.OnSignal([&pool](int) { pool.RequestStop(); });
//   Status s = pool.Run();                          // returns after SIGTERM/SIGINT + shutdown
//
// or Start() ... Shutdown(grace) when the caller has its own main loop.
//
// Thread-safety: RequestStop() and HeartbeatOnce() may be called from any thread at any
// time; Start/Run/Shutdown from one controlling thread. The queue, store(s), thumbnailer,
// clock and registry must outlive the pool and be thread-safe (the ports promise it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "pipeline/message_processor.h"
#include "pipeline/pipeline_metrics.h"
#include "pipeline/record_processor.h"
#include "pipeline/retry_policy.h"
#include "queue/queue.h"

namespace thumbflow {

struct Config;

namespace pipeline {

struct WorkerPoolOptions {
  int workers = 1;
  int max_in_flight = 0;  // 0: 2 x workers
  int visibility_timeout_s = 60;
  int heartbeat_s = 0;      // 0: visibility_timeout_s / 2
  int receive_wait_s = 20;  // long poll; capped at the grace period (at least 1 s)
  std::chrono::milliseconds grace_period{25000};
  RetryOptions retry;
  uint64_t random_seed = 0;  // 0: random; fixed in tests for a reproducible back-off
  // How often queue depths are read into the metrics; 0: never.
  std::chrono::milliseconds queue_stats_interval{15000};
  // Real-time period of the heartbeat thread's check (the decision uses the Clock).
  std::chrono::milliseconds tick{500};
};

// From [pipeline]: workers (0: cores), max_in_flight, visibility_timeout (0: [queue]
// visibility_timeout_s), heartbeat, grace_period, retry_*; from [queue]: receive_wait_s.
WorkerPoolOptions WorkerPoolOptionsFromConfig(const Config& config);

// Counts since Start(), for tests and `status`-like callers.
struct WorkerPoolCounters {
  int64_t received = 0;
  int64_t deleted = 0;
  int64_t retried = 0;
  int64_t dead_lettered = 0;
  int64_t released = 0;
  int64_t held_back = 0;  // retries held in the process for a fault of the environment
  int64_t pauses = 0;     // times receiving paused for a fault of the environment
  int64_t heartbeats = 0;
  int64_t held = 0;  // right now
};

// Called once per finished message (after the queue was told), on a worker thread.
using MessageObserver = std::function<void(const Message&, const MessageResult&)>;

// The longest in-process back-off between retries of a message held for a fault of the
// environment: once the disk has room again (or the set-up is fixed) work resumes within it.
inline constexpr int kMaxEnvironmentRetryS = 30;

class WorkerPool {
 public:
  // The usual wiring: a RecordProcessor built from `config` ([output], [pipeline],
  // [thumbnails], [limits]) and pool options from [pipeline]. `metrics` may be null.
  // `output_store`: where thumbnails go when not in `store` (nullptr: `store`).
  WorkerPool(Queue& queue, ObjectStore& store, const Thumbnailer& thumbnailer, const Config& config,
             const Clock& clock, MetricsRegistry* metrics, Logger log,
             ObjectStore* output_store = nullptr);
  // Explicit options (tests, custom wiring).
  WorkerPool(Queue& queue, ObjectStore& store, const Thumbnailer& thumbnailer,
             RecordProcessorOptions record_options, WorkerPoolOptions options, const Clock& clock,
             MetricsRegistry* metrics, Logger log = {}, ObjectStore* output_store = nullptr);
  // Shuts down (with the configured grace period) if still running.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts the receiver, the workers and the heartbeat thread. FailedPrecondition when
  // already started.
  Status Start();
  // Start(), wait for RequestStop(), Shutdown(grace_period). Returns Start()'s error, or OK.
  Status Run();
  // Asks Run() to return; non-blocking, idempotent, callable from any thread.
  void RequestStop();
  // Blocking shutdown as described above; `grace` absent: the configured grace period.
  // Idempotent; does nothing when not started.
  void Shutdown(std::optional<std::chrono::milliseconds> grace = std::nullopt);

  // Extends the visibility of every held message whose last extension is at least
  // `heartbeat` old by the Clock; returns how many were extended. The heartbeat thread
  // calls it every tick; tests call it after moving a ManualClock.
  int HeartbeatOnce();
  // Hands every message held for a fault of the environment whose back-off is over (by the
  // Clock) back to the workers; returns how many. The heartbeat thread calls it every tick.
  int RetryHeldOnce();

  // OK while receiving; Unavailable naming the fault while paused for the environment.
  Status Readiness() const;

  // Called after each message; set before Start().
  void SetMessageObserver(MessageObserver observer) { observer_ = std::move(observer); }

  WorkerPoolCounters counters() const;
  const RecordProcessor& processor() const { return processor_; }
  const WorkerPoolOptions& options() const { return options_; }

 private:
  // kWaiting: failed for a fault of the environment, retried in this process at retry_at_ms.
  enum class HeldState { kPending, kActive, kWaiting, kFinishing, kAbandoned };
  struct Held {
    Message message;
    int64_t received_ms = 0;
    int64_t extended_ms = 0;  // when the visibility timeout was last (re)set, by the Clock
    HeldState state = HeldState::kPending;
    int environment_attempts = 0;
    int64_t retry_at_ms = 0;
  };

  void ReceiverLoop();
  void WorkerLoop();
  void HeartbeatLoop();
  void Finish(uint64_t id, const Message& message, const MessageResult& result);
  // Marks a held message as finishing; false (and forgets it) when shutdown abandoned it.
  bool ClaimForFinish(uint64_t id);
  // Tells the queue what became of the message: delete, retry later, dead-letter, release.
  Status Acknowledge(const Message& message, const MessageResult& result);
  void CountFinishedLocked(uint64_t id, const MessageResult& result);
  // Keeps a message that failed for a fault of the environment; false when stopping (then
  // it goes back to the queue as usual).
  bool HoldForEnvironment(uint64_t id, const MessageResult& result);
  // Ends a pause (a message ended otherwise); held messages become due at once.
  void ResumeLocked();
  void ReleaseNow(const std::vector<std::string>& receipts);
  int AllowedInFlightLocked() const;
  void UpdateInFlightMetricLocked();
  void LogMessage(const Message& message, const MessageResult& result);

  Queue& queue_;
  const Clock& clock_;
  WorkerPoolOptions options_;
  std::unique_ptr<PipelineMetrics> metrics_;
  Logger log_;
  RecordProcessor processor_;
  RetryPolicy retry_;
  MessageObserver observer_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;      // pending work, capacity, stop
  std::condition_variable finished_cv_;  // a held message finished
  std::map<uint64_t, Held> held_;
  std::deque<uint64_t> pending_;
  uint64_t next_id_ = 1;
  bool started_ = false;
  bool stop_requested_ = false;
  bool stopping_ = false;
  bool shut_down_ = false;
  bool heartbeat_stop_ = false;
  double ewma_message_ms_ = 0;
  bool paused_ = false;  // receiving stopped for a fault of the environment
  Reason pause_reason_ = Reason::kNone;
  std::string pause_detail_;
  WorkerPoolCounters counters_;
  CancelFlag cancel_{false};
  std::atomic<bool> abort_receive_{false};  // set by Shutdown(): cuts off a waiting Receive()

  std::thread receiver_;
  std::vector<std::thread> workers_;
  std::thread heartbeat_;
};

}  // namespace pipeline
}  // namespace thumbflow
