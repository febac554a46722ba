#include "aws/s3_store.h"

#include <pugixml.hpp>

#include "aws/aws_error.h"
#include "aws/checksums.h"
#include "aws/sigv4.h"
#include "core/civil_time.h"
#include "core/strings.h"
#include "storage/keys.h"

namespace thumbflow::aws {
namespace {

constexpr std::string_view kMetaPrefix = "x-amz-meta-";
// The Range header of `range`: "bytes=F-", "bytes=F-L" or, for a suffix, "bytes=-N".
std::string RangeHeader(const ByteRange& range) {
  if (range.suffix_length) return "bytes=-" + std::to_string(*range.suffix_length);
  std::string header = "bytes=" + std::to_string(range.first) + "-";
  if (range.last) header += std::to_string(*range.last);
  return header;
}

int64_t ParseInt(const std::string* text) {
  if (text == nullptr || text->empty()) return 0;
  try {
    return std::stoll(*text);
  } catch (...) {
    return 0;
  }
}

ObjectInfo InfoFromHeaders(const std::string& key, const HttpResponse& r) {
  ObjectInfo info;
  info.key = key;
  info.size = ParseInt(r.Header("content-length"));
  if (const std::string* range = r.Header("content-range")) {
    // "bytes 0-9/1234": the whole object's size follows the '/'.
    size_t slash = range->rfind('/');
    if (slash != std::string::npos) {
      std::string total = range->substr(slash + 1);
      info.size = ParseInt(&total);
    }
  }
  if (const std::string* etag = r.Header("etag")) info.etag = *etag;
  if (const std::string* type = r.Header("content-type")) info.content_type = *type;
  if (const std::string* modified = r.Header("last-modified")) {
    info.last_modified_ms = ParseHttpDate(*modified).value_or(0);  // 0: unknown
  }
  for (const auto& [name, value] : r.headers) {
    std::string lower = ToLowerAscii(name);
    if (lower.starts_with(kMetaPrefix)) info.metadata[lower.substr(kMetaPrefix.size())] = value;
  }
  for (std::string_view name : kStoredHeaderNames) {
    if (const std::string* value = r.Header(name)) {
      info.headers[std::string(name)] = *value;
    }
  }
  return info;
}

class S3StoreImpl final : public S3Store {
 public:
  S3StoreImpl(S3StoreOptions options, std::string scheme, std::string host,
              std::shared_ptr<HttpClient> http, std::shared_ptr<CredentialsProvider> credentials,
              const Clock* clock)
      : options_(std::move(options)),
        scheme_(std::move(scheme)),
        host_(std::move(host)),
        http_(std::move(http)),
        credentials_(std::move(credentials)),
        clock_(clock) {}

  const std::string& endpoint() const override { return options_.endpoint; }

  Result<ObjectData> Get(const std::string& bucket, const std::string& key,
                         const GetOptions& options) override {
    RETURN_IF_ERROR(CheckKey(bucket, key, "GetObject"));
    HttpHeaders headers;
    if (options.range) headers.emplace_back("Range", RangeHeader(*options.range));
    if (!options.if_match.empty()) headers.emplace_back("If-Match", options.if_match);
    if (!options.if_none_match.empty()) {
      headers.emplace_back("If-None-Match", options.if_none_match);
    }
    AwsCall call{"GetObject", bucket, key};
    ASSIGN_OR_RETURN(HttpResponse r, Call(call, "GET", bucket, key, {}, std::move(headers), ""));
    ObjectData data;
    data.info = InfoFromHeaders(key, r);
    data.bytes = std::move(r.body);
    return data;
  }

  Result<ObjectInfo> Put(const std::string& bucket, const std::string& key, std::string_view bytes,
                         const PutOptions& options) override {
    RETURN_IF_ERROR(CheckKey(bucket, key, "PutObject"));
    HttpHeaders headers;
    const std::string content_type =
        options.content_type.empty() ? kDefaultContentType : options.content_type;
    headers.emplace_back("Content-Type", content_type);
    headers.emplace_back("Content-MD5", ContentMd5(bytes));
    for (const auto& [name, value] : options.metadata) {
      headers.emplace_back(std::string(kMetaPrefix) + ToLowerAscii(name), value);
    }
    for (const auto& [name, value] : StoredHeaders(options.headers)) {
      headers.emplace_back(name, value);
    }
    if (!options.condition.if_match.empty()) {
      headers.emplace_back("If-Match", options.condition.if_match);
    }
    if (!options.condition.if_none_match.empty()) {
      headers.emplace_back("If-None-Match", options.condition.if_none_match);
    }
    AwsCall call{"PutObject", bucket, key};
    ASSIGN_OR_RETURN(HttpResponse r,
                     Call(call, "PUT", bucket, key, {}, std::move(headers), std::string(bytes)));
    ObjectInfo info;
    info.key = key;
    info.size = static_cast<int64_t>(bytes.size());
    if (const std::string* etag = r.Header("etag")) info.etag = *etag;
    info.content_type = content_type;
    for (const auto& [name, value] : options.metadata) info.metadata[ToLowerAscii(name)] = value;
    info.headers = StoredHeaders(options.headers);
    info.last_modified_ms = clock_->NowMillis();
    return info;
  }

  Result<ObjectInfo> Head(const std::string& bucket, const std::string& key) override {
    RETURN_IF_ERROR(CheckKey(bucket, key, "HeadObject"));
    AwsCall call{"HeadObject", bucket, key};
    ASSIGN_OR_RETURN(HttpResponse r, Call(call, "HEAD", bucket, key, {}, {}, ""));
    return InfoFromHeaders(key, r);
  }

  Status Delete(const std::string& bucket, const std::string& key) override {
    RETURN_IF_ERROR(CheckKey(bucket, key, "DeleteObject"));
    AwsCall call{"DeleteObject", bucket, key};
    Result<HttpResponse> r = Call(call, "DELETE", bucket, key, {}, {}, "");
    // S3 answers 204 for a missing key; a 404 (NoSuchKey) from a compatible store is the same.
    if (r.ok() || (r.status().code() == StatusCode::kNotFound &&
                   r.status().reason() != Reason::kNoSuchBucket)) {
      return Status::Ok();
    }
    return r.status();
  }

  Result<ListResult> List(const std::string& bucket, const ListOptions& options) override {
    if (bucket.empty()) return InvalidArgumentError("ListObjectsV2: the bucket name is empty");
    QueryParams query = {{"list-type", "2"}};
    if (!options.prefix.empty()) query.emplace_back("prefix", options.prefix);
    if (!options.delimiter.empty()) query.emplace_back("delimiter", options.delimiter);
    if (!options.continuation_token.empty()) {
      query.emplace_back("continuation-token", options.continuation_token);
    }
    if (!options.start_after.empty()) query.emplace_back("start-after", options.start_after);
    if (options.max_keys > 0) query.emplace_back("max-keys", std::to_string(options.max_keys));
    AwsCall call{"ListObjectsV2", bucket, options.prefix};
    ASSIGN_OR_RETURN(HttpResponse r, Call(call, "GET", bucket, "", query, {}, ""));
    pugi::xml_document doc;
    if (!doc.load_buffer(r.body.data(), r.body.size())) {
      return Status(StatusCode::kUnavailable,
                    "ListObjectsV2 s3://" + bucket + ": the answer is not XML", "", true);
    }
    pugi::xml_node root = doc.child("ListBucketResult");
    if (!root) {
      return Status(StatusCode::kUnavailable,
                    "ListObjectsV2 s3://" + bucket + ": no ListBucketResult in the answer", "",
                    true);
    }
    ListResult out;
    for (pugi::xml_node c : root.children("Contents")) {
      ObjectInfo info;
      info.key = c.child_value("Key");
      info.size = c.child("Size").text().as_llong();
      info.etag = c.child_value("ETag");
      Result<int64_t> modified = ParseIso8601Millis(c.child_value("LastModified"));
      info.last_modified_ms = modified.value_or(0);
      out.objects.push_back(std::move(info));
    }
    for (pugi::xml_node p : root.children("CommonPrefixes")) {
      out.common_prefixes.emplace_back(p.child_value("Prefix"));
    }
    out.truncated = std::string_view(root.child_value("IsTruncated")) == "true";
    out.next_continuation_token = root.child_value("NextContinuationToken");
    return out;
  }

  Status CreateBucket(const std::string& bucket) override {
    if (bucket.empty()) return InvalidArgumentError("CreateBucket: the bucket name is empty");
    std::string body;
    HttpHeaders headers;
    if (options_.region != "us-east-1") {
      body =
          "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<LocationConstraint>" +
          options_.region + "</LocationConstraint></CreateBucketConfiguration>";
      headers.emplace_back("Content-Type", "application/xml");
    }
    AwsCall call{"CreateBucket", bucket, ""};
    Result<HttpResponse> r = Call(call, "PUT", bucket, "", {}, std::move(headers), body);
    if (!r.ok() && r.status().error_code() == "BucketAlreadyOwnedByYou") return Status::Ok();
    return r.ok() ? Status::Ok() : r.status();
  }

 private:
  static Status CheckKey(const std::string& bucket, const std::string& key,
                         std::string_view operation) {
    if (bucket.empty()) {
      return InvalidArgumentError(std::string(operation) + ": the bucket name is empty");
    }
    if (key.empty()) {
      return InvalidArgumentError(std::string(operation) + ": the key is empty")
          .WithReason(Reason::kInvalidKey);
    }
    if (key.size() > kMaxKeyBytes) {
      return InvalidArgumentError(std::string(operation) + ": the key is longer than 1024 bytes")
          .WithReason(Reason::kInvalidKey);
    }
    return Status::Ok();
  }

  // Signs and sends one request; a non-2xx answer (or no answer) becomes a mapped Status.
  Result<HttpResponse> Call(const AwsCall& call, const std::string& method,
                            const std::string& bucket, const std::string& key,
                            const QueryParams& query, HttpHeaders headers, std::string body) {
    Result<Credentials> credentials = credentials_->GetCredentials();
    if (!credentials.ok()) {
      return credentials.status().WithContext(std::string(call.operation) + " s3://" + bucket);
    }
    SignableRequest request;
    request.method = method;
    std::string host = host_;
    if (options_.path_style) {
      request.path = "/" + bucket + (key.empty() ? "" : "/" + key);
    } else {
      host = bucket + "." + host_;
      request.path = "/" + key;
    }
    request.query = query;
    request.headers = std::move(headers);
    request.headers.emplace_back("Host", host);
    request.payload_hash = Sha256Hex(body);
    RETURN_IF_ERROR(
        signer_.Sign(request, *credentials, S3SigningParams(options_.region, clock_->NowMillis()))
            .status());
    HttpRequest http;
    http.method = method;
    http.url = scheme_ + "://" + host + EncodeRequestTarget(request.path, request.query);
    http.headers = std::move(request.headers);
    http.body = std::move(body);
    http.service = "s3";
    http.operation = std::string(call.operation);
    Result<HttpResponse> response = http_->Send(http);
    if (response.ok() && response->status >= 200 && response->status < 300) return response;
    return PortStatus(MapAwsFailure(call, response, options_.endpoint));
  }

  // The S3 error codes the ObjectStore port has its own reasons for (storage/object_store.h):
  // a missing bucket is the set-up's fault, a key S3 refuses or a range past the end is the
  // object's, and failed conditions say which (the S3 endpoint answers 412 or 304 from them).
  static Status PortStatus(Status status) {
    const std::string& code = status.error_code();
    if (code == "NoSuchBucket") return status.WithReason(Reason::kNoSuchBucket);
    if (code == "KeyTooLongError") return status.WithReason(Reason::kInvalidKey);
    if (code == "InvalidRange") return status.WithReason(Reason::kInvalidRange);
    if (code == "PreconditionFailed") return status.WithReason(Reason::kPreconditionFailed);
    if (code == "NotModified") return status.WithReason(Reason::kNotModified);
    return status;
  }

  S3StoreOptions options_;
  std::string scheme_;
  std::string host_;  // host[:port] of the endpoint
  std::shared_ptr<HttpClient> http_;
  std::shared_ptr<CredentialsProvider> credentials_;
  const Clock* clock_;
  SigningKeyCache keys_;
  Signer signer_{&keys_};
};

}  // namespace

Result<std::unique_ptr<S3Store>> NewS3Store(S3StoreOptions options,
                                            std::shared_ptr<HttpClient> http,
                                            std::shared_ptr<CredentialsProvider> credentials,
                                            const Clock* clock) {
  std::string endpoint = options.endpoint;
  size_t scheme_end = endpoint.find("://");
  if (scheme_end == std::string::npos) {
    return InvalidArgumentError("S3 endpoint \"" + endpoint + "\" is not a URL");
  }
  std::string scheme = endpoint.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return InvalidArgumentError("S3 endpoint \"" + endpoint + "\" must be http or https");
  }
  std::string rest = endpoint.substr(scheme_end + 3);
  std::string host = rest.substr(0, rest.find('/'));
  if (host.empty()) return InvalidArgumentError("S3 endpoint \"" + endpoint + "\" has no host");
  if (!http || !credentials || clock == nullptr) {
    return InvalidArgumentError("S3 store needs an HTTP client, credentials and a clock");
  }
  return std::unique_ptr<S3Store>(new S3StoreImpl(std::move(options), scheme, host, std::move(http),
                                                  std::move(credentials), clock));
}

}  // namespace thumbflow::aws
