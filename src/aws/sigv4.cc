#include "aws/sigv4.h"

#include "core/civil_time.h"
#include "core/strings.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <ctime>
#include <optional>

namespace thumbflow::aws {
namespace {

constexpr std::string_view kChunkSignaturePrefix = ";chunk-signature=";
constexpr std::string_view kTrailerSignatureName = "x-amz-trailer-signature";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Headers that are never signed when the signer chooses: hop-by-hop headers, headers a
// proxy or the HTTP library may add or rewrite, and the signature itself.
bool IsUnsignable(std::string_view lower_name) {
  static constexpr std::string_view kSkip[] = {"authorization",
                                               "user-agent",
                                               "x-amzn-trace-id",
                                               "expect",
                                               "connection",
                                               "transfer-encoding",
                                               "te",
                                               "upgrade",
                                               "keep-alive",
                                               "proxy-authorization",
                                               "proxy-connection",
                                               "accept",
                                               "accept-encoding",
                                               "content-length-hint"};
  return std::find(std::begin(kSkip), std::end(kSkip), lower_name) != std::end(kSkip);
}

Status SigError(StatusCode code, std::string reason, std::string message) {
  return Status(code, std::move(message), std::move(reason), false);
}

const std::string* FindQuery(const QueryParams& query, std::string_view name) {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Date8(std::string_view amz_date) { return std::string(amz_date.substr(0, 8)); }

std::string JoinCredential(std::string_view access_key_id, std::string_view scope) {
  return std::string(access_key_id) + "/" + std::string(scope);
}

// Shared by Sign and Presign.
struct Prepared {
  std::string amz_date;
  std::string scope;
  std::string signing_key;
};

Result<Prepared> Prepare(const Credentials& credentials, const SigningParams& params,
                         SigningKeyCache* cache) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return InvalidArgumentError("sigv4: credentials have no access key id or secret");
  }
  if (params.region.empty() || params.service.empty()) {
    return InvalidArgumentError("sigv4: region and service are required");
  }
  Prepared p;
  p.amz_date = FormatAmzDate(params.time_ms);
  std::string date8 = Date8(p.amz_date);
  p.scope = CredentialScope(date8, params.region, params.service);
  p.signing_key = cache->Get(credentials.secret_access_key, date8, params.region, params.service);
  return p;
}

Result<std::vector<std::string>> SplitSignedHeaders(std::string_view list, std::string reason) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(';', start);
    if (end == std::string_view::npos) end = list.size();
    std::string name = ToLowerAscii(list.substr(start, end - start));
    if (name.empty()) {
      return SigError(StatusCode::kInvalidArgument, reason, "empty name in SignedHeaders");
    }
    names.push_back(std::move(name));
    start = end + 1;
  }
  return names;
}

// "AK/20130524/us-east-1/s3/aws4_request"; the access key id may not contain '/'.
Result<ParsedAuthorization> ParseCredentialValue(std::string_view value, std::string reason) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = value.find('/', start);
    parts.emplace_back(value.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (parts.size() != 5 || parts[4] != "aws4_request" || parts[0].empty() || parts[1].size() != 8) {
    return SigError(StatusCode::kInvalidArgument, reason,
                    "malformed credential \"" + std::string(value) + "\"");
  }
  ParsedAuthorization out;
  out.access_key_id = parts[0];
  out.date8 = parts[1];
  out.region = parts[2];
  out.service = parts[3];
  return out;
}

}  // namespace

std::string CanonicalHeaderValue(std::string_view value) {
  value = Trim(value);
  std::string out;
  out.reserve(value.size());
  bool in_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

// ---- encoding and time -----------------------------------------------------------------

std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  // RFC 3986: a path ending in "/", "/." or "/.." keeps a trailing '/'.
  bool trailing = path.ends_with("/") || path.ends_with("/.") || path.ends_with("/..");
  if (trailing && out.size() > 1) out += '/';
  return out;
}

std::string FormatAmzDate(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<int64_t> ParseAmzDate(std::string_view amz_date) {
  auto bad = [&] {
    return InvalidArgumentError("malformed x-amz-date \"" + std::string(amz_date) + "\"");
  };
  if (amz_date.size() != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z') return bad();
  auto num = [&](size_t pos, size_t len, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (amz_date[i] < '0' || amz_date[i] > '9') return false;
      v = v * 10 + (amz_date[i] - '0');
    }
    *out = v;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!num(0, 4, &year) || !num(4, 2, &month) || !num(6, 2, &day) || !num(9, 2, &hour) ||
      !num(11, 2, &minute) || !num(13, 2, &second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  return UtcMillis(year, month, day, hour, minute, second);
}

Result<RequestTarget> ParseRequestTarget(std::string_view target) {
  RequestTarget out;
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (raw_path.empty()) raw_path = "/";
  ASSIGN_OR_RETURN(out.path, UriDecode(raw_path));
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find('&', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view pair = rest.substr(start, end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      ASSIGN_OR_RETURN(std::string name, UriDecode(pair.substr(0, eq)));
      std::string value;
      if (eq != std::string_view::npos) {
        ASSIGN_OR_RETURN(value, UriDecode(pair.substr(eq + 1)));
      }
      out.query.emplace_back(std::move(name), std::move(value));
    }
    start = end + 1;
  }
  return out;
}

std::string EncodeRequestTarget(std::string_view path, const QueryParams& query) {
  std::string out = path.empty() ? "/" : UriEncode(path, false);
  for (size_t i = 0; i < query.size(); ++i) {
    out += i == 0 ? '?' : '&';
    out += UriEncode(query[i].first, true);
    out += '=';
    out += UriEncode(query[i].second, true);
  }
  return out;
}

// ---- canonical forms -------------------------------------------------------------------

std::string CanonicalUri(std::string_view decoded_path, bool normalize) {
  if (decoded_path.empty()) return "/";
  if (normalize) return UriEncode(NormalizePath(decoded_path), false);
  return UriEncode(decoded_path, false);
}

std::string CanonicalQuery(const QueryParams& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (i > 0) out += '&';
    out += encoded[i].first;
    out += '=';
    out += encoded[i].second;
  }
  return out;
}

CanonicalHeaders CanonicalizeHeaders(const HttpHeaders& headers,
                                     const std::vector<std::string>* only) {
  // name -> values in request order
  std::map<std::string, std::vector<std::string>> grouped;
  for (const auto& [name, value] : headers) {
    std::string lower = ToLowerAscii(Trim(name));
    if (only != nullptr) {
      if (std::find(only->begin(), only->end(), lower) == only->end()) continue;
    } else if (IsUnsignable(lower)) {
      continue;
    }
    grouped[lower].push_back(CanonicalHeaderValue(value));
  }
  if (only != nullptr) {
    for (const std::string& name : *only) grouped.try_emplace(name);
  }
  CanonicalHeaders out;
  for (const auto& [name, values] : grouped) {
    out.block += name;
    out.block += ':';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out.block += ',';
      out.block += values[i];
    }
    out.block += '\n';
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += name;
  }
  return out;
}

std::string CanonicalRequest(std::string_view method, std::string_view canonical_uri,
                             std::string_view canonical_query, const CanonicalHeaders& headers,
                             std::string_view payload_hash) {
  std::string out;
  out.reserve(256 + headers.block.size());
  out.append(method).append("\n");
  out.append(canonical_uri).append("\n");
  out.append(canonical_query).append("\n");
  out.append(headers.block).append("\n");
  out.append(headers.signed_headers).append("\n");
  out.append(payload_hash);
  return out;
}

std::string CredentialScope(std::string_view date8, std::string_view region,
                            std::string_view service) {
  std::string out(date8);
  out.append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out(kSigV4Algorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out.append(Sha256Hex(canonical_request));
  return out;
}

std::string DeriveSigningKey(std::string_view secret, std::string_view date8,
                             std::string_view region, std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret), date8);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

std::string SignatureHex(std::string_view signing_key, std::string_view string_to_sign) {
  return HexEncode(HmacSha256(signing_key, string_to_sign));
}

std::string SigningKeyCache::Get(std::string_view secret, std::string_view date8,
                                 std::string_view region, std::string_view service) {
  std::string id;
  id.append(date8).append(1, '\0').append(region).append(1, '\0').append(service);
  id.append(1, '\0').append(secret);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(id);
    if (it != keys_.end()) return it->second;
  }
  std::string key = DeriveSigningKey(secret, date8, region, service);
  std::lock_guard<std::mutex> lock(mu_);
  // Keys sort by date first, so dropping the smallest entries drops the oldest days.
  constexpr size_t kMaxEntries = 64;
  while (keys_.size() >= kMaxEntries) keys_.erase(keys_.begin());
  keys_.emplace(std::move(id), key);
  return key;
}

// ---- signing ---------------------------------------------------------------------------

SigningParams S3SigningParams(std::string region, int64_t time_ms) {
  SigningParams p;
  p.region = std::move(region);
  p.service = "s3";
  p.time_ms = time_ms;
  p.normalize_path = false;
  p.add_content_sha256 = true;
  return p;
}

Signer::Signer(SigningKeyCache* cache) : cache_(cache ? cache : &own_cache_) {}

Result<SigningResult> Signer::Sign(SignableRequest& request, const Credentials& credentials,
                                   const SigningParams& params) {
  if (FindHeader(request.headers, "host") == nullptr) {
    return InvalidArgumentError("sigv4: the request has no Host header");
  }
  ASSIGN_OR_RETURN(Prepared p, Prepare(credentials, params, cache_));
  std::string payload_hash =
      request.payload_hash.empty() ? std::string(kEmptyPayloadSha256) : request.payload_hash;
  RemoveHeader(request.headers, "authorization");
  SetHeader(request.headers, "X-Amz-Date", p.amz_date);
  if (params.add_content_sha256) SetHeader(request.headers, "x-amz-content-sha256", payload_hash);
  RemoveHeader(request.headers, "x-amz-security-token");
  bool token = !credentials.session_token.empty();
  if (token && params.sign_session_token) {
    SetHeader(request.headers, "X-Amz-Security-Token", credentials.session_token);
  }

  SigningResult r;
  r.amz_date = p.amz_date;
  r.scope = p.scope;
  r.signing_key = p.signing_key;
  CanonicalHeaders ch = CanonicalizeHeaders(request.headers);
  r.signed_headers = ch.signed_headers;
  r.canonical_request =
      CanonicalRequest(request.method, CanonicalUri(request.path, params.normalize_path),
                       CanonicalQuery(request.query), ch, payload_hash);
  r.string_to_sign = StringToSign(p.amz_date, p.scope, r.canonical_request);
  r.signature = SignatureHex(p.signing_key, r.string_to_sign);
  r.authorization = std::string(kSigV4Algorithm) +
                    " Credential=" + JoinCredential(credentials.access_key_id, p.scope) +
                    ", SignedHeaders=" + r.signed_headers + ", Signature=" + r.signature;
  if (token && !params.sign_session_token) {
    SetHeader(request.headers, "X-Amz-Security-Token", credentials.session_token);
  }
  SetHeader(request.headers, "Authorization", r.authorization);
  return r;
}

Result<SigningResult> Signer::Presign(SignableRequest& request, const Credentials& credentials,
                                      const SigningParams& params, int64_t expires_seconds) {
  if (FindHeader(request.headers, "host") == nullptr) {
    return InvalidArgumentError("sigv4: the request has no Host header");
  }
  if (expires_seconds < 1 || expires_seconds > kMaxPresignExpirySeconds) {
    return InvalidArgumentError("sigv4: presigned URL expiry must be 1 to 604800 seconds");
  }
  ASSIGN_OR_RETURN(Prepared p, Prepare(credentials, params, cache_));
  std::string payload_hash = request.payload_hash;
  if (payload_hash.empty()) {
    payload_hash = params.service == "s3" ? kUnsignedPayload : kEmptyPayloadSha256;
  }
  RemoveHeader(request.headers, "authorization");
  RemoveHeader(request.headers, "x-amz-date");

  SigningResult r;
  r.amz_date = p.amz_date;
  r.scope = p.scope;
  r.signing_key = p.signing_key;
  CanonicalHeaders ch = CanonicalizeHeaders(request.headers);
  r.signed_headers = ch.signed_headers;

  request.query.emplace_back("X-Amz-Algorithm", std::string(kSigV4Algorithm));
  request.query.emplace_back("X-Amz-Credential",
                             JoinCredential(credentials.access_key_id, p.scope));
  request.query.emplace_back("X-Amz-Date", p.amz_date);
  request.query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  request.query.emplace_back("X-Amz-SignedHeaders", ch.signed_headers);
  bool token = !credentials.session_token.empty();
  if (token && params.sign_session_token) {
    request.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  r.canonical_request =
      CanonicalRequest(request.method, CanonicalUri(request.path, params.normalize_path),
                       CanonicalQuery(request.query), ch, payload_hash);
  r.string_to_sign = StringToSign(p.amz_date, p.scope, r.canonical_request);
  r.signature = SignatureHex(p.signing_key, r.string_to_sign);
  if (token && !params.sign_session_token) {
    request.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  request.query.emplace_back("X-Amz-Signature", r.signature);
  return r;
}

Result<std::string> PresignUrl(std::string_view method, std::string_view base_url,
                               std::string_view path, const QueryParams& query,
                               const Credentials& credentials, const SigningParams& params,
                               int64_t expires_seconds) {
  size_t scheme_end = base_url.find("://");
  if (scheme_end == std::string_view::npos) {
    return InvalidArgumentError("presign: \"" + std::string(base_url) + "\" is not a URL");
  }
  std::string_view rest = base_url.substr(scheme_end + 3);
  std::string_view host = rest.substr(0, rest.find('/'));
  SignableRequest request;
  request.method = std::string(method);
  request.path = std::string(path.empty() ? "/" : path);
  request.query = query;
  request.headers.emplace_back("Host", std::string(host));
  Signer signer;
  RETURN_IF_ERROR(signer.Presign(request, credentials, params, expires_seconds).status());
  std::string base(base_url.substr(0, scheme_end + 3 + host.size()));
  return base + EncodeRequestTarget(request.path, request.query);
}

// ---- verification ----------------------------------------------------------------------

Result<ParsedAuthorization> ParseAuthorizationHeader(std::string_view value) {
  const std::string reason = "AuthorizationHeaderMalformed";
  value = Trim(value);
  if (!value.starts_with(kSigV4Algorithm) || value.size() <= kSigV4Algorithm.size() ||
      value[kSigV4Algorithm.size()] != ' ') {
    return SigError(StatusCode::kInvalidArgument, reason,
                    "the authorization header is not AWS4-HMAC-SHA256");
  }
  std::string_view rest = value.substr(kSigV4Algorithm.size() + 1);
  std::string credential, signed_headers, signature;
  size_t start = 0;
  while (start < rest.size()) {
    size_t end = rest.find(',', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view part = Trim(rest.substr(start, end - start));
    size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = part.substr(0, eq);
      std::string_view v = part.substr(eq + 1);
      if (name == "Credential") credential = v;
      if (name == "SignedHeaders") signed_headers = v;
      if (name == "Signature") signature = v;
    }
    start = end + 1;
  }
  if (credential.empty() || signed_headers.empty() || signature.empty()) {
    return SigError(StatusCode::kInvalidArgument, reason,
                    "the authorization header lacks Credential, SignedHeaders or Signature");
  }
  ASSIGN_OR_RETURN(ParsedAuthorization out, ParseCredentialValue(credential, reason));
  ASSIGN_OR_RETURN(out.signed_headers, SplitSignedHeaders(signed_headers, reason));
  out.signature = ToLowerAscii(signature);
  return out;
}

namespace {

bool IsHexDigest(std::string_view value) { return value.size() == 64 && IsHex(value); }

void SetDetails(ErrorDetails* details, ErrorDetails values) {
  if (details != nullptr) *details = std::move(values);
}

}  // namespace

bool IsValidPayloadHash(std::string_view value) {
  static constexpr std::string_view kNamed[] = {kUnsignedPayload,
                                                kStreamingUnsignedPayloadTrailer,
                                                kStreamingPayload,
                                                kStreamingPayloadTrailer,
                                                "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                                                "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"};
  return IsHexDigest(value) ||
         std::find(std::begin(kNamed), std::end(kNamed), value) != std::end(kNamed);
}

std::vector<std::string> UnsignedAmzHeaders(const HttpHeaders& headers,
                                            const std::vector<std::string>& signed_headers) {
  std::vector<std::string> missing;
  for (const auto& [name, value] : headers) {
    std::string lower = ToLowerAscii(name);
    // Its value is bound by the canonical request's payload-hash line whether listed or not.
    if (!lower.starts_with("x-amz-") || lower == "x-amz-content-sha256") continue;
    if (std::find(signed_headers.begin(), signed_headers.end(), lower) != signed_headers.end()) {
      continue;
    }
    if (std::find(missing.begin(), missing.end(), lower) == missing.end()) missing.push_back(lower);
  }
  return missing;
}

namespace {

// What a request says about its own signature, before anything is checked against it.
struct SignatureClaim {
  ParsedAuthorization auth;
  bool presigned = false;
  std::string amz_date;
  std::string reason;                // S3's code for a malformed claim of this style
  int64_t expires_seconds = 0;       // presigned only
  std::optional<std::string> token;  // x-amz-security-token / X-Amz-Security-Token
};

// Authorization: AWS4-HMAC-SHA256 ... with x-amz-date.
Result<SignatureClaim> ReadHeaderClaim(const SignableRequest& request,
                                       const std::string& authorization) {
  SignatureClaim claim;
  claim.reason = "AuthorizationHeaderMalformed";
  ASSIGN_OR_RETURN(claim.auth, ParseAuthorizationHeader(authorization));
  const std::string* date = FindHeader(request.headers, "x-amz-date");
  if (date == nullptr) {
    return SigError(StatusCode::kUnauthenticated, "AccessDenied",
                    "the request has no x-amz-date header");
  }
  claim.amz_date = Trim(*date);
  if (const std::string* t = FindHeader(request.headers, "x-amz-security-token")) {
    claim.token = Trim(*t);
  }
  return claim;
}

// S3's answers for X-Amz-Expires: not a number; negative; more than a week. 0 is a URL that
// expired when it was signed (AccessDenied later).
Result<int64_t> ParseExpires(std::string_view expires, const std::string& reason) {
  bool negative = expires.starts_with('-');
  if (negative) expires.remove_prefix(1);
  if (expires.empty() || !std::all_of(expires.begin(), expires.end(), ::isdigit)) {
    return SigError(StatusCode::kInvalidArgument, reason, "X-Amz-Expires should be a number");
  }
  if (negative) {
    return SigError(StatusCode::kInvalidArgument, reason, "X-Amz-Expires must be non-negative");
  }
  if (expires.size() > 7 || std::stoll(std::string(expires)) > kMaxPresignExpirySeconds) {
    return SigError(StatusCode::kInvalidArgument, reason,
                    "X-Amz-Expires must be less than a week (in seconds); that is, the given "
                    "X-Amz-Expires must be less than 604800 seconds");
  }
  return std::stoll(std::string(expires));
}

// The X-Amz-* query parameters of a presigned URL.
Result<SignatureClaim> ReadQueryClaim(const SignableRequest& request,
                                      const std::string& signature) {
  SignatureClaim claim;
  claim.reason = "AuthorizationQueryParametersError";
  claim.presigned = true;
  auto param = [&](std::string_view name) -> Result<std::string> {
    const std::string* p = FindQuery(request.query, name);
    if (p == nullptr || p->empty()) {
      return SigError(StatusCode::kInvalidArgument, claim.reason,
                      "the presigned URL lacks " + std::string(name));
    }
    return *p;
  };
  ASSIGN_OR_RETURN(std::string algorithm, param("X-Amz-Algorithm"));
  if (algorithm != kSigV4Algorithm) {
    return SigError(StatusCode::kInvalidArgument, claim.reason,
                    "X-Amz-Algorithm must be AWS4-HMAC-SHA256");
  }
  ASSIGN_OR_RETURN(std::string credential, param("X-Amz-Credential"));
  ASSIGN_OR_RETURN(claim.auth, ParseCredentialValue(credential, claim.reason));
  ASSIGN_OR_RETURN(std::string signed_headers, param("X-Amz-SignedHeaders"));
  ASSIGN_OR_RETURN(claim.auth.signed_headers, SplitSignedHeaders(signed_headers, claim.reason));
  ASSIGN_OR_RETURN(claim.amz_date, param("X-Amz-Date"));
  ASSIGN_OR_RETURN(std::string expires, param("X-Amz-Expires"));
  ASSIGN_OR_RETURN(claim.expires_seconds, ParseExpires(expires, claim.reason));
  claim.auth.signature = ToLowerAscii(signature);
  if (const std::string* t = FindQuery(request.query, "X-Amz-Security-Token")) claim.token = *t;
  return claim;
}

// The credential scope (date, region, service), the signed Host, and the time: the request
// was signed recently (header) or has not expired (presigned). Sets expires_at_ms.
Status CheckScopeAndTime(const SignatureClaim& claim, const VerifyOptions& options,
                         VerifiedRequest& v, ErrorDetails* details) {
  const ParsedAuthorization& auth = claim.auth;
  const std::string& reason = claim.reason;
  // S3's wording: the header form prefixes "The authorization header is malformed; ", the
  // query form "Error parsing the X-Amz-Credential parameter; " to scope errors.
  const std::string prefix = claim.presigned ? "Error parsing the X-Amz-Credential parameter; "
                                             : "The authorization header is malformed; ";
  Result<int64_t> signed_at = ParseAmzDate(claim.amz_date);
  if (!signed_at.ok()) {
    return SigError(StatusCode::kInvalidArgument, reason,
                    std::string(claim.presigned ? "X-Amz-Date" : "x-amz-date") +
                        " must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  if (Date8(claim.amz_date) != auth.date8) {
    return SigError(StatusCode::kInvalidArgument, reason,
                    (claim.presigned ? std::string() : prefix) +
                        "Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  if (!options.region.empty() && auth.region != options.region) {
    SetDetails(details, {{"Region", options.region}});
    return SigError(
        StatusCode::kInvalidArgument, reason,
        prefix + "the region '" + auth.region + "' is wrong; expecting '" + options.region + "'");
  }
  if (auth.service != options.service) {
    return SigError(StatusCode::kInvalidArgument, reason,
                    prefix + "incorrect service \"" + auth.service +
                        "\". This endpoint belongs to \"" + options.service + "\".");
  }
  if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), "host") ==
      auth.signed_headers.end()) {
    return SigError(StatusCode::kInvalidArgument, reason, "the Host header must be signed");
  }
  int64_t skew = *signed_at - options.now_ms;
  if (claim.presigned) {
    v.expires_at_ms = *signed_at + claim.expires_seconds * 1000;
    if (options.now_ms > v.expires_at_ms) {
      return SigError(StatusCode::kPermissionDenied, "AccessDenied", "Request has expired");
    }
    if (skew > options.max_clock_skew_ms) {
      return SigError(StatusCode::kUnauthenticated, "RequestTimeTooSkewed",
                      "the presigned URL is dated in the future");
    }
  } else if (skew > options.max_clock_skew_ms || -skew > options.max_clock_skew_ms) {
    return SigError(StatusCode::kUnauthenticated, "RequestTimeTooSkewed",
                    "the difference between the request time and the server's time is too "
                    "large");
  }
  return Status::Ok();
}

// The signer's credentials; a session's token must come with the request.
Result<Credentials> LookupSigner(const SecretLookup& lookup, const SignatureClaim& claim) {
  Result<Credentials> credentials = lookup(claim.auth.access_key_id);
  if (!credentials.ok()) {
    if (credentials.status().code() == StatusCode::kNotFound) {
      return SigError(StatusCode::kUnauthenticated, "InvalidAccessKeyId",
                      "the access key id \"" + claim.auth.access_key_id + "\" does not exist");
    }
    return credentials.status();
  }
  if (!credentials->session_token.empty() &&
      (!claim.token || !ConstantTimeEquals(*claim.token, credentials->session_token))) {
    return SigError(StatusCode::kUnauthenticated, "InvalidToken",
                    "the security token is missing or does not match");
  }
  return credentials;
}

// The payload-hash line of the canonical request: given by the caller, else
// x-amz-content-sha256 (required by S3 on header-signed requests), else the default.
Result<std::string> PayloadHashOf(const SignableRequest& request, bool presigned,
                                  const VerifyOptions& options, ErrorDetails* details) {
  std::string payload_hash = request.payload_hash;
  if (payload_hash.empty()) {
    if (const std::string* h = FindHeader(request.headers, "x-amz-content-sha256")) {
      payload_hash = Trim(*h);
    } else if (presigned) {
      payload_hash = options.service == "s3" ? kUnsignedPayload : kEmptyPayloadSha256;
    } else if (options.service == "s3") {
      return SigError(StatusCode::kInvalidArgument, "InvalidRequest",
                      "missing required header for this request: x-amz-content-sha256");
    } else {
      payload_hash = kEmptyPayloadSha256;
    }
  }
  if (!IsValidPayloadHash(payload_hash)) {
    SetDetails(details,
               {{"ArgumentName", "x-amz-content-sha256"}, {"ArgumentValue", payload_hash}});
    return SigError(StatusCode::kInvalidArgument, "InvalidArgument",
                    std::string(kPayloadHashMessage));
  }
  return payload_hash;
}

// Once the signature holds, the request is known to come from the key's owner; headers it
// did not sign may still have been added on the way (x-amz-copy-source turns a PUT into a
// copy). An S3 rule: other services let a session token header go unsigned, for instance.
Status CheckEveryAmzHeaderSigned(const SignableRequest& request, const SignatureClaim& claim,
                                 const VerifyOptions& options, ErrorDetails* details) {
  if (options.service != "s3") return Status::Ok();
  std::vector<std::string> unsigned_headers =
      UnsignedAmzHeaders(request.headers, claim.auth.signed_headers);
  if (unsigned_headers.empty()) return Status::Ok();
  std::string joined;
  for (const auto& name : unsigned_headers) joined += (joined.empty() ? "" : ", ") + name;
  SetDetails(details, {{"HeadersNotSigned", joined}});
  return SigError(StatusCode::kPermissionDenied, "AccessDenied",
                  "There were headers present in the request which were not signed");
}

}  // namespace

Result<VerifiedRequest> VerifyRequest(const SignableRequest& request, const SecretLookup& lookup,
                                      const VerifyOptions& options, ErrorDetails* details) {
  const std::string* authorization = FindHeader(request.headers, "authorization");
  const std::string* query_signature = FindQuery(request.query, "X-Amz-Signature");
  Result<SignatureClaim> claim_or =
      authorization ? ReadHeaderClaim(request, *authorization)
      : query_signature
          ? ReadQueryClaim(request, *query_signature)
          : Result<SignatureClaim>(SigError(StatusCode::kUnauthenticated, "AccessDenied",
                                            "the request is not signed (no Authorization header or "
                                            "X-Amz-Signature)"));
  if (!claim_or.ok()) return claim_or.status();
  const SignatureClaim& claim = *claim_or;
  const ParsedAuthorization& auth = claim.auth;
  VerifiedRequest v;
  v.presigned = claim.presigned;
  v.amz_date = claim.amz_date;
  RETURN_IF_ERROR(CheckScopeAndTime(claim, options, v, details));
  ASSIGN_OR_RETURN(Credentials credentials, LookupSigner(lookup, claim));
  ASSIGN_OR_RETURN(std::string payload_hash,
                   PayloadHashOf(request, claim.presigned, options, details));

  QueryParams query;
  for (const auto& kv : request.query) {
    if (v.presigned && kv.first == "X-Amz-Signature") continue;
    query.push_back(kv);
  }
  CanonicalHeaders ch = CanonicalizeHeaders(request.headers, &auth.signed_headers);
  std::string canonical =
      CanonicalRequest(request.method, CanonicalUri(request.path, options.normalize_path),
                       CanonicalQuery(query), ch, payload_hash);
  v.scope = CredentialScope(auth.date8, auth.region, auth.service);
  v.signing_key =
      options.signing_keys
          ? options.signing_keys->Get(credentials.secret_access_key, auth.date8, auth.region,
                                      auth.service)
          : DeriveSigningKey(credentials.secret_access_key, auth.date8, auth.region, auth.service);
  std::string expected = SignatureHex(v.signing_key, StringToSign(v.amz_date, v.scope, canonical));
  if (!ConstantTimeEquals(expected, auth.signature)) {
    return SigError(StatusCode::kUnauthenticated, "SignatureDoesNotMatch",
                    "the request signature we calculated does not match the signature you "
                    "provided; canonical request:\n" +
                        canonical);
  }
  RETURN_IF_ERROR(CheckEveryAmzHeaderSigned(request, claim, options, details));
  v.access_key_id = auth.access_key_id;
  v.signature = expected;
  // A hex digest is compared with the body's SHA-256 in lower case.
  v.payload_hash = IsHexDigest(payload_hash) ? ToLowerAscii(payload_hash) : std::move(payload_hash);
  return v;
}

// ---- aws-chunked -----------------------------------------------------------------------

namespace {

std::string ChunkStringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view previous, std::string_view data_hash) {
  std::string out = "AWS4-HMAC-SHA256-PAYLOAD\n";
  out.append(amz_date).append("\n").append(scope).append("\n").append(previous).append("\n");
  out.append(kEmptyPayloadSha256).append("\n").append(data_hash);
  return out;
}

std::string TrailerStringToSign(std::string_view amz_date, std::string_view scope,
                                std::string_view previous, std::string_view canonical_trailer) {
  std::string out = "AWS4-HMAC-SHA256-TRAILER\n";
  out.append(amz_date).append("\n").append(scope).append("\n").append(previous).append("\n");
  out.append(Sha256Hex(canonical_trailer));
  return out;
}

std::string CanonicalTrailer(const HttpHeaders& trailers) {
  std::string out;
  for (const auto& [name, value] : trailers) {
    out.append(ToLowerAscii(name)).append(":").append(Trim(value)).append("\n");
  }
  return out;
}

std::string HexSize(int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace

ChunkSigner::ChunkSigner(std::string signing_key, std::string amz_date, std::string scope,
                         std::string seed_signature)
    : signing_key_(std::move(signing_key)),
      amz_date_(std::move(amz_date)),
      scope_(std::move(scope)),
      previous_(std::move(seed_signature)) {}

ChunkSigner::ChunkSigner(const SigningResult& seed)
    : ChunkSigner(seed.signing_key, seed.amz_date, seed.scope, seed.signature) {}

std::string ChunkSigner::SignChunk(std::string_view data) {
  previous_ =
      SignatureHex(signing_key_, ChunkStringToSign(amz_date_, scope_, previous_, Sha256Hex(data)));
  return previous_;
}

std::string ChunkSigner::EncodeChunk(std::string_view data, bool trailers_follow) {
  std::string sig = SignChunk(data);
  std::string out = HexSize(static_cast<int64_t>(data.size()));
  out.append(kChunkSignaturePrefix).append(sig).append("\r\n");
  out.append(data);
  if (!(data.empty() && trailers_follow)) out.append("\r\n");
  return out;
}

std::string ChunkSigner::SignTrailer(const HttpHeaders& trailers) {
  previous_ = SignatureHex(
      signing_key_, TrailerStringToSign(amz_date_, scope_, previous_, CanonicalTrailer(trailers)));
  return previous_;
}

std::string ChunkSigner::EncodeTrailer(const HttpHeaders& trailers) {
  std::string out;
  for (const auto& [name, value] : trailers)
    out.append(ToLowerAscii(name)).append(":").append(value).append("\r\n");
  out.append(kTrailerSignatureName).append(":").append(SignTrailer(trailers)).append("\r\n\r\n");
  return out;
}

int64_t AwsChunkedLength(int64_t payload_size, int64_t chunk_size, std::string_view trailer_name,
                         int64_t trailer_value_size) {
  constexpr int64_t kSignatureOverhead = 17 + 64 + 2;  // ";chunk-signature=" sig CRLF
  int64_t total = 0;
  int64_t full = chunk_size > 0 ? payload_size / chunk_size : 0;
  int64_t last = chunk_size > 0 ? payload_size % chunk_size : payload_size;
  if (full > 0) {
    total += full * (static_cast<int64_t>(HexSize(chunk_size).size()) + kSignatureOverhead +
                     chunk_size + 2);
  }
  if (last > 0) {
    total += static_cast<int64_t>(HexSize(last).size()) + kSignatureOverhead + last + 2;
  }
  total += 1 + kSignatureOverhead;  // final "0;chunk-signature=..\r\n"
  if (trailer_name.empty()) return total + 2;
  total += static_cast<int64_t>(trailer_name.size()) + 1 + trailer_value_size + 2;
  total += static_cast<int64_t>(kTrailerSignatureName.size()) + 1 + 64 + 2 + 2;
  return total;
}

Result<std::string> SignStreamingUpload(SignableRequest& request, const Credentials& credentials,
                                        const SigningParams& params, std::string_view payload,
                                        int64_t chunk_size,
                                        std::optional<ChecksumAlgorithm> checksum, Signer* signer) {
  if (chunk_size < 1) return InvalidArgumentError("aws-chunked: chunk size must be positive");
  Signer own;
  if (signer == nullptr) signer = &own;
  HttpHeaders trailers;
  if (checksum) {
    trailers.emplace_back(std::string(ChecksumHeaderName(*checksum)),
                          ChecksumBase64(*checksum, payload));
  }
  int64_t size = static_cast<int64_t>(payload.size());
  int64_t encoded = checksum ? AwsChunkedLength(size, chunk_size, trailers[0].first,
                                                static_cast<int64_t>(trailers[0].second.size()))
                             : AwsChunkedLength(size, chunk_size);
  SetHeader(request.headers, "Content-Encoding", "aws-chunked");
  SetHeader(request.headers, "x-amz-decoded-content-length", std::to_string(size));
  SetHeader(request.headers, "Content-Length", std::to_string(encoded));
  if (checksum) {
    SetHeader(request.headers, "x-amz-trailer", trailers[0].first);
    SetHeader(request.headers, "x-amz-sdk-checksum-algorithm",
              std::string(ChecksumAlgorithmName(*checksum)));
  }
  request.payload_hash = checksum ? kStreamingPayloadTrailer : kStreamingPayload;
  SigningParams p = params;
  p.add_content_sha256 = true;
  ASSIGN_OR_RETURN(SigningResult seed, signer->Sign(request, credentials, p));
  ChunkSigner chunks(seed);
  std::string body;
  body.reserve(static_cast<size_t>(encoded));
  for (int64_t offset = 0; offset < size; offset += chunk_size) {
    body += chunks.EncodeChunk(
        payload.substr(static_cast<size_t>(offset), static_cast<size_t>(chunk_size)));
  }
  body += chunks.EncodeChunk("", checksum.has_value());
  if (checksum) body += chunks.EncodeTrailer(trailers);
  return body;
}

namespace {

class AwsChunkedDecoderImpl final : public AwsChunkedDecoder {
 public:
  AwsChunkedDecoderImpl(const VerifiedRequest& verified, bool signed_chunks,
                        std::optional<int64_t> decoded_length, std::string trailer_name)
      : signed_(signed_chunks),
        decoded_length_(decoded_length),
        trailer_name_(std::move(trailer_name)),
        chunks_(verified.signing_key, verified.amz_date, verified.scope, verified.signature) {
    if (auto algorithm = ChecksumAlgorithmFromHeader(trailer_name_)) {
      checksummer_ = NewChecksummer(*algorithm);
    }
  }

  Status Feed(std::string_view bytes, std::string* out) override {
    if (!failure_.ok()) return failure_;
    buffer_.append(bytes);
    Status s = Drain(out);
    if (!s.ok()) failure_ = s;
    return s;
  }

  Status Finish() override {
    if (!failure_.ok()) return failure_;
    if (state_ != State::kDone) return Fail("IncompleteBody", "the aws-chunked body ended early");
    if (!buffer_.empty()) return Fail("IncompleteBody", "bytes after the aws-chunked body");
    if (decoded_length_ && *decoded_length_ != total_) {
      return Fail("IncompleteBody", "decoded length " + std::to_string(total_) +
                                        " differs from x-amz-decoded-content-length " +
                                        std::to_string(*decoded_length_));
    }
    if (!trailer_name_.empty()) {
      const std::string* value = FindHeader(trailers_, trailer_name_);
      if (value == nullptr) {
        return Fail("IncompleteBody", "the announced trailer " + trailer_name_ + " is missing");
      }
      if (checksummer_ && checksummer_->FinishBase64() != *value) {
        return Fail("BadDigest", "the " + trailer_name_ +
                                     " you specified did not match the calculated checksum");
      }
    }
    return Status::Ok();
  }

  const HttpHeaders& trailers() const override { return trailers_; }

 private:
  enum class State { kHeader, kData, kTrailer, kDone };
  static constexpr size_t kMaxLine = 4096;
  static constexpr int64_t kMaxChunk = 64LL << 20;

  Status Fail(std::string reason, std::string message) {
    failure_ = Status(reason == "SignatureDoesNotMatch" ? StatusCode::kUnauthenticated
                                                        : StatusCode::kInvalidArgument,
                      "aws-chunked: " + message, reason, false);
    return failure_;
  }

  // Returns false when no complete line is buffered yet.
  bool TakeLine(std::string* line) {
    size_t end = buffer_.find("\r\n", pos_);
    if (end == std::string::npos) return false;
    line->assign(buffer_, pos_, end - pos_);
    pos_ = end + 2;
    return true;
  }

  Status Drain(std::string* out) {
    while (true) {
      if (state_ == State::kHeader) {
        std::string line;
        if (!TakeLine(&line)) {
          if (buffer_.size() - pos_ > kMaxLine)
            return Fail("InvalidChunkSizeError", "chunk header too long");
          break;
        }
        RETURN_IF_ERROR(ParseChunkHeader(line));
        state_ = State::kData;
      } else if (state_ == State::kData) {
        if (chunk_size_ == 0) {
          RETURN_IF_ERROR(VerifyChunk(""));
          state_ = State::kTrailer;
          continue;
        }
        if (buffer_.size() - pos_ < static_cast<size_t>(chunk_size_) + 2) break;
        std::string_view data(buffer_.data() + pos_, static_cast<size_t>(chunk_size_));
        if (buffer_.compare(pos_ + data.size(), 2, "\r\n") != 0) {
          return Fail("IncompleteBody", "chunk data is not followed by CRLF");
        }
        RETURN_IF_ERROR(VerifyChunk(data));
        out->append(data);
        if (checksummer_) checksummer_->Update(data);
        total_ += chunk_size_;
        pos_ += data.size() + 2;
        state_ = State::kHeader;
      } else if (state_ == State::kTrailer) {
        std::string line;
        if (!TakeLine(&line)) {
          if (buffer_.size() - pos_ > kMaxLine)
            return Fail("IncompleteBody", "trailer line too long");
          break;
        }
        if (line.empty()) {
          RETURN_IF_ERROR(VerifyTrailer());
          state_ = State::kDone;
          continue;
        }
        size_t colon = line.find(':');
        if (colon == std::string::npos) return Fail("IncompleteBody", "malformed trailer line");
        std::string name = ToLowerAscii(Trim(std::string_view(line).substr(0, colon)));
        std::string value(Trim(std::string_view(line).substr(colon + 1)));
        if (name == kTrailerSignatureName) {
          trailer_signature_ = ToLowerAscii(value);
        } else {
          trailers_.emplace_back(std::move(name), std::move(value));
        }
      } else {
        break;
      }
    }
    // Keep the buffer small: drop consumed bytes.
    if (pos_ > 0) {
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    return Status::Ok();
  }

  Status ParseChunkHeader(const std::string& line) {
    size_t semicolon = line.find(';');
    std::string_view hex = std::string_view(line).substr(0, semicolon);
    if (hex.empty() || hex.size() > 16) return Fail("InvalidChunkSizeError", "bad chunk size");
    int64_t size = 0;
    for (char c : hex) {
      int d = HexDigitValue(c);
      if (d < 0)
        return Fail("InvalidChunkSizeError", "bad chunk size \"" + std::string(hex) + "\"");
      size = size * 16 + d;
      if (size > kMaxChunk) return Fail("InvalidChunkSizeError", "chunk larger than 64 MiB");
    }
    chunk_size_ = size;
    chunk_signature_.clear();
    if (semicolon != std::string::npos) {
      std::string_view ext = std::string_view(line).substr(semicolon);
      if (ext.starts_with(kChunkSignaturePrefix)) {
        chunk_signature_ = ToLowerAscii(ext.substr(kChunkSignaturePrefix.size()));
      }
    }
    if (signed_ && chunk_signature_.empty()) {
      return Fail("SignatureDoesNotMatch", "a chunk has no chunk-signature");
    }
    return Status::Ok();
  }

  Status VerifyChunk(std::string_view data) {
    if (!signed_) return Status::Ok();
    std::string expected = chunks_.SignChunk(data);
    if (!ConstantTimeEquals(expected, chunk_signature_)) {
      return Fail("SignatureDoesNotMatch", "chunk signature mismatch");
    }
    return Status::Ok();
  }

  Status VerifyTrailer() {
    if (!signed_ || trailer_name_.empty()) return Status::Ok();
    if (trailer_signature_.empty()) {
      return Fail("SignatureDoesNotMatch", "the trailer has no x-amz-trailer-signature");
    }
    std::string expected = chunks_.SignTrailer(trailers_);
    if (!ConstantTimeEquals(expected, trailer_signature_)) {
      return Fail("SignatureDoesNotMatch", "trailer signature mismatch");
    }
    return Status::Ok();
  }

  bool signed_;
  std::optional<int64_t> decoded_length_;
  std::string trailer_name_;
  ChunkSigner chunks_;
  std::unique_ptr<Checksummer> checksummer_;
  State state_ = State::kHeader;
  std::string buffer_;
  size_t pos_ = 0;
  int64_t chunk_size_ = 0;
  std::string chunk_signature_;
  std::string trailer_signature_;
  int64_t total_ = 0;
  HttpHeaders trailers_;
  Status failure_;
};

}  // namespace

Result<std::unique_ptr<AwsChunkedDecoder>> AwsChunkedDecoder::Create(
    const VerifiedRequest& verified, const HttpHeaders& request_headers) {
  bool signed_chunks;
  bool with_trailer;
  if (verified.payload_hash == kStreamingPayload) {
    signed_chunks = true;
    with_trailer = false;
  } else if (verified.payload_hash == kStreamingPayloadTrailer) {
    signed_chunks = true;
    with_trailer = true;
  } else if (verified.payload_hash == kStreamingUnsignedPayloadTrailer) {
    signed_chunks = false;
    with_trailer = true;
  } else {
    return InvalidArgumentError("aws-chunked: payload hash \"" + verified.payload_hash +
                                "\" is not a streaming mode");
  }
  std::optional<int64_t> decoded_length;
  if (const std::string* h = FindHeader(request_headers, "x-amz-decoded-content-length")) {
    std::string_view t = Trim(*h);
    if (t.empty() || t.size() > 18 || !std::all_of(t.begin(), t.end(), ::isdigit)) {
      return Status(StatusCode::kInvalidArgument, "aws-chunked: bad x-amz-decoded-content-length",
                    "InvalidArgument");
    }
    decoded_length = std::stoll(std::string(t));
  }
  std::string trailer;
  if (with_trailer) {
    if (const std::string* h = FindHeader(request_headers, "x-amz-trailer"))
      trailer = ToLowerAscii(Trim(*h));
  }
  return std::unique_ptr<AwsChunkedDecoder>(
      new AwsChunkedDecoderImpl(verified, signed_chunks, decoded_length, std::move(trailer)));
}

}  // namespace thumbflow::aws
