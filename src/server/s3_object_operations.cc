// Object-level S3 operations (s3_operations.h).
#include <algorithm>
#include <charconv>
#include <optional>
#include <tuple>

#include "aws/checksums.h"
#include "core/civil_time.h"
#include "core/strings.h"
#include "core/uri.h"
#include "server/s3_auth.h"
#include "server/s3_operations.h"
#include "server/s3_tagging.h"
#include "storage/etag.h"
#include "storage/keys.h"
#include "storage/s3_semantics.h"

namespace thumbflow::server {
namespace {

void AddObjectHeaders(HeaderList& headers, const ObjectInfo& info) {
  AddVersionHeader(headers, info);
  headers.emplace_back("ETag", info.etag);
  headers.emplace_back("Last-Modified", HttpDate(info.last_modified_ms));
  headers.emplace_back("Content-Type",
                       info.content_type.empty() ? kDefaultContentType : info.content_type);
  headers.emplace_back("Accept-Ranges", "bytes");
  for (const auto& [name, value] : info.headers) headers.emplace_back(name, HeaderValueWire(value));
  for (const auto& [name, value] : info.metadata) {
    headers.emplace_back("x-amz-meta-" + name, HeaderValueWire(value));
  }
  if (!info.tags.empty()) {
    headers.emplace_back("x-amz-tagging-count", std::to_string(info.tags.size()));
  }
}

// 304 Not Modified carries what the 200 would have said about the object's identity and
// caching (RFC 9110 15.4.5, as S3 answers): ETag, Last-Modified, Cache-Control, Expires.
HttpReply NotModifiedReply(const S3Context& cx, const S3Request& r, const ObjectInfo& info) {
  HttpReply reply = EmptyReply(r, cx.clock, 304);
  reply.headers.emplace_back("ETag", info.etag);
  reply.headers.emplace_back("Last-Modified", HttpDate(info.last_modified_ms));
  for (const char* name : {"Cache-Control", "Expires"}) {
    auto it = info.headers.find(name);
    if (it != info.headers.end()) reply.headers.emplace_back(name, HeaderValueWire(it->second));
  }
  return reply;
}

// Up to 18 decimal digits (no sign, no space): fits an int64_t.
bool ParseDecimal(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18 || s[0] < '0' || s[0] > '9') return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "bytes=a-b", "bytes=a-", "bytes=-n". Anything else (several ranges, garbage) is ignored,
// as S3 does. "bytes=-0" is a range, of no bytes: ResolveRange refuses it (416 InvalidRange,
// as S3 answers), it is not ignored.
std::optional<ByteRange> ParseRange(const std::string* header) {
  if (!header) return std::nullopt;
  std::string_view text = *header;
  if (!text.starts_with("bytes=")) return std::nullopt;
  text.remove_prefix(6);
  if (text.find(',') != std::string_view::npos) return std::nullopt;
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  ByteRange range;
  std::string_view first = text.substr(0, dash), last = text.substr(dash + 1);
  if (first.empty()) {
    int64_t n;
    if (!ParseDecimal(last, &n)) return std::nullopt;
    range.suffix_length = n;
    return range;
  }
  if (!ParseDecimal(first, &range.first)) return std::nullopt;
  if (!last.empty()) {
    int64_t l;
    if (!ParseDecimal(last, &l) || l < range.first) return std::nullopt;
    range.last = l;
  }
  return range;
}

}  // namespace

void AddVersionHeader(HeaderList& headers, const ObjectInfo& info) {
  if (!info.version_id.empty()) headers.emplace_back("x-amz-version-id", info.version_id);
}

// GET / HEAD of a key or version that is not there. When the latest version (no versionId)
// is a delete marker: 404 NoSuchKey with x-amz-delete-marker: true and the marker's
// version; a versionId naming a delete marker: 405 MethodNotAllowed with the same headers,
// as S3 answers; a versionId naming nothing: 404 NoSuchVersion.
HttpReply MissingVersionReply(const S3Context& cx, const S3Request& r,
                              const std::string& version_id) {
  Result<ObjectInfo> marker = cx.backend.HeadVersion(r.bucket, r.key, version_id);
  if (marker.ok() && marker->delete_marker) {
    HttpReply reply =
        ErrorReply(r, cx.clock, MakeError(version_id.empty() ? "NoSuchKey" : "MethodNotAllowed"));
    reply.headers.emplace_back("x-amz-delete-marker", "true");
    AddVersionHeader(reply.headers, *marker);
    if (!version_id.empty()) {
      reply.headers.emplace_back("Last-Modified", HttpDate(marker->last_modified_ms));
      reply.headers.emplace_back("Allow", "DELETE");
    }
    return reply;
  }
  if (!version_id.empty()) {
    S3Error error = MakeError("NoSuchVersion");
    error.details = {{"Key", r.key}, {"VersionId", version_id}};
    return ErrorReply(r, cx.clock, std::move(error));
  }
  return ErrorReply(r, cx.clock, MakeError("NoSuchKey"));
}

namespace {

// CopyObject whose source is a delete marker: the latest (no version named) is 404
// NoSuchKey, a named one 400 InvalidRequest, both with x-amz-delete-marker, as S3 answers.
HttpReply CopySourceMarkerReply(const S3Context& cx, const S3Request& r, const CopySource& src) {
  HttpReply reply = ErrorReply(
      r, cx.clock,
      src.version_id.empty()
          ? MakeError("NoSuchKey")
          : MakeError("InvalidRequest",
                      "The source of a copy request may not specifically refer to a delete "
                      "marker by version id."));
  reply.headers.emplace_back("x-amz-delete-marker", "true");
  return reply;
}

// CopyObject whose source read failed with `status`: a delete marker (CopySourceMarkerReply),
// a version named that is not there (404 NoSuchVersion), else the status's error.
HttpReply CopySourceMissingReply(const S3Context& cx, const S3Request& r, const CopySource& src,
                                 const Status& status) {
  if (status.code() == StatusCode::kNotFound && status.reason() != Reason::kNoSuchBucket) {
    Result<ObjectInfo> source = cx.backend.HeadVersion(src.bucket, src.key, src.version_id);
    if (source.ok() && source->delete_marker) return CopySourceMarkerReply(cx, r, src);
    if (!src.version_id.empty()) return ErrorReply(r, cx.clock, MakeError("NoSuchVersion"));
  }
  return StatusReply(r, cx.clock, status, false);
}

}  // namespace

std::optional<ByteRange> ParseCopySourceRange(std::string_view text) {
  if (!text.starts_with("bytes=")) return std::nullopt;
  text.remove_prefix(6);
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  ByteRange range;
  int64_t last = 0;
  if (!ParseDecimal(text.substr(0, dash), &range.first) ||
      !ParseDecimal(text.substr(dash + 1), &last) || last < range.first) {
    return std::nullopt;
  }
  range.last = last;
  return range;
}

namespace {

// HEAD reads no bytes: the object's info, its conditions and its range, without opening it.
Result<ObjectReader> HeadForRead(const S3Context& cx, const S3Request& r,
                                 const GetOptions& options) {
  ASSIGN_OR_RETURN(ObjectInfo info, cx.backend.HeadVersion(r.bucket, r.key, options.version_id));
  if (info.delete_marker) return NotFoundError(r.bucket + "/" + r.key + ": a delete marker");
  RETURN_IF_ERROR(CheckGetConditions(info, options));
  ObjectReader reader;
  reader.info = info;
  RETURN_IF_ERROR(ResolveSlice(info, options, &reader.offset, &reader.length, &reader.partial));
  return reader;
}

// If-Unmodified-Since (unless If-Match was given) and If-Modified-Since (unless
// If-None-Match was): a 412 or 304 reply, or nullopt to serve the object. A malformed date
// is ignored, as S3 does.
std::optional<HttpReply> CheckDateConditions(const S3Context& cx, const S3Request& r,
                                             const GetOptions& options, const ObjectInfo& info) {
  const int64_t modified_s = info.last_modified_ms / 1000;
  if (const std::string* v = r.head.Header("if-unmodified-since"); v && options.if_match.empty()) {
    Result<int64_t> since = ParseHttpDate(*v);
    if (since.ok() && modified_s * 1000 > *since) {
      return ErrorReply(r, cx.clock, MakeError("PreconditionFailed"));
    }
  }
  if (const std::string* v = r.head.Header("if-modified-since");
      v && options.if_none_match.empty()) {
    Result<int64_t> since = ParseHttpDate(*v);
    if (since.ok() && modified_s * 1000 <= *since) return NotModifiedReply(cx, r, info);
  }
  return std::nullopt;
}

// response-content-type and its kin replace the stored header of that name.
void ApplyResponseOverrides(const S3Request& r, HeaderList& headers) {
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"response-content-type", "Content-Type"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"},
      {"response-content-language", "Content-Language"},
      {"response-cache-control", "Cache-Control"},
      {"response-expires", "Expires"}};
  for (const auto& [param, name] : kOverrides) {
    const char* header = name;  // clang 14 cannot capture a structured binding
    if (const std::string* v = r.Query(param)) {
      std::erase_if(headers, [&](const auto& h) { return EqualsIgnoreCase(h.first, header); });
      headers.emplace_back(header, *v);
    }
  }
}

}  // namespace

Result<CopySource> ParseCopySource(const std::string& header) {
  Result<std::string> unescaped = PercentDecode(header.substr(0, header.find('?')));
  if (!unescaped.ok()) return InvalidArgumentError("Invalid copy source encoding");
  std::string_view decoded = *unescaped;
  if (decoded.starts_with('/')) decoded.remove_prefix(1);
  size_t slash = decoded.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == decoded.size()) {
    return InvalidArgumentError(
        "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  }
  CopySource src{std::string(decoded.substr(0, slash)), std::string(decoded.substr(slash + 1)), ""};
  Status key_ok = ValidateObjectKey(src.key);
  if (!key_ok.ok()) return InvalidArgumentError(key_ok.message());
  // ?versionId=ID after the key selects a version of the source.
  if (size_t query = header.find('?'); query != std::string::npos) {
    std::string_view params = std::string_view(header).substr(query + 1);
    if (params.starts_with("versionId=")) {
      Result<std::string> version = PercentDecode(params.substr(10));
      if (!version.ok() || !IsWellFormedVersionId(*version)) {
        return InvalidArgumentError("Invalid version id specified");
      }
      src.version_id = *version;
    }
  }
  return src;
}

// S3 pairs the conditions: a holding if-match makes if-unmodified-since irrelevant, a
// holding if-none-match makes if-modified-since irrelevant; any that fails is 412. A
// malformed date is ignored, as S3 does.
std::optional<S3Error> CheckCopySourceConditions(const HttpRequestHead& head,
                                                 const ObjectInfo& source) {
  const int64_t modified_ms = source.last_modified_ms / 1000 * 1000;
  auto date = [&](const char* name) -> std::optional<int64_t> {
    const std::string* v = head.Header(name);
    if (!v) return std::nullopt;
    Result<int64_t> parsed = ParseHttpDate(*v);
    return parsed.ok() ? std::optional<int64_t>(*parsed) : std::nullopt;
  };
  const std::string* if_match = head.Header("x-amz-copy-source-if-match");
  const std::string* if_none_match = head.Header("x-amz-copy-source-if-none-match");
  bool holds = true;
  if (if_match) {
    holds = EtagConditionMatches(*if_match, source.etag);
  } else if (std::optional<int64_t> since = date("x-amz-copy-source-if-unmodified-since")) {
    holds = modified_ms <= *since;
  }
  if (holds && if_none_match) {
    holds = !EtagConditionMatches(*if_none_match, source.etag);
  } else if (holds) {
    if (std::optional<int64_t> since = date("x-amz-copy-source-if-modified-since")) {
      holds = modified_ms > *since;
    }
  }
  if (holds) return std::nullopt;
  return MakeError("PreconditionFailed");
}

std::optional<S3Error> WriteConditionFromHeaders(const HttpRequestHead& head,
                                                 WriteCondition* condition) {
  if (const std::string* v = head.Header("if-match")) condition->if_match = *v;
  if (const std::string* v = head.Header("if-none-match")) condition->if_none_match = *v;
  return std::nullopt;
}

std::optional<S3Error> PrecheckWriteCondition(const S3Context& cx, const S3Request& r,
                                              const WriteCondition& condition) {
  if (!HasCondition(condition)) return std::nullopt;
  Result<ObjectInfo> current = cx.backend.Head(r.bucket, r.key);
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
    return ErrorFromStatus(current.status(), false);
  }
  if (!current.ok() && current.status().reason() == Reason::kNoSuchBucket) {
    return MakeError("NoSuchBucket");
  }
  Status holds = CheckWriteCondition(condition, current.ok() ? &current->etag : nullptr,
                                     r.bucket + "/" + r.key);
  if (holds.ok()) return std::nullopt;
  return MakeError(holds.code() == StatusCode::kNotFound ? "NoSuchKey" : "PreconditionFailed");
}

std::optional<S3Error> WriteConditionError(const WriteCondition& condition, const Status& status) {
  if (!HasCondition(condition) || status.ok()) return std::nullopt;
  if (status.reason() == Reason::kPreconditionFailed) return MakeError("PreconditionFailed");
  if (status.code() == StatusCode::kNotFound && status.reason() != Reason::kNoSuchBucket &&
      !condition.if_match.empty()) {
    return MakeError("ConditionalRequestConflict");
  }
  return std::nullopt;
}

// The condition was checked against the object before the body was read (S3Handler::AdmitBody)
// and is checked again by the store as it commits.
HttpReply PutObject(const S3Context& cx, S3Request& r) {
  Result<std::optional<VersionLock>> lock = WriteLockOf(cx, r);
  if (!lock.ok()) return StatusReply(r, cx.clock, lock.status(), false);
  PutOptions options = PutOptionsOf(r);
  options.checksum = r.body->checksum();  // verified, kept, answered with x-amz-checksum-mode
  WriteConditionFromHeaders(r.head, &options.condition);  // refused in AdmitBody if malformed
  options.lock = lock->value_or(VersionLock{});
  Result<ObjectInfo> info = r.body->TakeUpload()->Commit(r.key, options);
  if (std::optional<S3Error> failed = WriteConditionError(options.condition, info.status())) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  if (!info.ok()) return StatusReply(r, cx.clock, info.status(), false);
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  reply.headers.emplace_back("ETag", info->etag);
  AddVersionHeader(reply.headers, *info);
  for (const auto& h : r.body->echo_headers()) reply.headers.push_back(h);
  if (!options.checksum.empty()) reply.headers.emplace_back("x-amz-checksum-type", "FULL_OBJECT");
  return reply;
}

namespace {

// x-amz-checksum-mode: ENABLED: the stored checksum of what is served. The whole object's;
// a part's (partNumber) when the object has them, or the whole object's when partNumber=1 is
// the whole object; none for a range, as S3.
void AddChecksumHeaders(const S3Request& r, const GetOptions& options, const ObjectInfo& info,
                        HeaderList& headers) {
  const std::string* mode = r.head.Header("x-amz-checksum-mode");
  if (!mode || !EqualsIgnoreCase(*mode, "ENABLED") || info.checksum.empty() || options.range) {
    return;
  }
  Result<aws::ChecksumAlgorithm> algorithm = aws::ParseChecksumAlgorithm(info.checksum.algorithm);
  if (!algorithm.ok()) return;
  std::string value = info.checksum.value;
  if (options.part_number > 0 && !info.parts.empty()) {
    value.clear();
    for (const ObjectPart& part : info.parts) {
      if (part.part_number == options.part_number) value = part.checksum;
    }
    if (value.empty()) return;
  }
  headers.emplace_back(std::string(aws::ChecksumHeaderName(*algorithm)), value);
  headers.emplace_back("x-amz-checksum-type", info.checksum.type);
}

// ?partNumber= of GET and HEAD: 1 to 10000, and never with a Range, as S3 checks them.
std::optional<S3Error> ParsePartNumber(const S3Request& r, GetOptions* options) {
  const std::string* v = r.Query("partNumber");
  if (!v) return std::nullopt;
  int64_t n = 0;
  if (!ParseDecimal(*v, &n) || n < 1 || n > 10000) {
    S3Error error = MakeError("InvalidArgument",
                              "Part number must be an integer between 1 and 10000, inclusive");
    error.details = {{"ArgumentName", "partNumber"}, {"ArgumentValue", *v}};
    return error;
  }
  if (r.head.Header("range")) {
    return MakeError("InvalidRequest",
                     "Cannot specify both Range header and partNumber query parameter");
  }
  options->part_number = static_cast<int>(n);
  return std::nullopt;
}

// 416 InvalidPartNumber naming the part asked for and how many the object has, as S3 does.
HttpReply InvalidPartNumberReply(const S3Context& cx, const S3Request& r,
                                 const GetOptions& options) {
  S3Error error = MakeError("InvalidPartNumber");
  Result<ObjectInfo> info = cx.backend.HeadVersion(r.bucket, r.key, options.version_id);
  const size_t count = info.ok() ? std::max<size_t>(info->parts.size(), 1) : 1;
  error.details = {{"PartNumberRequested", std::to_string(options.part_number)},
                   {"ActualPartCount", std::to_string(count)}};
  return ErrorReply(r, cx.clock, std::move(error));
}

}  // namespace

HttpReply GetObject(const S3Context& cx, S3Request& r) {
  GetOptions options;
  if (std::optional<S3Error> bad = ParsePartNumber(r, &options)) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  options.range = ParseRange(r.head.Header("range"));
  if (const std::string* v = r.head.Header("if-match")) options.if_match = *v;
  if (const std::string* v = r.head.Header("if-none-match")) options.if_none_match = *v;
  if (const std::string* v = r.Query("versionId")) options.version_id = *v;
  const bool head = r.operation() == S3Operation::kHeadObject;
  Result<ObjectReader> opened =
      head ? HeadForRead(cx, r, options) : cx.backend.OpenObject(r.bucket, r.key, options);
  if (!opened.ok()) {
    if (opened.status().reason() == Reason::kNotModified) {
      // The object whose ETag matched; should it have changed since, its new identity.
      Result<ObjectInfo> info = cx.backend.HeadVersion(r.bucket, r.key, options.version_id);
      if (info.ok() && !info->delete_marker) return NotModifiedReply(cx, r, *info);
    }
    if (opened.status().code() == StatusCode::kNotFound &&
        opened.status().reason() != Reason::kNoSuchBucket) {
      return MissingVersionReply(cx, r, options.version_id);
    }
    if (opened.status().reason() == Reason::kInvalidPartNumber) {
      return InvalidPartNumberReply(cx, r, options);
    }
    return StatusReply(r, cx.clock, opened.status(), false);
  }
  ObjectReader& reader = *opened;
  if (std::optional<HttpReply> stop = CheckDateConditions(cx, r, options, reader.info)) {
    return std::move(*stop);
  }
  HttpReply reply = EmptyReply(r, cx.clock, reader.partial ? 206 : 200);
  AddObjectHeaders(reply.headers, reader.info);
  AddLockHeaders(reply.headers, reader.info.lock);
  if (reader.partial) {
    reply.headers.emplace_back("Content-Range",
                               "bytes " + std::to_string(reader.offset) + "-" +
                                   std::to_string(reader.offset + reader.length - 1) + "/" +
                                   std::to_string(reader.info.size));
  }
  AddChecksumHeaders(r, options, reader.info, reply.headers);
  // The parts count answers a partNumber only (S3 leaves it out of a whole object's reply).
  if (options.part_number > 0 && !reader.info.parts.empty()) {
    reply.headers.emplace_back("x-amz-mp-parts-count", std::to_string(reader.info.parts.size()));
  }
  ApplyResponseOverrides(r, reply.headers);
  reply.stream = std::move(reader.source);
  reply.stream_length = reader.length;
  reply.head = head;
  if (!reply.stream && !reply.head) reply.stream = StringSource("");
  return reply;
}

// If-Match (the ETag, "*": any), x-amz-if-match-size and x-amz-if-match-last-modified-time:
// deleted only while the object has them, checked in the store's transaction: 412
// PreconditionFailed; no object is 204, as S3 answers.
HttpReply DeleteObject(const S3Context& cx, S3Request& r) {
  WriteCondition condition;
  if (const std::string* v = r.head.Header("if-match")) condition.if_match = *v;
  if (const std::string* v = r.head.Header("x-amz-if-match-size")) {
    int64_t size = 0;
    if (!ParseDecimal(*v, &size)) {
      return ErrorReply(
          r, cx.clock, MakeError("InvalidArgument", "x-amz-if-match-size must be a size in bytes"));
    }
    condition.if_match_size = size;
  }
  if (const std::string* v = r.head.Header("x-amz-if-match-last-modified-time")) {
    Result<int64_t> when = ParseHttpDate(*v);
    if (!when.ok()) {
      return ErrorReply(
          r, cx.clock,
          MakeError("InvalidArgument", "x-amz-if-match-last-modified-time must be an HTTP date"));
    }
    condition.if_match_last_modified_ms = *when;
  }
  const std::string* version = r.Query("versionId");
  PrepareVersionDelete(cx, r, r.key, version ? *version : "", &condition);
  Result<DeletedVersion> deleted =
      cx.backend.DeleteVersion(r.bucket, r.key, version ? *version : "", condition);
  const Status& s = deleted.status();
  if (std::optional<S3Error> locked = VersionDeleteError(s)) {
    return ErrorReply(r, cx.clock, std::move(*locked));
  }
  if (!s.ok() && s.code() == StatusCode::kNotFound && s.reason() != Reason::kNoSuchBucket) {
    return ErrorReply(r, cx.clock, MakeError("NoSuchKey"));
  }
  if (!s.ok()) return StatusReply(r, cx.clock, s, false);
  HttpReply reply = EmptyReply(r, cx.clock, 204);
  // The delete marker made (or removed), or the version removed.
  if (deleted->delete_marker) reply.headers.emplace_back("x-amz-delete-marker", "true");
  if (!deleted->version_id.empty()) {
    reply.headers.emplace_back("x-amz-version-id", deleted->version_id);
  }
  return reply;
}

namespace {

// The checksum a copy of the version `version_id` of `src` (whose head is `source`) keeps:
// one of `wanted` computed from its bytes; else the source's FULL_OBJECT one as it is; a
// COMPOSITE one (of a multipart upload's parts) is computed again over the whole object with
// its algorithm, since the copy is one part. Empty when neither side asks for one.
Result<ObjectChecksum> CopiedChecksum(const S3Context& cx, const CopySource& src,
                                      const std::string& version_id, const ObjectInfo& source,
                                      std::optional<aws::ChecksumAlgorithm> wanted) {
  const ObjectChecksum& kept = source.checksum;
  if (!wanted) {
    if (kept.empty() || kept.type == "FULL_OBJECT" || kept.type.empty()) return kept;
    ASSIGN_OR_RETURN(aws::ChecksumAlgorithm algorithm, aws::ParseChecksumAlgorithm(kept.algorithm));
    wanted = algorithm;
  }
  const std::string name(aws::ChecksumAlgorithmName(*wanted));
  if (kept.algorithm == name && kept.type == "FULL_OBJECT") return kept;
  GetOptions read;
  read.version_id = version_id;
  ASSIGN_OR_RETURN(ObjectReader reader, cx.backend.OpenObject(src.bucket, src.key, read));
  std::unique_ptr<aws::Checksummer> checksummer = aws::NewChecksummer(*wanted);
  std::string buffer(1 << 20, '\0');
  while (reader.source) {
    ASSIGN_OR_RETURN(size_t n, reader.source->Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    checksummer->Update(std::string_view(buffer.data(), n));
  }
  return ObjectChecksum{name, checksummer->FinishBase64(), "FULL_OBJECT"};
}

}  // namespace

HttpReply CopyObject(const S3Context& cx, S3Request& r) {
  // If-Match / If-None-Match: * on the destination, as on PutObject: checked now, and again
  // by the store as the copy commits.
  WriteCondition condition;
  if (std::optional<S3Error> bad = WriteConditionFromHeaders(r.head, &condition)) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  if (std::optional<S3Error> failed = PrecheckWriteCondition(cx, r, condition)) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  Result<std::optional<VersionLock>> lock = WriteLockOf(cx, r);
  if (!lock.ok()) return StatusReply(r, cx.clock, lock.status(), false);
  Result<CopySource> src = ParseCopySource(*r.head.Header("x-amz-copy-source"));
  if (!src.ok())
    return ErrorReply(r, cx.clock, MakeError("InvalidArgument", src.status().message()));
  // The source is read with the caller's rights (its bucket's policy, its ACL, a public-read
  // prefix: AuthorizeCopySource).
  if (std::optional<S3Error> denied = AuthorizeCopySource(cx, r, *src)) {
    return ErrorReply(r, cx.clock, std::move(*denied));
  }
  // x-amz-metadata-directive (Content-Type, user metadata) and x-amz-tagging-directive (tags)
  // each COPY the source's (the default) or REPLACE them with the request's.
  bool replace = false, replace_tags = false;
  for (auto [header, out] : {std::pair{"x-amz-metadata-directive", &replace},
                             std::pair{"x-amz-tagging-directive", &replace_tags}}) {
    const std::string* directive = r.head.Header(header);
    if (!directive || EqualsIgnoreCase(*directive, "COPY")) continue;
    if (!EqualsIgnoreCase(*directive, "REPLACE")) {
      S3Error error = MakeError("InvalidArgument", "Unknown " + std::string(header) + " value");
      error.details = {{"ArgumentName", header}, {"ArgumentValue", *directive}};
      return ErrorReply(r, cx.clock, std::move(error));
    }
    *out = true;
  }
  if (src->bucket == r.bucket && src->key == r.key && src->version_id.empty() && !replace) {
    return ErrorReply(
        r, cx.clock,
        MakeError("InvalidRequest",
                  "This copy request is illegal because it is trying to copy an object to "
                  "itself without changing the object's metadata, storage class, website "
                  "redirect location or encryption attributes."));
  }
  // x-amz-checksum-algorithm: the copy gets a checksum of that algorithm, computed from the
  // bytes copied; without it, the source's checksum (S3 keeps it).
  std::optional<aws::ChecksumAlgorithm> wanted_checksum;
  if (const std::string* algorithm = r.head.Header("x-amz-checksum-algorithm")) {
    Result<aws::ChecksumAlgorithm> parsed = aws::ParseChecksumAlgorithm(*algorithm);
    if (!parsed.ok()) {
      return ErrorReply(r, cx.clock, MakeError("InvalidRequest", kUnsupportedChecksumAlgorithm));
    }
    wanted_checksum = *parsed;
  }
  // The options are always passed: the copy gets the ACL its request asks for (r.acl), never
  // the source's.
  const PutOptions requested = PutOptionsOf(r);
  Result<ObjectInfo> info = InternalError("copy not attempted");
  // The source is read before the copy (conditions, what the copy keeps of it, its
  // checksum) and copied by the store in a second read. A version id pins the bytes; a
  // source without one (unversioned) that changed between the two reads is read and copied
  // again, so a checksum never describes other bytes than the copy's.
  for (int attempt = 0;; ++attempt) {
    Result<ObjectInfo> source = cx.backend.HeadVersion(src->bucket, src->key, src->version_id);
    if (source.ok() && source->delete_marker) return CopySourceMarkerReply(cx, r, *src);
    if (!source.ok()) return CopySourceMissingReply(cx, r, *src, source.status());
    if (std::optional<S3Error> failed = CheckCopySourceConditions(r.head, *source)) {
      return ErrorReply(r, cx.clock, std::move(*failed));
    }
    const bool pinned = !source->version_id.empty() && source->version_id != "null";
    const std::string version_read = pinned ? source->version_id : src->version_id;
    // When one part is the source's, it is taken from this read.
    PutOptions put = requested;
    if (!replace) {
      put = KeptPutOptions(*source);
      if (replace_tags) put.tags = requested.tags;
    } else if (!replace_tags) {
      put.tags = source->tags;
    }
    Result<ObjectChecksum> checksum =
        CopiedChecksum(cx, *src, version_read, *source, wanted_checksum);
    if (!checksum.ok()) return CopySourceMissingReply(cx, r, *src, checksum.status());
    put.checksum = std::move(*checksum);
    // A copy made again replaces only the one this request made.
    put.condition = attempt == 0 ? condition : WriteCondition{info->etag, "", {}, {}};
    put.acl = r.acl;
    put.lock = lock->value_or(VersionLock{});  // never the source's
    info = cx.backend.CopyVersion(src->bucket, src->key, version_read, r.bucket, r.key, &put);
    if (!info.ok() || pinned || put.checksum.empty()) break;
    Result<ObjectInfo> after = cx.backend.HeadVersion(src->bucket, src->key, src->version_id);
    auto same = [&](const ObjectInfo& other) {
      return after->etag == other.etag && after->size == other.size &&
             after->last_modified_ms == other.last_modified_ms;
    };
    // A copy onto itself finds its own write there.
    const bool onto_itself = src->bucket == r.bucket && src->key == r.key;
    if (after.ok() && (same(*source) || (onto_itself && same(*info)))) break;
    if (attempt == 2) {
      return ErrorReply(
          r, cx.clock, MakeError("SlowDown", "The copy source kept changing while it was copied."));
    }
  }
  if (std::optional<S3Error> failed = WriteConditionError(condition, info.status())) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  // A delete marker is never copied (S3: the latest one is 404, one named is 400).
  if (!info.ok()) return CopySourceMissingReply(cx, r, *src, info.status());
  HttpReply reply = XmlReply(r, cx.clock, CopyObjectResultXml(*info));
  AddVersionHeader(reply.headers, *info);
  if (!src->version_id.empty()) {
    reply.headers.emplace_back("x-amz-copy-source-version-id", src->version_id);
  }
  return reply;
}

Result<ObjectInfo> HeadAddressedVersion(const S3Context& cx, const S3Request& r) {
  const std::string* version = r.Query("versionId");
  const std::string version_id = version ? *version : "";
  ASSIGN_OR_RETURN(ObjectInfo info, cx.backend.HeadVersion(r.bucket, r.key, version_id));
  if (info.delete_marker) return NotFoundError(r.bucket + "/" + r.key + ": a delete marker");
  return info;
}

std::optional<HttpReply> AddressedVersionError(const S3Context& cx, const S3Request& r,
                                               const Status& status) {
  if (status.ok()) return std::nullopt;
  if (status.code() == StatusCode::kNotFound && status.reason() != Reason::kNoSuchBucket) {
    const std::string* version = r.Query("versionId");
    return MissingVersionReply(cx, r, version ? *version : "");
  }
  return StatusReply(r, cx.clock, status, false);
}

namespace {

// The tags of the version ?versionId= names (none: the latest) become `tags`.
HttpReply SetVersionTags(const S3Context& cx, const S3Request& r, const TagSet& tags,
                         int success_status) {
  Result<ObjectInfo> info = HeadAddressedVersion(cx, r);
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, info.status())) {
    return std::move(*failed);
  }
  const std::string* version = r.Query("versionId");
  Status s = cx.backend.PutVersionTags(r.bucket, r.key, version ? *version : "", tags);
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, s)) return std::move(*failed);
  HttpReply reply = EmptyReply(r, cx.clock, success_status);
  AddVersionHeader(reply.headers, *info);
  return reply;
}

}  // namespace

// x-amz-object-attributes lists what to answer (ETag, Checksum, ObjectParts, StorageClass,
// ObjectSize); x-amz-max-parts and x-amz-part-number-marker page ObjectParts.
HttpReply GetObjectAttributes(const S3Context& cx, S3Request& r) {
  ObjectAttributesRequest request;
  auto invalid = [&](std::string_view name, std::string_view value) {
    S3Error error = MakeError("InvalidArgument", "Invalid attribute name specified.");
    error.details = {{"ArgumentName", std::string(name)}, {"ArgumentValue", std::string(value)}};
    return ErrorReply(r, cx.clock, std::move(error));
  };
  const std::string* names = r.head.Header("x-amz-object-attributes");
  if (!names) return invalid("x-amz-object-attributes", "");
  std::string_view rest = *names;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view name = rest.substr(0, comma);
    name.remove_prefix(std::min(name.size(), name.find_first_not_of(' ')));
    name = name.substr(0, name.find_last_not_of(' ') + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (name == "ETag") {
      request.etag = true;
    } else if (name == "Checksum") {
      request.checksum = true;
    } else if (name == "ObjectParts") {
      request.object_parts = true;
    } else if (name == "StorageClass") {
      request.storage_class = true;
    } else if (name == "ObjectSize") {
      request.object_size = true;
    } else {
      return invalid("x-amz-object-attributes", name);
    }
  }
  for (auto [header, out, high] :
       {std::tuple{"x-amz-max-parts", &request.max_parts, 1000},
        std::tuple{"x-amz-part-number-marker", &request.part_number_marker, 10000}}) {
    const std::string* v = r.head.Header(header);
    if (!v) continue;
    int64_t n = 0;
    if (!ParseDecimal(*v, &n)) return invalid(header, *v);
    *out = static_cast<int>(std::min<int64_t>(n, high));
  }
  Result<ObjectInfo> info = HeadAddressedVersion(cx, r);
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, info.status())) {
    return std::move(*failed);
  }
  HttpReply reply = XmlReply(r, cx.clock, GetObjectAttributesResponseXml(*info, request));
  reply.headers.emplace_back("Last-Modified", HttpDate(info->last_modified_ms));
  AddVersionHeader(reply.headers, *info);
  return reply;
}

HttpReply GetObjectTagging(const S3Context& cx, S3Request& r) {
  Result<ObjectInfo> info = HeadAddressedVersion(cx, r);
  if (std::optional<HttpReply> failed = AddressedVersionError(cx, r, info.status())) {
    return std::move(*failed);
  }
  HttpReply reply = XmlReply(r, cx.clock, TaggingXml(info->tags));
  AddVersionHeader(reply.headers, *info);
  return reply;
}

HttpReply PutObjectTagging(const S3Context& cx, S3Request& r) {
  S3Error error;
  Result<TagSet> tags = ParseTaggingXml(r.body ? r.body->memory() : std::string_view(), &error);
  if (!tags.ok()) return ErrorReply(r, cx.clock, std::move(error));
  return SetVersionTags(cx, r, *tags, 200);
}

HttpReply DeleteObjectTagging(const S3Context& cx, S3Request& r) {
  return SetVersionTags(cx, r, TagSet(), 204);
}

}  // namespace thumbflow::server
