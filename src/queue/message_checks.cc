#include "queue/message_checks.h"

#include "core/strings.h"
#include "core/utf8.h"

#include <stdlib.h>  // arc4random_buf (glibc >= 2.36)

#include <cctype>
#include <charconv>

namespace thumbflow::internal {

Status CheckSendRequest(const SendRequest& request, int64_t max_body_bytes) {
  if (request.body.empty()) return InvalidArgumentError("message body is empty");
  if (static_cast<int64_t>(request.body.size()) > max_body_bytes) {
    return InvalidArgumentError("message body is " + std::to_string(request.body.size()) +
                                " bytes, more than the limit of " + std::to_string(max_body_bytes));
  }
  if (!IsValidUtf8(request.body)) return InvalidArgumentError("message body is not valid UTF-8");
  if (request.delay_seconds < 0 || request.delay_seconds > kMaxDelaySeconds) {
    return InvalidArgumentError("delay_seconds must be from 0 to 900, not " +
                                std::to_string(request.delay_seconds));
  }
  for (const auto& [name, value] : request.attributes) {
    if (name.empty()) return InvalidArgumentError("message attribute name is empty");
    if (!IsValidUtf8(name) || !IsValidUtf8(value)) {
      return InvalidArgumentError("message attribute " + name + " is not valid UTF-8");
    }
  }
  return Status::Ok();
}

Status CheckVisibility(int seconds) {
  if (seconds < 0 || seconds > kMaxVisibilitySeconds) {
    return InvalidArgumentError("visibility timeout must be from 0 to 43200 s, not " +
                                std::to_string(seconds));
  }
  return Status::Ok();
}

Status CheckReceiveOptions(const ReceiveOptions& options) {
  if (options.max_messages < 1 || options.max_messages > kMaxBatch) {
    return InvalidArgumentError("max messages must be from 1 to 10, not " +
                                std::to_string(options.max_messages));
  }
  if (options.wait_seconds < 0 || options.wait_seconds > kMaxWaitSeconds) {
    return InvalidArgumentError("wait must be from 0 to 20 s, not " +
                                std::to_string(options.wait_seconds));
  }
  if (options.visibility_timeout_s) return CheckVisibility(*options.visibility_timeout_s);
  return Status::Ok();
}

Status CheckBatchSize(size_t size) {
  if (size == 0) return InvalidArgumentError("batch is empty");
  if (size > static_cast<size_t>(kMaxBatch)) {
    return InvalidArgumentError("batch has " + std::to_string(size) +
                                " entries, more than the limit of 10");
  }
  return Status::Ok();
}

Status CheckQueueOptions(const QueueOptions& o) {
  if (o.name.empty() || o.name.size() > 80) {
    return InvalidArgumentError("queue name must have 1 to 80 characters");
  }
  for (char c : o.name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return InvalidArgumentError("queue name " + o.name +
                                  ": only letters, digits, '-' and '_' are allowed");
    }
  }
  RETURN_IF_ERROR(CheckVisibility(o.visibility_timeout_s));
  if (o.max_receive_count < 1 || o.max_receive_count > 1000) {
    return InvalidArgumentError("max_receive_count must be from 1 to 1000");
  }
  if (o.retention_s < 60 || o.retention_s > 1209600 || o.dlq_retention_s < 60 ||
      o.dlq_retention_s > 1209600) {
    return InvalidArgumentError("retention must be from 60 to 1209600 s");
  }
  if (o.max_body_bytes < 1 || o.max_body_bytes > kMaxBodyBytesLimit) {
    return InvalidArgumentError("max_body_bytes must be from 1 to 262144");
  }
  return Status::Ok();
}

std::vector<std::string> NewMessageIds(size_t count) {
  std::vector<unsigned char> random(16 * count);
  arc4random_buf(random.data(), random.size());
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    unsigned char* b = random.data() + 16 * i;
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    std::string hex = HexEncode(std::string_view(reinterpret_cast<const char*>(b), 16));
    // 8-4-4-4-12, as SQS writes its UUIDs.
    for (int dash : {20, 16, 12, 8}) hex.insert(static_cast<size_t>(dash), 1, '-');
    out.push_back(std::move(hex));
  }
  return out;
}

std::string NewMessageId() { return std::move(NewMessageIds(1)[0]); }

std::vector<int64_t> NewDeliveryTokens(size_t count) {
  std::vector<uint64_t> raw(count);
  arc4random_buf(raw.data(), raw.size() * sizeof(uint64_t));
  std::vector<int64_t> out(count);
  for (size_t i = 0; i < count; ++i) {
    uint64_t v = raw[i] & 0x7FFFFFFFFFFFFFFFull;
    while (v == 0) {
      arc4random_buf(&v, sizeof v);
      v &= 0x7FFFFFFFFFFFFFFFull;
    }
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}

int64_t NewDeliveryToken() { return NewDeliveryTokens(1)[0]; }

std::string MakeReceipt(int64_t sequence, int64_t token) {
  return std::to_string(sequence) + "." + std::to_string(token);
}

Status ParseReceipt(const std::string& receipt, int64_t* sequence, int64_t* token) {
  auto bad = [&] { return InvalidArgumentError("receipt handle " + receipt + " is not valid"); };
  size_t dot = receipt.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 >= receipt.size()) return bad();
  const char* begin = receipt.data();
  const char* end = begin + receipt.size();
  auto r1 = std::from_chars(begin, begin + dot, *sequence);
  if (r1.ec != std::errc() || r1.ptr != begin + dot || *sequence <= 0) return bad();
  auto r2 = std::from_chars(begin + dot + 1, end, *token);
  if (r2.ec != std::errc() || r2.ptr != end || *token <= 0) return bad();
  return Status::Ok();
}

}  // namespace thumbflow::internal
