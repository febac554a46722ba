// Queue: the port for a message queue with Amazon SQS standard-queue semantics (the embedded
// SQLite queue, SQS itself, an in-memory fake). One Queue object is one named queue together
// with its dead-letter queue.
//
// Delivery is at-least-once. A received message stays invisible for its visibility timeout,
// then becomes visible again unless it was deleted. All methods are thread-safe.
// Failures: InvalidArgument for bad input (body empty, too large or not UTF-8, delay outside
// 0..900, batch empty or over 10, malformed receipt, wait outside 0..20, max outside 1..10),
// FailedPrecondition when a receipt is stale for ChangeVisibility/Fail (the message was
// received again, or is gone), NotFound for an unknown queue, Unavailable (retryable) when
// the backing service cannot be reached.
//
// Reason codes the queue itself gives dead letters: "max-receives" (received more than
// max_receive_count times); Fail() passes the caller's reason through.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace thumbflow {

using MessageAttributes = std::map<std::string, std::string>;

struct SendRequest {
  std::string body;  // UTF-8
  MessageAttributes attributes;
  int delay_seconds = 0;  // 0..900
};

struct Message {
  std::string id;
  std::string receipt;  // valid for this delivery only
  std::string body;
  MessageAttributes attributes;
  int receive_count = 0;         // including this delivery
  int64_t sent_ms = 0;           // when it was first sent
  int64_t first_receive_ms = 0;  // when it was first received
};

struct ReceiveOptions {
  int max_messages = 1;                     // 1..10
  std::optional<int> visibility_timeout_s;  // default: the queue's
  int wait_seconds = 0;                     // 0..20; returns as soon as a message arrives
  // When set and it becomes true, a waiting Receive() gives up its wait promptly (an SQS long
  // poll whose answer has not begun is cut off within about a second, local queues within their
  // poll period): OK with no messages, or Aborted. An SQS answer already arriving is returned in
  // full, its messages invisible: the stopping caller makes them visible again at once
  // (ChangeVisibilityBatch 0). Used to stop an idle worker without waiting out a 20 s poll.
  const std::atomic<bool>* abort = nullptr;
};

struct QueueStats {
  int64_t visible = 0;
  int64_t in_flight = 0;
  int64_t delayed = 0;
  int64_t dlq = 0;
  int64_t oldest_age_s = 0;  // age of the oldest message not yet deleted; 0 when empty
};

struct DeadLetter {
  std::string id;
  std::string body;  // the original body, unchanged
  MessageAttributes attributes;
  int receive_count = 0;
  std::string reason;  // stable reason code ("truncated", "max-receives", ...)
  int64_t sent_ms = 0;
  int64_t first_receive_ms = 0;  // 0 when the queue does not know it (SQS)
  int64_t dead_ms = 0;           // when it was dead-lettered: its last receive
};

// The settings of one named queue and its dead-letter queue (on SQS: the queue's attributes
// and its redrive policy). Adapters that cannot honour a field say so in their header.
struct QueueOptions {
  std::string name = "thumbnails";
  int visibility_timeout_s = 60;         // 0..43200; default for Receive()
  int max_receive_count = 3;             // 1..1000; the next receive dead-letters instead
  int64_t retention_s = 4 * 86400;       // 60..1209600; counted from the send
  int64_t dlq_retention_s = 10 * 86400;  // 60..1209600; counted from the dead-lettering
  int64_t max_body_bytes = 256 * 1024;   // 1..262144
};

// How a processing failure is reported back to the queue.
struct Failure {
  std::string reason;      // stable reason code
  bool permanent = false;  // true: dead-letter now; false: retry
  int retry_after_s = 0;   // transient only: when the message becomes visible again
};

class Queue {
 public:
  virtual ~Queue() = default;

  // Returns the new message id once the message is durably stored.
  virtual Result<std::string> Send(const SendRequest& request) = 0;
  // At most 10 entries; one result per entry, in order (per-entry failures do not fail
  // the whole batch).
  virtual Result<std::vector<Result<std::string>>> SendBatch(
      const std::vector<SendRequest>& requests) = 0;

  virtual Result<std::vector<Message>> Receive(const ReceiveOptions& options) = 0;

  // Deleting with a stale receipt (the message was received again since) does nothing to
  // the newer delivery; deleting a message that is already gone succeeds.
  virtual Status Delete(const std::string& receipt) = 0;
  virtual Result<std::vector<Status>> DeleteBatch(const std::vector<std::string>& receipts) = 0;

  // Makes the delivery invisible for `seconds` from now (0: visible at once).
  virtual Status ChangeVisibility(const std::string& receipt, int seconds) = 0;
  virtual Result<std::vector<Status>> ChangeVisibilityBatch(
      const std::vector<std::pair<std::string, int>>& receipts_and_seconds) = 0;

  // Reports a processing failure: permanent failures move the message to the DLQ with the
  // reason (the body unchanged); transient ones make it visible after retry_after_s.
  virtual Status Fail(const Message& message, const Failure& failure) = 0;

  virtual Result<QueueStats> Stats() = 0;
  virtual Result<std::vector<DeadLetter>> ListDeadLetters(int max_items) = 0;
  // Moves dead letters back to the source queue with a receive count of 0; `ids` empty
  // means all. Returns how many moved.
  virtual Result<int64_t> Redrive(const std::vector<std::string>& ids) = 0;
  virtual Status Purge() = 0;
  virtual Status PurgeDeadLetters() = 0;
};

}  // namespace thumbflow
