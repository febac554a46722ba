#include "server/s3_handler.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "aws/checksums.h"
#include "core/random.h"
#include "core/strings.h"
#include "server/s3_acl.h"
#include "server/s3_auth.h"
#include "server/s3_metrics.h"
#include "server/s3_operations.h"
#include "server/s3_protocol.h"
#include "server/s3_request.h"
#include "server/s3_tagging.h"
#include "storage/keys.h"

namespace thumbflow::server {
namespace {

constexpr int64_t kMaxSmallBody = 4 << 20;  // XML request bodies (DeleteObjects of 1000 keys)

// Server-side encryption requests are never silently ignored: thumbflow keeps objects as
// plain files, so SSE-C and SSE-KMS, and SSE-S3 (AES256) too, are refused rather than
// accepted and claimed. Returns the error for the first such header, if any.
std::optional<S3Error> RefuseServerSideEncryption(const HttpRequestHead& head) {
  for (const auto& [name, value] : head.headers) {
    std::string lower = ToLowerAscii(name);
    bool sse = lower.starts_with("x-amz-server-side-encryption") ||
               lower.starts_with("x-amz-copy-source-server-side-encryption");
    if (!sse) continue;
    if (lower == "x-amz-server-side-encryption" && !EqualsIgnoreCase(value, "AES256") &&
        !EqualsIgnoreCase(value, "aws:kms") && !EqualsIgnoreCase(value, "aws:kms:dsse")) {
      S3Error error =
          MakeError("InvalidArgument", "The encryption method specified is not supported");
      error.details = {{"ArgumentName", "x-amz-server-side-encryption"}, {"ArgumentValue", value}};
      return error;
    }
    std::string what = lower.find("customer") != std::string::npos
                           ? "server-side encryption with customer-provided keys (SSE-C)"
                       : lower.find("aws-kms") != std::string::npos ||
                               lower.find("context") != std::string::npos ||
                               lower.find("bucket-key") != std::string::npos ||
                               !EqualsIgnoreCase(value, "AES256")
                           ? "server-side encryption with KMS keys (SSE-KMS)"
                           : "server-side encryption (SSE-S3): objects are stored unencrypted";
    S3Error error = MakeError("NotImplemented",
                              "A header you provided implies functionality that is not "
                              "implemented: " +
                                  lower + " (thumbflow does not implement " + what + ")");
    error.details = {{"Header", lower}};
    return error;
  }
  return std::nullopt;
}

bool HasFileBody(S3Operation op) {
  return op == S3Operation::kPutObject || op == S3Operation::kUploadPart;
}

// The operations that create an object, asked for free space before their body is read.
bool CreatesObject(S3Operation op) {
  return HasFileBody(op) || op == S3Operation::kCopyObject ||
         op == S3Operation::kCompleteMultipartUpload || op == S3Operation::kUploadPartCopy ||
         op == S3Operation::kPostObject;
}

}  // namespace

class S3Handler::Exchange final : public HttpExchange {
 public:
  Exchange(S3Handler* handler, std::unique_ptr<S3Request> request)
      : handler_(handler), request_(std::move(request)) {}

  Status OnBody(std::string_view data) override {
    request_->bytes_in += static_cast<int64_t>(data.size());
    if (request_->post) return request_->post->Write(data);
    if (!request_->body) {
      if (request_->bytes_in > kMaxSmallBody) {
        return S3Status(StatusCode::kResourceExhausted, "MaxMessageLengthExceeded",
                        "Your request was too big.");
      }
      return Status::Ok();
    }
    return request_->body->Write(data);
  }

  HttpReply Finish(const Status& body_status) override {
    HttpReply reply;
    Status status = body_status;
    if (status.ok() && request_->body) status = request_->body->Finish();
    if (status.ok() && request_->post) status = request_->post->Finish();
    if (!status.ok()) {
      reply = StatusReply(*request_, *handler_->clock_, status, request_->key.empty());
    } else {
      reply = handler_->Execute(*request_);
    }
    AddCorsHeaders(*handler_->context_, *request_, reply);
    handler_->Record(*request_, reply);
    return reply;
  }

 private:
  S3Handler* handler_;
  std::unique_ptr<S3Request> request_;
};

namespace {

std::string StateDir(const S3HandlerOptions& options, const StreamingObjectStore& backend) {
  return options.state_dir.empty() ? backend.StagingDir() : options.state_dir;
}

}  // namespace

S3Handler::S3Handler(S3HandlerOptions options, StreamingObjectStore* backend, const Clock* clock,
                     MetricsRegistry* metrics, std::function<Status()> ready)
    : options_(std::move(options)),
      backend_(backend),
      clock_(clock),
      operational_{metrics, std::move(ready)},
      uploads_(StateDir(options_, *backend) + "/multipart/uploads", clock),
      cors_(StateDir(options_, *backend) + "/bucket-cors"),
      policies_(StateDir(options_, *backend) + "/bucket-policies"),
      locks_(StateDir(options_, *backend) + "/object-lock"),
      configs_(StateDir(options_, *backend) + "/bucket-config"),
      context_(std::make_unique<S3Context>(
          S3Context{options_, *backend, uploads_, *clock, cors_, policies_, locks_, configs_})),
      authenticator_(std::make_unique<S3Authenticator>(options_, *clock)),
      metrics_(std::make_unique<S3RequestMetrics>(metrics)),
      request_id_prefix_(RandomHex(4)) {
  // Host names compare case-insensitively; ParseAddress lower-cases the Host it receives.
  for (auto& domain : options_.virtual_host_domains) domain = ToLowerAscii(domain);
  // Uploads abandoned while the server was down go now (a failure leaves them to the next).
  (void)uploads_.SweepAbandoned(options_.multipart_upload_max_age_ms);
}

S3Handler::~S3Handler() = default;

std::string S3Handler::NextRequestId() {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%012llX",
                static_cast<unsigned long long>(request_counter_.fetch_add(1)));
  return request_id_prefix_ + buf;
}

void S3Handler::Record(const S3Request& r, const HttpReply& reply) {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
  int64_t out =
      reply.head ? 0
                 : (reply.stream ? reply.stream_length : static_cast<int64_t>(reply.body.size()));
  metrics_->Record(r.operation(), reply.status, seconds, r.bytes_in, out);
}

HttpReply S3Handler::TransportError(int status, std::string_view code, std::string_view message) {
  S3Request r;
  r.request_id = NextRequestId();
  S3Error error = MakeError(code, std::string(message));
  error.http_status = status;
  return ErrorReply(r, *clock_, error);
}

// Target -> decoded path and query (presigned x-amz-* parameters hoisted into the head);
// Host -> virtual-host bucket (<bucket>.<domain>[:port]); path -> bucket and key.
std::optional<S3Error> S3Handler::ParseAddress(S3Request& r) const {
  Result<aws::RequestTarget> target = aws::ParseRequestTarget(r.head.target);
  if (!target.ok()) return MakeError("InvalidURI", "Couldn't parse the specified URI.");
  r.path = target->path;
  r.query = target->query;
  HoistPresignedAmzParameters(r);

  std::string host;
  if (const std::string* h = r.head.Header("host")) host = *h;
  std::string hostname = ToLowerAscii(
      host.substr(0, host.rfind(':') == std::string::npos || host.back() == ']' ? host.size()
                                                                                : host.rfind(':')));
  for (const auto& domain : options_.virtual_host_domains) {
    if (hostname.size() > domain.size() + 1 && hostname.ends_with("." + domain)) {
      r.bucket = hostname.substr(0, hostname.size() - domain.size() - 1);
      r.virtual_host = true;
      break;
    }
  }
  std::string_view path = r.path;
  if (path.empty() || path[0] != '/') return MakeError("InvalidURI");
  if (r.virtual_host) {
    r.key = std::string(path.substr(1));
  } else {
    std::string_view rest = path.substr(1);
    size_t slash = rest.find('/');
    r.bucket = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) r.key = std::string(rest.substr(slash + 1));
  }
  return std::nullopt;
}

// /healthz, /readyz and /metrics, path style only (a virtual-host request for them is an
// S3 request to that bucket), with the S3 headers every reply carries.
std::optional<HttpReply> S3Handler::AnswerOperational(const S3Request& r) const {
  if (r.virtual_host) return std::nullopt;
  std::optional<HttpReply> answer = operational_.Answer(r.head.method, r.path);
  if (!answer) return std::nullopt;
  HttpReply reply = EmptyReply(r, *clock_, answer->status);
  for (auto& header : answer->headers) reply.headers.push_back(std::move(header));
  reply.body = std::move(answer->body);
  reply.head = answer->head;
  return reply;
}

// After authentication: what no operation may be asked (server-side encryption), what
// thumbflow does not implement, keys that are not valid, the x-amz-tagging of the
// operations that take it (parsed into r.tagging) and the ACL of those that write (r.acl).
std::optional<S3Error> S3Handler::CheckRequest(S3Request& r) const {
  if (std::optional<S3Error> sse = RefuseServerSideEncryption(r.head)) return sse;
  if (!r.route.implemented) return RouteError(r.route, r.head.method, r.head.target);
  // A versionId this server could never have issued is refused as S3 refuses it; a
  // well-formed one that names nothing is the operation's NoSuchVersion.
  if (const std::string* version = r.Query("versionId");
      version && !IsWellFormedVersionId(*version)) {
    S3Error error =
        MakeError("InvalidArgument", version->empty() ? "Version id cannot be the empty string"
                                                      : "Invalid version id specified");
    error.details = {{"ArgumentName", "versionId"}, {"ArgumentValue", *version}};
    return error;
  }
  const S3Operation op = r.operation();
  if (op == S3Operation::kPutObject || op == S3Operation::kCopyObject ||
      op == S3Operation::kCreateMultipartUpload || op == S3Operation::kCreateBucket) {
    // The writer owns what it writes; an anonymous write (to a bucket whose ACL lets
    // AllUsers write) is owned by the bucket's owner.
    const std::string& owner = r.user.empty() ? r.bucket_owner : r.user;
    const std::string& bucket_owner =
        op == S3Operation::kCreateBucket || r.bucket_owner.empty() ? owner : r.bucket_owner;
    S3Error error;
    Result<std::optional<Acl>> asked =
        AclFromHeaders(r.head, owner, bucket_owner, UsersOf(options_), &error);
    if (!asked.ok()) return error;
    if (*asked && op != S3Operation::kCreateBucket) {
      // BlockPublicAcls: refused before the body is read.
      if (std::optional<S3Error> blocked = CheckPublicAclAllowed(*context_, r.bucket, **asked)) {
        return blocked;
      }
    }
    if (*asked) {
      r.acl = EncodeAcl(**asked);
    } else if (op != S3Operation::kCreateBucket) {
      r.acl = EncodeAcl(*CannedAcl("private", owner, bucket_owner, &error));
    }
  }
  const std::string* tagging = r.head.Header("x-amz-tagging");
  if (tagging && (op == S3Operation::kPutObject || op == S3Operation::kCreateMultipartUpload ||
                  op == S3Operation::kCopyObject)) {
    S3Error error;
    Result<TagSet> tags = ParseTaggingHeader(*tagging, &error);
    if (!tags.ok()) return error;
    r.tagging = std::move(*tags);
  }
  if (r.key.empty()) return std::nullopt;
  Status key_ok = ValidateObjectKey(r.key);
  if (key_ok.ok()) return std::nullopt;
  return r.key.size() > kMaxKeyBytes ? MakeError("KeyTooLongError")
                                     : MakeError("InvalidArgument", key_ok.message());
}

// Before the body is read: free space for new objects, the declared size of object bodies,
// the bucket and upload they go to; then the sink that receives the body.
std::optional<S3Error> S3Handler::AdmitBody(S3Request& r) {
  const HttpRequestHead& head = r.head;
  const S3Operation op = r.operation();
  const bool file_body = HasFileBody(op);
  if (op == S3Operation::kPostObject) return AdmitPostForm(r);
  if (CreatesObject(op)) {
    // Below the free-space reserve no new object is taken on (503 SlowDown, retried by the
    // SDKs): the room left finishes what was already accepted.
    int64_t incoming = file_body ? static_cast<int64_t>(head.content_length.value_or(0)) : 0;
    Status room = backend_->AdmitWrite(incoming);
    if (!room.ok()) return ErrorFromStatus(room, false);
  }
  if (file_body) {
    if (!head.content_length && !head.chunked) return MakeError("MissingContentLength");
    int64_t declared = static_cast<int64_t>(head.content_length.value_or(0));
    if (const std::string* decoded = head.Header("x-amz-decoded-content-length")) {
      declared = std::atoll(decoded->c_str());
    }
    if (declared > options_.max_put_bytes) return MakeError("EntityTooLarge");
    Status bucket = backend_->HeadBucket(r.bucket);
    if (!bucket.ok()) return ErrorFromStatus(bucket, true);
    if (op == S3Operation::kPutObject) {
      WriteCondition condition;
      if (std::optional<S3Error> bad = WriteConditionFromHeaders(head, &condition)) return bad;
      if (std::optional<S3Error> failed = PrecheckWriteCondition(*context_, r, condition)) {
        return failed;
      }
    }
    if (op == S3Operation::kUploadPart) {
      if (std::optional<S3Error> bad = CheckUploadPart(*context_, r)) return bad;
    }
  }
  if (!head.has_body() && !file_body) return std::nullopt;
  r.body = std::make_unique<S3BodySink>(file_body ? options_.max_put_bytes : kMaxSmallBody,
                                        file_body ? "EntityTooLarge" : "MaxMessageLengthExceeded");
  std::unique_ptr<ObjectUpload> upload;
  if (op == S3Operation::kPutObject) {
    Result<std::unique_ptr<ObjectUpload>> created = backend_->NewUpload(r.bucket);
    if (!created.ok()) return ErrorFromStatus(created.status(), true);
    upload = std::move(*created);
  }
  std::string staging = op == S3Operation::kUploadPart ? backend_->StagingDir() : std::string();
  if (op == S3Operation::kCompleteMultipartUpload) r.body->ChecksumHeadersDescribeTheObject();
  Status init = r.body->Init(staging, r.auth ? &*r.auth : nullptr, head, std::move(upload));
  if (!init.ok()) return ErrorFromStatus(init, false);
  if (op == S3Operation::kUploadPart) {
    // A part of an upload with a FULL_OBJECT checksum gets one computed when it is sent
    // without (a COMPOSITE one's parts must bring theirs: UploadPart).
    Result<UploadInfo> info = context_->uploads.Get(*r.Query("uploadId"));
    if (info.ok() && info->options.checksum.type == "FULL_OBJECT") {
      Result<aws::ChecksumAlgorithm> algorithm =
          aws::ParseChecksumAlgorithm(info->options.checksum.algorithm);
      if (algorithm.ok()) r.body->ComputeChecksum(*algorithm);
    }
  }
  return std::nullopt;
}

// A form upload: multipart/form-data to an existing bucket, room for its Content-Length; the
// form's policy is checked when its file part begins (AuthorizePostForm).
std::optional<S3Error> S3Handler::AdmitPostForm(S3Request& r) {
  const std::string* type = r.head.Header("content-type");
  std::optional<std::string> boundary = type ? FormBoundary(*type) : std::nullopt;
  if (!boundary) {
    S3Error error = MakeError("PreconditionFailed",
                              "Bucket POST must be of the enclosure-type multipart/form-data");
    error.details = {
        {"Condition", "Bucket POST must be of the enclosure-type multipart/form-data"}};
    return error;
  }
  Status bucket = backend_->HeadBucket(r.bucket);
  if (!bucket.ok()) return ErrorFromStatus(bucket, true);
  Status room = backend_->AdmitWrite(static_cast<int64_t>(r.head.content_length.value_or(0)));
  if (!room.ok()) return ErrorFromStatus(room, false);
  r.post =
      std::make_unique<PostFormReceiver>(*boundary, [this, request = &r](const PostForm& form) {
        // The request outlives its form's receiver (both are the exchange's).
        return AuthorizePostForm(*context_, *request, authenticator_->Lookup(), form);
      });
  return std::nullopt;
}

std::unique_ptr<HttpExchange> S3Handler::Begin(const HttpRequestHead& received, HttpReply* early) {
  auto r = std::make_unique<S3Request>();
  r->head = received;
  r->start = std::chrono::steady_clock::now();
  r->request_id = NextRequestId();
  auto fail = [&](S3Error error) {
    *early = ErrorReply(*r, *clock_, std::move(error));
    AddCorsHeaders(*context_, *r, *early);
    Record(*r, *early);
    return nullptr;
  };
  if (std::optional<S3Error> bad = ParseAddress(*r)) return fail(std::move(*bad));
  if (std::optional<HttpReply> answer = AnswerOperational(*r)) {
    *early = std::move(*answer);
    return nullptr;
  }
  r->route = RouteS3Request({r->head.method, r->bucket, r->key, &r->query,
                             r->head.Header("x-amz-copy-source") != nullptr});
  if (r->operation() == S3Operation::kMethodNotAllowed) {
    return fail(RouteError(r->route, r->head.method, r->head.target));
  }
  // Authenticate before anything is read or stored. A form upload is authenticated by its
  // policy (AdmitPostForm), a CORS preflight by nobody, as on S3.
  const bool unsigned_operation =
      r->operation() == S3Operation::kPostObject || r->operation() == S3Operation::kOptionsObject;
  if (!unsigned_operation) {
    if (std::optional<S3Error> denied = authenticator_->Authenticate(*r, received)) {
      return fail(std::move(*denied));
    }
  }
  // Then the bucket's owner: another user's bucket is not even read.
  if (std::optional<S3Error> denied = AuthorizeRequest(*context_, *r)) {
    return fail(std::move(*denied));
  }
  if (std::optional<S3Error> refused = CheckRequest(*r)) return fail(std::move(*refused));
  if (std::optional<S3Error> refused = AdmitBody(*r)) return fail(std::move(*refused));
  return std::make_unique<Exchange>(this, std::move(r));
}

HttpReply S3Handler::Execute(S3Request& r) {
  S3OperationFunction run = OperationFunction(r.operation());
  if (!run) return ErrorReply(r, *clock_, MakeError("NotImplemented"));
  return run(*context_, r);
}

S3OperationFunction OperationFunction(S3Operation operation) {
  using Op = S3Operation;
  switch (operation) {
    case Op::kListBuckets:
      return ListBuckets;
    case Op::kCreateBucket:
      return CreateBucket;
    case Op::kHeadBucket:
      return HeadBucket;
    case Op::kDeleteBucket:
      return DeleteBucket;
    case Op::kGetBucketLocation:
      return GetBucketLocation;
    case Op::kGetBucketVersioning:
      return GetBucketVersioning;
    case Op::kPutBucketVersioning:
      return PutBucketVersioning;
    case Op::kListObjects:
    case Op::kListObjectsV2:
      return ListObjects;
    case Op::kDeleteObjects:
      return DeleteObjects;
    case Op::kListObjectVersions:
      return ListObjectVersions;
    case Op::kGetBucketAcl:
      return GetBucketAcl;
    case Op::kGetObjectAcl:
      return GetObjectAcl;
    case Op::kPutBucketAcl:
      return PutBucketAcl;
    case Op::kPutObjectAcl:
      return PutObjectAcl;
    case Op::kPutObject:
      return PutObject;
    case Op::kGetObject:
    case Op::kHeadObject:
      return GetObject;
    case Op::kDeleteObject:
      return DeleteObject;
    case Op::kCopyObject:
      return CopyObject;
    case Op::kCreateMultipartUpload:
      return CreateMultipartUpload;
    case Op::kUploadPart:
      return UploadPart;
    case Op::kUploadPartCopy:
      return UploadPartCopy;
    case Op::kListParts:
      return ListParts;
    case Op::kListMultipartUploads:
      return ListMultipartUploads;
    case Op::kAbortMultipartUpload:
      return AbortMultipartUpload;
    case Op::kCompleteMultipartUpload:
      return CompleteMultipartUpload;
    case Op::kGetObjectTagging:
      return GetObjectTagging;
    case Op::kGetObjectLockConfiguration:
      return GetObjectLockConfiguration;
    case Op::kPutObjectLockConfiguration:
      return PutObjectLockConfiguration;
    case Op::kGetObjectRetention:
      return GetObjectRetention;
    case Op::kPutObjectRetention:
      return PutObjectRetention;
    case Op::kGetObjectLegalHold:
      return GetObjectLegalHold;
    case Op::kPutObjectLegalHold:
      return PutObjectLegalHold;
    case Op::kGetObjectAttributes:
      return GetObjectAttributes;
    case Op::kPutObjectTagging:
      return PutObjectTagging;
    case Op::kDeleteObjectTagging:
      return DeleteObjectTagging;
    case Op::kPostObject:
      return PostObject;
    case Op::kGetBucketCors:
      return GetBucketCors;
    case Op::kPutBucketCors:
      return PutBucketCors;
    case Op::kDeleteBucketCors:
      return DeleteBucketCors;
    case Op::kOptionsObject:
      return OptionsObject;
    case Op::kPutBucketPolicy:
      return PutBucketPolicy;
    case Op::kGetBucketPolicy:
      return GetBucketPolicy;
    case Op::kDeleteBucketPolicy:
      return DeleteBucketPolicy;
    case Op::kGetBucketPolicyStatus:
      return GetBucketPolicyStatus;
    case Op::kPutBucketTagging:
      return PutBucketTagging;
    case Op::kGetBucketTagging:
      return GetBucketTagging;
    case Op::kDeleteBucketTagging:
      return DeleteBucketTagging;
    case Op::kGetBucketEncryption:
      return GetBucketEncryption;
    case Op::kPutBucketEncryption:
      return PutBucketEncryption;
    case Op::kDeleteBucketEncryption:
      return DeleteBucketEncryption;
    case Op::kPutPublicAccessBlock:
      return PutPublicAccessBlock;
    case Op::kGetPublicAccessBlock:
      return GetPublicAccessBlock;
    case Op::kDeletePublicAccessBlock:
      return DeletePublicAccessBlock;
    default:
      return nullptr;
  }
}

}  // namespace thumbflow::server
