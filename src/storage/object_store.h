// ObjectStore: the port for everything that stores objects (S3, the local folder, memory).
//
// Keys and bucket names are passed as given (not URL-encoded). All methods are thread-safe.
// Failures are reported as Status, never as exceptions. The code and reason say what
// happened, so a caller can tell a fault of the object it named (permanent for that object)
// from a fault of the store's set-up or of the machine (transient: the same call succeeds
// once it is fixed):
//   about the object:
//     NotFound            the key does not exist (reason "source-missing" is added by
//                         callers that read sources, not by the store)
//     InvalidArgument     reason "invalid-key" (storage/keys.h): the store refuses this key;
//                         reason "invalid-range": a range past the end of the object (416);
//                         reason "invalid-part-number": a part the object lacks (416)
//     ResourceExhausted   reason "too-large": the object is larger than the store accepts
//     FailedPrecondition  If-Match did not hold (reason "precondition-failed", HTTP 412) or
//                         If-None-Match did (reason "not-modified", HTTP 304)
//                         or an S3 Object Lock protects the version a delete names
//                         (reason "object-locked")
//   about the store's set-up (configuration, credentials):
//     NotFound            reason "no-such-bucket": the bucket does not exist
//     PermissionDenied / Unauthenticated   credentials or policy refuse the call
//     FailedPrecondition  (no reason above) the store is not set up for the request: wrong
//                         region or endpoint, a redirect (aws/aws_error.h)
//     InvalidArgument     (no "invalid-key" / "invalid-range" reason) the request was refused
//                         for a reason not about the key: a bad bucket name, a setting
//   about the machine or the service (retryable() is true):
//     ResourceExhausted   reason "no-space" (core/disk.h): the disk is full
//     Unavailable         the backing service could not be reached, throttled, 5xx
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/strings.h"

namespace thumbflow {

using Metadata = std::map<std::string, std::string>;

// The standard HTTP headers S3 stores with an object as they were sent (on PUT, at the start
// of a multipart upload, by CopyObject with REPLACE) and returns with it, spelt so. Kept in
// ObjectInfo::headers / PutOptions::headers under these names; Content-Type has its own field.
inline constexpr std::string_view kStoredHeaderNames[] = {
    "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"};

// Object tags (S3 object tagging), key -> value. Stores keep them as given; the S3 endpoint
// checks S3's limits (server/s3_tagging.h).
using TagSet = std::map<std::string, std::string>;

// An S3 flexible checksum (x-amz-checksum-*) stored with an object or one of its parts.
struct ObjectChecksum {
  // As S3 names it: "CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"; empty: none stored.
  std::string algorithm;
  // base64 of the digest; for a COMPOSITE one, base64 of the digest of the parts' digests
  // followed by "-" and the number of parts, as S3 writes it.
  std::string value;
  std::string type;  // "FULL_OBJECT" or "COMPOSITE" (a multipart upload's); empty with none
  bool empty() const { return algorithm.empty(); }
  bool operator==(const ObjectChecksum&) const = default;
};

// One part of an object made by a multipart upload, in the object's order.
struct ObjectPart {
  int part_number = 0;  // as it was uploaded (a completion may skip numbers)
  int64_t size = 0;
  std::string checksum;  // base64, of the object's checksum algorithm; empty: none
  bool operator==(const ObjectPart&) const = default;
};

// S3 Object Lock: one version's retention (a mode until a time) and legal hold. Stores keep it
// with the version, committed in the write that makes the version (PutOptions::lock), changed
// only by StreamingObjectStore::UpdateVersionLock, and refuse to delete a version it protects
// (StreamingObjectStore::DeleteVersion); the S3 endpoint checks S3's rules for the values.
inline constexpr char kLockGovernance[] = "GOVERNANCE";
inline constexpr char kLockCompliance[] = "COMPLIANCE";

struct ObjectLock {
  std::string mode;  // kLockGovernance or kLockCompliance; empty: no retention
  int64_t retain_until_ms = 0;
  bool legal_hold = false;
  bool legal_hold_set = false;  // a legal hold (ON or OFF) was put: GetObjectLegalHold answers it
  bool has_retention() const { return !mode.empty(); }
  bool empty() const { return !has_retention() && !legal_hold_set; }
  // Whether the version cannot be deleted (or its retention shortened) at `now_ms`: a legal
  // hold, or a retention not yet expired (`bypass` lifts a GOVERNANCE one).
  bool Protects(int64_t now_ms, bool bypass) const {
    if (legal_hold) return true;
    if (!has_retention() || retain_until_ms <= now_ms) return false;
    return !(bypass && mode == kLockGovernance);
  }
  bool operator==(const ObjectLock&) const = default;
};

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string etag;  // as S3 writes it, with the surrounding quotes
  std::string content_type;
  Metadata metadata;  // user metadata, names lower-case without the x-amz-meta- prefix
  int64_t last_modified_ms = 0;
  Metadata headers;  // those of kStoredHeaderNames stored with it, by those names
  TagSet tags;       // Head, Get and OpenObject fill it; listings leave it empty
  // The object's access control list as the S3 endpoint encoded it (server/s3_acl.h);
  // stores keep it as given. Empty: the default (the bucket's owner owns the object with
  // FULL_CONTROL). Head, Get and OpenObject fill it; listings leave it empty.
  std::string acl;
  // S3 versioning (StreamingObjectStore's version calls): the version's id ("null" for the
  // null version), or empty when the bucket has never had versioning configured, and in
  // what a write to a suspended bucket returns (no x-amz-version-id is answered then, as S3
  // does). Stores without versioning leave it empty.
  std::string version_id;
  // Set only by the calls that return versions (HeadVersion, ListVersions): this version is
  // a delete marker (no bytes), and whether it is the key's latest version.
  bool delete_marker = false;
  bool is_latest = true;
  // Kept as the write gave them (PutOptions); Head, Get and OpenObject fill them, listings
  // leave them empty, as do stores that do not keep them.
  ObjectChecksum checksum;
  std::vector<ObjectPart> parts;  // a multipart upload's parts; empty for other objects
  // The version's object lock, as the write or UpdateVersionLock set it (empty: none). Head,
  // HeadVersion, Get and OpenObject fill it; listings leave it empty, as do stores without
  // object lock.
  ObjectLock lock;
};

// HTTP byte range: `first`..`last` (inclusive; `last` absent: to the end, past the end:
// clamped), or, when suffix_length is set, the last suffix_length bytes ("bytes=-N").
struct ByteRange {
  int64_t first = 0;
  std::optional<int64_t> last;
  std::optional<int64_t> suffix_length;
};

struct GetOptions {
  std::optional<ByteRange> range;
  // ETags compare with or without their quotes; "*" matches any existing object.
  std::string if_match;       // ETag that must match; empty: no condition
  std::string if_none_match;  // ETag that must not match; empty: no condition
  // The version to read (S3 versioning; "null": the null version); empty: the latest. A
  // version that does not exist, or is a delete marker, is NotFound. Stores without
  // versioning know only "null".
  std::string version_id;
  // S3's partNumber: read only this part of a multipart upload's object (its bytes, as a
  // range), 1 being the whole of an object without parts; 0: the whole object. A part the
  // object lacks: InvalidArgument with reason "invalid-part-number". Not with `range`.
  int part_number = 0;
};

struct ObjectData {
  ObjectInfo info;    // describes the whole object
  std::string bytes;  // the requested range, or the whole object
};

// What S3 stores when a PUT names no Content-Type.
inline constexpr char kDefaultContentType[] = "binary/octet-stream";

// A write's or a delete's precondition on the object it replaces, checked atomically with its
// commit (S3's conditional writes, CheckWriteCondition in storage/s3_semantics.h): of two
// concurrent conditional writers the first to commit decides what the second sees.
struct WriteCondition {
  std::string if_match;  // If-Match: the current ETag must match ("*": any); empty: none
  // If-None-Match: "*": no object may exist under the key; ETags: the current one must not be
  // among them; empty: none.
  std::string if_none_match;
  // Deletes only (x-amz-if-match-size, x-amz-if-match-last-modified-time, and DeleteObjects'
  // <Size>, <LastModifiedTime>): the object's size, and its Last-Modified to the second.
  std::optional<int64_t> if_match_size;
  std::optional<int64_t> if_match_last_modified_ms;
  // Deletes of one version (DeleteVersion with a version id), which the store refuses while
  // the version's ObjectLock protects it: a GOVERNANCE retention does not (S3's
  // x-amz-bypass-governance-retention, when the caller may use it). Not a condition of
  // HasCondition: it never turns a delete of nothing into a no-op.
  bool bypass_governance = false;
};
inline bool HasCondition(const WriteCondition& c) {
  return !c.if_match.empty() || !c.if_none_match.empty() || c.if_match_size ||
         c.if_match_last_modified_ms;
}

struct PutOptions {
  std::string content_type;  // empty: stored as kDefaultContentType, as S3 does
  Metadata metadata;
  Metadata headers;  // of kStoredHeaderNames, by those names; others are not stored
  TagSet tags;
  std::string acl;  // ObjectInfo::acl; empty: the default
  // Checked as the object is committed, never stored. A failed one: FailedPrecondition with
  // reason "precondition-failed", or NotFound (If-Match, no object); nothing is written.
  WriteCondition condition;
  // The call that writes it, named in the ObjectCreated event as S3 does: PutObject, or
  // PostObject (a browser form upload). Stores whose events S3 itself sends ignore it.
  bool form_upload = false;
  // ObjectInfo::checksum and ObjectInfo::parts, stored as given (the S3 endpoint verified
  // them). A store that does not keep them ignores them.
  ObjectChecksum checksum;
  std::vector<ObjectPart> parts;
  // The new version's object lock (ObjectInfo::lock), committed with it: the version never
  // exists without it. Empty: none. A store without object lock ignores it.
  ObjectLock lock;
};

// The entries of `headers` that S3 stores (kStoredHeaderNames, in any case), under those names.
inline Metadata StoredHeaders(const Metadata& headers) {
  Metadata out;
  for (const auto& [name, value] : headers) {
    for (std::string_view stored : kStoredHeaderNames) {
      if (EqualsIgnoreCase(name, stored)) out[std::string(stored)] = value;
    }
  }
  return out;
}

// What a copy that keeps the source's Content-Type, metadata, headers and tags writes. Never
// the source's ACL: as on S3, a copy gets the ACL its request asks for.
inline PutOptions KeptPutOptions(const ObjectInfo& source) {
  PutOptions options;
  options.content_type = source.content_type;
  options.metadata = source.metadata;
  options.headers = source.headers;
  options.tags = source.tags;
  return options;
}

struct ListOptions {
  std::string prefix;
  std::string delimiter;
  std::string continuation_token;  // from a previous ListResult; opaque
  std::string start_after;         // ignored when continuation_token is set
  int max_keys = 1000;             // objects plus common prefixes per page; above 1000 means 1000
};

struct ListResult {
  // In key (byte) order. Listed objects carry key, size, etag and last_modified_ms only
  // (S3 does not list Content-Type or user metadata).
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;  // when a delimiter was given
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual Result<ObjectData> Get(const std::string& bucket, const std::string& key,
                                 const GetOptions& options = {}) = 0;
  // Stores the whole object atomically: readers see the old object or the new one.
  virtual Result<ObjectInfo> Put(const std::string& bucket, const std::string& key,
                                 std::string_view bytes, const PutOptions& options = {}) = 0;
  virtual Result<ObjectInfo> Head(const std::string& bucket, const std::string& key) = 0;
  // Deleting a key that does not exist succeeds, as in S3.
  virtual Status Delete(const std::string& bucket, const std::string& key) = 0;
  virtual Result<ListResult> List(const std::string& bucket, const ListOptions& options) = 0;
};

}  // namespace thumbflow
