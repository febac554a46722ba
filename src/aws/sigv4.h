// AWS Signature Version 4: signing (clients: S3, SQS) and verification (thumbflow's own
// S3-compatible endpoint), with one implementation of the canonical forms for both sides.
//
// Model of a request (SignableRequest): the path and the query are held DECODED. The
// canonical URI and the wire target are both produced by encoding the path exactly once
// (UriEncode, '/' kept), so an S3 key like "a b+c%/ü.jpg" is encoded once and never
// normalised. Services other than S3 additionally remove dot segments and collapse '//'
// (SigningParams::normalize_path). Double encoding of already-encoded paths, which a few
// non-S3 REST services expect, is not supported (no thumbflow client needs it).
//
// S3 rules (S3SigningParams): x-amz-content-sha256 is always sent and signed; its value is
// the hex SHA-256 of the body, UNSIGNED-PAYLOAD, or one of the STREAMING-* values below;
// presigned URLs use UNSIGNED-PAYLOAD; no path normalisation.
//
// Thread-safety: free functions are pure. SigningKeyCache and Signer are thread-safe.
// Failure: signing fails only on invalid input (InvalidArgument). Verification failures
// carry the S3 error code as Status::reason() so the endpoint can answer with it:
//   AccessDenied (no credentials; expired presigned URL -> PermissionDenied),
//   AuthorizationHeaderMalformed / AuthorizationQueryParametersError (InvalidArgument),
//   InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed, InvalidToken
//   (Unauthenticated), and for aws-chunked bodies IncompleteBody, InvalidChunkSizeError,
//   SignatureDoesNotMatch, BadDigest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/checksums.h"
#include "aws/credentials.h"
#include "aws/http_client.h"
#include "core/result.h"
#include "core/uri.h"

namespace thumbflow::aws {

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedPayloadTrailer =
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
// Longest validity of a presigned URL (7 days), as S3 enforces it.
inline constexpr int64_t kMaxPresignExpirySeconds = 7 * 24 * 3600;

// ---- encoding and time -----------------------------------------------------------------

// RFC 3986 percent-encoding as SigV4 defines it: A-Z a-z 0-9 - . _ ~ kept, every other byte
// as %XX (upper-case hex); '/' kept unless `encode_slash`. Space is %20, never '+'.
inline std::string UriEncode(std::string_view bytes, bool encode_slash) {
  return PercentEncode(bytes, {.keep_slash = !encode_slash});
}
// Decodes %XX; '+' stays '+'. InvalidArgument on a malformed escape.
inline Result<std::string> UriDecode(std::string_view text) { return PercentDecode(text); }
// Removes "." and ".." segments and collapses repeated '/', keeping a trailing '/'.
std::string NormalizePath(std::string_view path);

// "20150830T123600Z" <-> Unix milliseconds (UTC; sub-second part dropped).
std::string FormatAmzDate(int64_t unix_ms);
Result<int64_t> ParseAmzDate(std::string_view amz_date);

// Decoded query parameters in any order; a key without '=' has an empty value.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits "/a%20b/c?x=1&y" into a decoded path and decoded query parameters.
struct RequestTarget {
  std::string path;
  QueryParams query;
};
Result<RequestTarget> ParseRequestTarget(std::string_view target);
// The wire form: path encoded once ('/' kept), query parameters encoded and joined in the
// given order. "" path becomes "/".
std::string EncodeRequestTarget(std::string_view path, const QueryParams& query);

// ---- canonical forms (exposed for tests and for the verifier) ---------------------------

struct SignableRequest {
  std::string method = "GET";
  std::string path = "/";  // decoded; for S3 "/bucket/key" (path style) or "/key"
  QueryParams query;       // decoded
  HttpHeaders headers;     // as sent, including Host
  // Hex SHA-256 of the body, kUnsignedPayload or a kStreaming* value. Empty means the hash
  // of an empty body when signing; when verifying it means "take x-amz-content-sha256".
  std::string payload_hash;
};

std::string CanonicalUri(std::string_view decoded_path, bool normalize);
// Parameters encoded with '/' encoded, sorted by encoded name then value, joined by '&'.
std::string CanonicalQuery(const QueryParams& query);

// A header value as SigV4 and SigV2 sign it: trimmed, every run of whitespace (folded
// continuation lines included) made one space.
std::string CanonicalHeaderValue(std::string_view value);

struct CanonicalHeaders {
  std::string block;           // "name:value\n" per header, names lower-case and sorted
  std::string signed_headers;  // "host;x-amz-date"
};
// Lower-cases names, trims values, folds continuation lines and runs of spaces into one
// space, joins repeated headers with ',' in order. With `only` set, exactly those names
// (lower-case) are used; a listed name that is absent yields an empty value list. Without
// it, every header is used except the ones a proxy may change or curl adds (authorization,
// user-agent, expect, connection, transfer-encoding, x-amzn-trace-id, accept, ...).
CanonicalHeaders CanonicalizeHeaders(const HttpHeaders& headers,
                                     const std::vector<std::string>* only = nullptr);

std::string CanonicalRequest(std::string_view method, std::string_view canonical_uri,
                             std::string_view canonical_query, const CanonicalHeaders& headers,
                             std::string_view payload_hash);
// "20130524/us-east-1/s3/aws4_request"
std::string CredentialScope(std::string_view date8, std::string_view region,
                            std::string_view service);
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// kSecret = "AWS4" + secret; HMAC chain over date, region, service, "aws4_request". Raw bytes.
std::string DeriveSigningKey(std::string_view secret, std::string_view date8,
                             std::string_view region, std::string_view service);
std::string SignatureHex(std::string_view signing_key, std::string_view string_to_sign);

// Derived signing keys, one per (secret, date, region, service). Keys change daily, so the
// cache keeps the most recent entries only (bounded). Thread-safe.
class SigningKeyCache {
 public:
  std::string Get(std::string_view secret, std::string_view date8, std::string_view region,
                  std::string_view service);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> keys_;
};

// ---- signing ---------------------------------------------------------------------------

struct SigningParams {
  std::string region;
  std::string service;
  int64_t time_ms = 0;  // signing time; take it from the injected Clock
  // true: RFC 3986 dot-segment removal and '//' collapsing (every service but S3).
  bool normalize_path = true;
  // Adds x-amz-content-sha256: payload_hash and signs it (S3 always; others on request).
  bool add_content_sha256 = false;
  // false: X-Amz-Security-Token is added after signing and is not part of the signature.
  bool sign_session_token = true;
};

// S3's rules: service "s3", no normalisation, x-amz-content-sha256 signed.
SigningParams S3SigningParams(std::string region, int64_t time_ms);

// Everything the signer computed; tests compare the intermediate forms.
struct SigningResult {
  std::string amz_date;
  std::string scope;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;
  std::string signature;      // hex; the seed signature of a streaming upload
  std::string authorization;  // header signing only
  std::string signing_key;    // raw; needed by ChunkSigner
};

class Signer {
 public:
  // `cache` is not owned; nullptr makes the signer use a private one.
  explicit Signer(SigningKeyCache* cache = nullptr);

  // Header signing. Adds X-Amz-Date, X-Amz-Security-Token (when the credentials have one),
  // x-amz-content-sha256 (params.add_content_sha256) and Authorization to request.headers,
  // replacing earlier values. request.headers must contain Host.
  Result<SigningResult> Sign(SignableRequest& request, const Credentials& credentials,
                             const SigningParams& params);

  // Query signing (presigned URL). Appends X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
  // X-Amz-Expires, X-Amz-SignedHeaders (+ X-Amz-Security-Token) and finally X-Amz-Signature
  // to request.query. Signs request.headers (at least Host). The payload hash is
  // request.payload_hash, or UNSIGNED-PAYLOAD for S3 when empty. expires_seconds must be in
  // 1..kMaxPresignExpirySeconds.
  Result<SigningResult> Presign(SignableRequest& request, const Credentials& credentials,
                                const SigningParams& params, int64_t expires_seconds);

 private:
  SigningKeyCache own_cache_;
  SigningKeyCache* cache_;
};

// Convenience: a presigned URL for `method` on `base_url` ("https://host[:port]") + the
// decoded `path` and `query`. Host is taken from base_url.
Result<std::string> PresignUrl(std::string_view method, std::string_view base_url,
                               std::string_view path, const QueryParams& query,
                               const Credentials& credentials, const SigningParams& params,
                               int64_t expires_seconds);

// ---- verification (the server side) ----------------------------------------------------

struct ParsedAuthorization {
  std::string access_key_id;
  std::string date8;
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lower-case, as listed
  std::string signature;
};
// "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=a;b,
// Signature=hex". InvalidArgument (reason AuthorizationHeaderMalformed) when malformed.
Result<ParsedAuthorization> ParseAuthorizationHeader(std::string_view value);

// Finds the secret for an access key id; NotFound when the key is unknown. Credentials with a
// session token require the request to carry the same X-Amz-Security-Token.
using SecretLookup = std::function<Result<Credentials>(std::string_view access_key_id)>;

struct VerifyOptions {
  std::string service = "s3";
  std::string region;  // required region of the scope; empty accepts any
  int64_t now_ms = 0;  // from the injected Clock
  int64_t max_clock_skew_ms = 15 * 60 * 1000;
  bool normalize_path = false;  // S3: false
  // Optional (may be null): signing keys derived once per secret, day, region and service
  // instead of on every request. Must outlive the call.
  SigningKeyCache* signing_keys = nullptr;
};

struct VerifiedRequest {
  std::string access_key_id;
  bool presigned = false;
  std::string amz_date;
  std::string scope;
  std::string signature;    // the seed for aws-chunked payloads
  std::string signing_key;  // raw; the chunk verifier needs it
  // The payload hash the signature covers: a hex SHA-256 the body must still be checked
  // against, UNSIGNED-PAYLOAD, or a STREAMING-* value (decode with AwsChunkedDecoder).
  std::string payload_hash;
  int64_t expires_at_ms = 0;  // presigned only
};

// Verifies header auth (Authorization) or query auth (X-Amz-Signature & co.). `request` is
// the request as received: ParseRequestTarget of its target, its headers. When
// request.payload_hash is empty the x-amz-content-sha256 header is used (presigned: also
// UNSIGNED-PAYLOAD when absent). Checks: well-formed, known key, scope service/region,
// x-amz-date within max_clock_skew_ms (header auth), not expired (query auth), token match,
// host signed, signature equal (constant-time). The body hash is NOT checked here: compare
// Sha256Hex(body) with VerifiedRequest::payload_hash when it is a hex hash.
// On a refusal, `details` (optional) receives the extra elements S3 puts in its error
// document: HeadersNotSigned, Region (wrong scope region), ArgumentName / ArgumentValue.
//
// S3's rules enforced beyond the signature itself:
// - (service "s3") every x-amz-* header present must be signed (x-amz-content-sha256
//   excepted, its value is the canonical request's payload line): otherwise AccessDenied
//   (PermissionDenied), "There were headers present in the request which were not signed",
//   HeadersNotSigned lists them;
// - x-amz-content-sha256 is a 64-hex digest, UNSIGNED-PAYLOAD or a STREAMING-* value:
//   otherwise InvalidArgument;
// - the scope's region is options.region (when set) and its service options.service;
// - X-Amz-Expires is a number from 0 to 604800 (0: expired at once).
using ErrorDetails = std::vector<std::pair<std::string, std::string>>;
Result<VerifiedRequest> VerifyRequest(const SignableRequest& request, const SecretLookup& lookup,
                                      const VerifyOptions& options,
                                      ErrorDetails* details = nullptr);

// The values S3 accepts in x-amz-content-sha256: a 64-hex digest (either case),
// UNSIGNED-PAYLOAD, or a STREAMING-* value. The ECDSA (SigV4a) forms are accepted by S3 and
// listed so that a refusal names them; AwsChunkedDecoder refuses them.
bool IsValidPayloadHash(std::string_view value);
// S3's message for any other value (400 InvalidArgument).
inline constexpr std::string_view kPayloadHashMessage =
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value.";

// Lower-case names of the x-amz-* headers in `headers` that `signed_headers` does not list
// (x-amz-content-sha256 never counts), each once, in order of appearance.
std::vector<std::string> UnsignedAmzHeaders(const HttpHeaders& headers,
                                            const std::vector<std::string>& signed_headers);

// ---- aws-chunked streaming payloads ----------------------------------------------------
//
// Wire form of each chunk: hex(size) ";chunk-signature=" sig "\r\n" data "\r\n"; the last
// chunk is empty. Chunk string to sign: "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n"
// previous-signature "\n" sha256("") "\n" sha256(data). With trailers (…-PAYLOAD-TRAILER)
// the final chunk is followed by "name:value\r\n" lines and "x-amz-trailer-signature:" sig
// "\r\n\r\n", where the trailer string to sign is "AWS4-HMAC-SHA256-TRAILER\n" date "\n"
// scope "\n" previous-signature "\n" sha256("name:value\n"...). STREAMING-UNSIGNED-
// PAYLOAD-TRAILER has chunks "hex(size)\r\n data \r\n" and unsigned trailers.

// Signs successive chunks of one upload. Not thread-safe (the chain is sequential).
class ChunkSigner {
 public:
  ChunkSigner(std::string signing_key, std::string amz_date, std::string scope,
              std::string seed_signature);
  // From the seed request's signing result.
  explicit ChunkSigner(const SigningResult& seed);

  // Signature of the next chunk; call with "" for the final chunk.
  std::string SignChunk(std::string_view data);
  // The chunk in wire form (signs it). The final chunk is EncodeChunk("") without trailers,
  // "0;chunk-signature=sig\r\n\r\n"; with trailers pass trailers_follow = true, which leaves
  // out the last CRLF, and append EncodeTrailer().
  std::string EncodeChunk(std::string_view data, bool trailers_follow = false);
  // Signature over `trailers` (after the final chunk).
  std::string SignTrailer(const HttpHeaders& trailers);
  // "name:value\r\n"... "x-amz-trailer-signature:sig\r\n\r\n" (signs it).
  std::string EncodeTrailer(const HttpHeaders& trailers);

 private:
  std::string signing_key_;
  std::string amz_date_;
  std::string scope_;
  std::string previous_;
};

// Size of the aws-chunked body for `payload_size` bytes cut into `chunk_size` chunks, with
// signed chunks, and with a signed trailer holding one header of `trailer_name` and a value
// of `trailer_value_size` bytes (no trailer when trailer_name is empty). The value of
// Content-Length, which must be signed before the body exists.
int64_t AwsChunkedLength(int64_t payload_size, int64_t chunk_size,
                         std::string_view trailer_name = {}, int64_t trailer_value_size = 0);

// Signs `request` for a streaming upload of `payload` and returns the aws-chunked body.
// Sets Content-Encoding: aws-chunked, x-amz-decoded-content-length, Content-Length,
// x-amz-content-sha256 (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or …-TRAILER with `checksum`,
// which also sets x-amz-trailer and x-amz-sdk-checksum-algorithm), then Authorization.
Result<std::string> SignStreamingUpload(SignableRequest& request, const Credentials& credentials,
                                        const SigningParams& params, std::string_view payload,
                                        int64_t chunk_size,
                                        std::optional<ChecksumAlgorithm> checksum = std::nullopt,
                                        Signer* signer = nullptr);

// Incremental decoder and verifier of an aws-chunked body (server side). Accepts the bytes
// in pieces of any size; releases a chunk's data only after its signature has been
// verified, so it buffers at most one chunk. Not thread-safe.
class AwsChunkedDecoder {
 public:
  // `verified.payload_hash` must be one of the STREAMING-* values; `request_headers` supply
  // x-amz-decoded-content-length and x-amz-trailer. InvalidArgument otherwise.
  static Result<std::unique_ptr<AwsChunkedDecoder>> Create(const VerifiedRequest& verified,
                                                           const HttpHeaders& request_headers);
  virtual ~AwsChunkedDecoder() = default;

  // Appends decoded payload bytes to *out. Fails on a malformed chunk (IncompleteBody /
  // InvalidChunkSizeError) or a signature mismatch (SignatureDoesNotMatch); after a
  // failure the decoder refuses further input.
  virtual Status Feed(std::string_view bytes, std::string* out) = 0;
  // Call after the last byte: the final chunk (and the trailer when announced) must have
  // arrived, the decoded length must equal x-amz-decoded-content-length, and a trailing
  // x-amz-checksum-* must match the decoded data (BadDigest otherwise).
  virtual Status Finish() = 0;
  // Trailing headers received (names lower-case), valid after Finish().
  virtual const HttpHeaders& trailers() const = 0;
};

}  // namespace thumbflow::aws
