#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "aws/aws_settings.h"
#include "aws/checksums.h"
#include "aws/sts.h"
#include "aws/testing/scripted_http_client.h"
#include "core/strings.h"
#include "core/testing/temp_dir.h"
#include "core/uri.h"

namespace thumbflow::aws {
namespace {

using testing::ScriptedHttpClient;

std::string TempFile(const std::string& text) {
  char name[] = "/tmp/tf-aws-credsXXXXXX";
  int fd = mkstemp(name);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

class CountingProvider : public CredentialsProvider {
 public:
  Credentials next;
  Status failure;
  int calls = 0;
  Result<Credentials> GetCredentials() override {
    ++calls;
    if (!failure.ok()) return failure;
    return next;
  }
  std::string Name() const override { return "counting"; }
};

TEST(Credentials, EnvironmentFirst) {
  auto p = NewEnvironmentCredentialsProvider(
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "T"}});
  auto c = p->GetCredentials();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AK");
  EXPECT_EQ(c->session_token, "T");
  EXPECT_EQ(NewEnvironmentCredentialsProvider({})->GetCredentials().status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(NewEnvironmentCredentialsProvider({{"AWS_ACCESS_KEY_ID", "AK"}})
                ->GetCredentials()
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(Credentials, SharedFilesWithProfile) {
  std::string creds = TempFile(
      "[default]\naws_access_key_id = DEF\naws_secret_access_key = DEFS\n"
      "# comment\n[dev]\naws_access_key_id=DEV\naws_secret_access_key=DEVS\n");
  std::string config = TempFile(
      "[profile dev]\nregion = eu-west-3\naws_session_token = TOK\n[profile cfg]\n"
      "aws_access_key_id = CFG\naws_secret_access_key = CFGS\n");
  Environment env = {{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config}};
  EXPECT_EQ(NewProfileCredentialsProvider(env)->GetCredentials()->access_key_id, "DEF");
  env["AWS_PROFILE"] = "dev";
  auto dev = NewProfileCredentialsProvider(env)->GetCredentials();
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->access_key_id, "DEV");
  EXPECT_EQ(dev->session_token, "TOK");
  EXPECT_EQ(ProfileConfigValue(env, "region"), "eu-west-3");
  env["AWS_PROFILE"] = "cfg";
  EXPECT_EQ(NewProfileCredentialsProvider(env)->GetCredentials()->access_key_id, "CFG");
  env["AWS_PROFILE"] = "none";
  EXPECT_EQ(NewProfileCredentialsProvider(env)->GetCredentials().status().code(),
            StatusCode::kNotFound);
  std::remove(creds.c_str());
  std::remove(config.c_str());
}

TEST(Credentials, ContainerRelativeAndFullUri) {
  ScriptedHttpClient http;
  http.respond = [](const HttpRequest&) {
    HttpResponse r;
    r.status = 200;
    r.body = R"({"AccessKeyId":"CK","SecretAccessKey":"CS","Token":"CT",)"
             R"("Expiration":"2030-01-01T00:00:00Z"})";
    return r;
  };
  auto relative = NewContainerCredentialsProvider(
      {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds"}}, &http);
  auto c = relative->GetCredentials();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(http.requests().back().url, "http://169.254.170.2/v2/creds");  // fake: nothing is sent
  EXPECT_EQ(c->session_token, "CT");
  EXPECT_EQ(c->expiry_ms, 1'893'456'000'000);
  auto full = NewContainerCredentialsProvider(
      {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds"},
       {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token"}},
      &http);
  ASSERT_TRUE(full->GetCredentials().ok());
  EXPECT_EQ(http.requests().back().url, "http://127.0.0.1:9/creds");
  EXPECT_EQ(*FindHeader(http.requests().back().headers, "authorization"), "secret-token");
  EXPECT_EQ(NewContainerCredentialsProvider({}, &http)->GetCredentials().status().code(),
            StatusCode::kNotFound);
}

TEST(Credentials, ImdsV2TokenThenRoleThenCredentials) {
  ScriptedHttpClient http;
  http.respond = [](const HttpRequest& request) {
    HttpResponse r;
    r.status = 200;
    if (request.url.ends_with("/latest/api/token")) {
      r.body = "TOKEN";
    } else if (request.url.ends_with("/security-credentials/")) {
      r.body = "my-role\n";
    } else {
      r.body = R"({"AccessKeyId":"IK","SecretAccessKey":"IS","Token":"IT",)"
               R"("Expiration":"2030-01-01T00:00:00Z"})";
    }
    return r;
  };
  // A fake endpoint: the tests never send traffic to 169.254.x.x.
  Environment env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}};
  auto c = NewImdsCredentialsProvider(env, &http)->GetCredentials();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "IK");
  ASSERT_EQ(http.requests().size(), 3u);
  EXPECT_EQ(http.request(0).method, "PUT");
  EXPECT_EQ(*FindHeader(http.request(2).headers, "x-aws-ec2-metadata-token"), "TOKEN");
  EXPECT_EQ(http.request(2).url,
            "http://127.0.0.1:1/latest/meta-data/iam/security-credentials/my-role");
  env["AWS_EC2_METADATA_DISABLED"] = "true";
  EXPECT_EQ(NewImdsCredentialsProvider(env, &http)->GetCredentials().status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(http.requests().size(), 3u);
}

TEST(Credentials, ChainOrderSkipsNotFoundAndStopsOnErrors) {
  std::vector<std::unique_ptr<CredentialsProvider>> providers;
  providers.push_back(NewEnvironmentCredentialsProvider({}));
  providers.push_back(NewStaticCredentialsProvider({"S", "SS", "", std::nullopt, ""}));
  providers.push_back(NewStaticCredentialsProvider({"LATER", "X", "", std::nullopt, ""}));
  EXPECT_EQ(NewChainCredentialsProvider(std::move(providers))->GetCredentials()->access_key_id,
            "S");
  std::vector<std::unique_ptr<CredentialsProvider>> broken;
  broken.push_back(NewEnvironmentCredentialsProvider({{"AWS_ACCESS_KEY_ID", "only-id"}}));
  broken.push_back(NewStaticCredentialsProvider({"S", "SS", "", std::nullopt, ""}));
  EXPECT_EQ(NewChainCredentialsProvider(std::move(broken))->GetCredentials().status().code(),
            StatusCode::kInvalidArgument);
  std::vector<std::unique_ptr<CredentialsProvider>> none;
  none.push_back(NewEnvironmentCredentialsProvider({}));
  none.push_back(NewImdsCredentialsProvider({{"AWS_EC2_METADATA_DISABLED", "true"}}, nullptr));
  EXPECT_EQ(NewChainCredentialsProvider(std::move(none))->GetCredentials().status().code(),
            StatusCode::kNotFound);
}

TEST(Credentials, CachingRefreshesBeforeExpiry) {
  ManualClock clock(1'000'000);
  auto inner = std::make_unique<CountingProvider>();
  CountingProvider* raw = inner.get();
  raw->next = {"A", "B", "T1", 1'000'000 + 600'000, "test"};
  auto cached = NewCachingCredentialsProvider(std::move(inner), &clock, 300'000);
  EXPECT_EQ(cached->GetCredentials()->session_token, "T1");
  EXPECT_EQ(cached->GetCredentials()->session_token, "T1");
  EXPECT_EQ(raw->calls, 1);
  raw->next.session_token = "T2";
  raw->next.expiry_ms = 1'000'000 + 2'000'000;
  clock.AdvanceMillis(299'000);
  EXPECT_EQ(cached->GetCredentials()->session_token, "T1");
  clock.AdvanceMillis(2'000);  // inside the refresh margin
  EXPECT_EQ(cached->GetCredentials()->session_token, "T2");
  EXPECT_EQ(raw->calls, 2);
  // A failed refresh keeps still-valid credentials.
  raw->failure = UnavailableError("down");
  clock.AdvanceMillis(1'500'000);
  EXPECT_EQ(cached->GetCredentials()->session_token, "T2");
  clock.AdvanceMillis(1'000'000);
  EXPECT_FALSE(cached->GetCredentials().ok());
}

TEST(Settings, ResolutionOrder) {
  AwsConfig config;
  auto s = ResolveAwsSettings(config, {{"AWS_CONFIG_FILE", "/dev/null"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->region, "us-east-1");
  EXPECT_EQ(s->s3_endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(s->s3_path_style);

  Environment env = {{"AWS_REGION", "eu-west-1"},
                     {"AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"},
                     {"AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:6000"}};
  s = ResolveAwsSettings(config, env);
  EXPECT_EQ(s->region, "eu-west-1");
  EXPECT_EQ(s->s3_endpoint, "http://127.0.0.1:5000");
  EXPECT_EQ(s->sqs_endpoint, "http://127.0.0.1:6000");
  EXPECT_TRUE(s->s3_path_style);
  s = ResolveAwsSettings(config, env, "http://flag:1");
  EXPECT_EQ(s->s3_endpoint, "http://flag:1");

  config.region = "ap-south-1";
  config.s3_endpoint_url = "https://minio:9000";
  config.s3_path_style = false;
  s = ResolveAwsSettings(config, {});
  EXPECT_EQ(s->region, "ap-south-1");
  EXPECT_EQ(s->s3_endpoint, "https://minio:9000");
  EXPECT_FALSE(s->s3_path_style);
  EXPECT_EQ(s->sqs_endpoint, "https://sqs.ap-south-1.amazonaws.com");
  s = ResolveAwsSettings(config, {{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}});
  EXPECT_EQ(s->s3_endpoint, "https://s3.ap-south-1.amazonaws.com");
  EXPECT_FALSE(ResolveAwsSettings(config, {{"AWS_ENDPOINT_URL_S3", "ftp://x"}}).ok());
}

// ---- STS, web identity, roles, credential_process, SSO -----------------------------------

constexpr char kStsAnswer[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
    "<Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>RS</SecretAccessKey>"
    "<SessionToken>RT</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>"
    "</Credentials></AssumeRoleResult></AssumeRoleResponse>";

// Answers every STS call with kStsAnswer and records the form fields of each request.
struct FakeSts : ScriptedHttpClient {
  FakeSts() {
    respond = [](const HttpRequest&) -> Result<HttpResponse> {
      return testing::Reply(200, kStsAnswer);
    };
  }
  std::string Field(size_t i, const std::string& name) const {
    const std::string body = "&" + request(i).body + "&";
    const size_t at = body.find("&" + name + "=");
    if (at == std::string::npos) return "";
    const size_t start = at + name.size() + 2;
    return PercentDecode(std::string_view(body).substr(start, body.find('&', start) - start))
        .value();
  }
};

class CredentialSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"HOME", dir_.path()},
            {"AWS_CONFIG_FILE", dir_.path() + "/config"},
            {"AWS_SHARED_CREDENTIALS_FILE", dir_.path() + "/credentials"}};
  }
  void Write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(
        std::filesystem::path(dir_.path() + "/" + name).parent_path());
    std::ofstream(dir_.path() + "/" + name) << text;
  }
  CredentialsServices Services() {
    CredentialsServices services;
    services.http = &sts_;
    services.metadata_http = &sts_;
    services.clock = &clock_;
    services.sts_endpoint = "http://sts.test:1";
    services.region = "eu-west-1";
    return services;
  }
  Result<Credentials> Profile(const std::string& name) {
    Environment env = env_;
    env["AWS_PROFILE"] = name;
    return NewProfileCredentialsProvider(env, Services())->GetCredentials();
  }

  thumbflow::testing::TempDir dir_{"tf-creds-"};
  Environment env_;
  FakeSts sts_;
  ManualClock clock_{1'700'000'000'000};  // 2023-11-14T22:13:20Z
};

TEST(StsTest, ParsesTheCredentialsOfAnAnswer) {
  auto c = ParseStsCredentialsXml(kStsAnswer, "label");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAROLE");
  EXPECT_EQ(c->secret_access_key, "RS");
  EXPECT_EQ(c->session_token, "RT");
  EXPECT_EQ(c->expiry_ms, 1'893'456'000'000);
  EXPECT_EQ(c->source, "label");
  EXPECT_FALSE(ParseStsCredentialsXml("<x/>", "l").ok());
  EXPECT_FALSE(ParseStsCredentialsXml("not xml", "l").ok());
}

TEST(StsTest, StsErrorsAreMappedWithTheirCode) {
  ScriptedHttpClient http;
  http.answers.push_back(testing::Reply(
      403,
      "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not "
      "allowed</Message></Error></ErrorResponse>",
      {{"Content-Type", "text/xml"}}));
  ManualClock clock(1'700'000'000'000);
  AssumeRoleParams params{"arn:aws:iam::123456789012:role/r", "s1", "", 0};
  auto c = StsAssumeRole(http, {"http://sts.test:1", "us-east-1"}, {"AK", "SK", "", {}, ""}, params,
                         clock, "profile p");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kPermissionDenied) << c.status().ToString();
  EXPECT_NE(c.status().message().find("not allowed"), std::string::npos);
  EXPECT_NE(c.status().message().find("profile p"), std::string::npos);
}

TEST_F(CredentialSourcesTest, WebIdentityFromTheEnvironmentIsUnsigned) {
  Write("token", "eyJ.token.value\n");
  Environment env = env_;
  env["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir_.path() + "/token";
  env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/irsa";
  env["AWS_ROLE_SESSION_NAME"] = "pod-1";
  auto c = NewWebIdentityCredentialsProvider(env, Services())->GetCredentials();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAROLE");
  EXPECT_EQ(c->expiry_ms, 1'893'456'000'000);
  ASSERT_EQ(sts_.calls(), 1);
  EXPECT_EQ(sts_.request(0).url, "http://sts.test:1/");
  EXPECT_EQ(sts_.request(0).method, "POST");
  EXPECT_EQ(FindHeader(sts_.request(0).headers, "Authorization"), nullptr);
  EXPECT_EQ(sts_.Field(0, "Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(sts_.Field(0, "RoleArn"), "arn:aws:iam::123456789012:role/irsa");
  EXPECT_EQ(sts_.Field(0, "RoleSessionName"), "pod-1");
  EXPECT_EQ(sts_.Field(0, "WebIdentityToken"), "eyJ.token.value");

  EXPECT_EQ(NewWebIdentityCredentialsProvider(env_, Services())->GetCredentials().status().code(),
            StatusCode::kNotFound);
  env.erase("AWS_ROLE_ARN");
  EXPECT_EQ(NewWebIdentityCredentialsProvider(env, Services())->GetCredentials().status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CredentialSourcesTest, RoleWithSourceProfileIsSignedWithTheSourceKeys) {
  Write("credentials", "[base]\naws_access_key_id = AKBASE\naws_secret_access_key = SKBASE\n");
  Write("config",
        "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\n"
        "role_session_name = app-session\nexternal_id = ext-1\nduration_seconds = 1800\n"
        "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/second\n"
        "source_profile = app\n"
        "[profile self]\nrole_arn = arn:aws:iam::123456789012:role/self\nsource_profile = self\n"
        "aws_access_key_id = AKSELF\naws_secret_access_key = SKSELF\n"
        "[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
        "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n"
        "[profile orphan]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = nowhere\n"
        "[profile bare]\nrole_arn = arn:aws:iam::1:role/a\n"
        "[profile mfa]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = base\n"
        "mfa_serial = arn:aws:iam::1:mfa/u\n");
  auto c = Profile("app");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAROLE");
  ASSERT_EQ(sts_.calls(), 1);
  EXPECT_EQ(sts_.Field(0, "Action"), "AssumeRole");
  EXPECT_EQ(sts_.Field(0, "RoleArn"), "arn:aws:iam::123456789012:role/app");
  EXPECT_EQ(sts_.Field(0, "RoleSessionName"), "app-session");
  EXPECT_EQ(sts_.Field(0, "ExternalId"), "ext-1");
  EXPECT_EQ(sts_.Field(0, "DurationSeconds"), "1800");
  const std::string* auth = FindHeader(sts_.request(0).headers, "Authorization");
  ASSERT_NE(auth, nullptr);
  EXPECT_NE(auth->find("Credential=AKBASE/20231114/eu-west-1/sts/aws4_request"), std::string::npos)
      << *auth;

  // A role whose source is itself a role: two calls, the second signed with the first's.
  sts_.ClearRequests();
  ASSERT_TRUE(Profile("chained").ok());
  ASSERT_EQ(sts_.calls(), 2);
  EXPECT_EQ(sts_.Field(0, "RoleArn"), "arn:aws:iam::123456789012:role/app");
  EXPECT_EQ(sts_.Field(1, "RoleArn"), "arn:aws:iam::123456789012:role/second");
  EXPECT_NE(FindHeader(sts_.request(1).headers, "Authorization")->find("Credential=ASIAROLE/"),
            std::string::npos);
  EXPECT_EQ(*FindHeader(sts_.request(1).headers, "X-Amz-Security-Token"), "RT");

  sts_.ClearRequests();
  ASSERT_TRUE(Profile("self").ok());
  EXPECT_NE(FindHeader(sts_.request(0).headers, "Authorization")->find("Credential=AKSELF/"),
            std::string::npos);

  for (const char* broken : {"loop1", "orphan", "bare", "mfa"}) {
    auto r = Profile(broken);
    ASSERT_FALSE(r.ok()) << broken;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  EXPECT_NE(Profile("loop1").status().message().find("cycle"), std::string::npos);
}

TEST_F(CredentialSourcesTest, RoleWithCredentialSourceEnvironmentAndContainer) {
  Write("config",
        "[profile env]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
        "[profile ecs]\nrole_arn = arn:aws:iam::1:role/c\ncredential_source = EcsContainer\n"
        "[profile odd]\nrole_arn = arn:aws:iam::1:role/c\ncredential_source = Floppy\n");
  env_["AWS_ACCESS_KEY_ID"] = "AKENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "SKENV";
  ASSERT_TRUE(Profile("env").ok());
  EXPECT_NE(FindHeader(sts_.request(0).headers, "Authorization")->find("Credential=AKENV/"),
            std::string::npos);

  sts_.ClearRequests();
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:1/creds";
  sts_.respond = [](const HttpRequest& request) -> Result<HttpResponse> {
    if (request.url == "http://127.0.0.1:1/creds") {
      return testing::Reply(200, R"({"AccessKeyId":"AKECS","SecretAccessKey":"SKECS",)"
                                 R"("Token":"TECS","Expiration":"2030-01-01T00:00:00Z"})");
    }
    return testing::Reply(200, kStsAnswer);
  };
  auto c = Profile("ecs");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(sts_.calls(), 2);
  EXPECT_NE(FindHeader(sts_.request(1).headers, "Authorization")->find("Credential=AKECS/"),
            std::string::npos);
  EXPECT_EQ(Profile("odd").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CredentialSourcesTest, RoleWithWebIdentityTokenFileInTheProfile) {
  Write("token", "tok-from-profile");
  Write("config", "[profile wi]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = " +
                      dir_.path() + "/token\n");
  ASSERT_TRUE(Profile("wi").ok());
  EXPECT_EQ(sts_.Field(0, "Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(sts_.Field(0, "WebIdentityToken"), "tok-from-profile");
}

TEST_F(CredentialSourcesTest, CredentialProcessVersion1) {
  Write("ok.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKPROC\", \"SecretAccessKey\": "
        "\"SKPROC\", \"SessionToken\": \"TPROC\", \"Expiration\": \"2030-01-01T00:00:00Z\"}'\n");
  Write("fail.sh", "#!/bin/sh\necho 'nope' >&2\nexit 3\n");
  Write("v2.sh",
        "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'\n");
  Write("config", "[profile proc]\ncredential_process = sh " + dir_.path() +
                      "/ok.sh --secret-arg\n[profile failing]\ncredential_process = sh " +
                      dir_.path() + "/fail.sh\n[profile v2]\ncredential_process = sh " +
                      dir_.path() + "/v2.sh\n[profile both]\ncredential_process = sh " +
                      dir_.path() +
                      "/ok.sh\naws_access_key_id = AKSTATIC\n"
                      "aws_secret_access_key = SKSTATIC\n");
  auto c = Profile("proc");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKPROC");
  EXPECT_EQ(c->session_token, "TPROC");
  EXPECT_EQ(c->expiry_ms, 1'893'456'000'000);
  EXPECT_EQ(Profile("both")->access_key_id, "AKPROC");  // credential_process before keys
  auto failed = Profile("failing");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("exited with status 3"), std::string::npos)
      << failed.status().ToString();
  EXPECT_FALSE(Profile("v2").ok());
  EXPECT_EQ(sts_.calls(), 0);

  auto parsed =
      ParseCredentialProcessJson(R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"S"})", "p");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->expiry_ms.has_value());
  EXPECT_FALSE(ParseCredentialProcessJson(R"({"Version":1,"AccessKeyId":"A"})", "p").ok());
  EXPECT_FALSE(ParseCredentialProcessJson("[]", "p").ok());
}

TEST_F(CredentialSourcesTest, ANamedProfileWinsOverTheEnvironmentsKeys) {
  Write("credentials", "[dev]\naws_access_key_id = AKDEV\naws_secret_access_key = SKDEV\n");
  Environment env = env_;
  env["AWS_ACCESS_KEY_ID"] = "AKENV";
  env["AWS_SECRET_ACCESS_KEY"] = "SKENV";
  env["AWS_EC2_METADATA_DISABLED"] = "true";
  ManualClock clock(1'700'000'000'000);
  auto chain_key = [&](const AwsConfig& config) {
    auto settings = ResolveAwsSettings(config, env);
    EXPECT_TRUE(settings.ok());
    auto c = NewDefaultCredentialsChain(EnvironmentForConfig(config, env), &clock,
                                        CredentialsOptionsForSettings(*settings))
                 ->GetCredentials();
    return c.ok() ? c->access_key_id : c.status().ToString();
  };
  AwsConfig named;
  named.profile = "dev";  // --profile dev, or [aws] profile = "dev"
  EXPECT_EQ(chain_key(named), "AKDEV");
  EXPECT_EQ(chain_key(AwsConfig{}), "AKENV");  // no profile named: the environment first
  env["AWS_PROFILE"] = "dev";                  // as botocore: AWS_PROFILE does not displace them
  EXPECT_EQ(chain_key(AwsConfig{}), "AKENV");
}

TEST_F(CredentialSourcesTest, CredentialProcessThatHangsIsStopped) {
  // One hangs holding stdout; one closes stdout and keeps running; both with a child of
  // their own, which must be stopped with them (its process group).
  Write("hang.sh", "#!/bin/sh\nsleep 30 &\nsleep 30\n");
  Write("quiet.sh", "#!/bin/sh\nexec >&-\nsleep 30\n");
  for (const char* script : {"hang.sh", "quiet.sh"}) {
    const auto started = std::chrono::steady_clock::now();
    auto c = RunCredentialProcess("sh " + dir_.path() + "/" + script, "profile p", 300);
    ASSERT_FALSE(c.ok()) << script;
    EXPECT_NE(c.status().message().find("printed no answer within"), std::string::npos)
        << c.status().ToString();
    EXPECT_EQ(c.status().message().find(dir_.path()), std::string::npos)
        << "only the command's first word is named: " << c.status().ToString();
    // Not a timing assertion on speed: 30 s is the hung command's own length.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20)) << script;
  }
  auto ok = RunCredentialProcess(
      "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'", "p", 5000);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->access_key_id, "A");
}

TEST_F(CredentialSourcesTest, SsoReadsTheCachedTokenAndAsksThePortal) {
  Write("config",
        "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = Deployer\n[sso-session corp]\nsso_start_url = "
        "https://corp.awsapps.com/start\nsso_region = eu-central-1\n"
        "[profile legacy]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-2\n"
        "sso_account_id = 444455556666\nsso_role_name = Reader\n"
        "[profile partial]\nsso_session = corp\nsso_account_id = 1\n");
  // sha1("corp") and sha1 of the legacy start URL name the cache files.
  EXPECT_EQ(SsoCacheFile("/c", "corp"), "/c/" + HexEncode(Sha1("corp")) + ".json");
  Write(
      ".aws/sso/cache/" + HexEncode(Sha1("corp")) + ".json",
      R"({"accessToken":"sso-token","expiresAt":"2023-11-14T23:00:00Z","region":"eu-central-1"})");
  sts_.respond = [](const HttpRequest&) -> Result<HttpResponse> {
    return testing::Reply(200, R"({"roleCredentials":{"accessKeyId":"AKSSO",)"
                               R"("secretAccessKey":"SKSSO","sessionToken":"TSSO",)"
                               R"("expiration":1700003600000}})");
  };
  auto c = Profile("sso");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKSSO");
  EXPECT_EQ(c->session_token, "TSSO");
  EXPECT_EQ(c->expiry_ms, 1'700'003'600'000);
  ASSERT_EQ(sts_.calls(), 1);
  EXPECT_EQ(sts_.request(0).method, "GET");
  EXPECT_EQ(sts_.request(0).url,
            "https://portal.sso.eu-central-1.amazonaws.com/federation/credentials"
            "?account_id=111122223333&role_name=Deployer");
  EXPECT_EQ(*FindHeader(sts_.request(0).headers, "x-amz-sso_bearer_token"), "sso-token");

  // The endpoint override SDKs honour.
  env_["AWS_ENDPOINT_URL_SSO"] = "http://127.0.0.1:9/";
  ASSERT_TRUE(Profile("sso").ok());
  EXPECT_EQ(sts_.request(1).url.rfind("http://127.0.0.1:9/federation/credentials?", 0), 0u);

  // Legacy profile: the cache file is named by the start URL; none cached yet.
  auto legacy = Profile("legacy");
  ASSERT_FALSE(legacy.ok());
  EXPECT_EQ(legacy.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(legacy.status().message().find("aws sso login --profile legacy"), std::string::npos);
  Write(".aws/sso/cache/" + HexEncode(Sha1("https://old.awsapps.com/start")) + ".json",
        R"({"accessToken":"old","expiresAt":"2023-11-14T22:00:00Z"})");
  legacy = Profile("legacy");  // cached, but expired 13 minutes ago
  ASSERT_FALSE(legacy.ok());
  EXPECT_NE(legacy.status().message().find("expired"), std::string::npos);
  EXPECT_EQ(Profile("partial").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sts_.calls(), 2);
}

TEST_F(CredentialSourcesTest, ProfilesWithoutNetworkAccessSaySo) {
  Write("config",
        "[profile app]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = "
        "Environment\n");
  env_["AWS_ACCESS_KEY_ID"] = "A";
  env_["AWS_SECRET_ACCESS_KEY"] = "S";
  env_["AWS_PROFILE"] = "app";
  EXPECT_EQ(NewProfileCredentialsProvider(env_)->GetCredentials().status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(Credentials, StsEndpointAndRegionResolution) {
  EXPECT_EQ(StsEndpointUrl({}, "eu-west-1"), "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(StsEndpointUrl({{"AWS_ENDPOINT_URL", "http://a:1/"}}, "x"), "http://a:1");
  EXPECT_EQ(
      StsEndpointUrl({{"AWS_ENDPOINT_URL", "http://a:1"}, {"AWS_ENDPOINT_URL_STS", "http://sts:2"}},
                     "x"),
      "http://sts:2");
  EXPECT_EQ(StsEndpointUrl({{"AWS_ENDPOINT_URL_STS", "http://sts:2"},
                            {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}},
                           "ap-south-1"),
            "https://sts.ap-south-1.amazonaws.com");
  EXPECT_EQ(CredentialsRegion({{"AWS_CONFIG_FILE", "/dev/null"}}), "us-east-1");
  EXPECT_EQ(CredentialsRegion({{"AWS_DEFAULT_REGION", "eu-north-1"}}), "eu-north-1");
  AwsConfig config;
  config.endpoint_url = "http://cfg:3";
  auto s = ResolveAwsSettings(config, {{"AWS_CONFIG_FILE", "/dev/null"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sts_endpoint, "http://cfg:3");
  s = ResolveAwsSettings(config, {{"AWS_ENDPOINT_URL_STS", "http://env:4"}});
  EXPECT_EQ(CredentialsOptionsForSettings(*s).sts_endpoint, "http://env:4");
}

// The default chain's order: environment, web identity, profile, container, IMDS. Each source
// is present here; removing the first one present shows the next.
TEST(Credentials, DefaultChainOrder) {
  thumbflow::testing::TempDir dir("tf-chain-");
  std::ofstream(dir.path() + "/credentials")
      << "[default]\naws_access_key_id = AKPROFILE\naws_secret_access_key = SKPROFILE\n";
  std::ofstream(dir.path() + "/token") << "token";
  ManualClock clock(1'700'000'000'000);
  Environment env = {{"AWS_ACCESS_KEY_ID", "AKENV"},
                     {"AWS_SECRET_ACCESS_KEY", "SKENV"},
                     {"AWS_WEB_IDENTITY_TOKEN_FILE", dir.path() + "/token"},
                     {"AWS_ROLE_ARN", "arn:aws:iam::1:role/w"},
                     // Nothing listens there: reaching STS fails, which proves it was tried.
                     {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"},
                     {"AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/credentials"},
                     {"AWS_CONFIG_FILE", "/dev/null"},
                     {"AWS_EC2_METADATA_DISABLED", "true"}};
  auto c = NewDefaultCredentialsChain(env, &clock)->GetCredentials();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->source, "environment");
  env.erase("AWS_ACCESS_KEY_ID");
  env.erase("AWS_SECRET_ACCESS_KEY");
  c = NewDefaultCredentialsChain(env, &clock)->GetCredentials();
  ASSERT_FALSE(c.ok());  // web identity was next, and STS is unreachable
  EXPECT_NE(c.status().message().find("web identity"), std::string::npos) << c.status().ToString();
  env.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  env.erase("AWS_ROLE_ARN");
  c = NewDefaultCredentialsChain(env, &clock)->GetCredentials();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKPROFILE");
}

// Workers sign concurrently: while one thread refreshes, the others keep the valid ones.
TEST(Credentials, CachingIsSafeUnderConcurrentRefreshes) {
  ManualClock clock(1'000'000);
  std::atomic<int> calls{0};
  class Slow : public CredentialsProvider {
   public:
    Slow(std::atomic<int>* calls, ManualClock* clock) : calls_(calls), clock_(clock) {}
    Result<Credentials> GetCredentials() override {
      const int n = ++*calls_;
      std::this_thread::yield();
      return Credentials{"A", "S", "T" + std::to_string(n), clock_->NowMillis() + 600'000, "slow"};
    }
    std::string Name() const override { return "slow"; }

   private:
    std::atomic<int>* calls_;
    ManualClock* clock_;
  };
  auto cached =
      NewCachingCredentialsProvider(std::make_unique<Slow>(&calls, &clock), &clock, 300'000);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!cached->GetCredentials().ok()) ++failures;
      }
    });
  }
  for (int step = 0; step < 50; ++step) clock.AdvanceMillis(20'000);  // crosses the margin
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Each refresh is due once per 300 s of clock; 1,000 s passed: a handful, never per call.
  EXPECT_GE(calls.load(), 1);
  EXPECT_LE(calls.load(), 8);
}

}  // namespace
}  // namespace thumbflow::aws
