#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "aws/aws_settings.h"
#include "aws/testing/scripted_http_client.h"

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

}  // namespace
}  // namespace thumbflow::aws
