#include "aws/credentials.h"

#include "aws/aws_error.h"
#include "aws/checksums.h"
#include "aws/sts.h"
#include "core/civil_time.h"
#include "core/strings.h"
#include "core/uri.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace thumbflow::aws {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string HomePath(const Environment& env, const std::string& rest) {
  std::string home = EnvOr(env, "HOME");
  return home.empty() ? std::string() : home + "/" + rest;
}

bool IsTrue(const std::string& v) { return v == "true" || v == "TRUE" || v == "True" || v == "1"; }

class StaticProvider final : public CredentialsProvider {
 public:
  explicit StaticProvider(Credentials c) : c_(std::move(c)) {}
  Result<Credentials> GetCredentials() override { return c_; }
  std::string Name() const override { return "static"; }

 private:
  Credentials c_;
};

class EnvProvider final : public CredentialsProvider {
 public:
  explicit EnvProvider(Environment env) : env_(std::move(env)) {}
  Result<Credentials> GetCredentials() override {
    Credentials c;
    c.access_key_id = EnvOr(env_, "AWS_ACCESS_KEY_ID");
    c.secret_access_key = EnvOr(env_, "AWS_SECRET_ACCESS_KEY");
    c.session_token = EnvOr(env_, "AWS_SESSION_TOKEN");
    c.source = "environment";
    if (c.access_key_id.empty() && c.secret_access_key.empty()) {
      return NotFoundError("environment: AWS_ACCESS_KEY_ID is not set");
    }
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return InvalidArgumentError(
          "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
    }
    return c;
  }
  std::string Name() const override { return "environment"; }

 private:
  Environment env_;
};

// "thumbflow-<ms>": the session name when none is configured (the SDKs use a timestamp too).
std::string DefaultSessionName(const Clock* clock) {
  const int64_t ms = clock != nullptr ? clock->NowMillis() : int64_t{std::time(nullptr)} * 1000;
  return "thumbflow-" + std::to_string(ms);
}

bool IgnoreConfiguredEndpoints(const Environment& env) {
  return IsTrue(EnvOr(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"));
}

StsEndpoint StsFor(const CredentialsServices& services, const Environment& env) {
  StsEndpoint endpoint;
  endpoint.region = services.region.empty() ? CredentialsRegion(env) : services.region;
  endpoint.url =
      services.sts_endpoint.empty() ? StsEndpointUrl(env, endpoint.region) : services.sts_endpoint;
  return endpoint;
}

Status NeedServices(const CredentialsServices& services, const std::string& label,
                    const std::string& what) {
  if (services.http != nullptr && services.clock != nullptr) return Status::Ok();
  return FailedPreconditionError(label + ": " + what + " needs network access to AWS");
}

Result<Credentials> AssumeRoleWithTokenFile(const CredentialsServices& services,
                                            const Environment& env, const std::string& token_file,
                                            AssumeRoleParams params, const std::string& label) {
  RETURN_IF_ERROR(NeedServices(services, label, "web identity"));
  auto token = ReadWholeFile(token_file);
  if (!token) {
    return UnavailableError(label + ": cannot read the web identity token file " + token_file);
  }
  return StsAssumeRoleWithWebIdentity(*services.http, StsFor(services, env), params, Trim(*token),
                                      label);
}

// A profile's static keys: NotFound when it has none, InvalidArgument when only half.
Result<Credentials> StaticKeys(std::map<std::string, std::string>& values,
                               const std::string& profile, const std::string& where) {
  Credentials c;
  c.access_key_id = values["aws_access_key_id"];
  c.secret_access_key = values["aws_secret_access_key"];
  c.session_token = values["aws_session_token"];
  c.source = "profile " + profile;
  if (c.access_key_id.empty() && c.secret_access_key.empty()) {
    return NotFoundError("shared files: profile \"" + profile + "\" has no keys in " + where);
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return InvalidArgumentError("shared files: profile \"" + profile +
                                "\" needs both aws_access_key_id and aws_secret_access_key");
  }
  return c;
}

class WebIdentityProvider final : public CredentialsProvider {
 public:
  WebIdentityProvider(Environment env, CredentialsServices services)
      : env_(std::move(env)), services_(std::move(services)) {}
  Result<Credentials> GetCredentials() override {
    const std::string token_file = EnvOr(env_, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const std::string role_arn = EnvOr(env_, "AWS_ROLE_ARN");
    if (token_file.empty() && role_arn.empty()) {
      return NotFoundError("web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set");
    }
    if (token_file.empty() || role_arn.empty()) {
      return InvalidArgumentError(
          "web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must both be set");
    }
    AssumeRoleParams params;
    params.role_arn = role_arn;
    params.session_name = EnvOr(env_, "AWS_ROLE_SESSION_NAME", DefaultSessionName(services_.clock));
    return AssumeRoleWithTokenFile(services_, env_, token_file, params, "web identity");
  }
  std::string Name() const override { return "web-identity"; }

 private:
  Environment env_;
  CredentialsServices services_;
};

class ProfileProvider final : public CredentialsProvider {
 public:
  ProfileProvider(Environment env, CredentialsServices services)
      : env_(std::move(env)), services_(std::move(services)) {}
  Result<Credentials> GetCredentials() override { return Resolve(ActiveProfile(env_), {}); }
  std::string Name() const override { return "shared-files"; }

 private:
  // `referrers`: the profiles whose source_profile led here, to refuse a cycle.
  Result<Credentials> Resolve(const std::string& name, std::vector<std::string> referrers) {
    std::map<std::string, std::string> values = ProfileValues(env_, name);
    const std::string label = "profile " + name;
    const std::string where =
        EnvOr(env_, "AWS_SHARED_CREDENTIALS_FILE", HomePath(env_, ".aws/credentials")) + " or " +
        EnvOr(env_, "AWS_CONFIG_FILE", HomePath(env_, ".aws/config"));
    if (values.empty() && !referrers.empty()) {
      return InvalidArgumentError("profile " + referrers.back() + ": source_profile \"" + name +
                                  "\" is in neither " + where);
    }
    if (!values["role_arn"].empty()) return AssumeRole(name, values, std::move(referrers));
    if (!values["sso_session"].empty() || !values["sso_start_url"].empty() ||
        !values["sso_account_id"].empty() || !values["sso_role_name"].empty()) {
      return Sso(name, values);
    }
    if (!values["credential_process"].empty()) {
      return RunCredentialProcess(values["credential_process"], label);
    }
    Result<Credentials> keys = StaticKeys(values, name, where);
    if (!keys.ok() && keys.status().code() == StatusCode::kNotFound && !referrers.empty()) {
      return InvalidArgumentError("profile " + referrers.back() + ": source_profile \"" + name +
                                  "\" has no credentials");
    }
    return keys;
  }

  Result<Credentials> AssumeRole(const std::string& name,
                                 std::map<std::string, std::string>& values,
                                 std::vector<std::string> referrers) {
    const std::string label = "profile " + name;
    if (!values["mfa_serial"].empty()) {
      return InvalidArgumentError(label +
                                  ": mfa_serial needs a code typed in; thumbflow runs unattended");
    }
    AssumeRoleParams params;
    params.role_arn = values["role_arn"];
    params.session_name = values["role_session_name"];
    if (params.session_name.empty()) params.session_name = DefaultSessionName(services_.clock);
    params.external_id = values["external_id"];
    if (const std::string& d = values["duration_seconds"]; !d.empty()) {
      params.duration_s = std::atoi(d.c_str());
      if (params.duration_s < 900 || params.duration_s > 43'200) {
        return InvalidArgumentError(label + ": duration_seconds must be 900..43200, got " + d);
      }
    }
    if (!values["web_identity_token_file"].empty()) {
      return AssumeRoleWithTokenFile(services_, env_, values["web_identity_token_file"], params,
                                     label);
    }
    const std::string source_profile = values["source_profile"];
    const std::string credential_source = values["credential_source"];
    if (!source_profile.empty() && !credential_source.empty()) {
      return InvalidArgumentError(label + ": give source_profile or credential_source, not both");
    }
    Result<Credentials> source = InvalidArgumentError(
        label + ": role_arn needs source_profile, credential_source or web_identity_token_file");
    if (source_profile == name) {
      source = StaticKeys(values, name, "its own keys");
    } else if (!source_profile.empty()) {
      referrers.push_back(name);
      if (std::find(referrers.begin(), referrers.end(), source_profile) != referrers.end()) {
        std::string cycle;
        for (const std::string& p : referrers) cycle += p + " -> ";
        return InvalidArgumentError(label + ": source_profile cycle " + cycle + source_profile);
      }
      source = Resolve(source_profile, std::move(referrers));
    } else if (!credential_source.empty()) {
      source = CredentialSource(label, credential_source);
    }
    if (!source.ok()) return source.status();
    RETURN_IF_ERROR(NeedServices(services_, label, "role_arn"));
    return StsAssumeRole(*services_.http, StsFor(services_, env_), *source, params,
                         *services_.clock, label + " (role " + params.role_arn + ")");
  }

  Result<Credentials> CredentialSource(const std::string& label, const std::string& which) {
    std::unique_ptr<CredentialsProvider> provider;
    if (which == "Environment") {
      provider = NewEnvironmentCredentialsProvider(env_);
    } else if (which == "Ec2InstanceMetadata" || which == "EcsContainer") {
      if (services_.metadata_http == nullptr) {
        return FailedPreconditionError(label + ": credential_source " + which +
                                       " needs network access");
      }
      provider = which == "EcsContainer"
                     ? NewContainerCredentialsProvider(env_, services_.metadata_http)
                     : NewImdsCredentialsProvider(env_, services_.metadata_http);
    } else {
      return InvalidArgumentError(label + ": credential_source \"" + which +
                                  "\" is not Environment, Ec2InstanceMetadata or EcsContainer");
    }
    Result<Credentials> c = provider->GetCredentials();
    if (!c.ok() && c.status().code() == StatusCode::kNotFound) {
      return InvalidArgumentError(label + ": credential_source " + which + ": " +
                                  c.status().message());
    }
    return c;
  }

  Result<Credentials> Sso(const std::string& name, std::map<std::string, std::string>& values) {
    const std::string label = "profile " + name + " (SSO)";
    std::string start_url = values["sso_start_url"];
    std::string sso_region = values["sso_region"];
    std::string cache_key = start_url;
    if (const std::string session = values["sso_session"]; !session.empty()) {
      std::map<std::string, std::string> section = ConfigSection("sso-session " + session);
      if (section.empty()) {
        return InvalidArgumentError(label + ": no [sso-session " + session + "] section in " +
                                    EnvOr(env_, "AWS_CONFIG_FILE", HomePath(env_, ".aws/config")));
      }
      start_url = section["sso_start_url"];
      sso_region = section["sso_region"];
      cache_key = session;
    }
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"sso_start_url", start_url},
          {"sso_region", sso_region},
          {"sso_account_id", values["sso_account_id"]},
          {"sso_role_name", values["sso_role_name"]}}) {
      if (value.empty()) return InvalidArgumentError(label + ": " + key + " is missing");
    }
    RETURN_IF_ERROR(NeedServices(services_, label, "SSO"));
    const std::string file = SsoCacheFile(HomePath(env_, ".aws/sso/cache"), cache_key);
    const std::string login = "run `aws sso login --profile " + name + "`";
    auto text = ReadWholeFile(file);
    if (!text)
      return UnauthenticatedError(label + ": no SSO token cached in " + file + "; " + login);
    nlohmann::json cached = nlohmann::json::parse(*text, nullptr, false);
    const auto token = cached.is_object() ? cached.find("accessToken") : cached.end();
    const auto expires = cached.is_object() ? cached.find("expiresAt") : cached.end();
    if (!cached.is_object() || token == cached.end() || !token->is_string() ||
        expires == cached.end() || !expires->is_string()) {
      return UnauthenticatedError(label + ": " + file + " has no accessToken and expiresAt; " +
                                  login);
    }
    ASSIGN_OR_RETURN(int64_t expires_ms, ParseIso8601Millis(expires->get<std::string>()));
    if (services_.clock->NowMillis() >= expires_ms) {
      return UnauthenticatedError(label + ": the SSO token in " + file + " expired at " +
                                  expires->get<std::string>() + "; " + login);
    }
    std::string endpoint =
        IgnoreConfiguredEndpoints(env_) ? "" : EnvOr(env_, "AWS_ENDPOINT_URL_SSO");
    if (endpoint.empty() && !IgnoreConfiguredEndpoints(env_)) {
      endpoint = EnvOr(env_, "AWS_ENDPOINT_URL");
    }
    if (endpoint.empty()) endpoint = "https://portal.sso." + sso_region + ".amazonaws.com";
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    HttpRequest request;
    request.url = endpoint +
                  "/federation/credentials?account_id=" + PercentEncode(values["sso_account_id"]) +
                  "&role_name=" + PercentEncode(values["sso_role_name"]);
    request.headers = {{"x-amz-sso_bearer_token", token->get<std::string>()}};
    Result<HttpResponse> response = services_.http->Send(request);
    if (!response.ok() || response->status != 200) {
      return MapAwsFailure(AwsCall{"GetRoleCredentials", values["sso_role_name"], {}, "sso"},
                           response, request.url)
          .WithContext(label);
    }
    nlohmann::json answer = nlohmann::json::parse(response->body, nullptr, false);
    const nlohmann::json role =
        answer.is_object() ? answer.value("roleCredentials", nlohmann::json()) : nlohmann::json();
    if (!role.is_object() || !role.value("accessKeyId", nlohmann::json()).is_string() ||
        !role.value("secretAccessKey", nlohmann::json()).is_string()) {
      return UnavailableError(label + ": the SSO portal's answer has no roleCredentials");
    }
    Credentials c;
    c.access_key_id = role["accessKeyId"].get<std::string>();
    c.secret_access_key = role["secretAccessKey"].get<std::string>();
    if (role.contains("sessionToken") && role["sessionToken"].is_string()) {
      c.session_token = role["sessionToken"].get<std::string>();
    }
    if (role.contains("expiration") && role["expiration"].is_number_integer()) {
      c.expiry_ms = role["expiration"].get<int64_t>();
    }
    c.source = label;
    return c;
  }

  std::map<std::string, std::string> ConfigSection(const std::string& section) {
    auto text = ReadWholeFile(EnvOr(env_, "AWS_CONFIG_FILE", HomePath(env_, ".aws/config")));
    if (!text) return {};
    IniFile ini = ParseIni(*text);
    auto it = ini.find(section);
    return it == ini.end() ? std::map<std::string, std::string>{} : it->second;
  }

  Environment env_;
  CredentialsServices services_;
};
class ContainerProvider final : public CredentialsProvider {
 public:
  ContainerProvider(Environment env, HttpClient* http) : env_(std::move(env)), http_(http) {}
  Result<Credentials> GetCredentials() override {
    std::string url = EnvOr(env_, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (url.empty()) {
      std::string relative = EnvOr(env_, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
      if (relative.empty()) return NotFoundError("container: no credentials URI is set");
      url = "http://169.254.170.2" + relative;
    }
    HttpRequest request;
    request.url = url;
    std::string token = EnvOr(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    std::string token_file = EnvOr(env_, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (!token_file.empty()) {
      auto text = ReadWholeFile(token_file);
      if (!text) return UnavailableError("container: cannot read " + token_file);
      token = Trim(*text);
    }
    if (!token.empty()) request.headers.emplace_back("Authorization", token);
    Result<HttpResponse> response = http_->Send(request);
    if (!response.ok()) {
      return response.status().WithContext("container credentials " + url);
    }
    if (response->status != 200) {
      return Status(StatusCode::kUnavailable,
                    "container credentials " + url + ": HTTP " + std::to_string(response->status),
                    "", response->status >= 500);
    }
    return ParseCredentialsJson(response->body, "container");
  }
  std::string Name() const override { return "container"; }

 private:
  Environment env_;
  HttpClient* http_;
};

class ImdsProvider final : public CredentialsProvider {
 public:
  ImdsProvider(Environment env, HttpClient* http) : env_(std::move(env)), http_(http) {}
  Result<Credentials> GetCredentials() override {
    if (IsTrue(EnvOr(env_, "AWS_EC2_METADATA_DISABLED"))) {
      return NotFoundError("instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
    }
    std::string base = EnvOr(env_, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254");
    while (!base.empty() && base.back() == '/') base.pop_back();
    HttpRequest token_request;
    token_request.method = "PUT";
    token_request.url = base + "/latest/api/token";
    token_request.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    Result<HttpResponse> token = http_->Send(token_request);
    if (!token.ok()) return NotFoundError("instance metadata: " + token.status().message());
    if (token->status != 200) {
      return NotFoundError("instance metadata: token request answered HTTP " +
                           std::to_string(token->status));
    }
    HttpHeaders auth = {{"X-aws-ec2-metadata-token", token->body}};
    HttpRequest role_request;
    role_request.url = base + "/latest/meta-data/iam/security-credentials/";
    role_request.headers = auth;
    Result<HttpResponse> role = http_->Send(role_request);
    if (!role.ok()) return role.status().WithContext("instance metadata");
    if (role->status != 200) {
      return NotFoundError("instance metadata: no IAM role (HTTP " + std::to_string(role->status) +
                           ")");
    }
    std::string role_name = Trim(role->body.substr(0, role->body.find('\n')));
    HttpRequest creds_request;
    creds_request.url = role_request.url + role_name;
    creds_request.headers = auth;
    Result<HttpResponse> creds = http_->Send(creds_request);
    if (!creds.ok()) return creds.status().WithContext("instance metadata");
    if (creds->status != 200) {
      return UnavailableError("instance metadata: credentials for role " + role_name +
                              " answered HTTP " + std::to_string(creds->status));
    }
    return ParseCredentialsJson(creds->body, "instance-metadata");
  }
  std::string Name() const override { return "instance-metadata"; }

 private:
  Environment env_;
  HttpClient* http_;
};

class ChainProvider final : public CredentialsProvider {
 public:
  explicit ChainProvider(std::vector<std::unique_ptr<CredentialsProvider>> providers)
      : providers_(std::move(providers)) {}
  Result<Credentials> GetCredentials() override {
    std::string tried;
    for (auto& p : providers_) {
      Result<Credentials> c = p->GetCredentials();
      if (c.ok()) return c;
      if (c.status().code() != StatusCode::kNotFound) return c.status();
      tried += (tried.empty() ? "" : "; ") + c.status().message();
    }
    return NotFoundError("no AWS credentials found (" + tried + ")");
  }
  std::string Name() const override { return "chain"; }

 private:
  std::vector<std::unique_ptr<CredentialsProvider>> providers_;
};

class CachingProvider final : public CredentialsProvider {
 public:
  CachingProvider(std::unique_ptr<CredentialsProvider> inner, const Clock* clock, int64_t margin)
      : inner_(std::move(inner)), clock_(clock), margin_(margin) {}
  // One thread at a time asks `inner` (refresh_mu_); while it does, the others are answered
  // from the cache as long as the cached credentials are valid, so signing never waits on
  // STS for credentials that still work.
  Result<Credentials> GetCredentials() override {
    if (auto cached = Cached(/*until_expiry=*/false)) return *cached;
    std::unique_lock<std::mutex> refresh(refresh_mu_, std::try_to_lock);
    if (!refresh.owns_lock()) {
      if (auto cached = Cached(/*until_expiry=*/true)) return *cached;
      refresh.lock();
      if (auto cached = Cached(/*until_expiry=*/false)) return *cached;  // refreshed meanwhile
    }
    Result<Credentials> fresh = inner_->GetCredentials();
    std::lock_guard<std::mutex> lock(mu_);
    if (fresh.ok()) {
      cached_ = *fresh;
      return fresh;
    }
    // A failed refresh while the old credentials are still valid keeps them.
    if (cached_ && cached_->expiry_ms && clock_->NowMillis() < *cached_->expiry_ms) {
      return *cached_;
    }
    return fresh;
  }
  std::string Name() const override { return inner_->Name(); }

 private:
  // The cached credentials when they need no refresh yet (or, with `until_expiry`, when they
  // have not expired).
  std::optional<Credentials> Cached(bool until_expiry) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cached_) return std::nullopt;
    if (!cached_->expiry_ms) return cached_;
    const int64_t limit = *cached_->expiry_ms - (until_expiry ? 0 : margin_);
    if (clock_->NowMillis() < limit) return cached_;
    return std::nullopt;
  }

  std::unique_ptr<CredentialsProvider> inner_;
  const Clock* clock_;
  int64_t margin_;
  std::mutex refresh_mu_;  // held while `inner_` is asked
  std::mutex mu_;          // guards cached_
  std::optional<Credentials> cached_;
};

// The default chain owns the HTTP clients its sources use.
class DefaultChain final : public CredentialsProvider {
 public:
  DefaultChain(Environment env, const Clock* clock, CredentialsChainOptions options) {
    CurlHttpClientOptions metadata_options;
    metadata_options.connect_timeout_ms = 1000;
    metadata_options.total_timeout_ms = 2000;
    metadata_http_ = NewCurlHttpClient(metadata_options);
    CurlHttpClientOptions sts_options;
    sts_options.connect_timeout_ms = 3000;
    sts_options.total_timeout_ms = 10'000;
    RetryPolicy retry;
    retry.max_attempts = 3;
    sts_http_ = NewDefaultHttpClient(sts_options, retry);
    CredentialsServices services;
    services.http = sts_http_.get();
    services.metadata_http = metadata_http_.get();
    services.clock = clock;
    services.sts_endpoint = std::move(options.sts_endpoint);
    services.region = std::move(options.region);
    std::vector<std::unique_ptr<CredentialsProvider>> providers;
    if (!options.explicit_profile) providers.push_back(NewEnvironmentCredentialsProvider(env));
    providers.push_back(NewWebIdentityCredentialsProvider(env, services));
    providers.push_back(NewProfileCredentialsProvider(env, services));
    providers.push_back(NewContainerCredentialsProvider(env, metadata_http_.get()));
    providers.push_back(NewImdsCredentialsProvider(env, metadata_http_.get()));
    chain_ =
        NewCachingCredentialsProvider(NewChainCredentialsProvider(std::move(providers)), clock);
  }
  Result<Credentials> GetCredentials() override { return chain_->GetCredentials(); }
  std::string Name() const override { return "default-chain"; }

 private:
  std::unique_ptr<HttpClient> metadata_http_;
  std::unique_ptr<HttpClient> sts_http_;
  std::unique_ptr<CredentialsProvider> chain_;
};

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::string EnvOr(const Environment& env, const std::string& name, std::string fallback) {
  auto it = env.find(name);
  return it == env.end() || it->second.empty() ? fallback : it->second;
}

std::unique_ptr<CredentialsProvider> NewStaticCredentialsProvider(Credentials credentials) {
  if (credentials.source.empty()) credentials.source = "static";
  return std::make_unique<StaticProvider>(std::move(credentials));
}
std::unique_ptr<CredentialsProvider> NewEnvironmentCredentialsProvider(Environment env) {
  return std::make_unique<EnvProvider>(std::move(env));
}
std::unique_ptr<CredentialsProvider> NewProfileCredentialsProvider(Environment env,
                                                                   CredentialsServices services) {
  return std::make_unique<ProfileProvider>(std::move(env), std::move(services));
}
std::unique_ptr<CredentialsProvider> NewWebIdentityCredentialsProvider(
    Environment env, CredentialsServices services) {
  return std::make_unique<WebIdentityProvider>(std::move(env), std::move(services));
}
std::unique_ptr<CredentialsProvider> NewContainerCredentialsProvider(Environment env,
                                                                     HttpClient* http) {
  return std::make_unique<ContainerProvider>(std::move(env), http);
}
std::unique_ptr<CredentialsProvider> NewImdsCredentialsProvider(Environment env, HttpClient* http) {
  return std::make_unique<ImdsProvider>(std::move(env), http);
}
std::unique_ptr<CredentialsProvider> NewChainCredentialsProvider(
    std::vector<std::unique_ptr<CredentialsProvider>> providers) {
  return std::make_unique<ChainProvider>(std::move(providers));
}
std::unique_ptr<CredentialsProvider> NewCachingCredentialsProvider(
    std::unique_ptr<CredentialsProvider> inner, const Clock* clock, int64_t refresh_margin_ms) {
  return std::make_unique<CachingProvider>(std::move(inner), clock, refresh_margin_ms);
}
std::unique_ptr<CredentialsProvider> NewDefaultCredentialsChain(Environment env, const Clock* clock,
                                                                CredentialsChainOptions options) {
  return std::make_unique<DefaultChain>(std::move(env), clock, std::move(options));
}

std::string CredentialsRegion(const Environment& env) {
  std::string region = EnvOr(env, "AWS_REGION", EnvOr(env, "AWS_DEFAULT_REGION"));
  if (region.empty()) region = ProfileConfigValue(env, "region");
  return region.empty() ? "us-east-1" : region;
}

std::string StsEndpointUrl(const Environment& env, const std::string& region) {
  std::string url;
  if (!IsTrue(EnvOr(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) {
    url = EnvOr(env, "AWS_ENDPOINT_URL_STS", EnvOr(env, "AWS_ENDPOINT_URL"));
  }
  if (url.empty())
    url = "https://sts." + (region.empty() ? "us-east-1" : region) + ".amazonaws.com";
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::map<std::string, std::string> ProfileValues(const Environment& env,
                                                 const std::string& profile) {
  std::map<std::string, std::string> values;
  // The config file first, so the credentials file wins for keys in both.
  if (auto text = ReadWholeFile(EnvOr(env, "AWS_CONFIG_FILE", HomePath(env, ".aws/config")))) {
    IniFile ini = ParseIni(*text);
    auto it = ini.find(profile == "default" ? "default" : "profile " + profile);
    if (it == ini.end() && profile == "default") it = ini.find("profile default");
    if (it != ini.end()) values = it->second;
  }
  if (auto text = ReadWholeFile(
          EnvOr(env, "AWS_SHARED_CREDENTIALS_FILE", HomePath(env, ".aws/credentials")))) {
    IniFile ini = ParseIni(*text);
    if (auto it = ini.find(profile); it != ini.end()) {
      for (const auto& [k, v] : it->second) values[k] = v;
    }
  }
  return values;
}

Result<Credentials> ParseCredentialProcessJson(std::string_view json, const std::string& source) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (!doc.is_object()) {
    return UnavailableError(source + ": credential_process printed no JSON object");
  }
  auto version = doc.find("Version");
  if (version == doc.end() || !version->is_number_integer() || version->get<int>() != 1) {
    return UnavailableError(source + ": credential_process output needs \"Version\": 1");
  }
  // The same fields as a container's answer, but SessionToken for Token.
  if (auto token = doc.find("SessionToken"); token != doc.end()) {
    nlohmann::json value = *token;
    doc["Token"] = std::move(value);
  }
  return ParseCredentialsJson(doc.dump(), source);
}

Result<Credentials> RunCredentialProcess(const std::string& command, const std::string& source,
                                         int timeout_ms) {
  const std::string name = command.substr(0, command.find(' '));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return UnavailableError(source + ": cannot start credential_process " + name);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout stops the command and whatever it started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    return UnavailableError(source + ": cannot start credential_process " + name);
  }
  std::string out;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline is checked above
    char buffer[4096];
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < (1u << 20)) out.append(buffer, static_cast<size_t>(n));  // a few KB is sane
  }
  ::close(fds[0]);
  // A command may close its stdout and go on running: its exit is waited for until the same
  // deadline.
  int status = 0;
  while (!timed_out) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
    } else if (done == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (timed_out) {
    return UnavailableError(source + ": credential_process " + name + " printed no answer within " +
                            std::to_string(timeout_ms / 1000) + " s and was stopped");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = WIFSIGNALED(status)
                                ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                : "exited with status " + std::to_string(WEXITSTATUS(status));
    return UnavailableError(source + ": credential_process " + name + " " + how);
  }
  return ParseCredentialProcessJson(out, source);
}

std::string SsoCacheFile(const std::string& cache_dir, const std::string& session_or_start_url) {
  return cache_dir + "/" + HexEncode(Sha1(session_or_start_url)) + ".json";
}

IniFile ParseIni(std::string_view text) {
  IniFile out;
  std::string section;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line = Trim(text.substr(start, end - start));
    start = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    out[section][Trim(std::string_view(line).substr(0, eq))] =
        Trim(std::string_view(line).substr(eq + 1));
  }
  return out;
}

std::string ActiveProfile(const Environment& env) {
  return EnvOr(env, "AWS_PROFILE", EnvOr(env, "AWS_DEFAULT_PROFILE", "default"));
}

std::string ProfileConfigValue(const Environment& env, const std::string& key) {
  std::string path = EnvOr(env, "AWS_CONFIG_FILE", HomePath(env, ".aws/config"));
  auto text = ReadWholeFile(path);
  if (!text) return "";
  IniFile ini = ParseIni(*text);
  std::string profile = ActiveProfile(env);
  auto it = ini.find(profile == "default" ? "default" : "profile " + profile);
  if (it == ini.end()) return "";
  auto v = it->second.find(key);
  return v == it->second.end() ? "" : v->second;
}

Result<Credentials> ParseCredentialsJson(std::string_view json, const std::string& source) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (!doc.is_object()) return UnavailableError(source + ": credentials answer is not JSON");
  auto str = [&](const char* key) -> std::string {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Credentials c;
  c.access_key_id = str("AccessKeyId");
  c.secret_access_key = str("SecretAccessKey");
  c.session_token = str("Token");
  c.source = source;
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return UnavailableError(source + ": credentials answer lacks AccessKeyId/SecretAccessKey");
  }
  std::string expiration = str("Expiration");
  if (!expiration.empty()) {
    ASSIGN_OR_RETURN(int64_t ms, ParseIso8601Millis(expiration));
    c.expiry_ms = ms;
  }
  return c;
}

}  // namespace thumbflow::aws
