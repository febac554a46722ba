#include "server/s3_request.h"

#include "core/strings.h"

namespace thumbflow::server {
namespace {

constexpr char kXmlDecl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

HeaderList BaseHeaders(const S3Request& r, const Clock& clock) {
  return {{"x-amz-request-id", r.request_id},
          {"x-amz-id-2", r.request_id},
          {"Date", HttpDate(clock.NowMillis())},
          {"Server", "thumbflow"}};
}

}  // namespace

const std::string* S3Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

HttpReply EmptyReply(const S3Request& r, const Clock& clock, int status) {
  HttpReply reply;
  reply.status = status;
  reply.headers = BaseHeaders(r, clock);
  return reply;
}

HttpReply XmlReply(const S3Request& r, const Clock& clock, std::string_view xml) {
  HttpReply reply = EmptyReply(r, clock, 200);
  reply.headers.emplace_back("Content-Type", "application/xml");
  reply.body = kXmlDecl;
  reply.body += xml;
  return reply;
}

HttpReply ErrorReply(const S3Request& r, const Clock& clock, S3Error error) {
  HttpReply reply = EmptyReply(r, clock, error.http_status);
  if (error.http_status == 304) return reply;
  error.resource = r.path;
  reply.headers.emplace_back("Content-Type", "application/xml");
  reply.body = ErrorXml(error, r.request_id);
  reply.head = r.is_head();
  return reply;
}

HttpReply StatusReply(const S3Request& r, const Clock& clock, const Status& status,
                      bool is_bucket_op) {
  return ErrorReply(r, clock, ErrorFromStatus(status, is_bucket_op));
}

PutOptions PutOptionsFromHeaders(const HttpRequestHead& head) {
  PutOptions options;
  for (const auto& [name, value] : head.headers) {
    if (EqualsIgnoreCase(name, "content-type")) {
      options.content_type = value;
    } else if (name.size() > 11 && StartsWithIgnoreCase(name, "x-amz-meta-")) {
      options.metadata[ToLowerAscii(std::string_view(name).substr(11))] = value;
    }
  }
  return options;
}

Status S3Status(StatusCode code, std::string_view s3_code, std::string message) {
  return Status(code, std::move(message), std::string(s3_code));
}

}  // namespace thumbflow::server
