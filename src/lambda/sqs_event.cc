#include "lambda/sqs_event.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace thumbflow::lambda {
namespace {

using nlohmann::json;

Status FieldError(size_t index, const std::string& field, const std::string& what) {
  return InvalidArgumentError("SQS event Records[" + std::to_string(index) + "]." + field + ": " +
                              what);
}

// Reads an optional string member; a present non-string is an error.
Status OptionalString(const json& record, size_t index, const char* field, std::string* out) {
  auto it = record.find(field);
  if (it == record.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return FieldError(index, field, "must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

// SQS writes numeric system attributes as decimal strings; a number is accepted too.
bool IntegerAttribute(const json& attributes, const char* name, int64_t* out) {
  auto it = attributes.find(name);
  if (it == attributes.end()) return false;
  if (it->is_number_integer()) {
    *out = it->get<int64_t>();
    return true;
  }
  if (!it->is_string()) return false;
  const std::string& text = it->get_ref<const std::string&>();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  *out = value;
  return true;
}

Status ParseRecord(const json& record, size_t index, SqsEventRecord* out) {
  if (!record.is_object()) return FieldError(index, "", "must be an object");
  RETURN_IF_ERROR(OptionalString(record, index, "messageId", &out->message_id));
  if (out->message_id.empty()) return FieldError(index, "messageId", "is required");
  auto body = record.find("body");
  if (body == record.end() || !body->is_string()) {
    return FieldError(index, "body", "is required and must be a string");
  }
  out->body = body->get<std::string>();
  RETURN_IF_ERROR(OptionalString(record, index, "receiptHandle", &out->receipt_handle));
  RETURN_IF_ERROR(OptionalString(record, index, "eventSourceARN", &out->event_source_arn));
  RETURN_IF_ERROR(OptionalString(record, index, "awsRegion", &out->aws_region));
  std::string source;
  RETURN_IF_ERROR(OptionalString(record, index, "eventSource", &source));
  if (!source.empty() && source != "aws:sqs") {
    return FieldError(index, "eventSource", "must be \"aws:sqs\" (got \"" + source + "\")");
  }
  auto attributes = record.find("attributes");
  if (attributes != record.end() && attributes->is_object()) {
    int64_t count = 0;
    if (IntegerAttribute(*attributes, "ApproximateReceiveCount", &count)) {
      out->receive_count = static_cast<int>(count);
    }
    IntegerAttribute(*attributes, "SentTimestamp", &out->sent_ms);
  }
  auto message_attributes = record.find("messageAttributes");
  if (message_attributes != record.end() && message_attributes->is_object()) {
    for (const auto& [name, value] : message_attributes->items()) {
      if (!value.is_object()) continue;
      auto text = value.find("stringValue");
      if (text != value.end() && text->is_string()) {
        out->message_attributes[name] = text->get<std::string>();
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<SqsEventRecord>> ParseSqsEvent(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgumentError("SQS event: not valid JSON");
  if (!doc.is_object()) return InvalidArgumentError("SQS event: must be a JSON object");
  auto records = doc.find("Records");
  if (records == doc.end() || !records->is_array()) {
    return InvalidArgumentError("SQS event: Records must be an array");
  }
  std::vector<SqsEventRecord> out(records->size());
  for (size_t i = 0; i < records->size(); ++i) {
    RETURN_IF_ERROR(ParseRecord((*records)[i], i, &out[i]));
  }
  return out;
}

std::string BuildBatchResponse(const std::vector<std::string>& failed_message_ids) {
  json failures = json::array();
  for (const auto& id : failed_message_ids) failures.push_back({{"itemIdentifier", id}});
  return json{{"batchItemFailures", std::move(failures)}}.dump(-1, ' ', false,
                                                               json::error_handler_t::replace);
}

}  // namespace thumbflow::lambda
