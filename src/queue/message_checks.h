// Checks and identifiers shared by the queue adapters so that every adapter refuses the same
// input with the same message (the conformance suite relies on it). Namespace internal: not
// part of the queue port; only adapters of it use these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "queue/queue.h"

namespace thumbflow::internal {

inline constexpr int kMaxBatch = 10;
inline constexpr int kMaxDelaySeconds = 900;
inline constexpr int kMaxWaitSeconds = 20;
inline constexpr int kMaxVisibilitySeconds = 43200;
inline constexpr int64_t kMaxBodyBytesLimit = 256 * 1024;

// InvalidArgument naming the problem: empty / too large / not UTF-8 body, delay out of range,
// attribute name empty or attribute not UTF-8.
Status CheckSendRequest(const SendRequest& request, int64_t max_body_bytes);
Status CheckReceiveOptions(const ReceiveOptions& options);
Status CheckVisibility(int seconds);
Status CheckBatchSize(size_t size);
Status CheckQueueOptions(const QueueOptions& options);

// A new message id: a random (version 4) UUID.
std::string NewMessageId();
// `count` new message ids, with one call for random bytes (one system call) for all.
std::vector<std::string> NewMessageIds(size_t count);
// A random positive token that identifies one delivery.
int64_t NewDeliveryToken();
// `count` of them, with one call for random bytes for all.
std::vector<int64_t> NewDeliveryTokens(size_t count);

// Receipt handles are "<message sequence>.<delivery token>" (opaque to callers).
std::string MakeReceipt(int64_t sequence, int64_t token);
// InvalidArgument when `receipt` is not one this queue could have handed out.
Status ParseReceipt(const std::string& receipt, int64_t* sequence, int64_t* token);

}  // namespace thumbflow::internal
