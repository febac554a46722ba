#include "aws/sqs_queue.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <limits>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "aws/aws_error.h"
#include "aws/checksums.h"
#include "queue/message_checks.h"

namespace thumbflow::aws {
namespace {

using nlohmann::json;

constexpr int kMaxBatch = 10;
constexpr int kMaxVisibilitySeconds = 43'200;
constexpr int kMaxMessageAttributes = 10;
// How long a message received while walking the DLQ stays invisible: the walk must not meet
// a message twice, so it holds every message it has seen until it ends, extending them
// (ChangeMessageVisibility, which SQS does not count as a receive) once half of this has
// passed, and then makes them visible at once. Short, so that a walk killed outright
// (SIGKILL, a second Ctrl-C) hides the DLQ for at most this long.
constexpr int kScanVisibilitySeconds = 10;
constexpr int kMaxScanPages = 1'000;
// Fail(permanent) first extends the delivery by this much: it proves the receipt is still
// the live one and keeps the message hidden while it is copied to the DLQ.
constexpr int kDeadLetterMoveSeconds = 60;
constexpr int64_t kDefaultMaxBodyBytes = 256 * 1024;

bool IsUrl(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

// "scheme://authority" of a URL, and the authority alone; false when not an http(s) URL.
bool SplitOrigin(std::string_view url, std::string* origin, std::string* authority) {
  if (!IsUrl(url)) return false;
  const size_t start = url.find("://") + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  if (end == start) return false;
  *origin = std::string(url.substr(0, end));
  *authority = std::string(url.substr(start, end - start));
  return true;
}

// The queue's name for messages: the last path segment of a URL, or the name itself.
std::string_view QueueLabel(std::string_view queue) {
  if (!IsUrl(queue)) return queue;
  const size_t slash = queue.find_last_of('/');
  return slash == std::string_view::npos ? queue : queue.substr(slash + 1);
}

bool IsInternalAttribute(const std::string& name) { return name.rfind("thumbflow-", 0) == 0; }

MessageAttributes WithoutInternalAttributes(const MessageAttributes& attributes) {
  MessageAttributes out;
  for (const auto& [name, value] : attributes) {
    if (!IsInternalAttribute(name)) out.emplace(name, value);
  }
  return out;
}

int64_t ToInt64(const std::string& text, int64_t fallback = 0) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : fallback;
}

std::string AttributeOr(const MessageAttributes& attributes, const std::string& name,
                        std::string fallback = {}) {
  auto it = attributes.find(name);
  return it == attributes.end() ? fallback : it->second;
}

// nlohmann's dump throws type_error 316 on invalid UTF-8; that is the caller's bad input.
Result<std::string> Dump(const json& j) {
  try {
    return j.dump();
  } catch (const json::exception&) {
    return InvalidArgumentError("SQS request holds text that is not valid UTF-8");
  }
}

Result<json> ParseResponse(std::string_view operation, const std::string& text) {
  if (text.empty()) return json::object();
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return UnavailableError(std::string(operation) +
                            ": unreadable SQS response: " + text.substr(0, 200));
  }
  return j;
}

std::string StringMember(const json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json AttributesJson(const MessageAttributes& attributes) {
  json out = json::object();
  for (const auto& [name, value] : attributes) {
    out[name] = {{"DataType", "String"}, {"StringValue", value}};
  }
  return out;
}

json SendEntryJson(const SendRequest& request) {
  json entry = {{"MessageBody", request.body}};
  if (request.delay_seconds != 0) entry["DelaySeconds"] = request.delay_seconds;
  if (!request.attributes.empty()) entry["MessageAttributes"] = AttributesJson(request.attributes);
  return entry;
}

// A per-entry failure of a batch, mapped by the one mapping function as if it were the
// answer to a single request: the sender's fault as a 400, the service's as a 500.
Status EntryFailure(std::string_view operation, std::string_view queue, const json& failed) {
  const std::string code = StringMember(failed, "Code");
  const std::string message = StringMember(failed, "Message");
  // A boolean on the wire; moto writes the string "true" for SendMessageBatch entries.
  auto fault = failed.find("SenderFault");
  const bool sender_fault =
      fault != failed.end() && ((fault->is_boolean() && fault->get<bool>()) ||
                                (fault->is_string() && fault->get<std::string>() == "true"));
  HttpResponse response;
  response.status = sender_fault ? 400 : 500;
  response.headers.emplace_back("Content-Type", "application/x-amz-json-1.0");
  response.body = json{{"__type", code}, {"message", message}}.dump(-1, ' ', false,
                                                                    json::error_handler_t::replace);
  return MapAwsFailure(AwsCall{operation, QueueLabel(queue), {}, "sqs"}, response)
      .WithContext("batch entry " + StringMember(failed, "Id"));
}

// Reads Successful[] / Failed[] of a batch answer into one status per entry ("0".."n-1").
template <typename T>
Result<std::vector<Result<T>>> BatchResults(std::string_view operation, std::string_view queue,
                                            const json& response, size_t n,
                                            T (*from_success)(const json&)) {
  std::vector<Result<T>> out(
      n, Result<T>(InternalError(std::string(operation) + ": entry missing from the answer")));
  auto index_of = [n](const json& entry) -> std::optional<size_t> {
    const std::string id = StringMember(entry, "Id");
    size_t i = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), i);
    if (ec != std::errc() || end != id.data() + id.size() || i >= n) return std::nullopt;
    return i;
  };
  if (auto it = response.find("Successful"); it != response.end() && it->is_array()) {
    for (const json& entry : *it) {
      if (auto i = index_of(entry)) out[*i] = from_success(entry);
    }
  }
  if (auto it = response.find("Failed"); it != response.end() && it->is_array()) {
    for (const json& entry : *it) {
      if (auto i = index_of(entry)) out[*i] = EntryFailure(operation, queue, entry);
    }
  }
  return out;
}

std::string MessageIdOf(const json& entry) { return StringMember(entry, "MessageId"); }
bool SuccessMarker(const json&) { return true; }

std::vector<Status> ToStatuses(const std::vector<Result<bool>>& results) {
  std::vector<Status> out;
  out.reserve(results.size());
  for (const Result<bool>& r : results) out.push_back(r.ok() ? Status::Ok() : r.status());
  return out;
}

Message ParseMessage(const json& m) {
  Message out;
  out.id = StringMember(m, "MessageId");
  out.receipt = StringMember(m, "ReceiptHandle");
  out.body = StringMember(m, "Body");
  if (auto it = m.find("Attributes"); it != m.end() && it->is_object()) {
    out.receive_count = static_cast<int>(ToInt64(StringMember(*it, "ApproximateReceiveCount")));
    out.sent_ms = ToInt64(StringMember(*it, "SentTimestamp"));
    out.first_receive_ms = ToInt64(StringMember(*it, "ApproximateFirstReceiveTimestamp"));
  }
  if (auto it = m.find("MessageAttributes"); it != m.end() && it->is_object()) {
    for (const auto& [name, value] : it->items()) {
      if (!value.is_object()) continue;
      if (value.contains("StringValue")) {
        out.attributes[name] = StringMember(value, "StringValue");
      } else if (value.contains("BinaryValue")) {
        out.attributes[name] = StringMember(value, "BinaryValue");
      }
    }
  }
  return out;
}

// A dead letter is known by the id its message had in the source queue: SQS keeps the id
// when it moves a message itself; Fail() records it in an attribute.
std::string DeadLetterId(const Message& m) {
  return AttributeOr(m.attributes, kSqsMessageIdAttribute, m.id);
}

bool IsErrorCode(const Status& status, std::string_view code) {
  return status.error_code() == code ||
         status.error_code().ends_with(std::string(".") + std::string(code)) ||
         status.error_code().ends_with(std::string("#") + std::string(code));
}

}  // namespace

// ---- SqsClient -------------------------------------------------------------------------

Result<std::unique_ptr<SqsClient>> SqsClient::Create(
    std::string endpoint, std::string region, std::shared_ptr<HttpClient> http,
    std::shared_ptr<CredentialsProvider> credentials, const Clock* clock) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  std::string origin, authority;
  if (!SplitOrigin(endpoint, &origin, &authority) || origin != endpoint) {
    return InvalidArgumentError("SQS endpoint must be http(s)://host[:port], got \"" + endpoint +
                                "\"");
  }
  if (region.empty()) return InvalidArgumentError("SQS region is empty");
  std::unique_ptr<SqsClient> client(new SqsClient());
  client->endpoint_ = std::move(endpoint);
  client->host_ = std::move(authority);
  client->region_ = std::move(region);
  client->http_ = std::move(http);
  client->credentials_ = std::move(credentials);
  client->clock_ = clock;
  client->signer_ = std::make_unique<Signer>();
  return client;
}

Result<std::string> SqsClient::Call(std::string_view operation, const std::string& body,
                                    std::string_view queue, const std::atomic<bool>* abort) {
  const AwsCall call{operation, QueueLabel(queue), {}, "sqs"};
  Result<Credentials> credentials = credentials_->GetCredentials();
  if (!credentials.ok()) {
    return credentials.status().WithContext(std::string(operation) + " sqs://" +
                                            std::string(QueueLabel(queue)));
  }
  SignableRequest signable;
  signable.method = "POST";
  signable.path = "/";
  signable.headers = {{"Host", host_},
                      {"Content-Type", "application/x-amz-json-1.0"},
                      {"X-Amz-Target", "AmazonSQS." + std::string(operation)}};
  signable.payload_hash = Sha256Hex(body);
  SigningParams params;
  params.region = region_;
  params.service = "sqs";
  params.time_ms = clock_->NowMillis();
  Result<SigningResult> signed_request = signer_->Sign(signable, *credentials, params);
  if (!signed_request.ok()) return signed_request.status().WithContext(std::string(operation));

  HttpRequest request;
  request.method = "POST";
  request.url = endpoint_ + "/";
  request.headers = std::move(signable.headers);
  request.body = body;
  request.abort = abort;
  Result<HttpResponse> response = http_->Send(request);
  if (!response.ok() && response.status().code() == StatusCode::kAborted) {
    return response.status();
  }
  if (!response.ok() || response->status < 200 || response->status >= 300) {
    return MapAwsFailure(call, response, request.url);
  }
  return std::move(response->body);
}

namespace {

// Runs one action with a JSON request and returns the parsed JSON answer.
Result<json> CallJson(SqsClient& client, std::string_view operation, const json& request,
                      std::string_view queue, const std::atomic<bool>* abort = nullptr) {
  ASSIGN_OR_RETURN(std::string body, Dump(request));
  ASSIGN_OR_RETURN(std::string answer, client.Call(operation, body, queue, abort));
  return ParseResponse(operation, answer);
}

}  // namespace

Result<std::string> SqsClient::GetQueueUrl(const std::string& name,
                                           const std::string& owner_account) {
  json request = {{"QueueName", name}};
  if (!owner_account.empty()) request["QueueOwnerAWSAccountId"] = owner_account;
  ASSIGN_OR_RETURN(json answer, CallJson(*this, "GetQueueUrl", request, name));
  std::string url = StringMember(answer, "QueueUrl");
  if (url.empty())
    return UnavailableError("GetQueueUrl sqs://" + name + ": answer has no QueueUrl");
  return url;
}

Result<std::string> SqsClient::CreateQueue(const std::string& name,
                                           const SqsAttributes& attributes) {
  json request = {{"QueueName", name}};
  if (!attributes.empty()) request["Attributes"] = attributes;
  ASSIGN_OR_RETURN(json answer, CallJson(*this, "CreateQueue", request, name));
  std::string url = StringMember(answer, "QueueUrl");
  if (url.empty())
    return UnavailableError("CreateQueue sqs://" + name + ": answer has no QueueUrl");
  return url;
}

Status SqsClient::DeleteQueue(const std::string& queue_url) {
  return CallJson(*this, "DeleteQueue", {{"QueueUrl", queue_url}}, queue_url).status();
}

Status SqsClient::SetQueueAttributes(const std::string& queue_url,
                                     const SqsAttributes& attributes) {
  json request = {{"QueueUrl", queue_url}, {"Attributes", attributes}};
  Result<json> answer = CallJson(*this, "SetQueueAttributes", request, queue_url);
  return answer.ok() ? Status::Ok() : answer.status();
}

Result<SqsAttributes> SqsClient::GetQueueAttributes(const std::string& queue_url,
                                                    const std::vector<std::string>& names) {
  json request = {{"QueueUrl", queue_url},
                  {"AttributeNames", names.empty() ? std::vector<std::string>{"All"} : names}};
  ASSIGN_OR_RETURN(json answer, CallJson(*this, "GetQueueAttributes", request, queue_url));
  SqsAttributes out;
  if (auto it = answer.find("Attributes"); it != answer.end() && it->is_object()) {
    for (const auto& [name, value] : it->items()) {
      if (value.is_string()) out[name] = value.get<std::string>();
    }
  }
  return out;
}

Status SqsClient::PurgeQueue(const std::string& queue_url) {
  Result<json> answer = CallJson(*this, "PurgeQueue", {{"QueueUrl", queue_url}}, queue_url);
  if (answer.ok()) return Status::Ok();
  if (IsErrorCode(answer.status(), "PurgeQueueInProgress")) {
    return Status(StatusCode::kFailedPrecondition, answer.status().message(),
                  answer.status().error_code(), /*retryable=*/true);
  }
  return answer.status();
}

Result<std::string> SqsClient::SendMessage(const std::string& queue_url,
                                           const SendRequest& request) {
  json body = SendEntryJson(request);
  body["QueueUrl"] = queue_url;
  ASSIGN_OR_RETURN(json answer, CallJson(*this, "SendMessage", body, queue_url));
  std::string id = StringMember(answer, "MessageId");
  if (id.empty()) return UnavailableError("SendMessage: answer has no MessageId");
  return id;
}

Result<std::vector<Result<std::string>>> SqsClient::SendMessageBatch(
    const std::string& queue_url, const std::vector<SendRequest>& requests) {
  RETURN_IF_ERROR(internal::CheckBatchSize(requests.size()));
  // An entry that cannot be written as JSON (not UTF-8) fails alone, as SQS fails entries.
  std::vector<std::optional<Status>> refused(requests.size());
  json entries = json::array();
  for (size_t i = 0; i < requests.size(); ++i) {
    json entry = SendEntryJson(requests[i]);
    entry["Id"] = std::to_string(i);
    if (Result<std::string> text = Dump(entry); !text.ok()) {
      refused[i] = text.status();
      continue;
    }
    entries.push_back(std::move(entry));
  }
  std::vector<Result<std::string>> out(requests.size(),
                                       Result<std::string>(InternalError("not sent")));
  if (!entries.empty()) {
    ASSIGN_OR_RETURN(json answer,
                     CallJson(*this, "SendMessageBatch",
                              {{"QueueUrl", queue_url}, {"Entries", entries}}, queue_url));
    ASSIGN_OR_RETURN(out, BatchResults<std::string>("SendMessageBatch", queue_url, answer,
                                                    requests.size(), &MessageIdOf));
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    if (refused[i]) out[i] = *refused[i];
  }
  return out;
}

Result<std::vector<Message>> SqsClient::ReceiveMessage(const std::string& queue_url,
                                                       const ReceiveOptions& options) {
  RETURN_IF_ERROR(internal::CheckReceiveOptions(options));
  json request = {{"QueueUrl", queue_url},
                  {"MaxNumberOfMessages", options.max_messages},
                  {"WaitTimeSeconds", options.wait_seconds},
                  // AttributeNames is the deprecated spelling; older services know only it.
                  {"AttributeNames", {"All"}},
                  {"MessageSystemAttributeNames", {"All"}},
                  {"MessageAttributeNames", {"All"}}};
  if (options.visibility_timeout_s) {
    if (*options.visibility_timeout_s < 0 ||
        *options.visibility_timeout_s > kMaxVisibilitySeconds) {
      return InvalidArgumentError("visibility timeout must be 0..43200 s");
    }
    request["VisibilityTimeout"] = *options.visibility_timeout_s;
  }
  ASSIGN_OR_RETURN(json answer,
                   CallJson(*this, "ReceiveMessage", request, queue_url, options.abort));
  std::vector<Message> out;
  if (auto it = answer.find("Messages"); it != answer.end() && it->is_array()) {
    for (const json& m : *it) {
      if (m.is_object()) out.push_back(ParseMessage(m));
    }
  }
  return out;
}

Status SqsClient::DeleteMessage(const std::string& queue_url, const std::string& receipt) {
  Result<json> answer = CallJson(*this, "DeleteMessage",
                                 {{"QueueUrl", queue_url}, {"ReceiptHandle", receipt}}, queue_url);
  return answer.ok() ? Status::Ok() : answer.status();
}

Result<std::vector<Status>> SqsClient::DeleteMessageBatch(
    const std::string& queue_url, const std::vector<std::string>& receipts) {
  RETURN_IF_ERROR(internal::CheckBatchSize(receipts.size()));
  json entries = json::array();
  for (size_t i = 0; i < receipts.size(); ++i) {
    entries.push_back({{"Id", std::to_string(i)}, {"ReceiptHandle", receipts[i]}});
  }
  ASSIGN_OR_RETURN(json answer,
                   CallJson(*this, "DeleteMessageBatch",
                            {{"QueueUrl", queue_url}, {"Entries", entries}}, queue_url));
  ASSIGN_OR_RETURN(auto results, BatchResults<bool>("DeleteMessageBatch", queue_url, answer,
                                                    receipts.size(), &SuccessMarker));
  return ToStatuses(results);
}

Status SqsClient::ChangeMessageVisibility(const std::string& queue_url, const std::string& receipt,
                                          int seconds) {
  if (seconds < 0 || seconds > kMaxVisibilitySeconds) {
    return InvalidArgumentError("visibility timeout must be 0..43200 s, got " +
                                std::to_string(seconds));
  }
  Result<json> answer = CallJson(
      *this, "ChangeMessageVisibility",
      {{"QueueUrl", queue_url}, {"ReceiptHandle", receipt}, {"VisibilityTimeout", seconds}},
      queue_url);
  return answer.ok() ? Status::Ok() : answer.status();
}

Result<std::string> SqsClient::StartMessageMoveTask(const std::string& source_arn,
                                                    const std::string& destination_arn) {
  json request = {{"SourceArn", source_arn}};
  if (!destination_arn.empty()) request["DestinationArn"] = destination_arn;
  ASSIGN_OR_RETURN(json answer, CallJson(*this, "StartMessageMoveTask", request, source_arn));
  std::string handle = StringMember(answer, "TaskHandle");
  if (handle.empty()) return UnavailableError("StartMessageMoveTask answered no TaskHandle");
  return handle;
}

Result<std::vector<SqsMoveTask>> SqsClient::ListMessageMoveTasks(const std::string& source_arn,
                                                                 int max_results) {
  ASSIGN_OR_RETURN(json answer, CallJson(*this, "ListMessageMoveTasks",
                                         {{"SourceArn", source_arn},
                                          {"MaxResults", std::clamp(max_results, 1, 10)}},
                                         source_arn));
  std::vector<SqsMoveTask> out;
  if (auto it = answer.find("Results"); it != answer.end() && it->is_array()) {
    for (const json& entry : *it) {
      if (!entry.is_object()) continue;
      SqsMoveTask task;
      task.status = StringMember(entry, "Status");
      task.task_handle = StringMember(entry, "TaskHandle");
      task.failure_reason = StringMember(entry, "FailureReason");
      if (auto m = entry.find("ApproximateNumberOfMessagesMoved");
          m != entry.end() && m->is_number_integer()) {
        task.moved = m->get<int64_t>();
      }
      out.push_back(std::move(task));
    }
  }
  return out;
}

Result<std::vector<Status>> SqsClient::ChangeMessageVisibilityBatch(
    const std::string& queue_url, const std::vector<std::pair<std::string, int>>& entries) {
  RETURN_IF_ERROR(internal::CheckBatchSize(entries.size()));
  json list = json::array();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].second < 0 || entries[i].second > kMaxVisibilitySeconds) {
      return InvalidArgumentError("visibility timeout must be 0..43200 s, got " +
                                  std::to_string(entries[i].second));
    }
    list.push_back({{"Id", std::to_string(i)},
                    {"ReceiptHandle", entries[i].first},
                    {"VisibilityTimeout", entries[i].second}});
  }
  ASSIGN_OR_RETURN(json answer, CallJson(*this, "ChangeMessageVisibilityBatch",
                                         {{"QueueUrl", queue_url}, {"Entries", list}}, queue_url));
  ASSIGN_OR_RETURN(auto results, BatchResults<bool>("ChangeMessageVisibilityBatch", queue_url,
                                                    answer, entries.size(), &SuccessMarker));
  return ToStatuses(results);
}

// ---- SqsQueue --------------------------------------------------------------------------

Result<std::pair<std::string, std::string>> ParseSqsQueueArn(std::string_view arn) {
  // arn:partition:sqs:region:account:name
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) break;
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  if (parts.size() != 5 || parts[0] != "arn" || parts[2] != "sqs" || parts[4].empty() ||
      start >= arn.size() || arn.find(':', start) != std::string_view::npos) {
    return InvalidArgumentError("not an SQS queue ARN: \"" + std::string(arn) + "\"");
  }
  return std::make_pair(std::string(parts[4]), std::string(arn.substr(start)));
}

Result<std::unique_ptr<SqsQueue>> NewSqsQueue(SqsQueueOptions options,
                                              std::shared_ptr<HttpClient> http,
                                              std::shared_ptr<CredentialsProvider> credentials,
                                              const Clock* clock) {
  if (options.queue.empty()) return InvalidArgumentError("SQS queue URL or name is empty");
  std::string endpoint = options.endpoint;
  if (endpoint.empty()) {
    std::string authority;
    if (!SplitOrigin(options.queue, &endpoint, &authority)) {
      return InvalidArgumentError("no SQS endpoint given and queue \"" + options.queue +
                                  "\" is not a URL");
    }
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqsClient> client,
      SqsClient::Create(endpoint, options.region, std::move(http), std::move(credentials), clock));
  std::unique_ptr<SqsQueue> queue(new SqsQueue());
  queue->scan_wait_seconds_ = std::clamp(options.scan_wait_seconds, 0, 20);
  queue->clock_ = clock;
  if (IsUrl(options.queue)) {
    queue->queue_url_ = options.queue;
  } else {
    ASSIGN_OR_RETURN(queue->queue_url_, client->GetQueueUrl(options.queue));
  }
  // Also proves that the queue exists when a URL was given.
  ASSIGN_OR_RETURN(
      SqsAttributes attributes,
      client->GetQueueAttributes(queue->queue_url_, {"RedrivePolicy", "MaximumMessageSize"}));
  queue->max_body_bytes_ = options.max_body_bytes > 0
                               ? options.max_body_bytes
                               : ToInt64(attributes["MaximumMessageSize"], kDefaultMaxBodyBytes);
  if (queue->max_body_bytes_ <= 0) queue->max_body_bytes_ = kDefaultMaxBodyBytes;
  if (!options.dlq.empty()) {
    if (IsUrl(options.dlq)) {
      queue->dlq_url_ = options.dlq;
    } else {
      ASSIGN_OR_RETURN(queue->dlq_url_, client->GetQueueUrl(options.dlq));
    }
  } else if (auto it = attributes.find("RedrivePolicy"); it != attributes.end()) {
    const json policy = json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    const std::string arn = policy.is_object() ? StringMember(policy, "deadLetterTargetArn") : "";
    if (arn.empty()) {
      return InvalidArgumentError("RedrivePolicy of " + queue->queue_url_ +
                                  " has no deadLetterTargetArn: " + it->second);
    }
    ASSIGN_OR_RETURN(auto account_and_name, ParseSqsQueueArn(arn));
    ASSIGN_OR_RETURN(queue->dlq_url_,
                     client->GetQueueUrl(account_and_name.second, account_and_name.first));
  }
  queue->client_ = std::move(client);
  return queue;
}

Result<std::unique_ptr<SqsQueue>> CreateSqsQueues(SqsQueueOptions options,
                                                  const QueueOptions& queue_options,
                                                  std::shared_ptr<HttpClient> http,
                                                  std::shared_ptr<CredentialsProvider> credentials,
                                                  const Clock* clock) {
  RETURN_IF_ERROR(internal::CheckQueueOptions(queue_options));
  if (options.endpoint.empty()) return InvalidArgumentError("SQS endpoint is empty");
  ASSIGN_OR_RETURN(std::unique_ptr<SqsClient> client,
                   SqsClient::Create(options.endpoint, options.region, http, credentials, clock));
  const std::string dlq_name = queue_options.name + "-dlq";
  ASSIGN_OR_RETURN(
      std::string dlq_url,
      client->CreateQueue(
          dlq_name, {{"MessageRetentionPeriod", std::to_string(queue_options.dlq_retention_s)}}));
  ASSIGN_OR_RETURN(SqsAttributes dlq, client->GetQueueAttributes(dlq_url, {"QueueArn"}));
  if (dlq["QueueArn"].empty()) return UnavailableError("GetQueueAttributes gave no QueueArn");
  const json policy = {{"deadLetterTargetArn", dlq["QueueArn"]},
                       {"maxReceiveCount", std::to_string(queue_options.max_receive_count)}};
  const int64_t max_size = std::max<int64_t>(1024, queue_options.max_body_bytes);
  ASSIGN_OR_RETURN(std::string url,
                   client->CreateQueue(
                       queue_options.name,
                       {{"VisibilityTimeout", std::to_string(queue_options.visibility_timeout_s)},
                        {"MessageRetentionPeriod", std::to_string(queue_options.retention_s)},
                        {"MaximumMessageSize", std::to_string(max_size)},
                        {"RedrivePolicy", policy.dump()}}));
  options.queue = url;
  options.dlq = dlq_url;
  options.max_body_bytes = queue_options.max_body_bytes;
  return NewSqsQueue(std::move(options), std::move(http), std::move(credentials), clock);
}

Result<std::string> SqsQueue::Send(const SendRequest& request) {
  RETURN_IF_ERROR(internal::CheckSendRequest(request, max_body_bytes_));
  return client_->SendMessage(queue_url_, request);
}

Result<std::vector<Result<std::string>>> SqsQueue::SendBatch(
    const std::vector<SendRequest>& requests) {
  RETURN_IF_ERROR(internal::CheckBatchSize(requests.size()));
  // Entries this side refuses fail alone; the others go out in one request.
  std::vector<Result<std::string>> out(requests.size(), Result<std::string>(InternalError("")));
  std::vector<SendRequest> valid;
  std::vector<size_t> where;
  for (size_t i = 0; i < requests.size(); ++i) {
    Status checked = internal::CheckSendRequest(requests[i], max_body_bytes_);
    if (!checked.ok()) {
      out[i] = checked;
    } else {
      valid.push_back(requests[i]);
      where.push_back(i);
    }
  }
  if (valid.empty()) return out;
  ASSIGN_OR_RETURN(auto sent, client_->SendMessageBatch(queue_url_, valid));
  for (size_t k = 0; k < where.size(); ++k) out[where[k]] = std::move(sent[k]);
  return out;
}

Result<std::vector<Message>> SqsQueue::Receive(const ReceiveOptions& options) {
  return client_->ReceiveMessage(queue_url_, options);
}

Status SqsQueue::Delete(const std::string& receipt) {
  return client_->DeleteMessage(queue_url_, receipt);
}

Result<std::vector<Status>> SqsQueue::DeleteBatch(const std::vector<std::string>& receipts) {
  return client_->DeleteMessageBatch(queue_url_, receipts);
}

Status SqsQueue::ChangeVisibility(const std::string& receipt, int seconds) {
  RETURN_IF_ERROR(internal::CheckVisibility(seconds));
  return client_->ChangeMessageVisibility(queue_url_, receipt, seconds);
}

Result<std::vector<Status>> SqsQueue::ChangeVisibilityBatch(
    const std::vector<std::pair<std::string, int>>& receipts_and_seconds) {
  return client_->ChangeMessageVisibilityBatch(queue_url_, receipts_and_seconds);
}

Status SqsQueue::Fail(const Message& message, const Failure& failure) {
  if (!failure.permanent) {
    return client_->ChangeMessageVisibility(
        queue_url_, message.receipt, std::clamp(failure.retry_after_s, 0, kMaxVisibilitySeconds));
  }
  const std::string reason =
      failure.reason.empty() ? std::string(ReasonName(Reason::kInternal)) : failure.reason;
  if (dlq_url_.empty()) {
    return Status(StatusCode::kFailedPrecondition,
                  "queue " + queue_url_ + " has no dead-letter queue: message " + message.id +
                      " (" + reason + ") is left to be retried after its visibility timeout",
                  ReasonFromName(reason), /*retryable=*/false);
  }
  // Extending the delivery first refuses a stale receipt (the message was received again or
  // is gone) before anything is copied, and keeps the message hidden during the move.
  Status live =
      client_->ChangeMessageVisibility(queue_url_, message.receipt, kDeadLetterMoveSeconds);
  if (!live.ok()) return live.WithContext("dead-letter message " + message.id);
  SendRequest dead;
  dead.body = message.body;
  dead.attributes = WithoutInternalAttributes(message.attributes);
  // SQS allows 10 attributes. The reason and the original id always travel (original
  // attributes give way to them only when the message already had 9 or 10); the receive
  // count and send time only when they fit.
  while (dead.attributes.size() + 2 > static_cast<size_t>(kMaxMessageAttributes)) {
    dead.attributes.erase(std::prev(dead.attributes.end()));
  }
  dead.attributes[kSqsReasonAttribute] = reason;
  dead.attributes[kSqsMessageIdAttribute] = message.id;
  if (dead.attributes.size() + 2 <= static_cast<size_t>(kMaxMessageAttributes)) {
    dead.attributes[kSqsReceiveCountAttribute] = std::to_string(message.receive_count);
    if (message.sent_ms > 0) dead.attributes[kSqsSentMsAttribute] = std::to_string(message.sent_ms);
  }
  Result<std::string> sent = client_->SendMessage(dlq_url_, dead);
  if (!sent.ok()) return sent.status().WithContext("dead-letter message " + message.id);
  // Were this delete to fail, the message would be delivered again and dead-lettered twice:
  // a duplicate in the DLQ, never a loss.
  return client_->DeleteMessage(queue_url_, message.receipt);
}

namespace {

// A queue's depths from GetQueueAttributes.
Result<QueueStats> DepthOf(SqsClient& client, const std::string& queue_url) {
  static const std::vector<std::string> kCounts = {"ApproximateNumberOfMessages",
                                                   "ApproximateNumberOfMessagesNotVisible",
                                                   "ApproximateNumberOfMessagesDelayed"};
  ASSIGN_OR_RETURN(SqsAttributes counts, client.GetQueueAttributes(queue_url, kCounts));
  QueueStats stats;
  stats.visible = ToInt64(counts["ApproximateNumberOfMessages"]);
  stats.in_flight = ToInt64(counts["ApproximateNumberOfMessagesNotVisible"]);
  stats.delayed = ToInt64(counts["ApproximateNumberOfMessagesDelayed"]);
  return stats;
}

}  // namespace

Result<QueueStats> SqsQueue::Stats() {
  ASSIGN_OR_RETURN(QueueStats stats, DepthOf(*client_, queue_url_));
  if (!dlq_url_.empty()) {
    ASSIGN_OR_RETURN(QueueStats dlq, DepthOf(*client_, dlq_url_));
    stats.dlq = dlq.visible + dlq.in_flight + dlq.delayed;
  }
  return stats;
}

Result<QueueStats> SqsQueue::DeadLetterDepth() {
  if (dlq_url_.empty()) {
    return FailedPreconditionError("queue " + queue_url_ + " has no dead-letter queue");
  }
  return DepthOf(*client_, dlq_url_);
}

Status SqsQueue::ScanDeadLetters(int max_messages,
                                 const std::function<Result<bool>(const Message&)>& visit,
                                 const std::function<bool()>& done) {
  if (dlq_url_.empty()) {
    return FailedPreconditionError("queue " + queue_url_ + " has no dead-letter queue");
  }
  std::set<std::string> seen;
  std::vector<std::pair<std::string, int>> release;
  Status result;
  // When every held message was last made invisible for kScanVisibilitySeconds (at the
  // latest: each receive since hides its messages from a later time).
  int64_t held_since_ms = clock_ ? clock_->NowMillis() : 0;
  auto change_visibility = [&](int seconds) -> Status {
    for (size_t i = 0; i < release.size(); i += kMaxBatch) {
      std::vector<std::pair<std::string, int>> chunk;
      for (size_t j = i; j < std::min(release.size(), i + kMaxBatch); ++j) {
        chunk.emplace_back(release[j].first, seconds);
      }
      Result<std::vector<Status>> changed = client_->ChangeMessageVisibilityBatch(dlq_url_, chunk);
      if (!changed.ok()) return changed.status();
    }
    return Status::Ok();
  };
  for (int page = 0; page < kMaxScanPages && static_cast<int>(seen.size()) < max_messages &&
                     !(done && done()) && !stopped();
       ++page) {
    if (clock_ && clock_->NowMillis() - held_since_ms >= kScanVisibilitySeconds * 1000 / 2) {
      held_since_ms = clock_->NowMillis();
      result = change_visibility(kScanVisibilitySeconds);
      if (!result.ok()) break;
    }
    ReceiveOptions options;
    options.max_messages = std::min<int>(kMaxBatch, max_messages - static_cast<int>(seen.size()));
    options.visibility_timeout_s = kScanVisibilitySeconds;
    options.wait_seconds = scan_wait_seconds_;
    Result<std::vector<Message>> messages = client_->ReceiveMessage(dlq_url_, options);
    if (!messages.ok()) {
      result = messages.status();
      break;
    }
    bool any_new = false;
    for (const Message& m : *messages) {
      if (!result.ok() || stopped() || !seen.insert(m.id).second) {
        release.emplace_back(m.receipt, 0);
        continue;
      }
      any_new = true;
      Result<bool> kept = visit(m);
      if (!kept.ok()) result = kept.status();
      if (!kept.ok() || !*kept) release.emplace_back(m.receipt, 0);
    }
    if (!any_new || !result.ok()) break;
  }
  Status released = change_visibility(0);
  if (result.ok() && !released.ok()) result = released;
  if (result.ok() && stopped()) {
    result = AbortedError("interrupted after " + std::to_string(seen.size()) +
                          " dead letters; those not moved are visible again");
  }
  return result;
}

Result<std::vector<DeadLetter>> SqsQueue::ListDeadLetters(int max_items) {
  std::vector<DeadLetter> out;
  if (max_items <= 0) return out;
  RETURN_IF_ERROR(ScanDeadLetters(
      max_items,
      [&](const Message& m) -> Result<bool> {
        DeadLetter d;
        d.id = DeadLetterId(m);
        d.body = m.body;
        d.attributes = WithoutInternalAttributes(m.attributes);
        d.reason = AttributeOr(m.attributes, kSqsReasonAttribute,
                               std::string(ReasonName(Reason::kMaxReceives)));
        const std::string count = AttributeOr(m.attributes, kSqsReceiveCountAttribute);
        d.receive_count =
            count.empty() ? std::max(0, m.receive_count - 1) : static_cast<int>(ToInt64(count));
        d.sent_ms = ToInt64(AttributeOr(m.attributes, kSqsSentMsAttribute), m.sent_ms);
        d.dead_ms = m.sent_ms;
        out.push_back(std::move(d));
        return false;
      },
      nullptr));
  return out;
}

Result<int64_t> SqsQueue::Redrive(const std::vector<std::string>& ids) {
  int64_t moved = 0;
  RETURN_IF_ERROR(RedriveCopy(ids, moved));
  return moved;
}

Status SqsQueue::RedriveCopy(const std::vector<std::string>& ids, int64_t& moved) {
  const std::set<std::string> wanted(ids.begin(), ids.end());
  moved = 0;
  return ScanDeadLetters(
      std::numeric_limits<int>::max(),
      [&](const Message& m) -> Result<bool> {
        if (!wanted.empty() && wanted.count(DeadLetterId(m)) == 0) return false;
        SendRequest again;
        again.body = m.body;
        again.attributes = WithoutInternalAttributes(m.attributes);
        Result<std::string> sent = client_->SendMessage(queue_url_, again);
        if (!sent.ok()) return sent.status().WithContext("redrive " + m.id);
        ++moved;
        // A failed delete leaves the entry in the DLQ as well: a duplicate, never a loss.
        Status deleted = client_->DeleteMessage(dlq_url_, m.receipt);
        if (!deleted.ok()) return deleted;
        return true;
      },
      [&] { return !wanted.empty() && moved == static_cast<int64_t>(wanted.size()); });
}

Result<SqsQueue::RedriveAllResult> SqsQueue::RedriveAll(RedriveMethod method,
                                                        const std::function<void()>& poll_pause) {
  if (dlq_url_.empty()) {
    return FailedPreconditionError("queue " + queue_url_ + " has no dead-letter queue");
  }
  RedriveAllResult result;
  if (method != RedriveMethod::kCopy) {
    // Starting the task; every failure up to here is a refusal that kAuto may copy around.
    std::string source_arn;
    Result<std::string> handle = [&]() -> Result<std::string> {
      ASSIGN_OR_RETURN(SqsAttributes dlq, client_->GetQueueAttributes(dlq_url_, {"QueueArn"}));
      ASSIGN_OR_RETURN(SqsAttributes main, client_->GetQueueAttributes(queue_url_, {"QueueArn"}));
      if (dlq["QueueArn"].empty() || main["QueueArn"].empty()) {
        return UnavailableError("GetQueueAttributes gave no QueueArn");
      }
      source_arn = dlq["QueueArn"];
      return client_->StartMessageMoveTask(source_arn, main["QueueArn"]);
    }();
    if (handle.ok()) {
      result.task_handle = *handle;
      result.method = "message-move-task";
      // The newest task of the source is ours (SQS runs one task per source at a time); it
      // carries its handle only while RUNNING.
      for (;;) {
        ASSIGN_OR_RETURN(std::vector<SqsMoveTask> tasks,
                         client_->ListMessageMoveTasks(source_arn, 1));
        if (tasks.empty()) return UnavailableError("ListMessageMoveTasks lists no task");
        const SqsMoveTask& task = tasks.front();
        result.moved = task.moved;
        if (task.status == "COMPLETED") return result;
        if (task.status != "RUNNING" && task.status != "CANCELLING") {
          return UnavailableError("message-move task " + result.task_handle + " ended " +
                                  task.status + " after moving " + std::to_string(task.moved) +
                                  " messages" +
                                  (task.failure_reason.empty() ? "" : ": " + task.failure_reason));
        }
        if (stopped()) {
          result.interrupted = AbortedError("interrupted while waiting for message-move task " +
                                            result.task_handle + " (SQS carries it on) after " +
                                            std::to_string(task.moved) + " messages moved");
          return result;
        }
        if (poll_pause) poll_pause();
      }
    }
    if (method == RedriveMethod::kMoveTask) return handle.status().WithContext("redrive");
    result.fallback = handle.status().message();
  }
  result.method = "copy";
  Status copied = RedriveCopy({}, result.moved);
  if (copied.code() == StatusCode::kAborted && stopped()) {
    result.interrupted = copied;
  } else if (!copied.ok()) {
    return copied;
  }
  return result;
}

Status SqsQueue::Purge() { return client_->PurgeQueue(queue_url_); }

Status SqsQueue::PurgeDeadLetters() {
  if (dlq_url_.empty()) {
    return FailedPreconditionError("queue " + queue_url_ + " has no dead-letter queue");
  }
  return client_->PurgeQueue(dlq_url_);
}

}  // namespace thumbflow::aws
