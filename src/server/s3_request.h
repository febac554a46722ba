// What the S3 handler's parts share about one request: the parsed request (S3Request), the
// replies every operation builds (S3 headers, XML, errors), and small header helpers.
// Internal to server/ (s3_handler.cc, s3_auth.cc and the s3_*_operations.cc files).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aws/sigv4.h"
#include "core/clock.h"
#include "core/status.h"
#include "server/http_server.h"
#include "server/s3_body.h"
#include "server/s3_operation.h"
#include "server/s3_post_object.h"
#include "server/s3_protocol.h"
#include "storage/object_store.h"

namespace thumbflow::server {

struct S3Request {
  // The received head plus the x-amz-* parameters of a presigned URL (HoistPresignedAmzParameters).
  HttpRequestHead head;
  std::string path;  // decoded
  aws::QueryParams query;
  std::string bucket;
  std::string key;
  bool virtual_host = false;  // the bucket came from the Host header
  S3Route route;
  std::string request_id;
  std::chrono::steady_clock::time_point start;
  std::optional<aws::VerifiedRequest> auth;  // empty: anonymous
  std::string user;                          // the name of the signer; empty: anonymous
  TagSet tagging;  // x-amz-tagging of PutObject / CreateMultipartUpload / CopyObject, checked
  // The bucket's owner, once AuthorizeRequest has read the bucket (empty before, and for
  // requests that name no existing bucket).
  std::string bucket_owner;
  // The ACL (EncodeAcl, server/s3_acl.h) a write asks for: x-amz-acl or x-amz-grant-*, else
  // private to its writer; set by CheckRequest for PutObject, CopyObject and
  // CreateMultipartUpload (PutOptionsOf passes it on).
  std::string acl;
  std::unique_ptr<S3BodySink> body;        // null: no body expected
  std::unique_ptr<PostFormReceiver> post;  // PostObject: the form, instead of `body`
  int64_t bytes_in = 0;

  S3Operation operation() const { return route.operation; }
  const std::string* Query(std::string_view name) const;
  bool Has(std::string_view name) const { return Query(name) != nullptr; }
  bool is_head() const { return head.method == "HEAD"; }
};

// Replies carry x-amz-request-id, x-amz-id-2, Date and Server, in that order.
HttpReply EmptyReply(const S3Request& r, const Clock& clock, int status);
// `xml` is a document without its declaration; the reply adds it.
HttpReply XmlReply(const S3Request& r, const Clock& clock, std::string_view xml);
// The error document with the request path as <Resource>; a 304 has no body.
HttpReply ErrorReply(const S3Request& r, const Clock& clock, S3Error error);
// ErrorReply(ErrorFromStatus(status, is_bucket_op)).
HttpReply StatusReply(const S3Request& r, const Clock& clock, const Status& status,
                      bool is_bucket_op);

// Content-Type, x-amz-meta-* (names lower-cased) and the standard headers S3 stores
// (kStoredHeaderNames; aws-chunked is not a Content-Encoding of the object) of a PUT, COPY or
// multipart start. Metadata and header values become text with HeaderValueText.
PutOptions PutOptionsFromHeaders(const HttpRequestHead& head);
// The same, with the request's checked x-amz-tagging as the tags and its ACL.
PutOptions PutOptionsOf(const S3Request& r);

// Non-ASCII header values (user metadata, the stored standard headers). Stored as UTF-8:
// a value that is one or more RFC 2047 encoded-words (UTF-8, ISO-8859-1 or US-ASCII; B or Q)
// is decoded, as S3 decodes it; other bytes that are well-formed UTF-8 (what boto3 and the
// aws CLI send for "é") are kept; any other byte is read as ISO-8859-1, as HTTP reads it.
std::string HeaderValueText(std::string_view raw);
// Returned: ASCII as is; text whose characters are all at most U+00FF as ISO-8859-1 bytes,
// which is how Python's http.client (so boto3 and the aws CLI), Node and browsers read
// header bytes, so they get back the string they sent; anything else as one RFC 2047
// encoded-word "=?UTF-8?B?...?=", as S3 returns every non-ASCII value.
std::string HeaderValueWire(std::string_view text);

// A Status carrying an S3 error code as its reason (ErrorFromStatus answers that code).
Status S3Status(StatusCode code, std::string_view s3_code, std::string message);

}  // namespace thumbflow::server
