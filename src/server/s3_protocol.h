// The S3 wire vocabulary the endpoint speaks: error codes and their HTTP statuses, XML
// escaping, URL encoding as S3 does it, and the two date formats S3 uses.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace thumbflow::server {

// An S3 error response: <Error><Code>..</Code><Message>..</Message>...</Error>.
struct S3Error {
  int http_status = 500;
  std::string code;  // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;
  std::string resource;  // the request path; rendered as <Resource>
  // Further elements S3 adds for some errors, after <Message>, in order: HeadersNotSigned,
  // Region, ArgumentName / ArgumentValue, ...
  std::vector<std::pair<std::string, std::string>> details;
};

S3Error MakeError(std::string_view code, std::string message = {});
// Maps a store / auth Status to the S3 error a client expects. `is_bucket_op` selects
// NoSuchBucket for NotFound on bucket-level operations; object NotFound becomes NoSuchKey
// unless the message names a missing bucket.
S3Error ErrorFromStatus(const Status& status, bool is_bucket_op);

// The error document. A resource that is not plain XML text (invalid UTF-8, control
// characters) is percent-encoded, so every client can parse the error.
std::string ErrorXml(const S3Error& error, std::string_view request_id);

// Escapes markup characters; control characters become numeric references (&#xN;), and NUL,
// which XML cannot carry at all, becomes U+FFFD. Keys holding control characters still need
// encoding-type=url for strict parsers.
std::string XmlEscape(std::string_view text);
// RFC 3986 percent-encoding, as S3 encodes keys for encoding-type=url ('/' kept when
// `keep_slash`).
std::string UrlEncode(std::string_view text, bool keep_slash);
// Decodes %XX; `plus_is_space` for query strings. Returns false on a malformed escape.
bool UrlDecode(std::string_view text, std::string* out, bool plus_is_space);

std::string Iso8601Millis(int64_t epoch_ms);  // 2026-11-27T07:18:42.000Z
std::string HttpDate(int64_t epoch_ms);       // Fri, 27 Nov 2026 07:18:42 GMT
// Parsing HTTP dates: ParseHttpDate in core/civil_time.h.

// Request bodies. Both fail with InvalidArgument, reason "MalformedXML", when the body is
// not XML of the expected shape.
//
// DeleteObjects: <Delete><Quiet>true</Quiet><Object><Key>k</Key></Object>...</Delete>, 1 to
// 1000 objects. Keys are returned as sent (the handler validates each one).
struct DeleteObjectsBody {
  bool quiet = false;
  std::vector<std::string> keys;
};
Result<DeleteObjectsBody> ParseDeleteObjectsXml(std::string_view body);

// CompleteMultipartUpload: <CompleteMultipartUpload><Part><PartNumber>1</PartNumber>
// <ETag>"…"</ETag></Part>...</CompleteMultipartUpload>. Returns (part number, ETag as sent)
// in document order; a PartNumber that is not a decimal int is MalformedXML. The parts'
// order and existence are MultipartUploads::Resolve's business.
Result<std::vector<std::pair<int, std::string>>> ParseCompleteMultipartXml(std::string_view body);

}  // namespace thumbflow::server
