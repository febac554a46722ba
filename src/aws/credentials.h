// Credentials and where they come from: the AWS credential provider chain.
//
// Order of NewDefaultCredentialsChain (the order the AWS SDKs use):
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   2. shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and
//      AWS_CONFIG_FILE (default ~/.aws/config, "[profile NAME]" sections), profile from
//      AWS_PROFILE (default "default"); aws_access_key_id / aws_secret_access_key /
//      aws_session_token. The credentials file wins over the config file for one profile.
//   3. container: AWS_CONTAINER_CREDENTIALS_FULL_URI, or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
//      appended to http://169.254.170.2; Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN
//      or the file named by AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
//   4. EC2 instance metadata, IMDSv2 (PUT /latest/api/token, then GET the role and its
//      credentials with the token), at AWS_EC2_METADATA_SERVICE_ENDPOINT or
//      http://169.254.169.254; skipped when AWS_EC2_METADATA_DISABLED=true.
// Temporary credentials (2 and 3 and 4 may return them) are cached and fetched again
// `refresh_margin` before they expire.
//
// Providers return NotFound when their source is simply absent (the chain then tries the
// next one) and another status when the source exists but is broken (the chain stops and
// reports it: a half-configured profile should not silently fall through to IMDS).
// Every provider is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/http_client.h"
#include "core/clock.h"
#include "core/result.h"

namespace thumbflow::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;         // empty for long-term keys
  std::optional<int64_t> expiry_ms;  // Unix ms; absent for long-term keys
  std::string source;                // provider that produced them ("environment", ...)
};

// A snapshot of environment variables; tests pass their own map instead of the process's.
using Environment = std::map<std::string, std::string>;
Environment ProcessEnvironment();
// The value, or `fallback` when unset or empty.
std::string EnvOr(const Environment& env, const std::string& name, std::string fallback = {});

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  virtual Result<Credentials> GetCredentials() = 0;
  virtual std::string Name() const = 0;
};

// Fixed keys (config, tests).
std::unique_ptr<CredentialsProvider> NewStaticCredentialsProvider(Credentials credentials);

std::unique_ptr<CredentialsProvider> NewEnvironmentCredentialsProvider(Environment env);

// Reads both shared files each time it is asked (the caching layer limits how often).
std::unique_ptr<CredentialsProvider> NewProfileCredentialsProvider(Environment env);

// `http` is not owned and must outlive the provider. The provider uses its own short
// timeouts only if `http` was built with them; NewDefaultCredentialsChain builds one.
std::unique_ptr<CredentialsProvider> NewContainerCredentialsProvider(Environment env,
                                                                     HttpClient* http);
std::unique_ptr<CredentialsProvider> NewImdsCredentialsProvider(Environment env, HttpClient* http);

// Tries `providers` in order; returns the first success, skips NotFound, stops at any other
// error. NotFound from all of them gives a NotFound naming every source tried.
std::unique_ptr<CredentialsProvider> NewChainCredentialsProvider(
    std::vector<std::unique_ptr<CredentialsProvider>> providers);

// Caches what `inner` returns. Credentials without expiry are kept forever; temporary ones
// are fetched again once now >= expiry - refresh_margin_ms. A failed refresh while the old
// credentials are still valid returns the old ones. `clock` is not owned.
std::unique_ptr<CredentialsProvider> NewCachingCredentialsProvider(
    std::unique_ptr<CredentialsProvider> inner, const Clock* clock,
    int64_t refresh_margin_ms = 5 * 60 * 1000);

// The chain above, cached. `clock` is not owned. It owns a curl client with short timeouts
// (1 s connect, 2 s total, no retries) for the container and IMDS sources.
std::unique_ptr<CredentialsProvider> NewDefaultCredentialsChain(Environment env,
                                                                const Clock* clock);

// Parses an INI file as the AWS CLI writes it: "[section]" headers, "key = value" lines,
// '#' and ';' comments. Section names are kept as written ("profile dev").
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile ParseIni(std::string_view text);

// The profile name (AWS_PROFILE, else "default") and a value from the shared config file
// ("region", ...), empty when absent.
std::string ActiveProfile(const Environment& env);
std::string ProfileConfigValue(const Environment& env, const std::string& key);

// Parses the JSON that container and IMDS endpoints return (AccessKeyId, SecretAccessKey,
// Token, Expiration as RFC 3339). Exposed for tests.
Result<Credentials> ParseCredentialsJson(std::string_view json, const std::string& source);
// "2015-08-30T12:36:00Z" (fractions and offsets accepted) -> Unix ms.
Result<int64_t> ParseRfc3339Ms(std::string_view text);

}  // namespace thumbflow::aws
