// Credentials and where they come from: the AWS credential provider chain.
//
// Order of NewDefaultCredentialsChain (the order of the AWS SDKs' default chains):
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (left out
//      when a profile was named: CredentialsChainOptions::explicit_profile)
//   2. web identity (IRSA on EKS, GitHub OIDC...): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      (+ AWS_ROLE_SESSION_NAME) through STS AssumeRoleWithWebIdentity (unsigned); the token
//      file is read again at every refresh (Kubernetes rotates it).
//   3. the profile (AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default") of the shared files:
//      AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and AWS_CONFIG_FILE (default
//      ~/.aws/config, "[profile NAME]" sections; the credentials file wins for a key in both).
//      Within one profile, the first of (as botocore and the Java SDK decide):
//        a. role_arn, with web_identity_token_file, source_profile (resolved the same way,
//           recursively; a profile naming itself uses its own keys; a cycle is an error) or
//           credential_source = Environment | Ec2InstanceMetadata | EcsContainer: STS
//           AssumeRole signed with those source credentials (role_session_name, external_id,
//           duration_seconds honoured; mfa_serial is refused: no one types a code on a server);
//        b. SSO: sso_session (a "[sso-session NAME]" section with sso_start_url and
//           sso_region) or the legacy sso_start_url + sso_region, with sso_account_id and
//           sso_role_name: the access token cached by `aws sso login` in
//           ~/.aws/sso/cache/<sha1 of the session name, or of the start URL>.json, exchanged
//           at the SSO portal (GET /federation/credentials) for role credentials. An expired
//           token is an error asking for `aws sso login` (tokens are not refreshed here);
//        c. credential_process: the command is run by /bin/sh; its stdout is the JSON of
//           Version 1 (AccessKeyId, SecretAccessKey, SessionToken, Expiration);
//        d. aws_access_key_id / aws_secret_access_key / aws_session_token.
//   4. container: AWS_CONTAINER_CREDENTIALS_FULL_URI, or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
//      appended to http://169.254.170.2; Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN
//      or the file named by AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
//   5. EC2 instance metadata, IMDSv2 (PUT /latest/api/token, then GET the role and its
//      credentials with the token), at AWS_EC2_METADATA_SERVICE_ENDPOINT or
//      http://169.254.169.254; skipped when AWS_EC2_METADATA_DISABLED=true.
// STS is reached at CredentialsChainOptions::sts_endpoint (a command's --endpoint-url or
// [aws] endpoint_url), else AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
// https://sts.<region>.amazonaws.com; the SSO portal at AWS_ENDPOINT_URL_SSO, else
// AWS_ENDPOINT_URL, else https://portal.sso.<sso_region>.amazonaws.com.
// Temporary credentials (every source but 1 and 3d may return them) are cached and fetched
// again `refresh_margin` (5 minutes) before they expire; while one thread fetches, the others
// keep signing with the old ones as long as those are valid.
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

// What the sources that call AWS need. Pointers are not owned and must outlive the provider.
struct CredentialsServices {
  HttpClient* http = nullptr;           // STS and the SSO portal
  HttpClient* metadata_http = nullptr;  // container and IMDS (credential_source); short timeouts
  const Clock* clock = nullptr;         // signing time, session names, SSO token expiry
  std::string sts_endpoint;             // empty: StsEndpointUrl(env, region)
  std::string region;                   // empty: CredentialsRegion(env)
};

// The region STS calls are signed for: AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
// else us-east-1.
std::string CredentialsRegion(const Environment& env);
// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else https://sts.<region>.amazonaws.com
// (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips the variables).
std::string StsEndpointUrl(const Environment& env, const std::string& region);

// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: NotFound when neither is set, InvalidArgument
// when only one is. Session name: AWS_ROLE_SESSION_NAME, else "thumbflow-<ms>".
std::unique_ptr<CredentialsProvider> NewWebIdentityCredentialsProvider(
    Environment env, CredentialsServices services);

// Reads both shared files each time it is asked (the caching layer limits how often).
// Without `services` (http and clock null) only static keys work; a profile that needs STS,
// SSO or a metadata endpoint is FailedPrecondition.
std::unique_ptr<CredentialsProvider> NewProfileCredentialsProvider(
    Environment env, CredentialsServices services = {});

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

struct CredentialsChainOptions {
  std::string sts_endpoint;  // empty: StsEndpointUrl(env, region)
  std::string region;        // empty: CredentialsRegion(env)
  // A profile the user named (--profile, [aws] profile) leaves out source 1, the environment's
  // keys, as botocore does for an explicit profile: otherwise keys exported for another account
  // would silently win. AWS_PROFILE alone keeps source 1.
  bool explicit_profile = false;
};

// The chain above, cached. `clock` is not owned. It owns a curl client with short timeouts
// (1 s connect, 2 s total, no retries) for the container and IMDS sources, and one with the
// usual timeouts and retries for STS and the SSO portal.
std::unique_ptr<CredentialsProvider> NewDefaultCredentialsChain(
    Environment env, const Clock* clock, CredentialsChainOptions options = {});

// credential_process: runs `command` with /bin/sh -c and parses its stdout. A command that
// cannot start, exits non-zero or prints something else than Version 1 JSON is Unavailable
// naming the command's first word (never its arguments: they may hold secrets) and its exit
// status. Its stderr goes to this process's stderr. A command that has not finished within
// `timeout_ms` (the AWS SDKs' one minute by default) is killed with its process group and is
// Unavailable too: a hung helper must not hang every AWS call behind it.
inline constexpr int kCredentialProcessTimeoutMs = 60'000;
Result<Credentials> RunCredentialProcess(const std::string& command, const std::string& source,
                                         int timeout_ms = kCredentialProcessTimeoutMs);
// {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"? (RFC 3339)}.
Result<Credentials> ParseCredentialProcessJson(std::string_view json, const std::string& source);

// The file `aws sso login` caches a token in: DIR/<hex SHA-1 of `session_or_start_url`>.json.
std::string SsoCacheFile(const std::string& cache_dir, const std::string& session_or_start_url);

// Parses an INI file as the AWS CLI writes it: "[section]" headers, "key = value" lines,
// '#' and ';' comments. Section names are kept as written ("profile dev").
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
IniFile ParseIni(std::string_view text);

// The profile name (AWS_PROFILE, else "default") and a value from the shared config file
// ("region", ...), empty when absent.
std::string ActiveProfile(const Environment& env);
std::string ProfileConfigValue(const Environment& env, const std::string& key);

// The values of one profile: the config file's section, overridden by the credentials
// file's. Empty when neither file has it.
std::map<std::string, std::string> ProfileValues(const Environment& env,
                                                 const std::string& profile);

// Parses the JSON that container and IMDS endpoints return (AccessKeyId, SecretAccessKey,
// Token, Expiration as RFC 3339). Exposed for tests.
Result<Credentials> ParseCredentialsJson(std::string_view json, const std::string& source);

}  // namespace thumbflow::aws
