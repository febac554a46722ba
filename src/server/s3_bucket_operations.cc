// Bucket-level S3 operations (s3_operations.h).
#include <algorithm>
#include <cstdlib>

#include "core/strings.h"
#include "server/s3_auth.h"
#include "server/s3_operations.h"
#include "storage/keys.h"

namespace thumbflow::server {
namespace {

// max-keys, encoding-type, prefix, delimiter and the V1 / V2 / versions paging parameters
// (ListObjectVersions' key-marker is a V1 marker).
// Returns the error for a malformed max-keys or an unknown encoding-type.
std::optional<S3Error> ParseListQuery(const S3Request& r, ListBucketQuery* q) {
  q->bucket = r.bucket;
  q->v2 = r.operation() == S3Operation::kListObjectsV2;
  // Objects belong to their bucket's owner (only the owner writes); V2 names it on request.
  const std::string* fetch_owner = r.Query("fetch-owner");
  if (!q->v2 || (fetch_owner && *fetch_owner == "true")) q->owner = r.user;
  if (const std::string* p = r.Query("prefix")) q->prefix = *p;
  if (const std::string* d = r.Query("delimiter")) q->delimiter = *d;
  if (const std::string* mk = r.Query("max-keys")) {
    char* end = nullptr;
    long v = std::strtol(mk->c_str(), &end, 10);
    if (mk->empty() || *end != '\0' || v < 0) {
      return MakeError("InvalidArgument",
                       "Provided max-keys not an integer or within integer range");
    }
    q->max_keys = static_cast<int>(std::min<long>(v, 1000));
  }
  if (const std::string* e = r.Query("encoding-type")) {
    if (*e != "url")
      return MakeError("InvalidArgument", "Invalid Encoding Method specified in Request");
    q->url_encoding = true;
  }
  if (q->v2) {
    if (const std::string* t = r.Query("continuation-token")) q->continuation_token = *t;
    if (const std::string* s = r.Query("start-after")) q->start_after = *s;
  } else if (const std::string* mk = r.Query(
                 r.operation() == S3Operation::kListObjectVersions ? "key-marker" : "marker")) {
    q->marker = *mk;
  }
  return std::nullopt;
}

ListOptions ListOptionsFor(const ListBucketQuery& q) {
  ListOptions options;
  options.prefix = q.prefix;
  options.delimiter = q.delimiter;
  options.max_keys = q.max_keys;
  options.continuation_token = q.continuation_token.value_or("");
  if (q.v2) {
    options.start_after = q.start_after.value_or("");
  } else {
    options.start_after = q.marker;
    // A marker that is a common prefix skips the whole prefix (no valid UTF-8 key holds
    // the byte 0xFF, so prefix + 0xFF sorts after every key under it).
    if (!q.marker.empty() && !q.delimiter.empty() && q.marker.ends_with(q.delimiter)) {
      options.start_after = q.marker + "\xff";
    }
  }
  return options;
}

// The page `q` asks for; max-keys=0 lists nothing but still needs the bucket.
Result<ListResult> ListPage(const S3Context& cx, const std::string& bucket,
                            const ListBucketQuery& q) {
  if (q.max_keys > 0) return cx.backend.List(bucket, ListOptionsFor(q));
  RETURN_IF_ERROR(cx.backend.HeadBucket(bucket));
  return ListResult{};
}

}  // namespace

// Only the caller's own buckets.
HttpReply ListBuckets(const S3Context& cx, S3Request& r) {
  Result<std::vector<BucketInfo>> buckets = cx.backend.ListBuckets();
  if (!buckets.ok()) return StatusReply(r, cx.clock, buckets.status(), true);
  std::erase_if(*buckets,
                [&](const BucketInfo& b) { return BucketOwner(cx.options, b) != r.user; });
  return XmlReply(r, cx.clock, ListAllMyBucketsResultXml(*buckets, r.user));
}

// The bucket's name is taken by its first creator: another user's is BucketAlreadyExists.
// Creating one's own again is 200 in us-east-1 (S3 keeps that for legacy compatibility) and
// BucketAlreadyOwnedByYou in every other region.
HttpReply CreateBucket(const S3Context& cx, S3Request& r) {
  Status valid = ValidateBucketName(r.bucket);
  if (!valid.ok()) return ErrorReply(r, cx.clock, MakeError("InvalidBucketName", valid.message()));
  // x-amz-bucket-object-lock-enabled: true makes a new bucket versioned, with object lock;
  // the ACL is x-amz-acl / x-amz-grant-* (CheckRequest; none: the default, private). The
  // store makes the bucket with them in one step.
  StreamingObjectStore::BucketSettings settings;
  const std::string* lock = r.head.Header("x-amz-bucket-object-lock-enabled");
  if (lock && EqualsIgnoreCase(*lock, "true")) settings = ObjectLockSettingsAtCreation();
  settings.acl = r.acl;
  Status s = cx.backend.CreateBucket(r.bucket, RecordedOwner(cx.options, r.user), settings);
  if (s.code() == StatusCode::kAlreadyExists) {
    Result<BucketInfo> existing = cx.backend.GetBucket(r.bucket);
    if (!existing.ok()) return StatusReply(r, cx.clock, existing.status(), true);
    if (BucketOwner(cx.options, *existing) != r.user) {
      return ErrorReply(r, cx.clock, MakeError("BucketAlreadyExists"));
    }
    if (cx.options.region != "us-east-1") {
      return ErrorReply(r, cx.clock, MakeError("BucketAlreadyOwnedByYou"));
    }
    // One's own bucket made again keeps what it has but takes the ACL asked for.
    s = r.acl.empty() ? Status::Ok() : cx.backend.PutBucketAcl(r.bucket, r.acl);
  }
  if (!s.ok()) return StatusReply(r, cx.clock, s, true);
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  reply.headers.emplace_back("Location", "/" + r.bucket);
  return reply;
}

HttpReply HeadBucket(const S3Context& cx, S3Request& r) {
  Status s = cx.backend.HeadBucket(r.bucket);
  if (!s.ok()) return StatusReply(r, cx.clock, s, true);
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  reply.headers.emplace_back("x-amz-bucket-region", cx.options.region);
  reply.head = true;
  return reply;
}

HttpReply DeleteBucket(const S3Context& cx, S3Request& r) {
  Status s = cx.backend.DeleteBucket(r.bucket);
  if (!s.ok()) return StatusReply(r, cx.clock, s, true);
  // A bucket created again under the name starts without the old one's CORS rules.
  Status cors = cx.cors.Delete(r.bucket);
  (void)cors;  // the bucket is gone; a leftover file is replaced by the next PutBucketCors
  Status policy = cx.policies.DeleteAll(r.bucket);
  (void)policy;  // a leftover file names the old bucket's creation time: never read again
  Status locks = cx.locks.DeleteAll(r.bucket);
  (void)locks;  // the same
  Status configs = cx.configs.DeleteAll(r.bucket);
  (void)configs;  // the same
  return EmptyReply(r, cx.clock, 204);
}

HttpReply GetBucketLocation(const S3Context& cx, S3Request& r) {
  Status s = cx.backend.HeadBucket(r.bucket);
  if (!s.ok()) return StatusReply(r, cx.clock, s, true);
  return XmlReply(r, cx.clock, LocationConstraintXml(cx.options.region));
}

HttpReply GetBucketVersioning(const S3Context& cx, S3Request& r) {
  Result<BucketInfo> bucket = cx.backend.GetBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket.status(), true);
  return XmlReply(r, cx.clock, VersioningConfigurationXml(bucket->versioning));
}

// MFA delete needs an MFA device thumbflow does not have: refused by name, never ignored.
HttpReply PutBucketVersioning(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  bool mfa_delete = false;
  Result<std::string> status =
      ParseVersioningConfigurationXml(r.body ? r.body->memory() : std::string_view(), &mfa_delete);
  if (!status.ok()) {
    return ErrorReply(r, cx.clock, MakeError(status.status().error_code()));
  }
  if (mfa_delete) {
    return ErrorReply(r, cx.clock,
                      MakeError("NotImplemented",
                                "thumbflow does not implement MFA delete (MfaDelete Enabled in "
                                "PutBucketVersioning)."));
  }
  if (std::optional<S3Error> refused = CheckVersioningChange(cx, r, *status)) {
    return ErrorReply(r, cx.clock, std::move(*refused));
  }
  Status set = cx.backend.PutBucketVersioning(r.bucket, *status);
  if (!set.ok()) return StatusReply(r, cx.clock, set, true);
  return EmptyReply(r, cx.clock, 200);
}

HttpReply ListObjects(const S3Context& cx, S3Request& r) {
  ListBucketQuery query;
  if (std::optional<S3Error> bad = ParseListQuery(r, &query)) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  Result<ListResult> listed = ListPage(cx, r.bucket, query);
  if (!listed.ok()) return StatusReply(r, cx.clock, listed.status(), true);
  return XmlReply(r, cx.clock, ListBucketResultXml(query, *listed));
}

// key-marker, version-id-marker ("null" or a version id; only after a key-marker, as S3
// requires), prefix, delimiter, max-keys, encoding-type.
HttpReply ListObjectVersions(const S3Context& cx, S3Request& r) {
  ListBucketQuery query;
  if (std::optional<S3Error> bad = ParseListQuery(r, &query)) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  const std::string* version_marker = r.Query("version-id-marker");
  std::string version_id_marker = version_marker ? *version_marker : "";
  if (!version_id_marker.empty() && query.marker.empty()) {
    return ErrorReply(r, cx.clock,
                      MakeError("InvalidArgument",
                                "A version-id marker cannot be specified without a key marker."));
  }
  ListVersionsOptions options;
  options.prefix = query.prefix;
  options.delimiter = query.delimiter;
  options.key_marker = query.marker;
  options.version_id_marker = version_id_marker;
  options.max_keys = query.max_keys;
  Result<ListVersionsResult> listed = cx.backend.ListVersions(r.bucket, options);
  if (!listed.ok() && listed.status().code() == StatusCode::kInvalidArgument) {
    return ErrorReply(r, cx.clock, MakeError("InvalidArgument", "Invalid version id specified"));
  }
  if (!listed.ok()) return StatusReply(r, cx.clock, listed.status(), true);
  return XmlReply(r, cx.clock, ListVersionsResultXml(query, version_id_marker, *listed));
}

HttpReply DeleteObjects(const S3Context& cx, S3Request& r) {
  Result<DeleteObjectsBody> parsed =
      ParseDeleteObjectsXml(r.body ? r.body->memory() : std::string_view());
  if (!parsed.ok()) return ErrorReply(r, cx.clock, MakeError("MalformedXML"));
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  std::vector<DeleteOutcome> outcomes;
  // The bucket policy decides key by key (s3:DeleteObject[Version] on bucket/key).
  std::vector<std::optional<S3Error>> refused =
      AuthorizeDeleteKeys(cx, r, parsed->keys, parsed->version_ids);
  for (size_t i = 0; i < parsed->keys.size(); ++i) {
    const std::string& key = parsed->keys[i];
    // <ETag>, <Size>, <LastModifiedTime>: deleted only while the object has them, as the
    // conditions of DeleteObject.
    WriteCondition condition;
    condition.if_match = parsed->etags[i];
    condition.if_match_size = parsed->sizes[i];
    condition.if_match_last_modified_ms = parsed->last_modified_ms[i];
    DeleteOutcome& outcome = outcomes.emplace_back();
    outcome.key = key;
    outcome.version_id = parsed->version_ids[i];
    Status s = ValidateObjectKey(key);
    if (s.ok() && refused[i]) {
      s = S3Status(StatusCode::kPermissionDenied, refused[i]->code, refused[i]->message);
    }
    if (s.ok() && !outcome.version_id.empty() && !IsWellFormedVersionId(outcome.version_id)) {
      // What S3 answers for such an entry (a malformed versionId of DeleteObject is 400).
      S3Error missing = MakeError("NoSuchVersion");
      s = S3Status(StatusCode::kInvalidArgument, missing.code, missing.message);
    }
    if (s.ok()) {
      PrepareVersionDelete(cx, r, key, outcome.version_id, &condition);
      Result<DeletedVersion> deleted =
          cx.backend.DeleteVersion(r.bucket, key, outcome.version_id, condition);
      s = deleted.status();
      if (std::optional<S3Error> locked = VersionDeleteError(s)) {
        s = S3Status(StatusCode::kPermissionDenied, locked->code, locked->message);
      }
      if (deleted.ok() && deleted->delete_marker) {
        outcome.delete_marker = true;
        outcome.delete_marker_version_id = deleted->version_id;
      }
    }
    if (!s.ok()) {
      S3Error e = s.code() == StatusCode::kNotFound && s.reason() != Reason::kNoSuchBucket
                      ? MakeError("NoSuchKey")
                      : ErrorFromStatus(s, false);
      outcome.code = e.code;
      outcome.message = e.message;
    }
  }
  return XmlReply(r, cx.clock, DeleteResultXml(outcomes, parsed->quiet));
}

HttpReply GetBucketCors(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  Result<std::optional<std::vector<CorsRule>>> rules = cx.cors.Get(r.bucket);
  if (!rules.ok()) return StatusReply(r, cx.clock, rules.status(), true);
  if (!*rules) return ErrorReply(r, cx.clock, MakeError("NoSuchCORSConfiguration"));
  return XmlReply(r, cx.clock, CorsConfigurationXml(**rules));
}

HttpReply PutBucketCors(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  Result<std::vector<CorsRule>> rules =
      ParseCorsConfigurationXml(r.body ? r.body->memory() : std::string_view());
  if (!rules.ok()) return StatusReply(r, cx.clock, rules.status(), true);
  Status put = cx.cors.Put(r.bucket, *rules);
  if (!put.ok()) return StatusReply(r, cx.clock, put, true);
  return EmptyReply(r, cx.clock, 200);
}

HttpReply DeleteBucketCors(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  Status removed = cx.cors.Delete(r.bucket);
  if (!removed.ok()) return StatusReply(r, cx.clock, removed, true);
  return EmptyReply(r, cx.clock, 204);
}

namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void AddRuleHeaders(const CorsRule& rule, std::string_view origin, HeaderList& headers) {
  const bool any = std::find(rule.allowed_origins.begin(), rule.allowed_origins.end(), "*") !=
                   rule.allowed_origins.end();
  headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : std::string(origin));
  headers.emplace_back("Access-Control-Allow-Methods", Join(rule.allowed_methods));
  if (!any) headers.emplace_back("Access-Control-Allow-Credentials", "true");
  if (!rule.expose_headers.empty()) {
    headers.emplace_back("Access-Control-Expose-Headers", Join(rule.expose_headers));
  }
  if (rule.max_age_seconds) {
    headers.emplace_back("Access-Control-Max-Age", std::to_string(*rule.max_age_seconds));
  }
  headers.emplace_back("Vary",
                       "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

S3Error Forbidden(std::string message) {
  S3Error error = MakeError("AccessForbidden", std::move(message));
  return error;
}

}  // namespace

HttpReply OptionsObject(const S3Context& cx, S3Request& r) {
  const std::string* origin = r.head.Header("origin");
  if (!origin) {
    return ErrorReply(r, cx.clock,
                      MakeError("BadRequest",
                                "Insufficient information. Origin request header "
                                "needed."));
  }
  const std::string* method = r.head.Header("access-control-request-method");
  if (!method || (*method != "GET" && *method != "PUT" && *method != "POST" &&
                  *method != "DELETE" && *method != "HEAD")) {
    return ErrorReply(r, cx.clock,
                      MakeError("BadRequest", "Invalid Access-Control-Request-Method: " +
                                                  (method ? *method : std::string("null"))));
  }
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  Result<std::optional<std::vector<CorsRule>>> rules = cx.cors.Get(r.bucket);
  if (!rules.ok()) return StatusReply(r, cx.clock, rules.status(), true);
  if (!*rules) {
    return ErrorReply(r, cx.clock, Forbidden("CORSResponse: CORS is not enabled for this bucket."));
  }
  std::vector<std::string> requested;
  if (const std::string* list = r.head.Header("access-control-request-headers")) {
    std::string_view rest = *list;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view name = rest.substr(0, comma);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      if (!name.empty()) requested.push_back(ToLowerAscii(name));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  const CorsRule* rule = MatchCorsRule(**rules, *origin, *method, requested);
  if (!rule) {
    // S3's words, its spelling included.
    return ErrorReply(r, cx.clock,
                      Forbidden("CORSResponse: This CORS request is not allowed. This is usually "
                                "because the evalution of Origin, request method / "
                                "Access-Control-Request-Method or Access-Control-Request-Headers "
                                "are not whitelisted by the resource's CORS spec."));
  }
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  AddRuleHeaders(*rule, *origin, reply.headers);
  if (!requested.empty()) {
    reply.headers.emplace_back("Access-Control-Allow-Headers", Join(requested));
  }
  return reply;
}

void AddCorsHeaders(const S3Context& cx, const S3Request& r, HttpReply& reply) {
  const std::string* origin = r.head.Header("origin");
  if (!origin || r.bucket.empty() || r.operation() == S3Operation::kOptionsObject) return;
  Result<std::optional<std::vector<CorsRule>>> rules = cx.cors.Get(r.bucket);
  if (!rules.ok() || !*rules) return;
  if (const CorsRule* rule = MatchCorsRule(**rules, *origin, r.head.method, {})) {
    AddRuleHeaders(*rule, *origin, reply.headers);
  }
}

}  // namespace thumbflow::server
