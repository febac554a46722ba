// Amazon SQS over the AWS JSON 1.0 protocol (POST / with X-Amz-Target: AmazonSQS.<Op>,
// Content-Type application/x-amz-json-1.0, SigV4 service "sqs"), in two layers:
//
//  - SqsClient: the wire operations, one method per SQS action, nothing more. Used by
//    SqsQueue and by set-up code and tests (CreateQueue, SetQueueAttributes).
//  - SqsQueue: the Queue port (queue/queue.h) on one SQS queue and its dead-letter queue.
//
// No curl, no JSON library and no SigV4 internals here: requests go through the HttpClient
// port and are signed with aws::Signer. Every failure is mapped by aws::MapAwsFailure
// (QueueDoesNotExist -> NotFound, throttling / 5xx / unreachable -> retryable Unavailable,
// other client errors -> InvalidArgument, 403 -> PermissionDenied); retries of whole requests
// are the HttpClient's business (NewRetryingHttpClient). Per-entry failures of batch actions
// become per-entry statuses, mapped by the same function (SenderFault -> as a 400 answer,
// otherwise as a 500 answer, i.e. retryable).
//
// Thread-safety: both classes are immutable after construction and may be shared by all
// workers; they are as thread-safe as the HttpClient and CredentialsProvider they are given.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/sigv4.h"
#include "core/clock.h"
#include "core/result.h"
#include "queue/queue.h"

namespace thumbflow::aws {

// Message attributes that SqsQueue adds to a dead letter beside the unchanged body. They are
// never shown as ordinary attributes (DeadLetter::attributes) and are dropped on Redrive.
inline constexpr char kSqsReasonAttribute[] = "thumbflow-reason";
inline constexpr char kSqsMessageIdAttribute[] = "thumbflow-message-id";
inline constexpr char kSqsReceiveCountAttribute[] = "thumbflow-receive-count";
inline constexpr char kSqsSentMsAttribute[] = "thumbflow-sent-ms";

// Queue attributes as SQS names them ("ApproximateNumberOfMessages", "RedrivePolicy", ...).
using SqsAttributes = std::map<std::string, std::string>;

// One entry of ListMessageMoveTasks.
struct SqsMoveTask {
  std::string status;       // RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED
  std::string task_handle;  // SQS gives it only while the task is RUNNING
  int64_t moved = 0;        // ApproximateNumberOfMessagesMoved
  std::string failure_reason;
};

class SqsClient {
 public:
  // `endpoint`: "https://sqs.us-east-1.amazonaws.com" or "http://127.0.0.1:5000" (no path).
  // `http` and `credentials` are shared; `clock` (signing time) is not owned and must outlive
  // the client. InvalidArgument when the endpoint is not an http(s) URL.
  static Result<std::unique_ptr<SqsClient>> Create(std::string endpoint, std::string region,
                                                   std::shared_ptr<HttpClient> http,
                                                   std::shared_ptr<CredentialsProvider> credentials,
                                                   const Clock* clock);

  const std::string& endpoint() const { return endpoint_; }
  const std::string& region() const { return region_; }

  // NotFound when there is no such queue. `owner_account` (12 digits) looks the name up in
  // another account (needed to resolve a dead-letter queue from its ARN).
  Result<std::string> GetQueueUrl(const std::string& name, const std::string& owner_account = {});
  // Returns the queue URL. Creating a queue that exists with the same attributes succeeds.
  Result<std::string> CreateQueue(const std::string& name, const SqsAttributes& attributes = {});
  Status DeleteQueue(const std::string& queue_url);
  Status SetQueueAttributes(const std::string& queue_url, const SqsAttributes& attributes);
  // `names` empty means "All".
  Result<SqsAttributes> GetQueueAttributes(const std::string& queue_url,
                                           const std::vector<std::string>& names = {});
  Status PurgeQueue(const std::string& queue_url);

  // Returns the message id. Attributes are sent as DataType String.
  Result<std::string> SendMessage(const std::string& queue_url, const SendRequest& request);
  // 1..10 entries (InvalidArgument otherwise); one result per entry, in order.
  Result<std::vector<Result<std::string>>> SendMessageBatch(
      const std::string& queue_url, const std::vector<SendRequest>& requests);
  // Asks for all system attributes (ApproximateReceiveCount, SentTimestamp,
  // ApproximateFirstReceiveTimestamp) and all message attributes. String and Number message
  // attributes keep their StringValue; Binary ones are given base64-encoded.
  Result<std::vector<Message>> ReceiveMessage(const std::string& queue_url,
                                              const ReceiveOptions& options);
  Status DeleteMessage(const std::string& queue_url, const std::string& receipt);
  // 1..10 entries; one status per entry, in order.
  Result<std::vector<Status>> DeleteMessageBatch(const std::string& queue_url,
                                                 const std::vector<std::string>& receipts);
  // `seconds` 0..43200.
  Status ChangeMessageVisibility(const std::string& queue_url, const std::string& receipt,
                                 int seconds);
  // Starts a message-move task from `source_arn` (a dead-letter queue) to
  // `destination_arn` (empty: each message's original source queue); returns its TaskHandle.
  Result<std::string> StartMessageMoveTask(const std::string& source_arn,
                                           const std::string& destination_arn);
  // The most recent message-move tasks of `source_arn`, newest first (1..10 of them).
  Result<std::vector<SqsMoveTask>> ListMessageMoveTasks(const std::string& source_arn,
                                                        int max_results = 10);
  Result<std::vector<Status>> ChangeMessageVisibilityBatch(
      const std::string& queue_url, const std::vector<std::pair<std::string, int>>& entries);

  // One signed AWS JSON 1.0 call: `body` is the request JSON, the result the response JSON
  // (raw text). Non-2xx answers and transport failures are mapped with MapAwsFailure, naming
  // `operation` and `queue` (a URL or name, for the message). Public for tests and for actions
  // the methods above do not cover.
  // `abort`: when it becomes true the exchange is cut off (see ReceiveOptions::abort) and
  // the call fails with Aborted.
  Result<std::string> Call(std::string_view operation, const std::string& body,
                           std::string_view queue, const std::atomic<bool>* abort = nullptr);

 private:
  SqsClient() = default;

  std::string endpoint_;
  std::string host_;  // Host header value: "sqs.us-east-1.amazonaws.com" or "127.0.0.1:5000"
  std::string region_;
  std::shared_ptr<HttpClient> http_;
  std::shared_ptr<CredentialsProvider> credentials_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<Signer> signer_;
};

struct SqsQueueOptions {
  // Empty: derived from `queue` when it is a URL, else required.
  std::string endpoint;
  std::string region = "us-east-1";
  // The queue's URL ("https://sqs.us-east-1.amazonaws.com/123456789012/thumbnails") or name.
  std::string queue;
  // The dead-letter queue's URL or name. Empty: the deadLetterTargetArn of the queue's own
  // RedrivePolicy, resolved once by NewSqsQueue; no DLQ when the queue has no policy.
  std::string dlq;
  // WaitTimeSeconds of the receives that ListDeadLetters and Redrive use to walk the DLQ.
  // Real SQS needs long polling (>= 1) to see every message of a small queue; 0 is for
  // emulators that always answer from all messages.
  int scan_wait_seconds = 1;
  // Largest body Send accepts, checked before sending. 0: the queue's MaximumMessageSize.
  int64_t max_body_bytes = 0;
};

// The Queue port on SQS. Mapping of the port's operations:
//   Send/SendBatch/Receive/Delete/DeleteBatch/ChangeVisibility(Batch)/Purge -> the SQS action
//     of the same meaning on the queue. Receive asks for ApproximateReceiveCount,
//     SentTimestamp and ApproximateFirstReceiveTimestamp (receive_count, sent_ms,
//     first_receive_ms).
//   Fail(transient)  -> ChangeMessageVisibility(retry_after_s, clamped to 0..43200).
//   Fail(permanent)  -> SendMessage of the ORIGINAL body and attributes to the DLQ with
//     thumbflow-reason (and, when they fit in SQS's 10 attributes, thumbflow-receive-count
//     and thumbflow-sent-ms), then DeleteMessage. Without a DLQ the message is left alone, to
//     be retried after its visibility timeout, and the result is FailedPrecondition saying
//     so (reason: the failure's reason).
//   Stats            -> GetQueueAttributes: visible, in_flight, delayed from the queue;
//     dlq = visible + in-flight + delayed messages of the DLQ (0 without one). oldest_age_s
//     is always 0: SQS exposes the age of the oldest message only through CloudWatch.
//   ListDeadLetters  -> receives from the DLQ (each entry invisible for 10 s, extended while
//     the walk lasts, then visible again at once), so ApproximateReceiveCount of DLQ messages
//     grows by one per list: SQS has no read without a receive.
//     reason: thumbflow-reason, or Reason::kMaxReceives ("max-receives") for messages SQS
//     moved itself (the queue's RedrivePolicy);
//     receive_count: thumbflow-receive-count, else the DLQ's count minus this look;
//     sent_ms: thumbflow-sent-ms, else SentTimestamp; dead_ms: SentTimestamp in the DLQ (for
//     messages SQS moved itself that is still the original send time).
//   Redrive          -> receive from the DLQ, SendMessage(Batch) to the queue with the
//     original body and attributes (a new message: receive count 0, new id), then delete
//     from the DLQ. Entries not selected are made visible again.
//   PurgeDeadLetters -> PurgeQueue on the DLQ (FailedPrecondition without one).
// Port contract differences that SQS imposes: deleting with a stale receipt may delete the
// newer delivery too (SQS accepts any receipt the message ever had); PurgeQueue is allowed
// once per 60 s per queue on AWS (PurgeQueueInProgress -> retryable FailedPrecondition).
class SqsQueue : public Queue {
 public:
  const std::string& queue_url() const { return queue_url_; }
  const std::string& dlq_url() const { return dlq_url_; }  // empty: no DLQ
  SqsClient& client() { return *client_; }

  Result<std::string> Send(const SendRequest& request) override;
  Result<std::vector<Result<std::string>>> SendBatch(
      const std::vector<SendRequest>& requests) override;
  Result<std::vector<Message>> Receive(const ReceiveOptions& options) override;
  Status Delete(const std::string& receipt) override;
  Result<std::vector<Status>> DeleteBatch(const std::vector<std::string>& receipts) override;
  Status ChangeVisibility(const std::string& receipt, int seconds) override;
  Result<std::vector<Status>> ChangeVisibilityBatch(
      const std::vector<std::pair<std::string, int>>& receipts_and_seconds) override;
  Status Fail(const Message& message, const Failure& failure) override;
  Result<QueueStats> Stats() override;
  Result<std::vector<DeadLetter>> ListDeadLetters(int max_items) override;
  Result<int64_t> Redrive(const std::vector<std::string>& ids) override;
  Status Purge() override;
  Status PurgeDeadLetters() override;

  // The DLQ's own counts (visible, in_flight, delayed; dlq and oldest_age_s 0):
  // FailedPrecondition without a DLQ.
  Result<QueueStats> DeadLetterDepth();

  // Moves every dead letter back to the queue (`thumbflow dlq redrive --all`).
  //   kMoveTask: SQS's message-move task (StartMessageMoveTask from the DLQ's ARN to the
  //     queue's ARN), then ListMessageMoveTasks every `poll_pause` until the task is no longer
  //     RUNNING; FAILED / CANCELLED is an error naming SQS's FailureReason. SQS runs the move
  //     itself and keeps every message's body and attributes (thumbflow-* ones included; the
  //     pipeline ignores them). SQS accepts a task only on a queue that is some queue's
  //     dead-letter target, and emulators may not implement it.
  //   kCopy: Redrive({}) below: receive, send to the queue, delete from the DLQ only after
  //     the send succeeded (a failure leaves a duplicate, never a loss).
  //   kAuto: kMoveTask; when SQS refuses to start the task (any error: not implemented,
  //     not a dead-letter target, not permitted), kCopy, with the refusal in `fallback`.
  //     Once a task has started its failure is returned, never copied over.
  enum class RedriveMethod { kAuto, kMoveTask, kCopy };
  struct RedriveAllResult {
    int64_t moved = 0;        // the task's ApproximateNumberOfMessagesMoved, or copies made
    std::string method;       // "message-move-task" or "copy"
    std::string task_handle;  // the task's handle (message-move-task)
    std::string fallback;     // why kAuto copied instead (empty otherwise)
    // Aborted when stopped (SetScanStop); `moved` then counts what was moved before.
    Status interrupted;
  };
  Result<RedriveAllResult> RedriveAll(RedriveMethod method,
                                      const std::function<void()>& poll_pause);

  // Redrive by copy, as Redrive(ids), counting in `moved` each message sent to the queue,
  // also when it fails or is stopped midway (`thumbflow dlq redrive` reports what it moved).
  Status RedriveCopy(const std::vector<std::string>& ids, int64_t& moved);

  // ListDeadLetters' and Redrive's walks of the DLQ stop before their next receive once
  // `*stop` is true (a Ctrl-C): the message in hand is finished (sent, then deleted from the
  // DLQ), the rest of the page is not touched, every message they hold is made visible again
  // at once, as at their end, and they return Aborted. RedriveAll stops waiting for its
  // message-move task (which SQS carries on) and says so in `interrupted`.
  // Not owned; null (the default): never stopped.
  void SetScanStop(const std::atomic<bool>* stop) { scan_stop_ = stop; }

 private:
  friend Result<std::unique_ptr<SqsQueue>> NewSqsQueue(SqsQueueOptions, std::shared_ptr<HttpClient>,
                                                       std::shared_ptr<CredentialsProvider>,
                                                       const Clock*);
  SqsQueue() = default;

  // Receives the DLQ page by page and hands each message once to `visit`, which returns true
  // when it took care of the message (deleted it) and false to leave it. Stops after
  // `max_messages`, when `done` (may be empty) says so, when the DLQ has no unseen message
  // left, or at the first error; then makes every message not taken care of visible again.
  Status ScanDeadLetters(int max_messages, const std::function<Result<bool>(const Message&)>& visit,
                         const std::function<bool()>& done);
  bool stopped() const { return scan_stop_ && scan_stop_->load(); }

  std::unique_ptr<SqsClient> client_;
  std::string queue_url_;
  std::string dlq_url_;
  int scan_wait_seconds_ = 1;
  const Clock* clock_ = nullptr;                  // not owned; extends the walk's holds
  const std::atomic<bool>* scan_stop_ = nullptr;  // not owned
  int64_t max_body_bytes_ = 256 * 1024;           // the queue's MaximumMessageSize
};

// Resolves the queue (GetQueueUrl when a name is given) and its DLQ (the explicit one, else
// the RedrivePolicy's deadLetterTargetArn via GetQueueUrl with QueueOwnerAWSAccountId). So a
// missing queue is NotFound here, at start-up, not at the first receive. `clock` is not owned.
Result<std::unique_ptr<SqsQueue>> NewSqsQueue(SqsQueueOptions options,
                                              std::shared_ptr<HttpClient> http,
                                              std::shared_ptr<CredentialsProvider> credentials,
                                              const Clock* clock);

// Creates the queue `queue_options.name` and its DLQ "<name>-dlq" with the port's settings
// (VisibilityTimeout, MessageRetentionPeriod, MaximumMessageSize, and a RedrivePolicy with
// maxReceiveCount; the DLQ keeps dlq_retention_s), then opens them as NewSqsQueue does.
// Creating queues that exist with the same attributes succeeds (SQS's CreateQueue rule); with
// other attributes SQS answers QueueAlreadyExists (InvalidArgument). options.queue and
// options.dlq are ignored. SQS's smallest MaximumMessageSize is 1024; a smaller
// max_body_bytes is enforced by this side only.
Result<std::unique_ptr<SqsQueue>> CreateSqsQueues(SqsQueueOptions options,
                                                  const QueueOptions& queue_options,
                                                  std::shared_ptr<HttpClient> http,
                                                  std::shared_ptr<CredentialsProvider> credentials,
                                                  const Clock* clock);

// "arn:aws:sqs:us-east-1:123456789012:thumbnails-dlq" -> {"123456789012", "thumbnails-dlq"};
// InvalidArgument for anything else.
Result<std::pair<std::string, std::string>> ParseSqsQueueArn(std::string_view arn);

}  // namespace thumbflow::aws
