// S3 Signature Version 2 (HMAC-SHA1): verification for thumbflow's S3 endpoint, and signing
// for tests. Two forms, as S3 defines them ("Signing and authenticating REST requests",
// RESTAuthentication):
//   header: Authorization: AWS AKID:base64(hmac-sha1(secret, StringToSign))
//   query:  ?AWSAccessKeyId=AKID&Expires=unix-seconds&Signature=base64(...)
//
//   StringToSign = Method "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//                  CanonicalizedAmzHeaders CanonicalizedResource
// Date is the Date header, empty when x-amz-date is sent (x-amz-date then signs as an amz
// header), and the Expires value in the query form. CanonicalizedAmzHeaders: every x-amz-*
// header, name lower-cased, sorted, repeated headers joined by ',', values trimmed and
// unfolded, "name:value\n" each. CanonicalizedResource: "/bucket" for virtual-host style, then
// the path as sent (still percent-encoded), then the sub-resources (SigV2SubResources(),
// decoded values) sorted by name, "?a&b=v".
//
// The aws CLI v1 (`aws s3 presign`) and boto3's generate_presigned_url (signature_version
// unset, custom endpoint) produce the query form; botocore also copies the signed x-amz-*,
// Content-Type and Content-MD5 headers into the query string, so the query form reads those
// from the query when the request does not send them as headers.
//
// S3 answers SigV2 only in the regions created before 2014-01-30 (SigV2Region()); elsewhere
// "The authorization mechanism you have provided is not supported".
//
// Pure functions, thread-safe. Failures carry the S3 error code as Status::reason():
// AccessDenied (missing date or parameters, expired URL -> PermissionDenied),
// InvalidArgument (malformed Authorization), InvalidAccessKeyId, SignatureDoesNotMatch,
// RequestTimeTooSkewed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/http_client.h"
#include "aws/sigv4.h"
#include "core/result.h"

namespace thumbflow::aws {

// The query parameters that belong to the CanonicalizedResource (botocore's list, which is
// S3's documented list plus later sub-resources).
const std::vector<std::string_view>& SigV2SubResources();
// True for the regions where S3 still accepts SigV2.
bool SigV2Region(std::string_view region);

// "x-amz-a:1\nx-amz-b:2,3\n"; empty without x-amz-* headers.
std::string SigV2CanonicalizedAmzHeaders(const HttpHeaders& headers);
// `raw_path`: as sent, percent-encoded, without the query; `raw_query`: as sent, without '?'.
// `virtual_host_bucket`: the bucket named by the Host (virtual-host style), else empty.
std::string SigV2CanonicalizedResource(std::string_view virtual_host_bucket,
                                       std::string_view raw_path, std::string_view raw_query);
// `expires` set: the query form (Expires replaces Date).
std::string SigV2StringToSign(std::string_view method, const HttpHeaders& headers,
                              std::string_view canonicalized_resource,
                              std::optional<std::string_view> expires = std::nullopt);
// base64(hmac-sha1(secret, string_to_sign)).
std::string SigV2Signature(std::string_view secret, std::string_view string_to_sign);

// "Tue, 27 Mar 2007 19:36:42 +0000" (also GMT / UTC / ±hhmm zones, and RFC 850 / asctime
// forms as HTTP allows) -> Unix milliseconds. InvalidArgument when malformed.
Result<int64_t> ParseSigV2Date(std::string_view text);

// The request as received.
struct SigV2Request {
  std::string method;
  std::string raw_path;   // target up to '?', percent-encoded as sent
  std::string raw_query;  // after '?', as sent
  std::string virtual_host_bucket;
  HttpHeaders headers;  // as sent
};

struct SigV2Options {
  int64_t now_ms = 0;  // from the injected Clock
  int64_t max_clock_skew_ms = 15 * 60 * 1000;
};

// True when the request carries SigV2 (Authorization "AWS ..." or AWSAccessKeyId in the
// query); VerifySigV2 is then the verifier to call.
bool IsSigV2(const HttpHeaders& headers, const QueryParams& query);

// Checks: well-formed, Date / x-amz-date within max_clock_skew_ms (header form) or Expires
// not passed (query form), known key, signature equal (constant-time). On success
// VerifiedRequest::payload_hash is UNSIGNED-PAYLOAD, or the x-amz-content-sha256 digest when
// one was sent (the body must then match it); a value that is neither is InvalidArgument,
// and a signed STREAMING-* value is InvalidRequest (signed chunks need a SigV4 seed
// signature; STREAMING-UNSIGNED-PAYLOAD-TRAILER is accepted). `details`
// (optional) receives S3's extra error elements (SignatureProvided, StringToSign,
// AWSAccessKeyId; Expires and ServerTime; RequestTime and ServerTime).
Result<VerifiedRequest> VerifySigV2(const SigV2Request& request, const SecretLookup& lookup,
                                    const SigV2Options& options, ErrorDetails* details = nullptr);

}  // namespace thumbflow::aws
