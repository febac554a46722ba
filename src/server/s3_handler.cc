#include "server/s3_handler.h"

#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "aws/checksums.h"
#include "aws/sigv2.h"
#include "aws/sigv4.h"
#include "core/civil_time.h"
#include "core/disk.h"
#include "core/random.h"
#include "server/s3_protocol.h"
#include "storage/etag.h"
#include "storage/keys.h"
#include "storage/s3_semantics.h"

namespace thumbflow::server {
namespace {

constexpr char kXmlNs[] = "http://s3.amazonaws.com/doc/2006-03-01/";
constexpr char kXmlDecl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr int64_t kMaxSmallBody = 4 << 20;  // XML request bodies (DeleteObjects of 1000 keys)

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

Status S3Status(StatusCode code, std::string_view s3_code, std::string message) {
  return Status(code, std::move(message), std::string(s3_code));
}

std::string Tag(std::string_view name, std::string_view escaped_value) {
  std::string out = "<";
  out += name;
  out += '>';
  out += escaped_value;
  out += "</";
  out += name;
  out += '>';
  return out;
}

// The body of one request: decoded (aws-chunked), measured, hashed and verified, and written
// to a staging file (object bodies) or kept in memory (small XML bodies).
class BodySink {
 public:
  BodySink(int64_t max_bytes, std::string limit_code)
      : max_bytes_(max_bytes), limit_code_(std::move(limit_code)) {}
  ~BodySink() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty() && !taken_) ::unlink(path_.c_str());
  }
  BodySink(const BodySink&) = delete;
  BodySink& operator=(const BodySink&) = delete;

  // `auth` is null for anonymous requests. `staging_dir` empty: keep the body in memory.
  // `upload` (may be null) receives the decoded body instead of a staging file.
  Status Init(const std::string& staging_dir, const aws::VerifiedRequest* auth,
              const HttpRequestHead& head, std::unique_ptr<ObjectUpload> upload = nullptr) {
    upload_ = std::move(upload);
    if (!upload_ && !staging_dir.empty()) {
      path_ = staging_dir + "/put-" + RandomHex(12);
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd_ < 0) {
        Status s = FileError(errno, "create", path_);
        path_.clear();
        return s;
      }
    }
    std::string payload_hash;
    if (auth) payload_hash = auth->payload_hash;
    if (StartsWith(payload_hash, "STREAMING-")) {
      aws::HttpHeaders headers(head.headers.begin(), head.headers.end());
      auto decoder = aws::AwsChunkedDecoder::Create(*auth, headers);
      if (!decoder.ok()) return decoder.status();
      decoder_ = std::move(*decoder);
    } else if (payload_hash.size() == 64) {
      expected_sha256_ = payload_hash;
      sha256_ = std::make_unique<aws::Sha256Hasher>();
    } else if (!auth) {
      const std::string* encoding = head.Header("content-encoding");
      if (encoding && encoding->find("aws-chunked") != std::string::npos) {
        return S3Status(StatusCode::kInvalidArgument, "InvalidRequest",
                        "aws-chunked bodies must be signed");
      }
    }
    if (const std::string* md5 = head.Header("content-md5")) {
      Result<std::string> raw = aws::Base64Decode(*md5);
      if (!raw.ok() || raw->size() != 16) {
        return S3Status(StatusCode::kInvalidArgument, "InvalidDigest",
                        "The Content-MD5 you specified is not valid.");
      }
      expected_md5_ = aws::HexEncode(*raw);
    }
    for (const auto& [name, value] : head.headers) {
      std::optional<aws::ChecksumAlgorithm> algorithm =
          aws::ChecksumAlgorithmFromHeader(ToLower(name));
      if (!algorithm) continue;
      checksum_header_ = ToLower(name);
      checksum_expected_ = value;
      checksummer_ = aws::NewChecksummer(*algorithm);
      break;
    }
    return Status::Ok();
  }

  Status Write(std::string_view raw) {
    if (sha256_) sha256_->Update(raw);
    if (decoder_) {
      scratch_.clear();
      RETURN_IF_ERROR(decoder_->Feed(raw, &scratch_));
      return Consume(scratch_);
    }
    return Consume(raw);
  }

  Status Finish() {
    if (decoder_) {
      RETURN_IF_ERROR(decoder_->Finish());
      for (const auto& [name, value] : decoder_->trailers()) {
        if (aws::ChecksumAlgorithmFromHeader(name)) echo_.emplace_back(name, value);
      }
    }
    if (sha256_ && sha256_->FinishHex() != expected_sha256_) {
      return S3Status(StatusCode::kInvalidArgument, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was "
                      "computed.");
    }
    md5_hex_ = upload_ ? upload_->Md5Hex() : md5_.FinishHex();
    if (!expected_md5_.empty() && expected_md5_ != md5_hex_) {
      return S3Status(StatusCode::kInvalidArgument, "BadDigest",
                      "The Content-MD5 you specified did not match what we received.");
    }
    if (checksummer_) {
      if (checksummer_->FinishBase64() != checksum_expected_) {
        return S3Status(StatusCode::kInvalidArgument, "XAmzContentChecksumMismatch",
                        "The " + checksum_header_ +
                            " you specified did not match the "
                            "calculated checksum.");
      }
      echo_.emplace_back(checksum_header_, checksum_expected_);
    }
    if (fd_ >= 0) {
      if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
        fd_ = -1;
        return FileError(errno, "fsync", path_);
      }
      fd_ = -1;
    }
    return Status::Ok();
  }

  // File mode, after Finish(): the staged file, now owned by the caller.
  StagedFile TakeFile() {
    taken_ = true;
    StagedFile file;
    file.path = path_;
    file.size = size_;
    file.etag = QuoteEtag(md5_hex_);
    return file;
  }
  // Upload mode, after Finish(): the upload, ready to commit.
  std::unique_ptr<ObjectUpload> TakeUpload() { return std::move(upload_); }
  const std::string& memory() const { return memory_; }
  const HeaderList& echo_headers() const { return echo_; }

 private:
  static std::string ToLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

  Status Consume(std::string_view data) {
    if (data.empty()) return Status::Ok();
    size_ += static_cast<int64_t>(data.size());
    if (size_ > max_bytes_) {
      return S3Status(StatusCode::kResourceExhausted, limit_code_,
                      "Your proposed upload exceeds the maximum allowed size");
    }
    if (checksummer_) checksummer_->Update(data);
    if (upload_) return upload_->Write(data);  // the upload hashes what it stores
    md5_.Update(data);
    if (fd_ < 0) {
      memory_.append(data);
      return Status::Ok();
    }
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FileError(errno, "write", path_);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  int64_t max_bytes_;
  std::string limit_code_;
  std::string path_;
  int fd_ = -1;
  bool taken_ = false;
  std::unique_ptr<ObjectUpload> upload_;
  int64_t size_ = 0;
  std::string memory_;
  std::string scratch_;
  std::unique_ptr<aws::AwsChunkedDecoder> decoder_;
  std::unique_ptr<aws::Sha256Hasher> sha256_;
  std::string expected_sha256_;
  Md5Hasher md5_;
  std::string md5_hex_;
  std::string expected_md5_;
  std::unique_ptr<aws::Checksummer> checksummer_;
  std::string checksum_header_;
  std::string checksum_expected_;
  HeaderList echo_;
};

}  // namespace

struct S3Handler::Request {
  HttpRequestHead head;
  std::string path;
  aws::QueryParams query;
  std::string bucket;
  std::string key;
  std::string operation;
  std::string request_id;
  std::chrono::steady_clock::time_point start;
  std::optional<aws::VerifiedRequest> auth;
  std::unique_ptr<BodySink> body;
  int64_t bytes_in = 0;

  const std::string* Query(std::string_view name) const {
    for (const auto& [k, v] : query) {
      if (k == name) return &v;
    }
    return nullptr;
  }
  bool Has(std::string_view name) const { return Query(name) != nullptr; }
  bool is_head() const { return head.method == "HEAD"; }
};

namespace {

HeaderList BaseHeaders(const S3Handler::Request& r, const Clock& clock) {
  return {{"x-amz-request-id", r.request_id},
          {"x-amz-id-2", r.request_id},
          {"Date", HttpDate(clock.NowMillis())},
          {"Server", "thumbflow"}};
}

HttpReply ErrorReply(const S3Handler::Request& r, const Clock& clock, S3Error error) {
  HttpReply reply;
  reply.status = error.http_status;
  reply.headers = BaseHeaders(r, clock);
  if (error.http_status == 304) return reply;
  error.resource = r.path;
  reply.headers.emplace_back("Content-Type", "application/xml");
  reply.body = ErrorXml(error, r.request_id);
  reply.head = r.is_head();
  return reply;
}

HttpReply XmlReply(const S3Handler::Request& r, const Clock& clock, std::string xml,
                   int status = 200) {
  HttpReply reply;
  reply.status = status;
  reply.headers = BaseHeaders(r, clock);
  reply.headers.emplace_back("Content-Type", "application/xml");
  reply.body = kXmlDecl + xml;
  return reply;
}

HttpReply EmptyReply(const S3Handler::Request& r, const Clock& clock, int status) {
  HttpReply reply;
  reply.status = status;
  reply.headers = BaseHeaders(r, clock);
  return reply;
}

PutOptions PutOptionsFromHeaders(const HttpRequestHead& head) {
  PutOptions options;
  for (const auto& [name, value] : head.headers) {
    if (IEquals(name, "content-type")) {
      options.content_type = value;
    } else if (name.size() > 11 && strncasecmp(name.c_str(), "x-amz-meta-", 11) == 0) {
      std::string meta = name.substr(11);
      for (char& c : meta) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      options.metadata[meta] = value;
    }
  }
  return options;
}

void AddObjectHeaders(HeaderList& headers, const ObjectInfo& info) {
  headers.emplace_back("ETag", info.etag);
  headers.emplace_back("Last-Modified", HttpDate(info.last_modified_ms));
  headers.emplace_back("Content-Type",
                       info.content_type.empty() ? kDefaultContentType : info.content_type);
  headers.emplace_back("Accept-Ranges", "bytes");
  for (const auto& [name, value] : info.metadata) headers.emplace_back("x-amz-meta-" + name, value);
}

// "bytes=a-b", "bytes=a-", "bytes=-n". Anything else (several ranges, garbage) is ignored,
// as S3 does.
std::optional<ByteRange> ParseRange(const std::string* header) {
  if (!header) return std::nullopt;
  std::string_view text = *header;
  if (!StartsWith(text, "bytes=")) return std::nullopt;
  text.remove_prefix(6);
  if (text.find(',') != std::string_view::npos) return std::nullopt;
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s, int64_t* out) {
    if (s.empty() || s.size() > 18) return false;
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  };
  ByteRange range;
  std::string_view first = text.substr(0, dash), last = text.substr(dash + 1);
  if (first.empty()) {
    int64_t n;
    if (!number(last, &n) || n == 0) return std::nullopt;
    range.suffix_length = n;
    return range;
  }
  if (!number(first, &range.first)) return std::nullopt;
  if (!last.empty()) {
    int64_t l;
    if (!number(last, &l) || l < range.first) return std::nullopt;
    range.last = l;
  }
  return range;
}

// Each entry is "bucket/key-prefix", or "bucket" for the whole bucket. The bucket must match
// exactly: "images" or "images/p" never make bucket "images-private" readable.
bool IsPublicRead(const std::vector<std::string>& prefixes, const std::string& bucket,
                  const std::string& key) {
  for (const auto& entry : prefixes) {
    size_t slash = entry.find('/');
    std::string_view entry_bucket = std::string_view(entry).substr(0, slash);
    std::string_view key_prefix =
        slash == std::string::npos ? std::string_view() : std::string_view(entry).substr(slash + 1);
    if (!entry_bucket.empty() && entry_bucket == bucket && StartsWith(key, key_prefix)) {
      return true;
    }
  }
  return false;
}

const std::vector<std::string_view>& UnsupportedBucketSubresources() {
  static const auto* names = new std::vector<std::string_view>{"acl",
                                                               "policy",
                                                               "cors",
                                                               "lifecycle",
                                                               "tagging",
                                                               "encryption",
                                                               "notification",
                                                               "website",
                                                               "logging",
                                                               "replication",
                                                               "ownershipControls",
                                                               "publicAccessBlock",
                                                               "object-lock",
                                                               "accelerate",
                                                               "requestPayment",
                                                               "analytics",
                                                               "metrics",
                                                               "inventory",
                                                               "intelligent-tiering",
                                                               "versions",
                                                               "policyStatus"};
  return *names;
}

const std::vector<std::string_view>& UnsupportedObjectSubresources() {
  static const auto* names = new std::vector<std::string_view>{"acl",     "tagging",   "attributes",
                                                               "torrent", "retention", "legal-hold",
                                                               "restore", "select",    "versionId"};
  return *names;
}

// S3 reads the x-amz-* parameters of a SigV4 presigned URL (x-amz-acl, x-amz-meta-*,
// x-amz-server-side-encryption-*, ... as SDKs hoist them) as if they were headers; they are
// signed as part of the query. A header of the same name, if sent, wins (it must be signed
// itself). SigV2 URLs sign them too, and Content-Type / Content-MD5 parameters (aws/sigv2.h:
// botocore copies those signed headers into the query; the verifier signs them as headers).
void HoistPresignedAmzParameters(S3Handler::Request& r) {
  if (r.head.Header("authorization") != nullptr) return;
  const bool sigv2 = r.Has("AWSAccessKeyId");
  if (!sigv2 && !r.Has("X-Amz-Signature")) return;
  static constexpr std::string_view kAuthParameters[] = {
      "x-amz-algorithm",     "x-amz-credential", "x-amz-date",          "x-amz-expires",
      "x-amz-signedheaders", "x-amz-signature",  "x-amz-security-token"};
  for (const auto& [name, value] : r.query) {
    bool header_like = name.size() > 6 && strncasecmp(name.c_str(), "x-amz-", 6) == 0;
    if (sigv2)
      header_like = header_like || IEquals(name, "content-type") || IEquals(name, "content-md5");
    if (!header_like) continue;
    bool auth_parameter = false;
    for (std::string_view a : kAuthParameters) {
      auth_parameter = auth_parameter || (!sigv2 && IEquals(name, a));
    }
    if (auth_parameter || r.head.Header(name) != nullptr) continue;
    r.head.headers.emplace_back(name, value);
  }
}

// Server-side encryption requests are never silently ignored: thumbflow keeps objects as
// plain files, so SSE-C and SSE-KMS, and SSE-S3 (AES256) too, are refused rather than
// accepted and claimed. Returns the error for the first such header, if any.
std::optional<S3Error> RefuseServerSideEncryption(const HttpRequestHead& head) {
  for (const auto& [name, value] : head.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool sse = lower.starts_with("x-amz-server-side-encryption") ||
               lower.starts_with("x-amz-copy-source-server-side-encryption");
    if (!sse) continue;
    if (lower == "x-amz-server-side-encryption" && !IEquals(value, "AES256") &&
        !IEquals(value, "aws:kms") && !IEquals(value, "aws:kms:dsse")) {
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
                               !IEquals(value, "AES256")
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

}  // namespace

class S3Handler::Exchange final : public HttpExchange {
 public:
  Exchange(S3Handler* handler, std::unique_ptr<Request> request)
      : handler_(handler), request_(std::move(request)) {}

  Status OnBody(std::string_view data) override {
    request_->bytes_in += static_cast<int64_t>(data.size());
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
    if (!status.ok()) {
      reply =
          ErrorReply(*request_, *handler_->clock_, ErrorFromStatus(status, request_->key.empty()));
    } else {
      reply = handler_->Execute(*request_);
    }
    handler_->Record(*request_, reply);
    return reply;
  }

 private:
  S3Handler* handler_;
  std::unique_ptr<Request> request_;
};

S3Handler::S3Handler(S3HandlerOptions options, StreamingObjectStore* backend, const Clock* clock,
                     MetricsRegistry* metrics, std::function<Status()> ready)
    : options_(std::move(options)),
      backend_(backend),
      clock_(clock),
      metrics_(metrics),
      ready_(std::move(ready)),
      uploads_(backend->StagingDir() + "/multipart", clock),
      request_id_prefix_(RandomHex(4)) {
  // Host names compare case-insensitively; Begin lower-cases the Host it receives.
  for (auto& domain : options_.virtual_host_domains) {
    for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
}

S3Handler::~S3Handler() = default;

std::string S3Handler::NextRequestId() {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%012llX",
                static_cast<unsigned long long>(request_counter_.fetch_add(1)));
  return request_id_prefix_ + buf;
}

void S3Handler::Record(const Request& r, const HttpReply& reply) {
  if (!metrics_) return;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
  metrics_
      ->GetCounter("thumbflow_s3_requests_total", "S3 requests by operation and HTTP status.",
                   {{"operation", r.operation}, {"status", std::to_string(reply.status)}})
      .Increment();
  metrics_
      ->GetHistogram("thumbflow_s3_request_duration_seconds",
                     "Time from the request header to the reply, by operation.",
                     {{"operation", r.operation}})
      .Observe(seconds);
  if (r.bytes_in > 0) {
    metrics_
        ->GetCounter("thumbflow_s3_received_bytes_total", "Request body bytes received.",
                     {{"operation", r.operation}})
        .Increment(static_cast<double>(r.bytes_in));
  }
  int64_t out =
      reply.head ? 0
                 : (reply.stream ? reply.stream_length : static_cast<int64_t>(reply.body.size()));
  if (out > 0) {
    metrics_
        ->GetCounter("thumbflow_s3_sent_bytes_total", "Reply body bytes sent.",
                     {{"operation", r.operation}})
        .Increment(static_cast<double>(out));
  }
}

HttpReply S3Handler::TransportError(int status, std::string_view code, std::string_view message) {
  Request r;
  r.request_id = NextRequestId();
  S3Error error = MakeError(code, std::string(message));
  error.http_status = status;
  return ErrorReply(r, *clock_, error);
}

std::unique_ptr<HttpExchange> S3Handler::Begin(const HttpRequestHead& received, HttpReply* early) {
  auto r = std::make_unique<Request>();
  r->head = received;
  // Everything below reads the request through `head`: the received head, plus the x-amz-*
  // parameters of a presigned URL (see HoistPresignedAmzParameters).
  const HttpRequestHead& head = r->head;
  r->start = std::chrono::steady_clock::now();
  r->request_id = NextRequestId();
  r->operation = "Unknown";
  auto fail = [&](S3Error error) {
    *early = ErrorReply(*r, *clock_, std::move(error));
    Record(*r, *early);
    return nullptr;
  };

  Result<aws::RequestTarget> target = aws::ParseRequestTarget(head.target);
  if (!target.ok()) return fail(MakeError("InvalidURI", "Couldn't parse the specified URI."));
  r->path = target->path;
  r->query = target->query;
  HoistPresignedAmzParameters(*r);

  // Virtual-host style: <bucket>.<domain>[:port].
  std::string host;
  if (const std::string* h = head.Header("host")) host = *h;
  std::string hostname =
      host.substr(0, host.rfind(':') == std::string::npos || host.back() == ']' ? host.size()
                                                                                : host.rfind(':'));
  for (char& c : hostname) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool virtual_host = false;
  for (const auto& domain : options_.virtual_host_domains) {
    if (hostname.size() > domain.size() + 1 && hostname.ends_with("." + domain)) {
      r->bucket = hostname.substr(0, hostname.size() - domain.size() - 1);
      virtual_host = true;
      break;
    }
  }
  std::string_view path = r->path;
  if (path.empty() || path[0] != '/') return fail(MakeError("InvalidURI"));
  if (virtual_host) {
    r->key = std::string(path.substr(1));
  } else {
    std::string_view rest = path.substr(1);
    size_t slash = rest.find('/');
    r->bucket = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) r->key = std::string(rest.substr(slash + 1));
  }

  const std::string& m = head.method;
  // Operational endpoints: path style, no auth.
  if (!virtual_host && r->key.empty() && (m == "GET" || m == "HEAD") &&
      (r->bucket == "healthz" || r->bucket == "readyz" || r->bucket == "metrics") &&
      path.find('/', 1) == std::string_view::npos) {
    r->operation = r->bucket;
    HttpReply reply = EmptyReply(*r, *clock_, 200);
    if (r->bucket == "metrics") {
      reply.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      reply.body = metrics_ ? metrics_->RenderText() : "";
    } else if (Status ready = r->bucket == "readyz" && ready_ ? ready_() : Status::Ok();
               !ready.ok()) {
      reply.status = 503;
      reply.headers.emplace_back("Content-Type", "text/plain");
      reply.body = "not ready: " + ready.message() + "\n";
    } else {
      reply.headers.emplace_back("Content-Type", "text/plain");
      reply.body = r->bucket == "healthz" ? "ok\n" : "ready\n";
    }
    reply.head = m == "HEAD";
    *early = std::move(reply);
    return nullptr;
  }

  // Name the operation.
  auto has_any = [&](const std::vector<std::string_view>& names) {
    for (auto n : names) {
      if (r->Has(n)) return true;
    }
    return false;
  };
  bool unsupported = false;
  bool method_ok = true;
  const bool object = !r->key.empty();
  if (r->bucket.empty()) {
    if (m == "GET")
      r->operation = "ListBuckets";
    else
      method_ok = false;
  } else if (!object) {
    if (m == "PUT") {
      r->operation = "CreateBucket";
      unsupported = !r->query.empty();
    } else if (m == "HEAD") {
      r->operation = "HeadBucket";
    } else if (m == "DELETE") {
      r->operation = "DeleteBucket";
      unsupported = !r->query.empty();
    } else if (m == "GET") {
      if (r->Has("location")) {
        r->operation = "GetBucketLocation";
      } else if (r->Has("versioning")) {
        r->operation = "GetBucketVersioning";
      } else if (r->Has("uploads")) {
        r->operation = "ListMultipartUploads";
        unsupported = true;
      } else if (has_any(UnsupportedBucketSubresources())) {
        r->operation = "BucketSubresource";
        unsupported = true;
      } else if (const std::string* lt = r->Query("list-type"); lt && *lt == "2") {
        r->operation = "ListObjectsV2";
      } else {
        r->operation = "ListObjects";
      }
    } else if (m == "POST") {
      r->operation = r->Has("delete") ? "DeleteObjects" : "PostBucket";
      unsupported = !r->Has("delete");
    } else {
      method_ok = false;
    }
  } else {
    if (m == "PUT") {
      if (r->Has("uploadId") || r->Has("partNumber")) {
        r->operation = head.Header("x-amz-copy-source") ? "UploadPartCopy" : "UploadPart";
        unsupported = r->operation == "UploadPartCopy";
      } else if (has_any(UnsupportedObjectSubresources())) {
        r->operation = "ObjectSubresource";
        unsupported = true;
      } else if (head.Header("x-amz-copy-source")) {
        r->operation = "CopyObject";
      } else {
        r->operation = "PutObject";
      }
    } else if (m == "GET") {
      if (r->Has("uploadId")) {
        r->operation = "ListParts";
      } else if (has_any(UnsupportedObjectSubresources())) {
        r->operation = "ObjectSubresource";
        unsupported = true;
      } else {
        r->operation = "GetObject";
      }
    } else if (m == "HEAD") {
      r->operation = "HeadObject";
    } else if (m == "DELETE") {
      if (r->Has("uploadId")) {
        r->operation = "AbortMultipartUpload";
      } else {
        r->operation = "DeleteObject";
        unsupported = has_any(UnsupportedObjectSubresources());
      }
    } else if (m == "POST") {
      if (r->Has("uploads")) {
        r->operation = "CreateMultipartUpload";
      } else if (r->Has("uploadId")) {
        r->operation = "CompleteMultipartUpload";
      } else {
        r->operation = "PostObject";
        unsupported = true;
      }
    } else {
      method_ok = false;
    }
  }
  if (!method_ok) {
    r->operation = "MethodNotAllowed";
    return fail(MakeError("MethodNotAllowed"));
  }

  // Authenticate before anything is read or stored.
  aws::HttpHeaders received_headers(received.headers.begin(), received.headers.end());
  const bool sigv2 = aws::IsSigV2(received_headers, r->query);
  bool signed_request = sigv2 || head.Header("authorization") != nullptr ||
                        r->Has("X-Amz-Signature") || r->Has("X-Amz-Credential");
  if (sigv2 && !aws::SigV2Region(options_.region)) {
    // What S3 answers in the regions created after January 2014.
    return fail(MakeError("InvalidRequest",
                          "The authorization mechanism you have provided is not supported. "
                          "Please use AWS4-HMAC-SHA256."));
  }
  if (signed_request) {
    const std::string& id = options_.access_key_id;
    const std::string& secret = options_.secret_access_key;
    aws::SecretLookup lookup = [&id, &secret](std::string_view key) -> Result<aws::Credentials> {
      if (key != id || id.empty()) return NotFoundError("unknown access key");
      aws::Credentials credentials;
      credentials.access_key_id = id;
      credentials.secret_access_key = secret;
      return credentials;
    };
    aws::ErrorDetails details;
    Result<aws::VerifiedRequest> verified = InternalError("unverified");
    if (sigv2) {
      aws::SigV2Request v2;
      v2.method = m;
      size_t question = received.target.find('?');
      v2.raw_path = received.target.substr(0, question);
      if (question != std::string::npos) v2.raw_query = received.target.substr(question + 1);
      if (virtual_host) v2.virtual_host_bucket = r->bucket;
      // The resource of a bucket is "/bucket/" however the path was written (botocore signs
      // GET /images?list-type=2 as "/images/").
      if (!virtual_host && !r->bucket.empty() && r->key.empty() && !v2.raw_path.ends_with('/')) {
        v2.raw_path += '/';
      }
      v2.headers = std::move(received_headers);
      aws::SigV2Options verify;
      verify.now_ms = clock_->NowMillis();
      verify.max_clock_skew_ms = options_.max_clock_skew_ms;
      verified = aws::VerifySigV2(v2, lookup, verify, &details);
    } else {
      aws::SignableRequest signable;
      signable.method = m;
      signable.path = r->path;
      signable.query = r->query;
      signable.headers = std::move(received_headers);
      aws::VerifyOptions verify;
      verify.region = options_.region;
      verify.now_ms = clock_->NowMillis();
      verify.max_clock_skew_ms = options_.max_clock_skew_ms;
      verify.signing_keys = &signing_keys_;
      verified = aws::VerifyRequest(signable, lookup, verify, &details);
    }
    if (!verified.ok()) {
      const Status& s = verified.status();
      if (s.code() == StatusCode::kPermissionDenied && s.reason().empty()) {
        return fail(MakeError("AccessDenied", s.message()));
      }
      S3Error error = ErrorFromStatus(s, false);
      if (s.reason().empty() && s.code() == StatusCode::kNotFound) {
        error = MakeError("InvalidAccessKeyId");
      }
      error.details = std::move(details);
      return fail(error);
    }
    r->auth = std::move(*verified);
    // A digest of a body that is not there (a GET signed with the hash of some bytes) is a
    // mismatch too; bodies are checked as they arrive (BodySink).
    const std::string& hash = r->auth->payload_hash;
    if (hash.size() == 64 && hash != aws::kEmptyPayloadSha256 && !head.has_body() &&
        r->operation != "PutObject" && r->operation != "UploadPart") {
      return fail(MakeError("XAmzContentSHA256Mismatch"));
    }
  } else {
    bool anonymous_ok = (r->operation == "GetObject" || r->operation == "HeadObject") &&
                        IsPublicRead(options_.public_read_prefixes, r->bucket, r->key);
    if (!anonymous_ok) return fail(MakeError("AccessDenied"));
    // As on S3: an anonymous link cannot make the endpoint serve a public object under
    // another Content-Type (text/html) or disposition.
    for (const auto& [name, value] : r->query) {
      if (StartsWith(name, "response-")) {
        return fail(MakeError("InvalidRequest",
                              "Request specific response headers cannot be used for anonymous "
                              "GET requests."));
      }
    }
  }

  if (std::optional<S3Error> sse = RefuseServerSideEncryption(head)) return fail(std::move(*sse));
  if (unsupported) {
    return fail(MakeError("NotImplemented", "thumbflow does not implement " + r->operation + " (" +
                                                m + " " + head.target.substr(0, 200) + ")."));
  }
  if (object) {
    Status key_ok = ValidateObjectKey(r->key);
    if (!key_ok.ok()) {
      return fail(r->key.size() > kMaxKeyBytes ? MakeError("KeyTooLongError")
                                               : MakeError("InvalidArgument", key_ok.message()));
    }
  }

  // Object bodies go to a staging file; the size limit is checked before reading.
  const bool file_body = r->operation == "PutObject" || r->operation == "UploadPart";
  if (file_body || r->operation == "CopyObject" || r->operation == "CompleteMultipartUpload") {
    // Below the free-space reserve no new object is taken on (503 SlowDown, retried by the
    // SDKs): the room left finishes what was already accepted.
    int64_t incoming = file_body ? static_cast<int64_t>(head.content_length.value_or(0)) : 0;
    Status room = backend_->AdmitWrite(incoming);
    if (!room.ok()) return fail(ErrorFromStatus(room, false));
  }
  if (file_body) {
    if (!head.content_length && !head.chunked) return fail(MakeError("MissingContentLength"));
    int64_t declared = static_cast<int64_t>(head.content_length.value_or(0));
    if (const std::string* decoded = head.Header("x-amz-decoded-content-length")) {
      declared = std::atoll(decoded->c_str());
    }
    if (declared > options_.max_put_bytes) return fail(MakeError("EntityTooLarge"));
    Status bucket = backend_->HeadBucket(r->bucket);
    if (!bucket.ok()) return fail(ErrorFromStatus(bucket, true));
    if (r->operation == "UploadPart") {
      const std::string* number = r->Query("partNumber");
      int part = number ? std::atoi(number->c_str()) : 0;
      if (part < 1 || part > 10000 || !r->Has("uploadId")) {
        return fail(MakeError("InvalidArgument",
                              "Part number must be an integer between 1 and 10000, inclusive"));
      }
      Result<UploadInfo> upload = uploads_.Get(*r->Query("uploadId"));
      if (!upload.ok() || upload->bucket != r->bucket || upload->key != r->key) {
        return fail(MakeError("NoSuchUpload"));
      }
    }
  }
  if (head.has_body() || file_body) {
    r->body = std::make_unique<BodySink>(file_body ? options_.max_put_bytes : kMaxSmallBody,
                                         file_body ? "EntityTooLarge" : "MaxMessageLengthExceeded");
    std::unique_ptr<ObjectUpload> upload;
    if (r->operation == "PutObject") {
      Result<std::unique_ptr<ObjectUpload>> created = backend_->NewUpload(r->bucket);
      if (!created.ok()) return fail(ErrorFromStatus(created.status(), true));
      upload = std::move(*created);
    }
    std::string staging = r->operation == "UploadPart" ? backend_->StagingDir() : std::string();
    Status init = r->body->Init(staging, r->auth ? &*r->auth : nullptr, head, std::move(upload));
    if (!init.ok()) return fail(ErrorFromStatus(init, false));
  }
  return std::make_unique<Exchange>(this, std::move(r));
}

HttpReply S3Handler::Execute(Request& r) {
  const Clock& clock = *clock_;
  auto error = [&](const Status& s, bool bucket_op) {
    return ErrorReply(r, clock, ErrorFromStatus(s, bucket_op));
  };
  const std::string& op = r.operation;

  if (op == "ListBuckets") {
    Result<std::vector<BucketInfo>> buckets = backend_->ListBuckets();
    if (!buckets.ok()) return error(buckets.status(), true);
    std::string xml = std::string("<ListAllMyBucketsResult xmlns=\"") + kXmlNs +
                      "\"><Owner><ID>thumbflow</ID><DisplayName>thumbflow</DisplayName></Owner>"
                      "<Buckets>";
    for (const auto& b : *buckets) {
      xml += "<Bucket>" + Tag("Name", XmlEscape(b.name)) +
             Tag("CreationDate", Iso8601Millis(b.created_ms)) + "</Bucket>";
    }
    xml += "</Buckets></ListAllMyBucketsResult>";
    return XmlReply(r, clock, xml);
  }
  if (op == "CreateBucket") {
    Status valid = ValidateBucketName(r.bucket);
    if (!valid.ok()) return ErrorReply(r, clock, MakeError("InvalidBucketName", valid.message()));
    Status s = backend_->CreateBucket(r.bucket);
    if (!s.ok()) return error(s, true);
    HttpReply reply = EmptyReply(r, clock, 200);
    reply.headers.emplace_back("Location", "/" + r.bucket);
    return reply;
  }
  if (op == "HeadBucket") {
    Status s = backend_->HeadBucket(r.bucket);
    if (!s.ok()) return error(s, true);
    HttpReply reply = EmptyReply(r, clock, 200);
    reply.headers.emplace_back("x-amz-bucket-region", options_.region);
    reply.head = true;
    return reply;
  }
  if (op == "DeleteBucket") {
    Status s = backend_->DeleteBucket(r.bucket);
    if (!s.ok()) return error(s, true);
    return EmptyReply(r, clock, 204);
  }
  if (op == "GetBucketLocation" || op == "GetBucketVersioning") {
    Status s = backend_->HeadBucket(r.bucket);
    if (!s.ok()) return error(s, true);
    if (op == "GetBucketVersioning") {
      return XmlReply(r, clock, std::string("<VersioningConfiguration xmlns=\"") + kXmlNs + "\"/>");
    }
    std::string region = options_.region == "us-east-1" ? "" : XmlEscape(options_.region);
    return XmlReply(r, clock,
                    std::string("<LocationConstraint xmlns=\"") + kXmlNs + "\">" + region +
                        "</LocationConstraint>");
  }
  if (op == "ListObjectsV2" || op == "ListObjects") {
    const bool v2 = op == "ListObjectsV2";
    ListOptions options;
    if (const std::string* p = r.Query("prefix")) options.prefix = *p;
    if (const std::string* d = r.Query("delimiter")) options.delimiter = *d;
    int max_keys = 1000;
    if (const std::string* mk = r.Query("max-keys")) {
      char* end = nullptr;
      long v = std::strtol(mk->c_str(), &end, 10);
      if (mk->empty() || *end != '\0' || v < 0) {
        return ErrorReply(r, clock,
                          MakeError("InvalidArgument",
                                    "Provided max-keys not an integer or within integer range"));
      }
      max_keys = static_cast<int>(std::min<long>(v, 1000));
    }
    options.max_keys = max_keys;
    bool url = false;
    if (const std::string* e = r.Query("encoding-type")) {
      if (*e != "url")
        return ErrorReply(
            r, clock, MakeError("InvalidArgument", "Invalid Encoding Method specified in Request"));
      url = true;
    }
    std::string marker;
    if (v2) {
      if (const std::string* t = r.Query("continuation-token")) options.continuation_token = *t;
      if (const std::string* s = r.Query("start-after")) options.start_after = *s;
    } else if (const std::string* mk = r.Query("marker")) {
      marker = *mk;
      options.start_after = marker;
      // A marker that is a common prefix skips the whole prefix (no valid UTF-8 key holds
      // the byte 0xFF, so prefix + 0xFF sorts after every key under it).
      if (!options.delimiter.empty() && marker.ends_with(options.delimiter)) {
        options.start_after = marker + "\xff";
      }
    }
    ListResult listed;
    if (max_keys > 0) {
      Result<ListResult> result = backend_->List(r.bucket, options);
      if (!result.ok()) return error(result.status(), true);
      listed = std::move(*result);
    } else {
      Status s = backend_->HeadBucket(r.bucket);
      if (!s.ok()) return error(s, true);
    }
    auto enc = [&](const std::string& text) {
      return url ? UrlEncode(text, true) : XmlEscape(text);
    };
    std::string xml = std::string("<ListBucketResult xmlns=\"") + kXmlNs + "\">";
    xml += Tag("Name", XmlEscape(r.bucket));
    xml += Tag("Prefix", enc(options.prefix));
    if (!options.delimiter.empty()) xml += Tag("Delimiter", enc(options.delimiter));
    xml += Tag("MaxKeys", std::to_string(max_keys));
    if (url) xml += Tag("EncodingType", "url");
    xml += Tag("IsTruncated", listed.truncated ? "true" : "false");
    if (v2) {
      xml += Tag("KeyCount", std::to_string(listed.objects.size() + listed.common_prefixes.size()));
      if (!options.continuation_token.empty()) {
        xml += Tag("ContinuationToken", XmlEscape(options.continuation_token));
      }
      if (listed.truncated) {
        xml += Tag("NextContinuationToken", XmlEscape(listed.next_continuation_token));
      }
      if (const std::string* s = r.Query("start-after")) xml += Tag("StartAfter", enc(*s));
    } else {
      xml += Tag("Marker", enc(marker));
      if (listed.truncated && !options.delimiter.empty()) {
        std::string last_key = listed.objects.empty() ? "" : listed.objects.back().key;
        std::string last_prefix =
            listed.common_prefixes.empty() ? "" : listed.common_prefixes.back();
        xml += Tag("NextMarker", enc(std::max(last_key, last_prefix)));
      }
    }
    for (const auto& o : listed.objects) {
      xml += "<Contents>" + Tag("Key", enc(o.key)) +
             Tag("LastModified", Iso8601Millis(o.last_modified_ms)) +
             Tag("ETag", XmlEscape(o.etag)) + Tag("Size", std::to_string(o.size)) +
             "<Owner><ID>thumbflow</ID><DisplayName>thumbflow</DisplayName></Owner>"
             "<StorageClass>STANDARD</StorageClass></Contents>";
    }
    for (const auto& p : listed.common_prefixes) {
      xml += "<CommonPrefixes>" + Tag("Prefix", enc(p)) + "</CommonPrefixes>";
    }
    xml += "</ListBucketResult>";
    return XmlReply(r, clock, xml);
  }
  if (op == "DeleteObjects") {
    Result<DeleteObjectsBody> parsed =
        ParseDeleteObjectsXml(r.body ? r.body->memory() : std::string_view());
    if (!parsed.ok()) return ErrorReply(r, clock, MakeError("MalformedXML"));
    const bool quiet = parsed->quiet;
    const std::vector<std::string>& keys = parsed->keys;
    Status bucket = backend_->HeadBucket(r.bucket);
    if (!bucket.ok()) return error(bucket, true);
    std::string xml = std::string("<DeleteResult xmlns=\"") + kXmlNs + "\">";
    for (const auto& key : keys) {
      Status s = ValidateObjectKey(key);
      if (s.ok()) s = backend_->Delete(r.bucket, key);
      if (s.ok()) {
        if (!quiet) xml += "<Deleted>" + Tag("Key", XmlEscape(key)) + "</Deleted>";
      } else {
        S3Error e = ErrorFromStatus(s, false);
        xml += "<Error>" + Tag("Key", XmlEscape(key)) + Tag("Code", e.code) +
               Tag("Message", XmlEscape(e.message)) + "</Error>";
      }
    }
    xml += "</DeleteResult>";
    return XmlReply(r, clock, xml);
  }
  if (op == "PutObject") {
    Result<ObjectInfo> info = r.body->TakeUpload()->Commit(r.key, PutOptionsFromHeaders(r.head));
    if (!info.ok()) return error(info.status(), false);
    HttpReply reply = EmptyReply(r, clock, 200);
    reply.headers.emplace_back("ETag", info->etag);
    for (const auto& h : r.body->echo_headers()) reply.headers.push_back(h);
    return reply;
  }
  if (op == "GetObject" || op == "HeadObject") {
    GetOptions options;
    options.range = ParseRange(r.head.Header("range"));
    if (const std::string* v = r.head.Header("if-match")) options.if_match = *v;
    if (const std::string* v = r.head.Header("if-none-match")) options.if_none_match = *v;
    ObjectReader reader;
    if (op == "GetObject") {
      Result<ObjectReader> opened = backend_->OpenObject(r.bucket, r.key, options);
      if (!opened.ok()) return error(opened.status(), false);
      reader = std::move(*opened);
    } else {
      Result<ObjectInfo> info = backend_->Head(r.bucket, r.key);
      if (!info.ok()) return error(info.status(), false);
      Status cond = CheckGetConditions(*info, options);
      if (!cond.ok()) return error(cond, false);
      reader.info = *info;
      reader.length = info->size;
      if (options.range) {
        int64_t offset = 0, length = 0;
        Status s = ResolveRange(info->size, *options.range, &offset, &length);
        if (!s.ok()) return error(s, false);
        reader.offset = offset;
        reader.length = length;
        reader.partial = true;
      }
    }
    const int64_t modified_s = reader.info.last_modified_ms / 1000;
    if (const std::string* v = r.head.Header("if-unmodified-since");
        v && options.if_match.empty()) {
      Result<int64_t> since = ParseHttpDate(*v);  // a malformed date is ignored, as S3 does
      if (since.ok() && modified_s * 1000 > *since) {
        return ErrorReply(r, clock, MakeError("PreconditionFailed"));
      }
    }
    if (const std::string* v = r.head.Header("if-modified-since");
        v && options.if_none_match.empty()) {
      Result<int64_t> since = ParseHttpDate(*v);
      if (since.ok() && modified_s * 1000 <= *since) {
        HttpReply reply = EmptyReply(r, clock, 304);
        reply.headers.emplace_back("ETag", reader.info.etag);
        return reply;
      }
    }
    HttpReply reply = EmptyReply(r, clock, reader.partial ? 206 : 200);
    AddObjectHeaders(reply.headers, reader.info);
    if (reader.partial) {
      reply.headers.emplace_back("Content-Range",
                                 "bytes " + std::to_string(reader.offset) + "-" +
                                     std::to_string(reader.offset + reader.length - 1) + "/" +
                                     std::to_string(reader.info.size));
    }
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
        std::erase_if(reply.headers, [&](const auto& h) { return IEquals(h.first, header); });
        reply.headers.emplace_back(header, *v);
      }
    }
    reply.stream = std::move(reader.source);
    reply.stream_length = reader.length;
    reply.head = op == "HeadObject";
    if (!reply.stream && !reply.head) reply.stream = StringSource("");
    return reply;
  }
  if (op == "DeleteObject") {
    Status s = backend_->Delete(r.bucket, r.key);
    if (!s.ok()) return error(s, false);
    return EmptyReply(r, clock, 204);
  }
  if (op == "CopyObject") {
    std::string source = *r.head.Header("x-amz-copy-source");
    source = source.substr(0, source.find('?'));
    std::string decoded;
    if (!UrlDecode(source, &decoded, false)) {
      return ErrorReply(r, clock, MakeError("InvalidArgument", "Invalid copy source encoding"));
    }
    if (!decoded.empty() && decoded[0] == '/') decoded.erase(0, 1);
    size_t slash = decoded.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == decoded.size()) {
      return ErrorReply(
          r, clock,
          MakeError("InvalidArgument",
                    "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"));
    }
    std::string src_bucket = decoded.substr(0, slash), src_key = decoded.substr(slash + 1);
    Status key_ok = ValidateObjectKey(src_key);
    if (!key_ok.ok()) return ErrorReply(r, clock, MakeError("InvalidArgument", key_ok.message()));
    const std::string* directive = r.head.Header("x-amz-metadata-directive");
    bool replace = directive && IEquals(*directive, "REPLACE");
    if (src_bucket == r.bucket && src_key == r.key && !replace) {
      return ErrorReply(
          r, clock,
          MakeError("InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to "
                    "itself without changing the object's metadata, storage class, website "
                    "redirect location or encryption attributes."));
    }
    if (r.head.Header("x-amz-copy-source-if-match") ||
        r.head.Header("x-amz-copy-source-if-none-match")) {
      Result<ObjectInfo> src = backend_->Head(src_bucket, src_key);
      if (!src.ok()) return error(src.status(), false);
      GetOptions conditions;
      if (const std::string* v = r.head.Header("x-amz-copy-source-if-match"))
        conditions.if_match = *v;
      if (const std::string* v = r.head.Header("x-amz-copy-source-if-none-match")) {
        conditions.if_none_match = *v;
      }
      if (!CheckGetConditions(*src, conditions).ok()) {
        return ErrorReply(r, clock, MakeError("PreconditionFailed"));
      }
    }
    PutOptions put = PutOptionsFromHeaders(r.head);
    Result<ObjectInfo> info =
        backend_->Copy(src_bucket, src_key, r.bucket, r.key, replace ? &put : nullptr);
    if (!info.ok()) return error(info.status(), false);
    return XmlReply(r, clock,
                    std::string("<CopyObjectResult xmlns=\"") + kXmlNs + "\">" +
                        Tag("LastModified", Iso8601Millis(info->last_modified_ms)) +
                        Tag("ETag", XmlEscape(info->etag)) + "</CopyObjectResult>");
  }
  if (op == "CreateMultipartUpload") {
    Status bucket = backend_->HeadBucket(r.bucket);
    if (!bucket.ok()) return error(bucket, true);
    Result<std::string> id = uploads_.Create(r.bucket, r.key, PutOptionsFromHeaders(r.head));
    if (!id.ok()) return error(id.status(), false);
    return XmlReply(r, clock,
                    std::string("<InitiateMultipartUploadResult xmlns=\"") + kXmlNs + "\">" +
                        Tag("Bucket", XmlEscape(r.bucket)) + Tag("Key", XmlEscape(r.key)) +
                        Tag("UploadId", *id) + "</InitiateMultipartUploadResult>");
  }
  if (op == "UploadPart") {
    StagedFile file = r.body->TakeFile();
    int part = std::atoi(r.Query("partNumber")->c_str());
    Result<PartInfo> info = uploads_.AddPart(*r.Query("uploadId"), part, file);
    if (!info.ok()) {
      ::unlink(file.path.c_str());
      return error(info.status(), false);
    }
    HttpReply reply = EmptyReply(r, clock, 200);
    reply.headers.emplace_back("ETag", info->etag);
    for (const auto& h : r.body->echo_headers()) reply.headers.push_back(h);
    return reply;
  }
  if (op == "ListParts" || op == "AbortMultipartUpload" || op == "CompleteMultipartUpload") {
    const std::string& id = *r.Query("uploadId");
    Result<UploadInfo> upload = uploads_.Get(id);
    if (!upload.ok() || upload->bucket != r.bucket || upload->key != r.key) {
      return ErrorReply(r, clock, MakeError("NoSuchUpload"));
    }
    if (op == "AbortMultipartUpload") {
      Status s = uploads_.Remove(id);
      if (!s.ok()) return error(s, false);
      return EmptyReply(r, clock, 204);
    }
    if (op == "ListParts") {
      Result<std::vector<PartInfo>> parts = uploads_.ListParts(id);
      if (!parts.ok()) return error(parts.status(), false);
      int marker = 0, max_parts = 1000;
      if (const std::string* v = r.Query("part-number-marker")) marker = std::atoi(v->c_str());
      if (const std::string* v = r.Query("max-parts"))
        max_parts = std::clamp(std::atoi(v->c_str()), 0, 1000);
      std::string items;
      int count = 0, last = 0;
      bool truncated = false;
      for (const auto& p : *parts) {
        if (p.part_number <= marker) continue;
        if (count == max_parts) {
          truncated = true;
          break;
        }
        items += "<Part>" + Tag("PartNumber", std::to_string(p.part_number)) +
                 Tag("LastModified", Iso8601Millis(p.last_modified_ms)) +
                 Tag("ETag", XmlEscape(p.etag)) + Tag("Size", std::to_string(p.size)) + "</Part>";
        ++count;
        last = p.part_number;
      }
      std::string xml = std::string("<ListPartsResult xmlns=\"") + kXmlNs + "\">" +
                        Tag("Bucket", XmlEscape(r.bucket)) + Tag("Key", XmlEscape(r.key)) +
                        Tag("UploadId", id) + Tag("PartNumberMarker", std::to_string(marker)) +
                        Tag("NextPartNumberMarker", std::to_string(last)) +
                        Tag("MaxParts", std::to_string(max_parts)) +
                        Tag("IsTruncated", truncated ? "true" : "false") +
                        "<StorageClass>STANDARD</StorageClass>" + items + "</ListPartsResult>";
      return XmlReply(r, clock, xml);
    }
    Result<std::vector<std::pair<int, std::string>>> parts =
        ParseCompleteMultipartXml(r.body ? r.body->memory() : std::string_view());
    if (!parts.ok()) return ErrorReply(r, clock, MakeError("MalformedXML"));
    Result<MultipartUploads::ResolvedParts> resolved =
        uploads_.Resolve(id, *parts, options_.min_part_bytes);
    if (!resolved.ok()) return error(resolved.status(), false);
    Result<ObjectInfo> info = backend_->CompleteMultipart(r.bucket, r.key, resolved->paths,
                                                          resolved->etags, upload->options);
    if (!info.ok()) return error(info.status(), false);
    Status removed = uploads_.Remove(id);
    (void)removed;  // the object is committed; a leftover upload folder is only garbage
    std::string host;
    if (const std::string* h = r.head.Header("host")) host = *h;
    return XmlReply(r, clock,
                    std::string("<CompleteMultipartUploadResult xmlns=\"") + kXmlNs + "\">" +
                        Tag("Location", XmlEscape("http://" + host + "/" + r.bucket + "/" +
                                                  UrlEncode(r.key, true))) +
                        Tag("Bucket", XmlEscape(r.bucket)) + Tag("Key", XmlEscape(r.key)) +
                        Tag("ETag", XmlEscape(info->etag)) + "</CompleteMultipartUploadResult>");
  }
  return ErrorReply(r, clock, MakeError("NotImplemented"));
}

}  // namespace thumbflow::server
