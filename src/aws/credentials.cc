#include "aws/credentials.h"

#include "core/civil_time.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

extern char** environ;

namespace thumbflow::aws {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
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

class ProfileProvider final : public CredentialsProvider {
 public:
  explicit ProfileProvider(Environment env) : env_(std::move(env)) {}
  Result<Credentials> GetCredentials() override {
    std::string profile = ActiveProfile(env_);
    std::string credentials_path =
        EnvOr(env_, "AWS_SHARED_CREDENTIALS_FILE", HomePath(env_, ".aws/credentials"));
    std::string config_path = EnvOr(env_, "AWS_CONFIG_FILE", HomePath(env_, ".aws/config"));
    std::map<std::string, std::string> values;
    // The config file first, so the credentials file wins for keys in both.
    if (auto text = ReadWholeFile(config_path)) {
      IniFile ini = ParseIni(*text);
      std::string section = profile == "default" ? "default" : "profile " + profile;
      auto it = ini.find(section);
      if (it == ini.end() && profile == "default") it = ini.find("profile default");
      if (it != ini.end()) values = it->second;
    }
    if (auto text = ReadWholeFile(credentials_path)) {
      IniFile ini = ParseIni(*text);
      auto it = ini.find(profile);
      if (it != ini.end()) {
        for (const auto& [k, v] : it->second) values[k] = v;
      }
    }
    Credentials c;
    c.access_key_id = values["aws_access_key_id"];
    c.secret_access_key = values["aws_secret_access_key"];
    c.session_token = values["aws_session_token"];
    c.source = "profile " + profile;
    if (c.access_key_id.empty() && c.secret_access_key.empty()) {
      return NotFoundError("shared files: profile \"" + profile + "\" has no keys in " +
                           credentials_path + " or " + config_path);
    }
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return InvalidArgumentError("shared files: profile \"" + profile +
                                  "\" needs both aws_access_key_id and aws_secret_access_key");
    }
    return c;
  }
  std::string Name() const override { return "shared-files"; }

 private:
  Environment env_;
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
  Result<Credentials> GetCredentials() override {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->NowMillis();
    if (cached_ && (!cached_->expiry_ms || now < *cached_->expiry_ms - margin_)) return *cached_;
    Result<Credentials> fresh = inner_->GetCredentials();
    if (fresh.ok()) {
      cached_ = *fresh;
      return fresh;
    }
    if (cached_ && cached_->expiry_ms && now < *cached_->expiry_ms) return *cached_;
    return fresh;
  }
  std::string Name() const override { return inner_->Name(); }

 private:
  std::unique_ptr<CredentialsProvider> inner_;
  const Clock* clock_;
  int64_t margin_;
  std::mutex mu_;
  std::optional<Credentials> cached_;
};

// The default chain owns the HTTP client its container and IMDS sources use.
class DefaultChain final : public CredentialsProvider {
 public:
  DefaultChain(Environment env, const Clock* clock) {
    CurlHttpClientOptions options;
    options.connect_timeout_ms = 1000;
    options.total_timeout_ms = 2000;
    http_ = NewCurlHttpClient(options);
    std::vector<std::unique_ptr<CredentialsProvider>> providers;
    providers.push_back(NewEnvironmentCredentialsProvider(env));
    providers.push_back(NewProfileCredentialsProvider(env));
    providers.push_back(NewContainerCredentialsProvider(env, http_.get()));
    providers.push_back(NewImdsCredentialsProvider(env, http_.get()));
    chain_ =
        NewCachingCredentialsProvider(NewChainCredentialsProvider(std::move(providers)), clock);
  }
  Result<Credentials> GetCredentials() override { return chain_->GetCredentials(); }
  std::string Name() const override { return "default-chain"; }

 private:
  std::unique_ptr<HttpClient> http_;
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
std::unique_ptr<CredentialsProvider> NewProfileCredentialsProvider(Environment env) {
  return std::make_unique<ProfileProvider>(std::move(env));
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
std::unique_ptr<CredentialsProvider> NewDefaultCredentialsChain(Environment env,
                                                                const Clock* clock) {
  return std::make_unique<DefaultChain>(std::move(env), clock);
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

Result<int64_t> ParseRfc3339Ms(std::string_view text) {
  int year, month, day, hour, minute, second;
  char t;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &year, &month, &day, &t, &hour, &minute,
                  &second) != 7 ||
      (t != 'T' && t != 't' && t != ' ') || month < 1 || month > 12 || day < 1 || day > 31 ||
      hour > 23 || minute > 59 || second > 60) {
    return InvalidArgumentError("malformed timestamp \"" + s + "\"");
  }
  int64_t ms = UtcMillis(year, month, day, hour, minute, second);
  // Offset: "Z", "+hh:mm" or "-hh:mm" after optional fractions.
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
  }
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &oh, &om) == 2) {
      int64_t offset = (oh * 60 + om) * 60'000LL;
      ms += s[pos] == '+' ? -offset : offset;
    }
  }
  return ms;
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
    ASSIGN_OR_RETURN(int64_t ms, ParseRfc3339Ms(expiration));
    c.expiry_ms = ms;
  }
  return c;
}

}  // namespace thumbflow::aws
