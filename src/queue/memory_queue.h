// MemoryQueue: an in-memory fake of the Queue port with the same semantics as the embedded
// SQLite queue (the conformance suite runs against both). Nothing is durable. Thread-safe.
// Time comes from the injected clock (which must outlive the queue); long-poll waits are
// real time and wake at once when a message becomes receivable through this object.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>

#include "core/clock.h"
#include "queue/queue.h"

namespace thumbflow {

class MemoryQueue final : public Queue {
 public:
  // Fails with InvalidArgument for bad options.
  static Result<std::unique_ptr<MemoryQueue>> Create(const QueueOptions& options,
                                                     const Clock& clock);

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

 private:
  struct Entry {
    std::string id;
    std::string body;
    MessageAttributes attributes;
    int64_t sent_ms = 0;
    int64_t visible_at_ms = 0;
    int receive_count = 0;
    int64_t first_receive_ms = 0;
    int64_t receipt = 0;
    bool dead = false;
    std::string reason;
    int64_t dead_ms = 0;
  };
  MemoryQueue(const QueueOptions& options, const Clock& clock) : options_(options), clock_(clock) {}
  // All below: caller holds mu_.
  std::string AddLocked(const SendRequest& request, int64_t now);
  void ExpireLocked(int64_t now);
  std::vector<Message> ReceiveLocked(const ReceiveOptions& options, int64_t now);
  Status DeleteLocked(const std::string& receipt);
  Status ChangeVisibilityLocked(const std::string& receipt, int seconds, int64_t now);

  const QueueOptions options_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t next_seq_ = 1;
  std::map<int64_t, Entry> entries_;  // by sequence: send order
};

}  // namespace thumbflow
