// Bucket CORS as S3 does it: the configuration (Put/Get/DeleteBucketCors, validated as S3
// validates it), the rule that matches a request (first match wins: origin, method and, for a
// preflight, every requested header), and where the configurations are kept.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace thumbflow::server {

struct CorsRule {
  std::string id;
  std::vector<std::string> allowed_methods;  // GET PUT POST DELETE HEAD
  std::vector<std::string> allowed_origins;  // each with at most one '*'
  std::vector<std::string> allowed_headers;  // each with at most one '*'; matched case-blind
  std::vector<std::string> expose_headers;
  std::optional<int64_t> max_age_seconds;
};

// <CORSConfiguration><CORSRule>...</CORSRule>...</CORSConfiguration>, 1 to 100 rules. Errors
// carry S3's code: MalformedXML, or InvalidRequest naming the unsupported method or the
// origin or header with more than one wildcard.
Result<std::vector<CorsRule>> ParseCorsConfigurationXml(std::string_view body);
std::string CorsConfigurationXml(const std::vector<CorsRule>& rules);

// `pattern` with at most one '*' standing for any text; `ignore_case` for header names.
bool CorsWildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

// The first rule allowing `origin` and `method` and, for a preflight, each of
// `request_headers` (lower-case names); nullptr when none does.
const CorsRule* MatchCorsRule(const std::vector<CorsRule>& rules, std::string_view origin,
                              std::string_view method,
                              const std::vector<std::string>& request_headers);

// The configurations, one file per bucket under `root` (<root>/<bucket>.xml as last put,
// replaced atomically). Thread-safe.
class BucketCorsStore {
 public:
  explicit BucketCorsStore(std::string root) : root_(std::move(root)) {}
  Status Put(const std::string& bucket, const std::vector<CorsRule>& rules);
  // nullopt: the bucket has no configuration.
  Result<std::optional<std::vector<CorsRule>>> Get(const std::string& bucket) const;
  Status Delete(const std::string& bucket);

 private:
  std::string root_;
  mutable std::mutex mu_;
};

}  // namespace thumbflow::server
