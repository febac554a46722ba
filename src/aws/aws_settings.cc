#include "aws/aws_settings.h"

#include <algorithm>

namespace thumbflow::aws {
namespace {

Status CheckUrl(const std::string& url, const std::string& origin) {
  if (url.empty() || url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    return Status::Ok();
  }
  return InvalidArgumentError(origin + ": \"" + url + "\" is not an http:// or https:// URL");
}

std::string StripSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

struct Candidate {
  std::string value;
  std::string origin;
};

Result<std::string> FirstUrl(const std::vector<Candidate>& candidates) {
  for (const Candidate& c : candidates) {
    if (c.value.empty()) continue;
    RETURN_IF_ERROR(CheckUrl(c.value, c.origin));
    return StripSlash(c.value);
  }
  return std::string();
}

}  // namespace

Result<AwsSettings> ResolveAwsSettings(const AwsConfig& config, const Environment& env,
                                       const std::string& endpoint_flag) {
  Environment effective = EnvironmentForConfig(config, env);
  AwsSettings s;
  s.region = config.region;
  if (s.region.empty()) s.region = EnvOr(effective, "AWS_REGION");
  if (s.region.empty()) s.region = EnvOr(effective, "AWS_DEFAULT_REGION");
  if (s.region.empty()) s.region = ProfileConfigValue(effective, "region");
  if (s.region.empty()) s.region = "us-east-1";

  std::string ignore = EnvOr(effective, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  bool configured = !(ignore == "true" || ignore == "1");
  auto when = [&](std::string v) { return configured ? v : std::string(); };
  ASSIGN_OR_RETURN(std::string s3,
                   FirstUrl({{endpoint_flag, "--endpoint"},
                             {when(EnvOr(effective, "AWS_ENDPOINT_URL_S3")), "AWS_ENDPOINT_URL_S3"},
                             {when(EnvOr(effective, "AWS_ENDPOINT_URL")), "AWS_ENDPOINT_URL"},
                             {when(config.s3_endpoint_url), "aws.s3_endpoint_url"},
                             {when(config.endpoint_url), "aws.endpoint_url"}}));
  ASSIGN_OR_RETURN(
      std::string sqs,
      FirstUrl({{when(EnvOr(effective, "AWS_ENDPOINT_URL_SQS")), "AWS_ENDPOINT_URL_SQS"},
                {when(EnvOr(effective, "AWS_ENDPOINT_URL")), "AWS_ENDPOINT_URL"},
                {when(config.sqs_endpoint_url), "aws.sqs_endpoint_url"},
                {when(config.endpoint_url), "aws.endpoint_url"}}));
  ASSIGN_OR_RETURN(
      std::string sts,
      FirstUrl({{when(EnvOr(effective, "AWS_ENDPOINT_URL_STS")), "AWS_ENDPOINT_URL_STS"},
                {when(EnvOr(effective, "AWS_ENDPOINT_URL")), "AWS_ENDPOINT_URL"},
                {when(config.endpoint_url), "aws.endpoint_url"}}));
  s.sts_endpoint = sts.empty() ? "https://sts." + s.region + ".amazonaws.com" : sts;
  s.s3_custom_endpoint = !s3.empty();
  s.sqs_custom_endpoint = !sqs.empty();
  s.s3_endpoint = s3.empty() ? "https://s3." + s.region + ".amazonaws.com" : s3;
  s.sqs_endpoint = sqs.empty() ? "https://sqs." + s.region + ".amazonaws.com" : sqs;
  s.s3_path_style = config.s3_path_style.value_or(s.s3_custom_endpoint);
  s.connect_timeout_ms = config.connect_timeout_ms;
  s.request_timeout_ms = config.request_timeout_ms;
  s.max_attempts = config.max_attempts;
  s.explicit_profile = !config.profile.empty();
  return s;
}

Environment EnvironmentForConfig(const AwsConfig& config, Environment env) {
  if (!config.profile.empty()) env["AWS_PROFILE"] = config.profile;
  return env;
}

std::shared_ptr<HttpClient> NewHttpClientForSettings(const AwsSettings& settings,
                                                     int min_total_timeout_ms,
                                                     MetricsRegistry* metrics) {
  CurlHttpClientOptions options;
  options.connect_timeout_ms = settings.connect_timeout_ms;
  options.total_timeout_ms = std::max(settings.request_timeout_ms, min_total_timeout_ms);
  RetryPolicy retry;
  retry.max_attempts = settings.max_attempts;
  return NewDefaultHttpClient(options, retry, metrics);
}

CredentialsChainOptions CredentialsOptionsForSettings(const AwsSettings& settings) {
  CredentialsChainOptions options;
  options.sts_endpoint = settings.sts_endpoint;
  options.region = settings.region;
  options.explicit_profile = settings.explicit_profile;
  return options;
}

S3StoreOptions S3StoreOptionsForSettings(const AwsSettings& settings) {
  S3StoreOptions options;
  options.endpoint = settings.s3_endpoint;
  options.region = settings.region;
  options.path_style = settings.s3_path_style;
  return options;
}

}  // namespace thumbflow::aws
