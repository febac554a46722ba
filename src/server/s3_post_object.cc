// PostObject (s3_post_object.h, s3_operations.h).
#include "server/s3_post_object.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "aws/checksums.h"
#include "aws/sigv4.h"
#include "core/civil_time.h"
#include "core/strings.h"
#include "core/uri.h"
#include "server/s3_auth.h"
#include "server/s3_operations.h"
#include "server/s3_tagging.h"
#include "storage/keys.h"

namespace thumbflow::server {
namespace {

constexpr size_t kMaxPartHeaderBytes = 16 * 1024;

Status Malformed() {
  return S3Status(StatusCode::kInvalidArgument, "MalformedPOSTRequest",
                  "The body of your POST request is not well-formed multipart/form-data.");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of parameter `name` of a header such as Content-Disposition (quotes removed).
std::optional<std::string> HeaderParameter(std::string_view header, std::string_view name) {
  size_t at = 0;
  while (at < header.size()) {
    size_t semi = header.find(';', at);
    // A quoted value may hold ';': skip to its closing quote.
    std::string_view piece = header.substr(at);
    size_t quote = piece.find('"');
    if (quote != std::string_view::npos && (semi == std::string_view::npos || at + quote < semi)) {
      size_t close = piece.find('"', quote + 1);
      semi =
          close == std::string_view::npos ? std::string_view::npos : header.find(';', at + close);
    }
    std::string_view part =
        Trim(header.substr(at, semi == std::string_view::npos ? semi : semi - at));
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && EqualsIgnoreCase(Trim(part.substr(0, eq)), name)) {
      std::string_view value = Trim(part.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    if (semi == std::string_view::npos) break;
    at = semi + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FormBoundary(std::string_view content_type) {
  if (!StartsWithIgnoreCase(Trim(content_type), "multipart/form-data")) return std::nullopt;
  std::optional<std::string> boundary = HeaderParameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return std::nullopt;
  return boundary;
}

const std::string* PostForm::Field(std::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

Status PostFormReceiver::Write(std::string_view data) {
  if (state_ == State::kEnd) return Status::Ok();  // the epilogue is ignored
  buffer_.append(data);
  return Consume();
}

Status PostFormReceiver::StartPart(std::string_view headers) {
  std::optional<std::string> name;
  std::optional<std::string> filename;
  size_t at = 0;
  while (at <= headers.size()) {
    size_t end = headers.find("\r\n", at);
    std::string_view line = headers.substr(at, end == std::string_view::npos ? end : end - at);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos &&
        EqualsIgnoreCase(Trim(line.substr(0, colon)), "content-disposition")) {
      std::string_view value = Trim(line.substr(colon + 1));
      if (!StartsWithIgnoreCase(value, "form-data")) return Malformed();
      name = HeaderParameter(value, "name");
      filename = HeaderParameter(value, "filename");
    }
    if (end == std::string_view::npos) break;
    at = end + 2;
  }
  if (!name) return Malformed();
  if (have_file_) {
    state_ = State::kIgnored;  // fields after the file are ignored, as S3 does
    return Status::Ok();
  }
  if (EqualsIgnoreCase(*name, "file")) {
    have_file_ = true;
    form_.filename = filename.value_or("");
    ASSIGN_OR_RETURN(auth_, authorize_(form_));
    state_ = State::kFile;
    return Status::Ok();
  }
  field_bytes_ += static_cast<int64_t>(headers.size());
  form_.fields.emplace_back(*name, "");
  state_ = State::kField;
  return Status::Ok();
}

Status PostFormReceiver::EmitFile(std::string_view bytes) {
  if (bytes.empty()) return Status::Ok();
  file_bytes_ += static_cast<int64_t>(bytes.size());
  if (file_bytes_ > auth_.max_bytes) {
    return S3Status(StatusCode::kResourceExhausted, "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size");
  }
  return auth_.upload->Write(bytes);
}

Status PostFormReceiver::Consume() {
  const std::string_view first = std::string_view(delimiter_).substr(2);  // no leading CRLF
  while (true) {
    switch (state_) {
      case State::kPreamble: {
        size_t at = buffer_.find(first);
        if (at == std::string::npos) {
          if (buffer_.size() > kMaxPostFieldBytes) return Malformed();
          return Status::Ok();
        }
        buffer_.erase(0, at + first.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        if (buffer_.size() < 2) return Status::Ok();
        if (buffer_.starts_with("--")) {
          state_ = State::kEnd;
          buffer_.clear();
          return Status::Ok();
        }
        size_t crlf = buffer_.find("\r\n");
        if (crlf == std::string::npos) {
          if (buffer_.size() > 1024) return Malformed();
          return Status::Ok();
        }
        if (!Trim(std::string_view(buffer_).substr(0, crlf)).empty()) return Malformed();
        buffer_.erase(0, crlf + 2);
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        std::string headers;
        if (buffer_.starts_with("\r\n")) {
          buffer_.erase(0, 2);
        } else {
          size_t end = buffer_.find("\r\n\r\n");
          if (end == std::string::npos) {
            if (buffer_.size() > kMaxPartHeaderBytes) return Malformed();
            return Status::Ok();
          }
          headers = buffer_.substr(0, end);
          buffer_.erase(0, end + 4);
        }
        RETURN_IF_ERROR(StartPart(headers));
        break;
      }
      case State::kField:
      case State::kFile:
      case State::kIgnored: {
        size_t at = buffer_.find(delimiter_);
        // Without the delimiter, all but its length less one bytes are surely content.
        size_t n = at != std::string::npos               ? at
                   : buffer_.size() >= delimiter_.size() ? buffer_.size() - (delimiter_.size() - 1)
                                                         : 0;
        std::string_view bytes(buffer_.data(), n);
        if (state_ == State::kField) {
          field_bytes_ += static_cast<int64_t>(n);
          if (field_bytes_ > kMaxPostFieldBytes) {
            return S3Status(StatusCode::kInvalidArgument, "MaxPostPreDataLengthExceeded",
                            "Your POST request fields preceding the upload file were too large.");
          }
          form_.fields.back().second.append(bytes);
        } else if (state_ == State::kFile) {
          RETURN_IF_ERROR(EmitFile(bytes));
        }
        buffer_.erase(0, n);
        if (at == std::string::npos) return Status::Ok();
        buffer_.erase(0, delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kEnd:
        return Status::Ok();
    }
  }
}

Status PostFormReceiver::Finish() {
  if (state_ != State::kEnd) return Malformed();
  if (!have_file_) {
    return S3Status(StatusCode::kInvalidArgument, "InvalidArgument",
                    "POST requires exactly one file upload per request.");
  }
  if (file_bytes_ < auth_.min_bytes) {
    return S3Status(StatusCode::kInvalidArgument, "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size");
  }
  return Status::Ok();
}

// ---- the policy ------------------------------------------------------------------------------

namespace {

Status Denied(std::string message) {
  return S3Status(StatusCode::kPermissionDenied, "AccessDenied",
                  "Invalid according to Policy: " + message);
}

Status InvalidPolicy(std::string message) {
  return S3Status(StatusCode::kInvalidArgument, "InvalidPolicyDocument",
                  "Invalid Policy: " + message);
}

Status MissingField(std::string_view name) {
  return S3Status(StatusCode::kInvalidArgument, "InvalidArgument",
                  "Bucket POST must contain a field named '" + std::string(name) +
                      "'.  If it is specified, please check the order of the fields.");
}

// "2026-12-05T23:00:00Z" or "2026-12-05T23:00:00.000Z" (what the SDKs write).
std::optional<int64_t> ParseIso8601(std::string_view text) {
  int y, mo, d, h, mi, s;
  char tail[8] = {0};
  std::string copy(text.substr(0, 40));
  int n = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &y, &mo, &d, &h, &mi, &s, tail);
  if (n < 7) return std::nullopt;
  std::string_view rest = tail;
  int64_t millis = 0;
  if (rest.starts_with('.')) {
    size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    std::string fraction(rest.substr(1, std::min<size_t>(digits - 1, 3)));
    while (fraction.size() < 3) fraction += '0';
    millis = std::atoi(fraction.c_str());
    rest.remove_prefix(digits);
  }
  if (rest != "Z" || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  return UtcMillis(y, mo, d, h, mi, s) + millis;
}

// Fields no condition needs to name (S3's list): the signature, the policy itself, the file,
// and x-ignore-*.
bool ExemptFromPolicy(std::string_view name) {
  for (const char* exempt : {"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"}) {
    if (EqualsIgnoreCase(name, exempt)) return true;
  }
  return StartsWithIgnoreCase(name, "x-ignore-");
}

struct PolicyCheck {
  const PostForm& form;
  std::string bucket;
  std::vector<std::string> covered;  // lower-case field names a condition named
  int64_t min_bytes = 0;
  int64_t max_bytes = -1;
};

// The value a condition compares: the bucket, or the field of that name ("" when absent).
std::string ConditionSubject(const PolicyCheck& check, const std::string& lower_name) {
  if (lower_name == "bucket") return check.bucket;
  const std::string* v = check.form.Field(lower_name);
  return v ? *v : std::string();
}

Status CheckCondition(PolicyCheck& check, const nlohmann::json& condition) {
  if (condition.is_object()) {
    if (condition.size() != 1 || !condition.begin().value().is_string()) {
      return InvalidPolicy("Invalid Condition.");
    }
    std::string name = ToLowerAscii(condition.begin().key());
    check.covered.push_back(name);
    if (ConditionSubject(check, name) != condition.begin().value().get<std::string>()) {
      return Denied("Policy Condition failed: " + condition.dump());
    }
    return Status::Ok();
  }
  if (!condition.is_array() || condition.size() != 3 || !condition[0].is_string()) {
    return InvalidPolicy("Invalid Condition.");
  }
  std::string op = ToLowerAscii(condition[0].get<std::string>());
  if (op == "content-length-range") {
    if (!condition[1].is_number_integer() || !condition[2].is_number_integer()) {
      return InvalidPolicy("Invalid Condition.");
    }
    check.min_bytes = condition[1].get<int64_t>();
    check.max_bytes = condition[2].get<int64_t>();
    return Status::Ok();
  }
  if ((op != "eq" && op != "starts-with") || !condition[1].is_string() ||
      !condition[2].is_string()) {
    return InvalidPolicy("Invalid Condition.");
  }
  std::string field = condition[1].get<std::string>();
  if (!field.starts_with('$')) return InvalidPolicy("Invalid Condition.");
  std::string name = ToLowerAscii(std::string_view(field).substr(1));
  check.covered.push_back(name);
  std::string subject = ConditionSubject(check, name);
  const std::string& value = condition[2].get_ref<const std::string&>();
  bool holds = op == "eq" ? subject == value : subject.starts_with(value);
  if (!holds) return Denied("Policy Condition failed: " + condition.dump());
  return Status::Ok();
}

// SigV4 (x-amz-algorithm AWS4-HMAC-SHA256) or SigV2 (AWSAccessKeyId + signature) over the
// base64 policy. Returns the access key id that signed it.
Result<std::string> CheckPolicySignature(const S3Context& cx, const aws::SecretLookup& lookup,
                                         const PostForm& form, const std::string& policy) {
  const std::string* algorithm = form.Field("x-amz-algorithm");
  if (!algorithm && form.Field("awsaccesskeyid")) {
    const std::string* signature = form.Field("signature");
    if (!signature) return MissingField("signature");
    Result<aws::Credentials> credentials = lookup(*form.Field("awsaccesskeyid"));
    if (!credentials.ok()) {
      return S3Status(StatusCode::kPermissionDenied, "InvalidAccessKeyId",
                      "The AWS Access Key Id you provided does not exist in our records.");
    }
    if (aws::Base64Encode(aws::HmacSha1(credentials->secret_access_key, policy)) != *signature) {
      return S3Status(StatusCode::kPermissionDenied, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.");
    }
    return *form.Field("awsaccesskeyid");
  }
  if (!algorithm) return MissingField("x-amz-algorithm");
  if (*algorithm != "AWS4-HMAC-SHA256") {
    return S3Status(StatusCode::kInvalidArgument, "InvalidArgument",
                    "Unsupported algorithm: " + *algorithm);
  }
  for (const char* name : {"x-amz-credential", "x-amz-date", "x-amz-signature"}) {
    if (!form.Field(name)) return MissingField(name);
  }
  // AKID/date8/region/s3/aws4_request
  std::vector<std::string> scope;
  std::string_view credential = *form.Field("x-amz-credential");
  for (size_t at = 0;;) {
    size_t slash = credential.find('/', at);
    scope.emplace_back(credential.substr(at, slash == std::string_view::npos ? slash : slash - at));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  if (scope.size() != 5 || scope[3] != "s3" || scope[4] != "aws4_request") {
    return S3Status(StatusCode::kInvalidArgument, "InvalidArgument",
                    "Invalid according to Policy: x-amz-credential is malformed");
  }
  if (scope[2] != cx.options.region) {
    return S3Status(StatusCode::kInvalidArgument, "AuthorizationQueryParametersError",
                    "Error parsing the X-Amz-Credential parameter; the region '" + scope[2] +
                        "' is wrong; expecting '" + cx.options.region + "'");
  }
  Result<aws::Credentials> credentials = lookup(scope[0]);
  if (!credentials.ok()) {
    return S3Status(StatusCode::kPermissionDenied, "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.");
  }
  std::string key = aws::DeriveSigningKey(credentials->secret_access_key, scope[1], scope[2], "s3");
  if (aws::SignatureHex(key, policy) != ToLowerAscii(*form.Field("x-amz-signature"))) {
    return S3Status(StatusCode::kPermissionDenied, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you "
                    "provided. Check your key and signing method.");
  }
  return scope[0];
}

// The form's POST policy (its signature checked): expiration, every condition, no field
// without a condition. Fills check->covered and the content-length-range.
Status CheckPolicy(const S3Context& cx, const std::string& policy, PolicyCheck* check) {
  Result<std::string> decoded = aws::Base64Decode(policy);
  if (!decoded.ok()) return InvalidPolicy("Invalid JSON.");
  nlohmann::json doc = nlohmann::json::parse(*decoded, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidPolicy("Invalid JSON.");
  if (!doc.contains("expiration") || !doc["expiration"].is_string()) {
    return InvalidPolicy("Policy missing expiration.");
  }
  std::optional<int64_t> expires = ParseIso8601(doc["expiration"].get<std::string>());
  if (!expires)
    return InvalidPolicy("Invalid 'expiration' value: '" + doc["expiration"].get<std::string>() +
                         "'");
  if (cx.clock.NowMillis() > *expires) return Denied("Policy expired.");
  if (!doc.contains("conditions") || !doc["conditions"].is_array()) {
    return InvalidPolicy("Policy missing conditions.");
  }
  for (const nlohmann::json& condition : doc["conditions"]) {
    RETURN_IF_ERROR(CheckCondition(*check, condition));
  }
  for (const auto& [name, value] : check->form.fields) {
    if (ExemptFromPolicy(name)) continue;
    if (std::find(check->covered.begin(), check->covered.end(), ToLowerAscii(name)) ==
        check->covered.end()) {
      return Denied("Extra input fields: " + name);
    }
  }
  return Status::Ok();
}

// The name of the user whose access key is `key` (it was found by the lookup).
std::string UserOfKey(const S3HandlerOptions& options, const std::string& key) {
  if (key == options.access_key_id) return options.first_user_name;
  for (const S3User& user : options.users) {
    if (user.access_key_id == key) return user.name;
  }
  return std::string();
}

}  // namespace

Result<PostAuthorization> AuthorizePostForm(const S3Context& cx, const S3Request& r,
                                            const aws::SecretLookup& lookup, const PostForm& form) {
  const std::string& bucket = r.bucket;
  const std::string* key = form.Field("key");
  if (!key) return MissingField("key");
  // No policy: an anonymous upload, which only a bucket whose ACL lets AllUsers WRITE takes.
  const std::string* policy = form.Field("policy");
  std::string user;  // the policy's signer; empty: anonymous
  if (policy) {
    ASSIGN_OR_RETURN(std::string access_key, CheckPolicySignature(cx, lookup, form, *policy));
    user = UserOfKey(cx.options, access_key);
  }
  PostAuthorization auth;
  auth.key = *key;
  for (size_t at; (at = auth.key.find("${filename}")) != std::string::npos;) {
    auth.key.replace(at, 11, form.filename);
  }
  // s3:PutObject in the bucket's policy, else WRITE in its ACL, as every request that
  // writes an object; the requester is the form policy's signer, and the form's fields are
  // its headers (the `acl` field is x-amz-acl), so a policy's conditions see what a PUT would
  // show them.
  S3Request as_signer;
  as_signer.head = r.head;
  as_signer.route = r.route;
  as_signer.user = user;
  if (!user.empty()) as_signer.auth.emplace();
  for (const auto& [name, value] : form.fields) {
    if (EqualsIgnoreCase(name, "acl")) {
      as_signer.head.headers.emplace_back("x-amz-acl", value);
    } else if (StartsWithIgnoreCase(name, "x-amz-") && !EqualsIgnoreCase(name, "x-amz-signature")) {
      as_signer.head.headers.emplace_back(name, value);
    }
  }
  std::string bucket_owner;
  if (std::optional<S3Error> denied =
          AuthorizeBucketWrite(cx, as_signer, bucket, auth.key, &bucket_owner)) {
    return S3Status(StatusCode::kPermissionDenied, denied->code, denied->message);
  }
  PolicyCheck check{form, bucket};
  if (policy) RETURN_IF_ERROR(CheckPolicy(cx, *policy, &check));
  Status valid = ValidateObjectKey(auth.key);
  if (!valid.ok()) {
    if (auth.key.size() > kMaxKeyBytes) {
      return S3Status(StatusCode::kInvalidArgument, "KeyTooLongError", "Your key is too long");
    }
    return S3Status(StatusCode::kInvalidArgument, "InvalidArgument", valid.message());
  }
  // The form's Content-Type, x-amz-meta-* and standard headers, read as a PUT's headers.
  HttpRequestHead as_put;
  for (const auto& [name, value] : form.fields) {
    // Never silently ignored: what the store cannot honour is refused. The STANDARD class
    // is what every object here has already.
    const bool unsupported = StartsWithIgnoreCase(name, "x-amz-server-side-encryption") ||
                             StartsWithIgnoreCase(name, "x-amz-checksum-") ||
                             (EqualsIgnoreCase(name, "x-amz-storage-class") && value != "STANDARD");
    if (unsupported) {
      return S3Status(StatusCode::kUnimplemented, "NotImplemented",
                      "A header you provided implies functionality that is not implemented: " +
                          ToLowerAscii(name));
    }
    as_put.headers.emplace_back(name, value);
  }
  auth.options = PutOptionsFromHeaders(as_put);
  auth.options.form_upload = true;
  // The `tagging` field: the object's tags as a <Tagging> document, as S3 takes them.
  if (const std::string* tagging = form.Field("tagging")) {
    S3Error error;
    Result<TagSet> tags = ParseTaggingXml(*tagging, &error);
    if (!tags.ok()) return S3Status(StatusCode::kInvalidArgument, error.code, error.message);
    auth.options.tags = std::move(*tags);
  }
  // The form's `acl` field (a canned ACL), else private to the writer (an anonymous writer's
  // object is the bucket owner's).
  const std::string& owner = user.empty() ? bucket_owner : user;
  const std::string* canned = form.Field("acl");
  S3Error error;
  Result<Acl> acl = CannedAcl(canned ? *canned : "private", owner, bucket_owner, &error);
  if (!acl.ok()) return S3Status(StatusCode::kInvalidArgument, error.code, error.message);
  if (std::optional<S3Error> blocked = CheckPublicAclAllowed(cx, bucket, *acl)) {
    return S3Status(StatusCode::kPermissionDenied, blocked->code, blocked->message);
  }
  auth.options.acl = EncodeAcl(*acl);
  auth.min_bytes = std::max<int64_t>(0, check.min_bytes);
  auth.max_bytes = cx.options.max_put_bytes;
  if (check.max_bytes >= 0) auth.max_bytes = std::min(auth.max_bytes, check.max_bytes);
  ASSIGN_OR_RETURN(auth.upload, cx.backend.NewUpload(bucket));
  return auth;
}

// success_action_redirect (or redirect): 303 to it with bucket, key and etag; else
// success_action_status 200 or 201 (a PostResponse document), anything else 204. Each with
// the ETag and, in a versioning-enabled bucket, x-amz-version-id, as S3 answers.
HttpReply PostObject(const S3Context& cx, S3Request& r) {
  PostAuthorization& auth = r.post->authorization();
  // The form's x-amz-object-lock-* fields, else the bucket's default retention.
  HttpRequestHead lock_fields;
  for (const auto& [name, value] : r.post->form().fields) {
    if (StartsWithIgnoreCase(name, "x-amz-object-lock-")) {
      lock_fields.headers.emplace_back(ToLowerAscii(name), value);
    }
  }
  Result<std::optional<VersionLock>> lock = WriteLockOf(cx, r, &lock_fields);
  if (!lock.ok()) return StatusReply(r, cx.clock, lock.status(), false);
  auth.options.lock = lock->value_or(VersionLock{});
  Result<ObjectInfo> info = auth.upload->Commit(auth.key, auth.options);
  if (!info.ok()) return StatusReply(r, cx.clock, info.status(), false);
  std::string host;
  if (const std::string* h = r.head.Header("host")) host = *h;
  const std::string location =
      "http://" + host + "/" + r.bucket + "/" + PercentEncode(auth.key, {.keep_slash = true});
  const PostForm& form = r.post->form();
  const std::string* redirect = form.Field("success_action_redirect");
  if (!redirect) redirect = form.Field("redirect");
  if (redirect && (redirect->starts_with("http://") || redirect->starts_with("https://"))) {
    HttpReply reply = EmptyReply(r, cx.clock, 303);
    std::string target = *redirect;
    target += target.find('?') == std::string::npos ? "?" : "&";
    target += "bucket=" + PercentEncode(r.bucket) + "&key=" + PercentEncode(auth.key) +
              "&etag=" + PercentEncode(info->etag);
    reply.headers.emplace_back("Location", target);
    reply.headers.emplace_back("ETag", info->etag);
    AddVersionHeader(reply.headers, *info);
    return reply;
  }
  const std::string* status = form.Field("success_action_status");
  if (status && *status == "201") {
    HttpReply reply =
        XmlReply(r, cx.clock, PostResponseXml(location, r.bucket, auth.key, info->etag));
    reply.status = 201;
    reply.headers.emplace_back("ETag", info->etag);
    reply.headers.emplace_back("Location", location);
    AddVersionHeader(reply.headers, *info);
    return reply;
  }
  HttpReply reply = EmptyReply(r, cx.clock, status && *status == "200" ? 200 : 204);
  reply.headers.emplace_back("ETag", info->etag);
  reply.headers.emplace_back("Location", location);
  AddVersionHeader(reply.headers, *info);
  return reply;
}

}  // namespace thumbflow::server
