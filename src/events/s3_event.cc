#include "events/s3_event.h"

#include "core/civil_time.h"
#include "core/uri.h"
#include "core/utf8.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

namespace thumbflow {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// SNS may wrap a notification once; nothing legitimate nests deeper.
constexpr int kMaxUnwrapDepth = 1;

Status NotAnEvent(std::string message) {
  return Status(StatusCode::kInvalidArgument, "not an S3 event: " + std::move(message),
                Reason::kNotAnEvent, /*retryable=*/false);
}

// Accessors that never throw: a wrong type is a NotAnEvent status naming the field.
const json* Member(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Status OptionalString(const json& object, const char* name, std::string* out) {
  const json* v = Member(object, name);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return NotAnEvent(std::string("field ") + name + " is not a string");
  *out = v->get_ref<const std::string&>();
  return Status::Ok();
}

Status RequiredString(const json& object, const char* name, std::string* out) {
  const json* v = Member(object, name);
  if (v == nullptr) return NotAnEvent(std::string("missing field ") + name);
  RETURN_IF_ERROR(OptionalString(object, name, out));
  if (out->empty()) return NotAnEvent(std::string("empty field ") + name);
  return Status::Ok();
}

const json* OptionalObject(const json& object, const char* name) {
  const json* v = Member(object, name);
  return v != nullptr && v->is_object() ? v : nullptr;
}

// S3 writes size as a number; hand-made events sometimes quote it.
Status OptionalSize(const json& object, const char* name, int64_t* out) {
  const json* v = Member(object, name);
  if (v == nullptr) return Status::Ok();
  if (v->is_number_unsigned() || v->is_number_integer()) {
    const auto value = v->get<int64_t>();
    if (value < 0) return NotAnEvent(std::string("negative ") + name);
    *out = value;
    return Status::Ok();
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    int64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc() && end == s.data() + s.size() && value >= 0 && !s.empty()) {
      *out = value;
      return Status::Ok();
    }
  }
  return NotAnEvent(std::string("field ") + name + " is not a size");
}

Status ParseRecord(const json& r, size_t index, S3EventRecord* out) {
  const std::string where = "Records[" + std::to_string(index) + "]";
  auto in_record = [&](Status s) { return s.WithContext(where); };
  if (!r.is_object()) return in_record(NotAnEvent("record is not an object"));
  S3EventRecord rec;
  Status s = RequiredString(r, "eventVersion", &rec.event_version);
  if (!s.ok()) return in_record(s);
  if (rec.event_version != "2" && rec.event_version.rfind("2.", 0) != 0) {
    return in_record(NotAnEvent("unsupported eventVersion " + rec.event_version));
  }
  if (s = RequiredString(r, "eventSource", &rec.event_source); !s.ok()) return in_record(s);
  if (rec.event_source != "aws:s3") {
    return in_record(NotAnEvent("eventSource is " + rec.event_source + ", not aws:s3"));
  }
  rec.aws_region.clear();
  if (s = OptionalString(r, "awsRegion", &rec.aws_region); !s.ok()) return in_record(s);
  if (s = RequiredString(r, "eventTime", &rec.event_time); !s.ok()) return in_record(s);
  Result<int64_t> ms = ParseIso8601Millis(rec.event_time);
  if (!ms.ok()) return in_record(NotAnEvent(ms.status().message()));
  rec.event_time_ms = *ms;
  if (s = RequiredString(r, "eventName", &rec.event_name); !s.ok()) return in_record(s);
  if (const json* ui = OptionalObject(r, "userIdentity")) {
    if (s = OptionalString(*ui, "principalId", &rec.principal_id); !s.ok()) return in_record(s);
  }
  if (const json* rp = OptionalObject(r, "requestParameters")) {
    if (s = OptionalString(*rp, "sourceIPAddress", &rec.source_ip); !s.ok()) return in_record(s);
  }
  if (const json* re = OptionalObject(r, "responseElements")) {
    if (s = OptionalString(*re, "x-amz-request-id", &rec.request_id); !s.ok()) {
      return in_record(s);
    }
    if (s = OptionalString(*re, "x-amz-id-2", &rec.host_id); !s.ok()) return in_record(s);
  }
  const json* s3 = OptionalObject(r, "s3");
  if (s3 == nullptr) return in_record(NotAnEvent("missing object s3"));
  if (s = OptionalString(*s3, "configurationId", &rec.configuration_id); !s.ok()) {
    return in_record(s);
  }
  const json* bucket = OptionalObject(*s3, "bucket");
  if (bucket == nullptr) return in_record(NotAnEvent("missing object s3.bucket"));
  if (s = RequiredString(*bucket, "name", &rec.bucket); !s.ok()) return in_record(s);
  if (s = OptionalString(*bucket, "arn", &rec.bucket_arn); !s.ok()) return in_record(s);
  if (const json* owner = OptionalObject(*bucket, "ownerIdentity")) {
    if (s = OptionalString(*owner, "principalId", &rec.bucket_owner); !s.ok()) {
      return in_record(s);
    }
  }
  const json* object = OptionalObject(*s3, "object");
  if (object == nullptr) return in_record(NotAnEvent("missing object s3.object"));
  std::string encoded_key;
  if (s = RequiredString(*object, "key", &encoded_key); !s.ok()) return in_record(s);
  Result<std::string> key = UrlDecodeS3Key(encoded_key);
  if (!key.ok()) return in_record(key.status());
  if (key->empty()) return in_record(NotAnEvent("empty object key"));
  rec.key = std::move(key).value();
  if (s = OptionalSize(*object, "size", &rec.size); !s.ok()) return in_record(s);
  if (s = OptionalString(*object, "eTag", &rec.etag); !s.ok()) return in_record(s);
  if (s = OptionalString(*object, "versionId", &rec.version_id); !s.ok()) return in_record(s);
  if (s = OptionalString(*object, "sequencer", &rec.sequencer); !s.ok()) return in_record(s);
  *out = std::move(rec);
  return Status::Ok();
}

// EventBridge's "Object Created"/"Object Deleted" events name the request that caused them
// (detail.reason); map that back to the notification event name S3 would have used.
std::string EventBridgeEventName(const std::string& detail_type, const json& detail) {
  std::string reason;
  std::string deletion_type;
  (void)OptionalString(detail, "reason", &reason);
  (void)OptionalString(detail, "deletion-type", &deletion_type);
  if (detail_type == "Object Created") {
    if (reason == "PutObject") return "ObjectCreated:Put";
    if (reason == "POST Object") return "ObjectCreated:Post";
    if (reason == "CopyObject") return "ObjectCreated:Copy";
    if (reason == "CompleteMultipartUpload") return "ObjectCreated:CompleteMultipartUpload";
    return "ObjectCreated:*";
  }
  if (reason == "Lifecycle Expiration") return "LifecycleExpiration:Delete";
  if (deletion_type == "Delete Marker Created") return "ObjectRemoved:DeleteMarkerCreated";
  return "ObjectRemoved:Delete";
}

Status ParseEventBridge(const json& root, S3Event* out) {
  std::string detail_type;
  RETURN_IF_ERROR(RequiredString(root, "detail-type", &detail_type));
  if (detail_type != "Object Created" && detail_type != "Object Deleted") {
    return NotAnEvent("EventBridge detail-type " + detail_type + " is not handled");
  }
  const json* detail = OptionalObject(root, "detail");
  if (detail == nullptr) return NotAnEvent("missing object detail");
  S3EventRecord rec;
  rec.event_version = "2.1";
  rec.aws_region.clear();
  RETURN_IF_ERROR(OptionalString(root, "region", &rec.aws_region));
  // AWS writes "time" as ISO-8601; moto writes epoch seconds as a number.
  const json* time = Member(root, "time");
  if (time == nullptr) return NotAnEvent("missing field time");
  if (time->is_number()) {
    rec.event_time_ms = static_cast<int64_t>(time->get<double>() * 1000.0);
    rec.event_time = FormatIso8601Millis(rec.event_time_ms);
  } else if (time->is_string()) {
    rec.event_time = time->get_ref<const std::string&>();
    Result<int64_t> ms = ParseIso8601Millis(rec.event_time);
    if (!ms.ok()) return NotAnEvent(ms.status().message());
    rec.event_time_ms = *ms;
  } else {
    return NotAnEvent("field time is not a time");
  }
  rec.event_name = EventBridgeEventName(detail_type, *detail);
  RETURN_IF_ERROR(OptionalString(*detail, "requester", &rec.principal_id));
  RETURN_IF_ERROR(OptionalString(*detail, "source-ip-address", &rec.source_ip));
  RETURN_IF_ERROR(OptionalString(*detail, "request-id", &rec.request_id));
  const json* bucket = OptionalObject(*detail, "bucket");
  if (bucket == nullptr) return NotAnEvent("missing object detail.bucket");
  RETURN_IF_ERROR(RequiredString(*bucket, "name", &rec.bucket));
  rec.bucket_arn = "arn:aws:s3:::" + rec.bucket;
  const json* object = OptionalObject(*detail, "object");
  if (object == nullptr) return NotAnEvent("missing object detail.object");
  // EventBridge keys are plain strings, not URL-encoded.
  RETURN_IF_ERROR(RequiredString(*object, "key", &rec.key));
  if (!IsValidUtf8(rec.key)) return NotAnEvent("object key is not UTF-8");
  RETURN_IF_ERROR(OptionalSize(*object, "size", &rec.size));
  RETURN_IF_ERROR(OptionalString(*object, "etag", &rec.etag));
  if (rec.etag.empty()) RETURN_IF_ERROR(OptionalString(*object, "eTag", &rec.etag));
  RETURN_IF_ERROR(OptionalString(*object, "version-id", &rec.version_id));
  RETURN_IF_ERROR(OptionalString(*object, "sequencer", &rec.sequencer));
  out->records.push_back(std::move(rec));
  return Status::Ok();
}

Status ParseRoot(std::string_view body, int depth, S3Event* out) {
  json root = json::parse(body, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return NotAnEvent("malformed JSON");
  if (!root.is_object()) return NotAnEvent("message is not a JSON object");

  if (const json* records = Member(root, "Records")) {
    if (!records->is_array()) return NotAnEvent("Records is not an array");
    if (records->empty()) return NotAnEvent("Records is empty");
    out->records.resize(records->size());
    for (size_t i = 0; i < records->size(); ++i) {
      RETURN_IF_ERROR(ParseRecord((*records)[i], i, &out->records[i]));
    }
    return Status::Ok();
  }
  std::string event;
  RETURN_IF_ERROR(OptionalString(root, "Event", &event));
  if (event == "s3:TestEvent") {
    out->test_event = true;
    RETURN_IF_ERROR(OptionalString(root, "Bucket", &out->test_bucket));
    return Status::Ok();
  }
  std::string type;
  RETURN_IF_ERROR(OptionalString(root, "Type", &type));
  if (type == "Notification" && depth < kMaxUnwrapDepth) {
    std::string message;
    RETURN_IF_ERROR(RequiredString(root, "Message", &message));
    return ParseRoot(message, depth + 1, out).WithContext("SNS Message");
  }
  std::string source;
  RETURN_IF_ERROR(OptionalString(root, "source", &source));
  if (source == "aws.s3") return ParseEventBridge(root, out).WithContext("EventBridge event");
  return NotAnEvent("no Records[] and not a test event");
}

// nlohmann's dump throws on invalid UTF-8 unless told to replace it.
std::string Dump(const ordered_json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

}  // namespace

Result<S3Event> ParseS3Event(std::string_view body) {
  // The parser runs without exceptions; the catch is a backstop so that no vendor
  // exception (including bad_alloc on a hostile body) crosses the module boundary.
  try {
    S3Event event;
    RETURN_IF_ERROR(ParseRoot(body, 0, &event));
    return event;
  } catch (const std::exception& e) {
    return NotAnEvent(std::string("unreadable message: ") + e.what());
  }
}

std::string BuildS3Event(const std::vector<S3EventRecord>& records) {
  ordered_json list = ordered_json::array();
  for (const S3EventRecord& r : records) {
    ordered_json object;
    object["key"] = UrlEncodeS3Key(r.key);
    object["size"] = r.size;
    object["eTag"] = r.etag;
    if (!r.version_id.empty()) object["versionId"] = r.version_id;
    object["sequencer"] = r.sequencer;

    ordered_json bucket;
    bucket["name"] = r.bucket;
    bucket["ownerIdentity"] = {{"principalId", r.bucket_owner}};
    bucket["arn"] = r.bucket_arn.empty() ? "arn:aws:s3:::" + r.bucket : r.bucket_arn;

    ordered_json s3;
    s3["s3SchemaVersion"] = "1.0";
    s3["configurationId"] = r.configuration_id;
    s3["bucket"] = std::move(bucket);
    s3["object"] = std::move(object);

    ordered_json rec;
    rec["eventVersion"] = r.event_version;
    rec["eventSource"] = r.event_source;
    rec["awsRegion"] = r.aws_region;
    rec["eventTime"] = FormatIso8601Millis(r.event_time_ms);
    rec["eventName"] = r.event_name;
    rec["userIdentity"] = {{"principalId", r.principal_id}};
    rec["requestParameters"] = {{"sourceIPAddress", r.source_ip}};
    ordered_json response;
    response["x-amz-request-id"] = r.request_id;
    response["x-amz-id-2"] = r.host_id;
    rec["responseElements"] = std::move(response);
    rec["s3"] = std::move(s3);
    list.push_back(std::move(rec));
  }
  ordered_json root;
  root["Records"] = std::move(list);
  return Dump(root);
}

std::string BuildS3TestEvent(std::string_view bucket, int64_t time_ms) {
  ordered_json root;
  root["Service"] = "Amazon S3";
  root["Event"] = "s3:TestEvent";
  root["Time"] = FormatIso8601Millis(time_ms);
  root["Bucket"] = std::string(bucket);
  return Dump(root);
}

std::string UrlEncodeS3Key(std::string_view key) {
  return PercentEncode(key, {.keep_slash = true, .form = true});
}

Result<std::string> UrlDecodeS3Key(std::string_view encoded) {
  Result<std::string> out = PercentDecode(encoded, /*plus_is_space=*/true);
  if (!out.ok()) return NotAnEvent("object key: " + out.status().message());
  if (!IsValidUtf8(*out)) return NotAnEvent("decoded object key is not UTF-8");
  return out;
}

}  // namespace thumbflow
