#include "server/s3_auth.h"

#include "aws/sigv2.h"
#include "core/strings.h"

namespace thumbflow::server {

std::optional<S3Error> S3Authenticator::Authenticate(S3Request& r,
                                                     const HttpRequestHead& received) {
  aws::HttpHeaders received_headers(received.headers.begin(), received.headers.end());
  const bool sigv2 = aws::IsSigV2(received_headers, r.query);
  const bool signed_request = sigv2 || r.head.Header("authorization") != nullptr ||
                              r.Has("X-Amz-Signature") || r.Has("X-Amz-Credential");
  if (sigv2 && !aws::SigV2Region(options_.region)) {
    // What S3 answers in the regions created after January 2014.
    return MakeError("InvalidRequest",
                     "The authorization mechanism you have provided is not supported. "
                     "Please use AWS4-HMAC-SHA256.");
  }
  if (signed_request) return AuthenticateSigned(r, received, sigv2);
  return std::nullopt;  // anonymous: AuthorizeRequest decides
}

namespace {

// The user whose access key is `key`; nullptr when none.
const S3User* FindUser(const S3HandlerOptions& options, std::string_view key, S3User* first_user) {
  if (key.empty()) return nullptr;
  if (key == options.access_key_id) {
    *first_user = {options.first_user_name, options.access_key_id, options.secret_access_key};
    return first_user;
  }
  for (const S3User& user : options.users) {
    if (key == user.access_key_id) return &user;
  }
  return nullptr;
}

}  // namespace

aws::SecretLookup S3Authenticator::Lookup() const {
  return [this](std::string_view key) -> Result<aws::Credentials> {
    S3User first;
    const S3User* user = FindUser(options_, key, &first);
    if (user == nullptr) return NotFoundError("unknown access key");
    aws::Credentials credentials;
    credentials.access_key_id = user->access_key_id;
    credentials.secret_access_key = user->secret_access_key;
    return credentials;
  };
}

std::optional<S3Error> S3Authenticator::AuthenticateSigned(S3Request& r,
                                                           const HttpRequestHead& received,
                                                           bool sigv2) {
  aws::ErrorDetails details;
  Result<aws::VerifiedRequest> verified =
      sigv2 ? VerifySigV2(r, received, &details) : VerifySigV4(r, received, &details);
  if (!verified.ok()) {
    const Status& s = verified.status();
    if (s.code() == StatusCode::kPermissionDenied && s.error_code().empty()) {
      return MakeError("AccessDenied", s.message());
    }
    S3Error error = ErrorFromStatus(s, false);
    if (s.error_code().empty() && s.code() == StatusCode::kNotFound) {
      error = MakeError("InvalidAccessKeyId");
    }
    error.details = std::move(details);
    return error;
  }
  r.auth = std::move(*verified);
  S3User first;
  const S3User* user = FindUser(options_, r.auth->access_key_id, &first);
  if (user == nullptr) return MakeError("InvalidAccessKeyId");  // the lookup found it
  r.user = user->name;
  // A digest of a body that is not there (a GET signed with the hash of some bytes) is a
  // mismatch too; bodies are checked as they arrive (S3BodySink).
  const std::string& hash = r.auth->payload_hash;
  if (hash.size() == 64 && hash != aws::kEmptyPayloadSha256 && !r.head.has_body() &&
      r.operation() != S3Operation::kPutObject && r.operation() != S3Operation::kUploadPart) {
    return MakeError("XAmzContentSHA256Mismatch");
  }
  return std::nullopt;
}

Result<aws::VerifiedRequest> S3Authenticator::VerifySigV2(const S3Request& r,
                                                          const HttpRequestHead& received,
                                                          aws::ErrorDetails* details) {
  aws::SigV2Request v2;
  v2.method = r.head.method;
  size_t question = received.target.find('?');
  v2.raw_path = received.target.substr(0, question);
  if (question != std::string::npos) v2.raw_query = received.target.substr(question + 1);
  if (r.virtual_host) v2.virtual_host_bucket = r.bucket;
  // The resource of a bucket is "/bucket/" however the path was written (botocore signs
  // GET /images?list-type=2 as "/images/").
  if (!r.virtual_host && !r.bucket.empty() && r.key.empty() && !v2.raw_path.ends_with('/')) {
    v2.raw_path += '/';
  }
  v2.headers = aws::HttpHeaders(received.headers.begin(), received.headers.end());
  aws::SigV2Options verify;
  verify.now_ms = clock_.NowMillis();
  verify.max_clock_skew_ms = options_.max_clock_skew_ms;
  return aws::VerifySigV2(v2, Lookup(), verify, details);
}

Result<aws::VerifiedRequest> S3Authenticator::VerifySigV4(const S3Request& r,
                                                          const HttpRequestHead& received,
                                                          aws::ErrorDetails* details) {
  aws::SignableRequest signable;
  signable.method = r.head.method;
  signable.path = r.path;
  signable.query = r.query;
  signable.headers = aws::HttpHeaders(received.headers.begin(), received.headers.end());
  aws::VerifyOptions verify;
  verify.region = options_.region;
  verify.now_ms = clock_.NowMillis();
  verify.max_clock_skew_ms = options_.max_clock_skew_ms;
  verify.signing_keys = &signing_keys_;
  return aws::VerifyRequest(signable, Lookup(), verify, details);
}

// S3 reads the x-amz-* parameters of a SigV4 presigned URL (x-amz-acl, x-amz-meta-*,
// x-amz-server-side-encryption-*, ... as SDKs hoist them) as if they were headers; they are
// signed as part of the query. A header of the same name, if sent, wins (it must be signed
// itself). SigV2 URLs sign them too, and Content-Type / Content-MD5 parameters (aws/sigv2.h:
// botocore copies those signed headers into the query; the verifier signs them as headers).
void HoistPresignedAmzParameters(S3Request& r) {
  if (r.head.Header("authorization") != nullptr) return;
  const bool sigv2 = r.Has("AWSAccessKeyId");
  if (!sigv2 && !r.Has("X-Amz-Signature")) return;
  static constexpr std::string_view kAuthParameters[] = {
      "x-amz-algorithm",     "x-amz-credential", "x-amz-date",          "x-amz-expires",
      "x-amz-signedheaders", "x-amz-signature",  "x-amz-security-token"};
  for (const auto& [name, value] : r.query) {
    bool header_like = name.size() > 6 && StartsWithIgnoreCase(name, "x-amz-");
    if (sigv2)
      header_like = header_like || EqualsIgnoreCase(name, "content-type") ||
                    EqualsIgnoreCase(name, "content-md5");
    if (!header_like) continue;
    bool auth_parameter = false;
    for (std::string_view a : kAuthParameters) {
      auth_parameter = auth_parameter || (!sigv2 && EqualsIgnoreCase(name, a));
    }
    if (auth_parameter || r.head.Header(name) != nullptr) continue;
    r.head.headers.emplace_back(name, value);
  }
}

bool IsPublicRead(const std::vector<std::string>& prefixes, const std::string& bucket,
                  const std::string& key) {
  for (const auto& entry : prefixes) {
    size_t slash = entry.find('/');
    std::string_view entry_bucket = std::string_view(entry).substr(0, slash);
    std::string_view key_prefix =
        slash == std::string::npos ? std::string_view() : std::string_view(entry).substr(slash + 1);
    if (!entry_bucket.empty() && entry_bucket == bucket && key.starts_with(key_prefix)) {
      return true;
    }
  }
  return false;
}

const std::string& BucketOwner(const S3HandlerOptions& options, const BucketInfo& bucket) {
  return bucket.owner.empty() ? options.first_user_name : bucket.owner;
}

std::string RecordedOwner(const S3HandlerOptions& options, const std::string& user) {
  return user == options.first_user_name ? std::string() : user;
}

AclUsers UsersOf(const S3HandlerOptions& options) {
  AclUsers users;
  users.users.emplace_back(options.first_user_name, options.first_user_email);
  for (const S3User& user : options.users) users.users.emplace_back(user.name, user.email);
  return users;
}

namespace {

// What an operation needs (AuthorizeRequest's table).
enum class Need {
  kNothing,
  kBucketRead,
  kBucketWrite,
  kBucketReadAcp,
  kBucketWriteAcp,
  kObjectRead,
  kObjectReadAcp,
  kObjectWriteAcp,
  kBucketOwner
};

Need NeedOf(S3Operation op) {
  using Op = S3Operation;
  switch (op) {
    case Op::kListObjects:
    case Op::kListObjectsV2:
    case Op::kListObjectVersions:
    case Op::kListMultipartUploads:
    case Op::kHeadBucket:
      return Need::kBucketRead;
    case Op::kPutObject:
    case Op::kCopyObject:
    case Op::kDeleteObject:
    case Op::kDeleteObjects:
    case Op::kCreateMultipartUpload:
    case Op::kUploadPart:
    case Op::kUploadPartCopy:
    case Op::kListParts:
    case Op::kAbortMultipartUpload:
    case Op::kCompleteMultipartUpload:
      return Need::kBucketWrite;
    case Op::kGetBucketAcl:
      return Need::kBucketReadAcp;
    case Op::kPutBucketAcl:
      return Need::kBucketWriteAcp;
    case Op::kGetObject:
    case Op::kHeadObject:
    case Op::kGetObjectTagging:
      return Need::kObjectRead;
    case Op::kGetObjectAcl:
      return Need::kObjectReadAcp;
    case Op::kPutObjectAcl:
      return Need::kObjectWriteAcp;
    case Op::kPostObject:     // the form's policy (AuthorizePostForm)
    case Op::kOptionsObject:  // a CORS preflight: nobody, as on S3
      return Need::kNothing;
    default:
      return Need::kBucketOwner;
  }
}

// The permissions `user` has on a resource with this stored ACL: its grants, and for the
// resource's owner READ_ACP and WRITE_ACP always.
unsigned Permissions(const std::string& stored, const std::string& default_owner,
                     const std::string& user) {
  Acl acl = DecodeAcl(stored, default_owner);
  unsigned allowed = AclPermissions(acl, user);
  if (!user.empty() && user == acl.owner) allowed |= kAclReadAcp | kAclWriteAcp;
  return allowed;
}

}  // namespace

std::optional<S3Error> AuthorizeRead(const S3HandlerOptions& options, StreamingObjectStore& store,
                                     const std::string& user, const std::string& bucket,
                                     const std::string& key) {
  if (IsPublicRead(options.public_read_prefixes, bucket, key)) return std::nullopt;
  Result<BucketInfo> info = store.GetBucket(bucket);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound && !user.empty()) return std::nullopt;
    if (info.status().code() == StatusCode::kNotFound) return MakeError("AccessDenied");
    return ErrorFromStatus(info.status(), true);
  }
  const std::string& owner = BucketOwner(options, *info);
  Result<ObjectInfo> object = store.Head(bucket, key);
  if (!object.ok()) {
    if (object.status().code() != StatusCode::kNotFound) {
      return ErrorFromStatus(object.status(), false);
    }
    // NoSuchKey only to those who may list the bucket, as S3 answers.
    if (Permissions(info->acl, owner, user) & kAclRead) return std::nullopt;
    return MakeError("AccessDenied");
  }
  if (Permissions(object->acl, owner, user) & kAclRead) return std::nullopt;
  return MakeError("AccessDenied");
}

std::optional<S3Error> AuthorizeBucketWrite(const S3HandlerOptions& options,
                                            StreamingObjectStore& store, const std::string& user,
                                            const std::string& bucket, std::string* bucket_owner) {
  Result<BucketInfo> info = store.GetBucket(bucket);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound && !user.empty()) return std::nullopt;
    if (info.status().code() == StatusCode::kNotFound) return MakeError("AccessDenied");
    return ErrorFromStatus(info.status(), true);
  }
  *bucket_owner = BucketOwner(options, *info);
  if (Permissions(info->acl, *bucket_owner, user) & kAclWrite) return std::nullopt;
  return MakeError("AccessDenied");
}

std::optional<S3Error> AuthorizeRequest(const S3HandlerOptions& options,
                                        StreamingObjectStore& store, S3Request& r) {
  const std::string& user = r.user;  // empty: anonymous
  const bool anonymous = !r.auth;
  const Need need = NeedOf(r.operation());
  if (r.bucket.empty() || r.operation() == S3Operation::kCreateBucket) {
    return anonymous ? std::optional<S3Error>(MakeError("AccessDenied")) : std::nullopt;
  }
  Result<BucketInfo> info = store.GetBucket(r.bucket);
  if (!info.ok()) {
    if (info.status().code() != StatusCode::kNotFound) return ErrorFromStatus(info.status(), true);
    if (need == Need::kNothing) return std::nullopt;
    return anonymous ? std::optional<S3Error>(MakeError("AccessDenied")) : std::nullopt;
  }
  r.bucket_owner = BucketOwner(options, *info);
  const std::string& owner = r.bucket_owner;
  std::optional<S3Error> denied = MakeError("AccessDenied");
  const bool reads_object =
      r.operation() == S3Operation::kGetObject || r.operation() == S3Operation::kHeadObject;
  bool allowed = false;
  if (reads_object && IsPublicRead(options.public_read_prefixes, r.bucket, r.key)) {
    allowed = true;
  } else if (need == Need::kNothing) {
    allowed = true;
  } else if (need == Need::kBucketOwner) {
    allowed = !anonymous && user == owner;
  } else {
    const unsigned bucket_permissions = Permissions(info->acl, owner, user);
    unsigned wanted = 0;
    switch (need) {
      case Need::kBucketRead:
        wanted = kAclRead;
        break;
      case Need::kBucketWrite:
        wanted = kAclWrite;
        break;
      case Need::kBucketReadAcp:
        wanted = kAclReadAcp;
        break;
      case Need::kBucketWriteAcp:
        wanted = kAclWriteAcp;
        break;
      default:
        break;
    }
    if (wanted != 0) {
      allowed = (bucket_permissions & wanted) != 0;
    } else {
      wanted = need == Need::kObjectRead      ? kAclRead
               : need == Need::kObjectReadAcp ? kAclReadAcp
                                              : kAclWriteAcp;
      Result<ObjectInfo> object = store.Head(r.bucket, r.key);
      if (!object.ok()) {
        if (object.status().code() != StatusCode::kNotFound) {
          return ErrorFromStatus(object.status(), false);
        }
        // NoSuchKey only to those who may list the bucket, as S3 answers.
        allowed = (bucket_permissions & kAclRead) != 0;
      } else {
        allowed = (Permissions(object->acl, owner, user) & wanted) != 0;
      }
    }
  }
  if (!allowed) return denied;
  if (anonymous && reads_object) {
    // As on S3: an anonymous link cannot make the endpoint serve a public object under
    // another Content-Type (text/html) or disposition.
    for (const auto& [name, value] : r.query) {
      if (name.starts_with("response-")) {
        return MakeError("InvalidRequest",
                         "Request specific response headers cannot be used for anonymous "
                         "GET requests.");
      }
    }
  }
  return std::nullopt;
}

}  // namespace thumbflow::server
