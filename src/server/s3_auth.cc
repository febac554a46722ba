#include "server/s3_auth.h"

#include "aws/sigv2.h"
#include "core/civil_time.h"
#include "core/strings.h"
#include "server/s3_tagging.h"

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

// What an operation needs of the ACLs (AuthorizeRequest's table).
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
    case Op::kGetObjectAttributes:
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

// The IAM action of an operation, as a bucket policy names it; empty: a bucket policy has
// no say (ListBuckets, CreateBucket, a preflight, a form upload: AuthorizePostForm).
// `version`: the request names one version of the object (?versionId=, "null" included),
// which S3 authorizes as the Version action (s3:GetObjectVersion, ...).
std::string_view PolicyActionOf(S3Operation op, bool version) {
  using Op = S3Operation;
  if (version) {
    switch (op) {
      case Op::kGetObject:
      case Op::kHeadObject:
        return "s3:GetObjectVersion";
      case Op::kDeleteObject:
        return "s3:DeleteObjectVersion";
      case Op::kGetObjectAcl:
        return "s3:GetObjectVersionAcl";
      case Op::kPutObjectAcl:
        return "s3:PutObjectVersionAcl";
      case Op::kGetObjectTagging:
        return "s3:GetObjectVersionTagging";
      case Op::kPutObjectTagging:
        return "s3:PutObjectVersionTagging";
      case Op::kDeleteObjectTagging:
        return "s3:DeleteObjectVersionTagging";
      case Op::kGetObjectAttributes:
        return "s3:GetObjectVersionAttributes";
      default:
        break;  // the operations that take no version id
    }
  }
  switch (op) {
    case Op::kListObjects:
    case Op::kListObjectsV2:
    case Op::kHeadBucket:
      return "s3:ListBucket";
    case Op::kListObjectVersions:
      return "s3:ListBucketVersions";
    case Op::kListMultipartUploads:
      return "s3:ListBucketMultipartUploads";
    case Op::kGetBucketLocation:
      return "s3:GetBucketLocation";
    case Op::kGetBucketVersioning:
      return "s3:GetBucketVersioning";
    case Op::kPutBucketVersioning:
      return "s3:PutBucketVersioning";
    case Op::kDeleteBucket:
      return "s3:DeleteBucket";
    case Op::kGetBucketAcl:
      return "s3:GetBucketAcl";
    case Op::kPutBucketAcl:
      return "s3:PutBucketAcl";
    case Op::kGetBucketPolicy:
      return "s3:GetBucketPolicy";
    case Op::kPutBucketPolicy:
      return "s3:PutBucketPolicy";
    case Op::kDeleteBucketPolicy:
      return "s3:DeleteBucketPolicy";
    case Op::kGetBucketPolicyStatus:
      return "s3:GetBucketPolicyStatus";
    case Op::kGetBucketCors:
      return "s3:GetBucketCORS";
    case Op::kPutBucketCors:
    case Op::kDeleteBucketCors:
      return "s3:PutBucketCORS";
    case Op::kGetPublicAccessBlock:
      return "s3:GetBucketPublicAccessBlock";
    case Op::kPutPublicAccessBlock:
    case Op::kDeletePublicAccessBlock:
      return "s3:PutBucketPublicAccessBlock";
    case Op::kPutObject:
    case Op::kCopyObject:
    case Op::kCreateMultipartUpload:
    case Op::kUploadPart:
    case Op::kUploadPartCopy:
    case Op::kCompleteMultipartUpload:
      return "s3:PutObject";
    case Op::kGetObject:
    case Op::kHeadObject:
      return "s3:GetObject";
    case Op::kDeleteObject:
    case Op::kDeleteObjects:  // each key: AuthorizeDeleteKeys
      return "s3:DeleteObject";
    case Op::kAbortMultipartUpload:
      return "s3:AbortMultipartUpload";
    case Op::kListParts:
      return "s3:ListMultipartUploadParts";
    case Op::kGetObjectAcl:
      return "s3:GetObjectAcl";
    case Op::kPutObjectAcl:
      return "s3:PutObjectAcl";
    case Op::kGetObjectTagging:
      return "s3:GetObjectTagging";
    case Op::kPutObjectTagging:
      return "s3:PutObjectTagging";
    case Op::kDeleteObjectTagging:
      return "s3:DeleteObjectTagging";
    case Op::kGetObjectLockConfiguration:
      return "s3:GetBucketObjectLockConfiguration";
    case Op::kPutObjectLockConfiguration:
      return "s3:PutBucketObjectLockConfiguration";
    case Op::kGetObjectRetention:
      return "s3:GetObjectRetention";
    case Op::kPutObjectRetention:
      return "s3:PutObjectRetention";
    case Op::kGetObjectLegalHold:
      return "s3:GetObjectLegalHold";
    case Op::kPutObjectLegalHold:
      return "s3:PutObjectLegalHold";
    case Op::kGetObjectAttributes:
      return "s3:GetObjectAttributes";
    default:
      return "";
  }
}

bool IsPolicyOperation(S3Operation op) {
  return op == S3Operation::kGetBucketPolicy || op == S3Operation::kPutBucketPolicy ||
         op == S3Operation::kDeleteBucketPolicy;
}

// Operations whose grant comes from the object's owner: a bucket policy (the bucket owner's)
// grants them only on objects the bucket owner owns, as on S3 with ACLs enabled.
bool ObjectOwnerOperation(S3Operation op) {
  using Op = S3Operation;
  return op == Op::kGetObject || op == Op::kHeadObject || op == Op::kGetObjectAcl ||
         op == Op::kPutObjectAcl || op == Op::kGetObjectTagging || op == Op::kPutObjectTagging ||
         op == Op::kDeleteObjectTagging || op == Op::kGetObjectAttributes;
}

// The permissions `user` has on a resource with this stored ACL: its grants (but the public
// ones when `ignore_public`: IgnorePublicAcls), and for the resource's owner READ_ACP and
// WRITE_ACP always.
unsigned Permissions(const std::string& stored, const std::string& default_owner,
                     const std::string& user, bool ignore_public) {
  Acl acl = DecodeAcl(stored, default_owner);
  if (ignore_public) std::erase_if(acl.grants, IsPublicGrant);
  unsigned allowed = AclPermissions(acl, user);
  if (!user.empty() && user == acl.owner) allowed |= kAclReadAcp | kAclWriteAcp;
  return allowed;
}

std::string BucketArn(const std::string& bucket) { return "arn:aws:s3:::" + bucket; }
std::string ObjectArn(const std::string& bucket, const std::string& key) {
  return "arn:aws:s3:::" + bucket + "/" + key;
}

// The request headers that are S3 condition keys of the same name ("s3:x-amz-acl").
constexpr std::string_view kHeaderKeys[] = {
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-storage-class",
    "x-amz-website-redirect-location",
    "x-amz-content-sha256",
};

}  // namespace

PolicyRequest PolicyRequestOf(const PolicyRequestInput& in) {
  const S3Request& r = in.request;
  PolicyRequest p;
  p.action = std::string(in.action);
  p.resource = in.key.empty() && !in.object ? BucketArn(in.bucket) : ObjectArn(in.bucket, in.key);
  p.principal = r.user;
  std::string address = r.head.remote;
  if (!address.empty()) p.Set("aws:SourceIp", address);
  p.Set("aws:SecureTransport", "false");  // the endpoint speaks plain HTTP
  p.Set("aws:CurrentTime", FormatIso8601Millis(in.now_ms));
  p.Set("aws:EpochTime", std::to_string(in.now_ms / 1000));
  if (const std::string* agent = r.head.Header("user-agent")) p.Set("aws:UserAgent", *agent);
  if (const std::string* referer = r.head.Header("referer")) p.Set("aws:Referer", *referer);
  if (r.auth) {
    p.Set("aws:PrincipalType", "Account");
    p.Set("aws:PrincipalAccount", r.user);
    p.Set("aws:userid", r.user);
    p.Set("aws:PrincipalArn", "arn:aws:iam::" + r.user + ":root");
    p.Set("s3:authType", r.operation() == S3Operation::kPostObject ? "POST"
                         : r.auth->presigned                       ? "REST-QUERY-STRING"
                                                                   : "REST-HEADER");
    const std::string* authorization = r.head.Header("authorization");
    const bool sigv2 = authorization ? authorization->starts_with("AWS ") : r.Has("AWSAccessKeyId");
    p.Set("s3:signatureversion", sigv2 ? "AWS" : "AWS4-HMAC-SHA256");
  } else {
    p.Set("aws:PrincipalType", "Anonymous");
  }
  if (!in.bucket_owner.empty()) p.Set("s3:ResourceAccount", in.bucket_owner);
  for (std::string_view name : kHeaderKeys) {
    if (const std::string* value = r.head.Header(name)) p.Set("s3:" + std::string(name), *value);
  }
  if (in.action == "s3:ListBucket" || in.action == "s3:ListBucketVersions") {
    for (std::string_view name : {"prefix", "delimiter", "max-keys"}) {
      if (const std::string* value = r.Query(name)) p.Set("s3:" + std::string(name), *value);
    }
  }
  if (in.list_prefix) p.keys["s3:prefix"] = {*in.list_prefix};
  if (in.version_id) p.Set("s3:versionid", *in.version_id);
  if (in.existing_tags) {
    for (const auto& [tag, value] : *in.existing_tags) {
      p.keys["s3:existingobjecttag/" + ToLowerAscii(tag)].push_back(value);
    }
  }
  if (const std::string* tagging = r.head.Header("x-amz-tagging")) {
    S3Error ignored;  // a malformed header is refused later (CheckRequest)
    Result<TagSet> tags = ParseTaggingHeader(*tagging, &ignored);
    if (tags.ok()) {
      for (const auto& [tag, value] : *tags) {
        p.keys["s3:requestobjecttag/" + ToLowerAscii(tag)].push_back(value);
        p.keys["s3:requestobjecttagkeys"].push_back(tag);
      }
    }
  }
  return p;
}

namespace {

// The bucket's public access block; one that cannot be read blocks everything (the request
// is then decided as the most restrictive block would decide it).
PublicAccessBlock PublicAccessOf(const S3Context& cx, const BucketInfo& info) {
  Result<PublicAccessBlock> block = cx.configs.PublicAccess(info);
  return block.ok() ? *block : PublicAccessBlock{true, true, true, true};
}

// What a request may do to the bucket `info` and its policy, in AWS's order: an explicit
// Deny in the policy refuses; an Allow grants; else the ACLs decide. The bucket's public
// access block applies: IgnorePublicAcls drops the ACLs' public grants; RestrictPublicBuckets
// makes a public policy's Allow count only for the bucket's owner (S3: its own account).
class Authorizer {
 public:
  Authorizer(const S3Context& cx, const S3Request& r, const BucketInfo& info,
             const BucketPolicy* policy)
      : cx_(cx),
        r_(r),
        info_(info),
        policy_(policy),
        owner_(BucketOwner(cx.options, info)),
        block_(PublicAccessOf(cx, info)) {}

  const std::string& owner() const { return owner_; }

  // `version`: the version the request names (s3:versionid), if any.
  PolicyDecision Decide(std::string_view action, const std::string& key, bool object,
                        const TagSet* tags, std::optional<std::string> list_prefix = std::nullopt,
                        const std::string* version = nullptr) const {
    if (!policy_) return PolicyDecision::kNone;
    PolicyRequestInput in{r_,
                          action,
                          info_.name,
                          key,
                          object,
                          owner_,
                          tags,
                          std::move(list_prefix),
                          cx_.clock.NowMillis(),
                          version};
    PolicyDecision decision = policy_->Evaluate(PolicyRequestOf(in));
    const bool outsider = !r_.auth || r_.user != owner_;
    if (decision == PolicyDecision::kAllow && outsider && block_.restrict_public_buckets &&
        policy_->IsPublic()) {
      return PolicyDecision::kNone;
    }
    return decision;
  }

  unsigned BucketPermissions() const {
    return Permissions(info_.acl, owner_, r_.user, block_.ignore_public_acls);
  }

  // Whether the requester may learn that `key` is missing (NoSuchKey rather than
  // AccessDenied): s3:ListBucket, with s3:prefix the key, by the policy or READ on the bucket.
  bool MayList(const std::string& key) const {
    PolicyDecision list = Decide("s3:ListBucket", "", false, nullptr, key);
    if (list == PolicyDecision::kDeny) return false;
    return list == PolicyDecision::kAllow || (BucketPermissions() & kAclRead) != 0;
  }

  // An operation on an existing object whose grant comes from the object's owner: the
  // policy's Allow counts only on the bucket owner's objects.
  bool ObjectAllowed(PolicyDecision decision, const ObjectInfo& object, unsigned wanted) const {
    const std::string object_owner = DecodeAcl(object.acl, owner_).owner;
    if (decision == PolicyDecision::kAllow && object_owner == owner_) return true;
    return (Permissions(object.acl, owner_, r_.user, block_.ignore_public_acls) & wanted) != 0;
  }

 private:
  const S3Context& cx_;
  const S3Request& r_;
  const BucketInfo& info_;
  const BucketPolicy* policy_;  // nullptr: none
  const std::string owner_;
  const PublicAccessBlock block_;
};

std::optional<S3Error> PolicyLoadError(const Status& status) {
  return ErrorFromStatus(status, true);
}

// x-amz-expected-bucket-owner / x-amz-source-expected-bucket-owner: the caller's guard
// against writing to or reading from a bucket that changed hands. A user's account id is its
// name (as in policy principals); another owner is 403 AccessDenied, as on S3.
std::optional<S3Error> CheckExpectedOwner(const S3Request& r, const char* header,
                                          const std::string& owner) {
  const std::string* expected = r.head.Header(header);
  if (expected == nullptr || *expected == owner) return std::nullopt;
  return MakeError("AccessDenied");
}

}  // namespace

std::optional<S3Error> AuthorizeCopySource(const S3Context& cx, const S3Request& r,
                                           const CopySource& source) {
  const std::string& bucket = source.bucket;
  const std::string& key = source.key;
  const std::string& user = r.user;
  Result<BucketInfo> info = cx.backend.GetBucket(bucket);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound && !user.empty()) return std::nullopt;
    if (info.status().code() == StatusCode::kNotFound) return MakeError("AccessDenied");
    return ErrorFromStatus(info.status(), true);
  }
  if (std::optional<S3Error> refused = CheckExpectedOwner(r, "x-amz-source-expected-bucket-owner",
                                                          BucketOwner(cx.options, *info))) {
    return refused;
  }
  Result<std::shared_ptr<const BucketPolicy>> policy = cx.policies.GetParsed(*info);
  if (!policy.ok()) return PolicyLoadError(policy.status());
  Authorizer authorizer(cx, r, *info, policy->get());
  // The version copied: its ACL and tags decide, not the latest's.
  const bool versioned = !source.version_id.empty();
  Result<ObjectInfo> object = versioned ? cx.backend.HeadVersion(bucket, key, source.version_id)
                                        : cx.backend.Head(bucket, key);
  if (!object.ok() && object.status().code() != StatusCode::kNotFound) {
    return ErrorFromStatus(object.status(), false);
  }
  const TagSet* tags = object.ok() ? &object->tags : nullptr;
  PolicyDecision decision =
      authorizer.Decide(versioned ? "s3:GetObjectVersion" : "s3:GetObject", key, true, tags,
                        std::nullopt, versioned ? &source.version_id : nullptr);
  if (decision == PolicyDecision::kDeny) return MakeError("AccessDenied");
  if (IsPublicRead(cx.options.public_read_prefixes, bucket, key)) return std::nullopt;
  if (!object.ok()) {
    // NoSuchKey only to those who may list the bucket, as S3 answers.
    if (authorizer.MayList(key)) return std::nullopt;
    return MakeError("AccessDenied");
  }
  if (authorizer.ObjectAllowed(decision, *object, kAclRead)) return std::nullopt;
  return MakeError("AccessDenied");
}

namespace {

// `action` on bucket/key for each key: the bucket's policy (Deny first), else WRITE in its
// ACL; the error for each key refused. `version_action` instead for a key whose entry of
// `version_ids` (empty: none) is not empty.
std::vector<std::optional<S3Error>> AuthorizeWrites(
    const S3Context& cx, const S3Request& r, const BucketInfo& info, std::string_view action,
    const std::vector<std::string>& keys, std::string_view version_action = {},
    const std::vector<std::string>& version_ids = {}) {
  Result<std::shared_ptr<const BucketPolicy>> policy = cx.policies.GetParsed(info);
  if (!policy.ok()) {
    return std::vector<std::optional<S3Error>>(keys.size(), PolicyLoadError(policy.status()));
  }
  Authorizer authorizer(cx, r, info, policy->get());
  const bool acl_write = (authorizer.BucketPermissions() & kAclWrite) != 0;
  std::vector<std::optional<S3Error>> refused;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string* version =
        i < version_ids.size() && !version_ids[i].empty() ? &version_ids[i] : nullptr;
    PolicyDecision decision = authorizer.Decide(version ? version_action : action, keys[i], true,
                                                nullptr, std::nullopt, version);
    const bool allowed =
        decision == PolicyDecision::kAllow || (decision == PolicyDecision::kNone && acl_write);
    refused.push_back(allowed ? std::nullopt : std::optional<S3Error>(MakeError("AccessDenied")));
  }
  return refused;
}

}  // namespace

std::optional<S3Error> AuthorizeBucketWrite(const S3Context& cx, const S3Request& r,
                                            const std::string& bucket, const std::string& key,
                                            std::string* bucket_owner) {
  Result<BucketInfo> info = cx.backend.GetBucket(bucket);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound && !r.user.empty()) return std::nullopt;
    if (info.status().code() == StatusCode::kNotFound) return MakeError("AccessDenied");
    return ErrorFromStatus(info.status(), true);
  }
  *bucket_owner = BucketOwner(cx.options, *info);
  std::vector<std::optional<S3Error>> refused =
      AuthorizeWrites(cx, r, *info, "s3:PutObject", {key});
  return std::move(refused.front());
}

std::vector<std::optional<S3Error>> AuthorizeDeleteKeys(
    const S3Context& cx, const S3Request& r, const std::vector<std::string>& keys,
    const std::vector<std::string>& version_ids) {
  Result<BucketInfo> info = cx.backend.GetBucket(r.bucket);
  if (!info.ok()) return std::vector<std::optional<S3Error>>(keys.size());
  return AuthorizeWrites(cx, r, *info, "s3:DeleteObject", keys, "s3:DeleteObjectVersion",
                         version_ids);
}

std::optional<S3Error> CheckPublicAclAllowed(const S3Context& cx, const std::string& bucket,
                                             const Acl& acl) {
  if (!IsPublicAcl(acl)) return std::nullopt;
  Result<BucketInfo> info = cx.backend.GetBucket(bucket);
  if (!info.ok()) return std::nullopt;  // the operation answers NoSuchBucket
  if (!PublicAccessOf(cx, *info).block_public_acls) return std::nullopt;
  return MakeError("AccessDenied");
}

std::optional<S3Error> CheckPublicPolicyAllowed(const S3Context& cx, const BucketInfo& bucket,
                                                const BucketPolicy& policy) {
  if (!policy.IsPublic() || !PublicAccessOf(cx, bucket).block_public_policy) return std::nullopt;
  return MakeError("AccessDenied");
}

bool MayBypassGovernance(const S3Context& cx, const S3Request& r, const std::string& key) {
  const std::string* header = r.head.Header("x-amz-bypass-governance-retention");
  if (!header || !EqualsIgnoreCase(*header, "true") || !r.auth) return false;
  Result<BucketInfo> info = cx.backend.GetBucket(r.bucket);
  if (!info.ok()) return false;
  Result<std::shared_ptr<const BucketPolicy>> policy = cx.policies.GetParsed(*info);
  if (!policy.ok()) return false;
  Authorizer authorizer(cx, r, *info, policy->get());
  PolicyDecision decision =
      authorizer.Decide("s3:BypassGovernanceRetention", key, true, nullptr, std::nullopt);
  if (decision == PolicyDecision::kDeny) return false;
  return decision == PolicyDecision::kAllow || r.user == authorizer.owner();
}

std::optional<S3Error> AuthorizeRequest(const S3Context& cx, S3Request& r) {
  const S3HandlerOptions& options = cx.options;
  const std::string& user = r.user;  // empty: anonymous
  const bool anonymous = !r.auth;
  const S3Operation op = r.operation();
  const Need need = NeedOf(op);
  if (r.bucket.empty() || op == S3Operation::kCreateBucket) {
    return anonymous ? std::optional<S3Error>(MakeError("AccessDenied")) : std::nullopt;
  }
  Result<BucketInfo> info = cx.backend.GetBucket(r.bucket);
  if (!info.ok()) {
    if (info.status().code() != StatusCode::kNotFound) return ErrorFromStatus(info.status(), true);
    if (need == Need::kNothing) return std::nullopt;
    return anonymous ? std::optional<S3Error>(MakeError("AccessDenied")) : std::nullopt;
  }
  r.bucket_owner = BucketOwner(options, *info);
  const std::string& owner = r.bucket_owner;
  if (std::optional<S3Error> refused =
          CheckExpectedOwner(r, "x-amz-expected-bucket-owner", owner)) {
    return refused;
  }
  // A request naming one version of the object is authorized as S3 does: the Version
  // action, with s3:versionid, against that version's ACL and tags.
  const std::string* version = r.Query("versionId");
  if (version && PolicyActionOf(op, true) == PolicyActionOf(op, false)) version = nullptr;
  const std::string_view action = PolicyActionOf(op, version != nullptr);
  std::shared_ptr<const BucketPolicy> no_policy;
  Result<std::shared_ptr<const BucketPolicy>> policy =
      action.empty() ? Result<std::shared_ptr<const BucketPolicy>>(no_policy)
                     : cx.policies.GetParsed(*info);
  if (!policy.ok()) {
    // A stored policy that cannot be read refuses everything (500), but its owner may still
    // read, replace or delete it.
    if (!(IsPolicyOperation(op) && !anonymous && user == owner)) {
      return PolicyLoadError(policy.status());
    }
    policy = no_policy;
  }
  Authorizer authorizer(cx, r, *info, policy->get());

  // The operations on one existing object read it first: its tags are condition keys, its
  // ACL decides.
  const bool object_operation =
      need == Need::kObjectRead || need == Need::kObjectReadAcp || need == Need::kObjectWriteAcp ||
      op == S3Operation::kPutObjectTagging || op == S3Operation::kDeleteObjectTagging;
  std::optional<ObjectInfo> object;
  if (object_operation) {
    Result<ObjectInfo> head = version ? cx.backend.HeadVersion(r.bucket, r.key, *version)
                                      : cx.backend.Head(r.bucket, r.key);
    if (head.ok()) {
      object = std::move(*head);
    } else if (head.status().code() != StatusCode::kNotFound) {
      return ErrorFromStatus(head.status(), false);
    }
  }
  // DeleteObjects names its keys in its body: each is decided by AuthorizeDeleteKeys.
  const bool per_key = op == S3Operation::kDeleteObjects;
  const PolicyDecision decision =
      action.empty() || per_key
          ? PolicyDecision::kNone
          : authorizer.Decide(action, r.key, !r.key.empty(), object ? &object->tags : nullptr,
                              std::nullopt, version);
  std::optional<S3Error> denied = MakeError("AccessDenied");
  if (IsPolicyOperation(op)) {
    // The bucket owner (an account's root) may always read, replace and delete its policy,
    // as on S3, so a policy can never lock it out; another account never may: S3 answers
    // 405 when its policy would allow it.
    if (!anonymous && user == owner) return std::nullopt;
    return decision == PolicyDecision::kAllow ? MakeError("MethodNotAllowed") : denied;
  }
  if (decision == PolicyDecision::kDeny) return denied;

  const bool reads_object = op == S3Operation::kGetObject || op == S3Operation::kHeadObject;
  bool allowed = false;
  if (reads_object && IsPublicRead(options.public_read_prefixes, r.bucket, r.key)) {
    allowed = true;
  } else if (need == Need::kNothing) {
    allowed = true;
  } else if (per_key) {
    allowed = *policy != nullptr || (authorizer.BucketPermissions() & kAclWrite) != 0;
  } else if (object_operation && !object) {
    // NoSuchKey only to those who may list the bucket, as S3 answers.
    allowed = authorizer.MayList(r.key);
  } else if (object_operation && ObjectOwnerOperation(op)) {
    // Tag changes want no ACL permission: they are the bucket owner's, or the policy's.
    unsigned wanted = 0;
    if (need == Need::kObjectRead) wanted = kAclRead;
    if (need == Need::kObjectReadAcp) wanted = kAclReadAcp;
    if (need == Need::kObjectWriteAcp) wanted = kAclWriteAcp;
    allowed = authorizer.ObjectAllowed(decision, *object, wanted) ||
              (wanted == 0 && !anonymous && user == owner);
  } else if (decision == PolicyDecision::kAllow) {
    allowed = true;
  } else if (need == Need::kBucketOwner) {
    allowed = !anonymous && user == owner;
  } else {
    const unsigned bucket_permissions = authorizer.BucketPermissions();
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
    allowed = (bucket_permissions & wanted) != 0;
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
