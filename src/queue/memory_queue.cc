#include "queue/memory_queue.h"

#include <algorithm>
#include <chrono>

#include "queue/message_checks.h"

namespace thumbflow {

using namespace internal;  // NOLINT(google-build-using-namespace): checks only

namespace {
Status Stale(const std::string& receipt) {
  return FailedPreconditionError("receipt " + receipt +
                                 " is stale: the message was received again or is gone");
}
}  // namespace

Result<std::unique_ptr<MemoryQueue>> MemoryQueue::Create(const QueueOptions& options,
                                                         const Clock& clock) {
  RETURN_IF_ERROR(CheckQueueOptions(options));
  return std::unique_ptr<MemoryQueue>(new MemoryQueue(options, clock));
}

std::string MemoryQueue::AddLocked(const SendRequest& request, int64_t now) {
  Entry e;
  e.id = NewMessageId();
  e.body = request.body;
  e.attributes = request.attributes;
  e.sent_ms = now;
  e.visible_at_ms = now + int64_t{request.delay_seconds} * 1000;
  entries_.emplace(next_seq_++, e);
  cv_.notify_all();
  return e.id;
}

void MemoryQueue::ExpireLocked(int64_t now) {
  const int64_t cutoff = now - options_.retention_s * 1000;
  const int64_t dlq_cutoff = now - options_.dlq_retention_s * 1000;
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    return e.dead ? e.dead_ms < dlq_cutoff : e.sent_ms < cutoff;
  });
}

Result<std::string> MemoryQueue::Send(const SendRequest& request) {
  RETURN_IF_ERROR(CheckSendRequest(request, options_.max_body_bytes));
  std::lock_guard<std::mutex> lock(mu_);
  return AddLocked(request, clock_.NowMillis());
}

Result<std::vector<Result<std::string>>> MemoryQueue::SendBatch(
    const std::vector<SendRequest>& requests) {
  RETURN_IF_ERROR(CheckBatchSize(requests.size()));
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMillis();
  std::vector<Result<std::string>> out;
  for (const auto& request : requests) {
    Status check = CheckSendRequest(request, options_.max_body_bytes);
    if (check.ok()) {
      out.emplace_back(AddLocked(request, now));
    } else {
      out.emplace_back(check);
    }
  }
  return out;
}

std::vector<Message> MemoryQueue::ReceiveLocked(const ReceiveOptions& options, int64_t now) {
  ExpireLocked(now);
  const int visibility = options.visibility_timeout_s.value_or(options_.visibility_timeout_s);
  // Oldest-visible first, as the SQLite adapter orders by visible_at.
  std::vector<std::pair<int64_t, int64_t>> ready;  // (visible_at, seq)
  for (const auto& [seq, e] : entries_) {
    if (!e.dead && e.visible_at_ms <= now) ready.emplace_back(e.visible_at_ms, seq);
  }
  std::sort(ready.begin(), ready.end());
  std::vector<Message> out;
  for (const auto& [visible_at, seq] : ready) {
    if (static_cast<int>(out.size()) >= options.max_messages) break;
    Entry& e = entries_.at(seq);
    if (e.receive_count >= options_.max_receive_count) {
      e.dead = true;
      e.reason = ReasonName(Reason::kMaxReceives);
      e.dead_ms = now;
      e.receipt = 0;
      continue;
    }
    e.receive_count += 1;
    if (e.first_receive_ms == 0) e.first_receive_ms = now;
    e.receipt = NewDeliveryToken();
    e.visible_at_ms = now + int64_t{visibility} * 1000;
    Message m;
    m.id = e.id;
    m.receipt = MakeReceipt(seq, e.receipt);
    m.body = e.body;
    m.attributes = e.attributes;
    m.receive_count = e.receive_count;
    m.sent_ms = e.sent_ms;
    m.first_receive_ms = e.first_receive_ms;
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Message>> MemoryQueue::Receive(const ReceiveOptions& options) {
  RETURN_IF_ERROR(CheckReceiveOptions(options));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_seconds);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto out = ReceiveLocked(options, clock_.NowMillis());
    if (!out.empty() || std::chrono::steady_clock::now() >= deadline) return out;
    if (options.abort != nullptr && options.abort->load()) return out;
    // Also re-check periodically: delayed messages come due as the clock moves.
    cv_.wait_until(
        lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
  }
}

Status MemoryQueue::DeleteLocked(const std::string& receipt) {
  int64_t seq, token;
  RETURN_IF_ERROR(ParseReceipt(receipt, &seq, &token));
  auto it = entries_.find(seq);
  if (it != entries_.end() && !it->second.dead && it->second.receipt == token) entries_.erase(it);
  return Status::Ok();
}

Status MemoryQueue::Delete(const std::string& receipt) {
  std::lock_guard<std::mutex> lock(mu_);
  return DeleteLocked(receipt);
}

Result<std::vector<Status>> MemoryQueue::DeleteBatch(const std::vector<std::string>& receipts) {
  RETURN_IF_ERROR(CheckBatchSize(receipts.size()));
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Status> out;
  for (const auto& r : receipts) out.push_back(DeleteLocked(r));
  return out;
}

Status MemoryQueue::ChangeVisibilityLocked(const std::string& receipt, int seconds, int64_t now) {
  RETURN_IF_ERROR(CheckVisibility(seconds));
  int64_t seq, token;
  RETURN_IF_ERROR(ParseReceipt(receipt, &seq, &token));
  auto it = entries_.find(seq);
  if (it == entries_.end() || it->second.dead || it->second.receipt != token) {
    return Stale(receipt);
  }
  it->second.visible_at_ms = now + int64_t{seconds} * 1000;
  if (seconds == 0) cv_.notify_all();
  return Status::Ok();
}

Status MemoryQueue::ChangeVisibility(const std::string& receipt, int seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  return ChangeVisibilityLocked(receipt, seconds, clock_.NowMillis());
}

Result<std::vector<Status>> MemoryQueue::ChangeVisibilityBatch(
    const std::vector<std::pair<std::string, int>>& receipts_and_seconds) {
  RETURN_IF_ERROR(CheckBatchSize(receipts_and_seconds.size()));
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Status> out;
  for (const auto& [r, s] : receipts_and_seconds) {
    out.push_back(ChangeVisibilityLocked(r, s, clock_.NowMillis()));
  }
  return out;
}

Status MemoryQueue::Fail(const Message& message, const Failure& failure) {
  if (!failure.permanent) return ChangeVisibility(message.receipt, failure.retry_after_s);
  int64_t seq, token;
  RETURN_IF_ERROR(ParseReceipt(message.receipt, &seq, &token));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(seq);
  if (it == entries_.end() || it->second.dead || it->second.receipt != token) {
    return Stale(message.receipt);
  }
  it->second.dead = true;
  it->second.reason =
      failure.reason.empty() ? std::string(ReasonName(Reason::kInternal)) : failure.reason;
  it->second.dead_ms = clock_.NowMillis();
  it->second.receipt = 0;
  return Status::Ok();
}

Result<QueueStats> MemoryQueue::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMillis();
  ExpireLocked(now);
  QueueStats s;
  int64_t oldest = 0;
  for (const auto& [seq, e] : entries_) {
    if (e.dead) {
      ++s.dlq;
      continue;
    }
    if (e.visible_at_ms <= now) {
      ++s.visible;
    } else if (e.receive_count > 0) {
      ++s.in_flight;
    } else {
      ++s.delayed;
    }
    if (oldest == 0 || e.sent_ms < oldest) oldest = e.sent_ms;
  }
  s.oldest_age_s = oldest == 0 ? 0 : std::max<int64_t>(0, (now - oldest) / 1000);
  return s;
}

Result<std::vector<DeadLetter>> MemoryQueue::ListDeadLetters(int max_items) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked(clock_.NowMillis());
  std::vector<std::pair<std::pair<int64_t, int64_t>, DeadLetter>> all;
  for (const auto& [seq, e] : entries_) {
    if (!e.dead) continue;
    DeadLetter d{e.id, e.body, e.attributes, e.receive_count, e.reason, e.sent_ms, e.dead_ms};
    all.push_back({{e.dead_ms, seq}, std::move(d)});
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<DeadLetter> out;
  for (auto& [key, d] : all) {
    if (max_items > 0 && static_cast<int>(out.size()) >= max_items) break;
    out.push_back(std::move(d));
  }
  return out;
}

Result<int64_t> MemoryQueue::Redrive(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMillis();
  ExpireLocked(now);
  int64_t moved = 0;
  for (auto& [seq, e] : entries_) {
    if (!e.dead) continue;
    if (!ids.empty() && std::find(ids.begin(), ids.end(), e.id) == ids.end()) continue;
    e.dead = false;
    e.reason.clear();
    e.dead_ms = 0;
    e.receive_count = 0;
    e.first_receive_ms = 0;
    e.receipt = 0;
    e.sent_ms = now;
    e.visible_at_ms = now;
    ++moved;
  }
  if (moved > 0) cv_.notify_all();
  return moved;
}

Status MemoryQueue::Purge() {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(entries_, [](const auto& kv) { return !kv.second.dead; });
  return Status::Ok();
}

Status MemoryQueue::PurgeDeadLetters() {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(entries_, [](const auto& kv) { return kv.second.dead; });
  return Status::Ok();
}

}  // namespace thumbflow
