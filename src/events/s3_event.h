// S3 event notifications: the JSON that Amazon S3 (or moto, or thumbflow's embedded store)
// puts on the queue when an object is created or removed. This is the message contract of
// DESIGN.md: every mode carries these bytes, so a message can move between modes and tools.
//
// Both directions live here: ParseS3Event reads what S3, moto and thumbflow write;
// BuildS3Event writes what S3 writes (eventVersion 2.1, S3's field order), so the embedded
// mode emits the same bytes a bucket notification would.
//
// All functions are pure and thread-safe. None throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/civil_time.h"
#include "core/result.h"

namespace thumbflow {

// The reason code of every ParseS3Event failure (status code InvalidArgument, never
// retryable): the body is not an S3 event notification we can act on. Retrying cannot
// help, so the message belongs in the dead-letter queue with this reason.

// One entry of `Records[]`. Field names follow S3's JSON; strings absent from a message are
// left empty, numbers 0. The defaults are what BuildS3Event writes for an object created by
// a PUT, so a caller only fills bucket, key, size, etag, event time (and usually region).
struct S3EventRecord {
  std::string event_version = "2.1";  // "2.x"; ParseS3Event accepts any 2.x
  std::string event_source = "aws:s3";
  std::string aws_region = "us-east-1";
  // As written in the message (S3: "2024-05-01T12:34:56.789Z"; moto omits the zone and
  // writes microseconds). BuildS3Event ignores it and formats event_time_ms instead.
  std::string event_time;
  int64_t event_time_ms = 0;  // event_time as milliseconds since the Unix epoch (UTC)
  std::string event_name = "ObjectCreated:Put";  // no "s3:" prefix, as S3 writes it
  std::string principal_id;                      // userIdentity.principalId
  std::string source_ip;                         // requestParameters.sourceIPAddress
  std::string request_id;                        // responseElements["x-amz-request-id"]
  std::string host_id;                           // responseElements["x-amz-id-2"]
  std::string configuration_id;                  // s3.configurationId
  std::string bucket;                            // s3.bucket.name
  std::string bucket_owner;                      // s3.bucket.ownerIdentity.principalId
  std::string bucket_arn;  // s3.bucket.arn; BuildS3Event derives it from `bucket` when empty
  std::string key;         // DECODED object key, exactly as stored ("uploads/a b+c.jpg")
  int64_t size = 0;        // bytes; absent in ObjectRemoved events
  std::string etag;        // without quotes; absent in ObjectRemoved events
  std::string version_id;  // empty when the bucket is not versioned
  std::string sequencer;   // hex string ordering events of one key

  bool operator==(const S3EventRecord&) const = default;
};

// One parsed queue message: either S3's test message (sent when a notification is
// configured; acknowledge it and do nothing) or one or more records, each of which must be
// processed.
struct S3Event {
  bool test_event = false;
  std::string test_bucket;             // the "Bucket" of a test event
  std::vector<S3EventRecord> records;  // empty exactly when test_event

  bool operator==(const S3Event&) const = default;
};

// Parses a queue message body. Accepts:
//  - S3's notification ({"Records":[...]}, eventVersion 2.x, several records per message,
//    unknown fields ignored; keys URL-decoded with '+' as space, '/' raw or as %2F);
//  - S3's test message ({"Event":"s3:TestEvent",...}) -> test_event = true;
//  - either of those wrapped in an SNS notification ({"Type":"Notification","Message":"..."});
//  - an EventBridge "Object Created"/"Object Deleted" event (keys there are not encoded).
// Required per record: eventVersion 2.x, eventSource "aws:s3", eventName, eventTime (ISO-8601,
// UTC when no zone is given), s3.bucket.name, s3.object.key (non-empty, valid escapes, UTF-8).
// Anything else (malformed JSON, a missing or mistyped required field, an empty Records[])
// returns InvalidArgument with reason Reason::kNotAnEvent, never retryable.
Result<S3Event> ParseS3Event(std::string_view body);

// Writes one notification message holding `records`, byte for byte in S3's layout: the
// field order S3 uses, eventTime formatted from event_time_ms with milliseconds and "Z",
// keys encoded with UrlEncodeS3Key, versionId only when non-empty, size as a number, and
// eTag without quotes. Strings that are not valid UTF-8 are written with U+FFFD in place of
// the bad bytes rather than failing.
std::string BuildS3Event(const std::vector<S3EventRecord>& records);

// S3's test message for `bucket` at `time_ms`.
std::string BuildS3TestEvent(std::string_view bucket, int64_t time_ms);

// Encodes a key as S3 does in event notifications (application/x-www-form-urlencoded with
// '/' kept): ASCII letters, digits and "-_.*/" unchanged, space as '+', every other byte as
// %XX (upper-case hex).
std::string UrlEncodeS3Key(std::string_view key);

// Decodes an encoded key: '+' is space, %XX (either case) a byte. A '%' not followed by two
// hex digits, or a result that is not UTF-8, is InvalidArgument with reason Reason::kNotAnEvent.
Result<std::string> UrlDecodeS3Key(std::string_view encoded);

// ParseIso8601Millis, FormatIso8601Millis: core/civil_time.h.

}  // namespace thumbflow
