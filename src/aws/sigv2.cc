#include "aws/sigv2.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <map>

#include "aws/checksums.h"
#include "core/civil_time.h"
#include "core/strings.h"

namespace thumbflow::aws {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Status SigError(StatusCode code, std::string reason, std::string message) {
  return Status(code, std::move(message), std::move(reason), false);
}

// Raw "a=1&b" split into (name, value-or-nullopt), names and values still encoded.
std::vector<std::pair<std::string, std::optional<std::string>>> SplitRawQuery(
    std::string_view raw_query) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  size_t start = 0;
  while (start < raw_query.size()) {
    size_t end = raw_query.find('&', start);
    if (end == std::string_view::npos) end = raw_query.size();
    std::string_view part = raw_query.substr(start, end - start);
    size_t eq = part.find('=');
    if (!part.empty()) {
      if (eq == std::string_view::npos) {
        out.emplace_back(std::string(part), std::nullopt);
      } else {
        out.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
      }
    }
    start = end + 1;
  }
  return out;
}

// Sub-resource values sign decoded (botocore unquotes them); '+' stays '+'.
std::string DecodeOrRaw(std::string_view text) {
  Result<std::string> decoded = UriDecode(text);
  return decoded.ok() ? *decoded : std::string(text);
}

const std::string* FindParam(const QueryParams& query, std::string_view name) {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

int MonthIndex(std::string_view name) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (kMonths[i] == name) return i + 1;
  }
  return 0;
}

bool ParseDigits(std::string_view text, int* out) {
  if (text.empty() || text.size() > 4) return false;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

const std::vector<std::string_view>& SigV2SubResources() {
  static const auto* names = new std::vector<std::string_view>{
      "accelerate",
      "acl",
      "analytics",
      "cors",
      "defaultObjectAcl",
      "delete",
      "inventory",
      "lifecycle",
      "location",
      "logging",
      "metrics",
      "notification",
      "object-lock",
      "partNumber",
      "policy",
      "replication",
      "requestPayment",
      "response-cache-control",
      "response-content-disposition",
      "response-content-encoding",
      "response-content-language",
      "response-content-type",
      "response-expires",
      "restore",
      "select",
      "select-type",
      "storageClass",
      "tagging",
      "torrent",
      "uploadId",
      "uploads",
      "versionId",
      "versioning",
      "versions",
      "website",
  };
  return *names;
}

bool SigV2Region(std::string_view region) {
  static constexpr std::string_view kRegions[] = {
      "us-east-1",      "us-west-1",      "us-west-2",      "eu-west-1",
      "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"};
  return std::find(std::begin(kRegions), std::end(kRegions), region) != std::end(kRegions);
}

std::string SigV2CanonicalizedAmzHeaders(const HttpHeaders& headers) {
  std::map<std::string, std::string> amz;
  for (const auto& [name, value] : headers) {
    std::string lower = ToLowerAscii(name);
    if (!lower.starts_with("x-amz-")) continue;
    auto [it, inserted] = amz.emplace(lower, CanonicalHeaderValue(value));
    if (!inserted) it->second += "," + CanonicalHeaderValue(value);
  }
  std::string out;
  for (const auto& [name, value] : amz) out += name + ":" + value + "\n";
  return out;
}

std::string SigV2CanonicalizedResource(std::string_view virtual_host_bucket,
                                       std::string_view raw_path, std::string_view raw_query) {
  std::string out;
  if (!virtual_host_bucket.empty()) out = "/" + std::string(virtual_host_bucket);
  out += raw_path.empty() ? std::string_view("/") : raw_path;
  std::vector<std::pair<std::string, std::optional<std::string>>> sub;
  for (auto& [name, value] : SplitRawQuery(raw_query)) {
    const auto& known = SigV2SubResources();
    if (std::find(known.begin(), known.end(), name) == known.end()) continue;
    sub.emplace_back(name, value ? std::optional<std::string>(DecodeOrRaw(*value)) : std::nullopt);
  }
  std::stable_sort(sub.begin(), sub.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < sub.size(); ++i) {
    out += i == 0 ? '?' : '&';
    out += sub[i].first;
    if (sub[i].second) out += "=" + *sub[i].second;
  }
  return out;
}

std::string SigV2StringToSign(std::string_view method, const HttpHeaders& headers,
                              std::string_view canonicalized_resource,
                              std::optional<std::string_view> expires) {
  auto header = [&](std::string_view name) {
    const std::string* v = FindHeader(headers, name);
    return v ? CanonicalHeaderValue(*v) : std::string();
  };
  std::string date;
  if (expires) {
    date = *expires;
  } else if (FindHeader(headers, "x-amz-date") == nullptr) {
    date = header("date");
  }
  return std::string(method) + "\n" + header("content-md5") + "\n" + header("content-type") + "\n" +
         date + "\n" + SigV2CanonicalizedAmzHeaders(headers) + std::string(canonicalized_resource);
}

std::string SigV2Signature(std::string_view secret, std::string_view string_to_sign) {
  return Base64Encode(HmacSha1(secret, string_to_sign));
}

Result<int64_t> ParseSigV2Date(std::string_view text) {
  auto bad = [&] { return InvalidArgumentError("malformed date \"" + std::string(text) + "\""); };
  std::string_view s = text;
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  // "Tue, 27 Mar 2007 19:36:42 +0000": weekday, day, month, year, time, zone.
  size_t comma = s.find(", ");
  if (comma == std::string_view::npos || comma > 9) return bad();
  s.remove_prefix(comma + 2);
  std::vector<std::string_view> parts;
  while (!s.empty()) {
    size_t sp = s.find(' ');
    parts.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  }
  if (parts.size() != 5) return bad();
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  int month = MonthIndex(parts[1]);
  std::string_view time = parts[3];
  if (!ParseDigits(parts[0], &day) || month == 0 || !ParseDigits(parts[2], &year) ||
      parts[2].size() != 4 || time.size() != 8 || time[2] != ':' || time[5] != ':' ||
      !ParseDigits(time.substr(0, 2), &hour) || !ParseDigits(time.substr(3, 2), &minute) ||
      !ParseDigits(time.substr(6, 2), &second) || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  int64_t offset_minutes = 0;
  std::string_view zone = parts[4];
  if (zone == "GMT" || zone == "UTC" || zone == "UT" || zone == "Z") {
    offset_minutes = 0;
  } else if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) {
    int hh = 0, mm = 0;
    if (!ParseDigits(zone.substr(1, 2), &hh) || !ParseDigits(zone.substr(3, 2), &mm) || mm > 59) {
      return bad();
    }
    offset_minutes = (hh * 60 + mm) * (zone[0] == '-' ? -1 : 1);
  } else {
    return bad();
  }
  return UtcMillis(year, month, day, hour, minute, second) - offset_minutes * 60 * 1000;
}

bool IsSigV2(const HttpHeaders& headers, const QueryParams& query) {
  if (const std::string* a = FindHeader(headers, "authorization")) {
    return a->starts_with("AWS ");
  }
  return FindParam(query, "AWSAccessKeyId") != nullptr;
}

namespace {

void SetDetails(ErrorDetails* details, ErrorDetails values) {
  if (details) *details = std::move(values);
}

// What a request says about its own SigV2 signature, before anything is checked against it.
struct SigV2Claim {
  std::string access_key_id;
  std::string signature;
  std::optional<std::string> expires;  // presigned: seconds since the epoch
  HttpHeaders headers;                 // the request's, and the presigned query's header-like
};

// Authorization: AWS AccessKeyId:Signature, dated by x-amz-date or Date within the skew.
Result<SigV2Claim> ReadSigV2HeaderClaim(const SigV2Request& request, std::string_view authorization,
                                        const SigV2Options& options, ErrorDetails* details) {
  size_t colon = authorization.rfind(':');
  if (!authorization.starts_with("AWS ") || colon == std::string_view::npos || colon <= 4 ||
      colon + 1 == authorization.size()) {
    SetDetails(details,
               {{"ArgumentName", "Authorization"}, {"ArgumentValue", std::string(authorization)}});
    return SigError(StatusCode::kInvalidArgument, "InvalidArgument",
                    "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
  }
  SigV2Claim claim;
  claim.access_key_id = authorization.substr(4, colon - 4);
  claim.signature = authorization.substr(colon + 1);
  claim.headers = request.headers;
  const std::string* date = FindHeader(request.headers, "x-amz-date");
  if (date == nullptr) date = FindHeader(request.headers, "date");
  Result<int64_t> at = date ? ParseSigV2Date(*date) : Result<int64_t>(InvalidArgumentError(""));
  if (!at.ok()) {
    return SigError(StatusCode::kPermissionDenied, "AccessDenied",
                    "AWS authentication requires a valid Date or x-amz-date header");
  }
  int64_t skew = *at - options.now_ms;
  if (skew > options.max_clock_skew_ms || -skew > options.max_clock_skew_ms) {
    SetDetails(details,
               {{"RequestTime", *date},
                {"MaxAllowedSkewMilliseconds", std::to_string(options.max_clock_skew_ms)}});
    return SigError(StatusCode::kUnauthenticated, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too "
                    "large.");
  }
  return claim;
}

// ?AWSAccessKeyId=...&Expires=...&Signature=..., not yet expired.
Result<SigV2Claim> ReadSigV2QueryClaim(const SigV2Request& request, const SigV2Options& options,
                                       ErrorDetails* details) {
  Result<RequestTarget> parsed = ParseRequestTarget("/?" + request.raw_query);
  if (!parsed.ok()) {
    return SigError(StatusCode::kInvalidArgument, "InvalidArgument",
                    "the query string is not well-formed");
  }
  const std::string* id = FindParam(parsed->query, "AWSAccessKeyId");
  const std::string* sig = FindParam(parsed->query, "Signature");
  const std::string* exp = FindParam(parsed->query, "Expires");
  if (id == nullptr || sig == nullptr || exp == nullptr || id->empty() || sig->empty()) {
    return SigError(StatusCode::kPermissionDenied, "AccessDenied",
                    "Query-string authentication requires the Signature, Expires and "
                    "AWSAccessKeyId parameters");
  }
  if (exp->empty() || exp->size() > 12 ||
      !std::all_of(exp->begin(), exp->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return SigError(StatusCode::kPermissionDenied, "AccessDenied",
                    "Invalid date (should be seconds since epoch): " + *exp);
  }
  if (options.now_ms > std::stoll(*exp) * 1000) {
    SetDetails(details, {{"Expires", *exp}, {"ServerTime", std::to_string(options.now_ms / 1000)}});
    return SigError(StatusCode::kPermissionDenied, "AccessDenied", "Request has expired");
  }
  SigV2Claim claim{*id, *sig, *exp, request.headers};
  // What botocore moved from the signed headers into the query string signs as headers
  // (a header sent as well wins).
  for (const auto& [name, value] : parsed->query) {
    std::string lower = ToLowerAscii(name);
    bool header_like =
        lower.starts_with("x-amz-") || lower == "content-type" || lower == "content-md5";
    if (header_like && FindHeader(claim.headers, lower) == nullptr) {
      claim.headers.emplace_back(lower, value);
    }
  }
  return claim;
}

// x-amz-content-sha256 when sent (aws-chunked bodies only unsigned: signed chunks chain from
// a SigV4 seed signature); UNSIGNED-PAYLOAD otherwise.
Result<std::string> SigV2PayloadHash(const HttpHeaders& headers, ErrorDetails* details) {
  const std::string* sha = FindHeader(headers, "x-amz-content-sha256");
  if (sha == nullptr) return std::string(kUnsignedPayload);
  std::string payload_hash = CanonicalHeaderValue(*sha);
  if (!IsValidPayloadHash(payload_hash)) {
    SetDetails(details,
               {{"ArgumentName", "x-amz-content-sha256"}, {"ArgumentValue", payload_hash}});
    return SigError(StatusCode::kInvalidArgument, "InvalidArgument",
                    std::string(kPayloadHashMessage));
  }
  if (payload_hash.starts_with("STREAMING-") && payload_hash != kStreamingUnsignedPayloadTrailer) {
    return SigError(StatusCode::kInvalidArgument, "InvalidRequest",
                    "aws-chunked uploads must be signed with AWS4-HMAC-SHA256");
  }
  if (payload_hash.size() == 64) payload_hash = ToLowerAscii(payload_hash);
  return payload_hash;
}

}  // namespace

Result<VerifiedRequest> VerifySigV2(const SigV2Request& request, const SecretLookup& lookup,
                                    const SigV2Options& options, ErrorDetails* details) {
  const std::string* authorization = FindHeader(request.headers, "authorization");
  Result<SigV2Claim> claim_or =
      authorization ? ReadSigV2HeaderClaim(request, *authorization, options, details)
                    : ReadSigV2QueryClaim(request, options, details);
  if (!claim_or.ok()) return claim_or.status();
  const SigV2Claim& claim = *claim_or;

  Result<Credentials> credentials = lookup(claim.access_key_id);
  if (!credentials.ok()) {
    if (credentials.status().code() == StatusCode::kNotFound) {
      SetDetails(details, {{"AWSAccessKeyId", claim.access_key_id}});
      return SigError(StatusCode::kUnauthenticated, "InvalidAccessKeyId",
                      "The AWS Access Key Id you provided does not exist in our records.");
    }
    return credentials.status();
  }
  std::string resource =
      SigV2CanonicalizedResource(request.virtual_host_bucket, request.raw_path, request.raw_query);
  std::string string_to_sign = SigV2StringToSign(
      request.method, claim.headers, resource,
      claim.expires ? std::optional<std::string_view>(*claim.expires) : std::nullopt);
  std::string expected = SigV2Signature(credentials->secret_access_key, string_to_sign);
  if (expected.size() != claim.signature.size() ||
      CRYPTO_memcmp(expected.data(), claim.signature.data(), expected.size()) != 0) {
    SetDetails(details, {{"AWSAccessKeyId", claim.access_key_id},
                         {"StringToSign", string_to_sign},
                         {"SignatureProvided", claim.signature}});
    return SigError(StatusCode::kUnauthenticated, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you "
                    "provided. Check your key and signing method.");
  }
  ASSIGN_OR_RETURN(std::string payload_hash, SigV2PayloadHash(claim.headers, details));
  VerifiedRequest v;
  v.presigned = claim.expires.has_value();
  if (claim.expires) v.expires_at_ms = std::stoll(*claim.expires) * 1000;
  v.access_key_id = claim.access_key_id;
  v.signature = expected;
  v.payload_hash = std::move(payload_hash);
  return v;
}

}  // namespace thumbflow::aws
