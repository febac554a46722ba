// Where the AWS clients connect and how: region, S3 and SQS endpoints, addressing style.
//
// Each value is taken from the first source that has it:
//   region:        [aws] region > AWS_REGION > AWS_DEFAULT_REGION > region of the profile
//                  in the shared config file > "us-east-1"
//   S3 endpoint:   --endpoint flag > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL >
//                  [aws] s3_endpoint_url > [aws] endpoint_url > https://s3.<region>.amazonaws.com
//   SQS endpoint:  AWS_ENDPOINT_URL_SQS > AWS_ENDPOINT_URL > [aws] sqs_endpoint_url >
//                  [aws] endpoint_url > https://sqs.<region>.amazonaws.com
//   STS endpoint:  AWS_ENDPOINT_URL_STS > AWS_ENDPOINT_URL > [aws] endpoint_url >
//                  https://sts.<region>.amazonaws.com (the credentials chain's role calls)
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores the environment and config endpoints (the
// flag still counts), as the SDKs do. The thumbflow config region is explicit and so wins over
// the environment; endpoints from the environment win over the config file so that a test
// or a container can redirect a configured deployment.
// Path-style S3 addressing (http://host/bucket/key) is used when [aws] s3_path_style says
// so, else whenever a custom S3 endpoint is set (S3-compatible stores rarely have wildcard
// DNS); virtual-hosted style (http://bucket.host/key) for AWS itself.
#pragma once

#include <string>

#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/s3_store.h"
#include "config/aws_config.h"
#include "core/result.h"

namespace thumbflow::aws {

struct AwsSettings {
  std::string region;
  std::string s3_endpoint;   // "https://s3.us-east-1.amazonaws.com", no trailing '/'
  std::string sqs_endpoint;  // "https://sqs.us-east-1.amazonaws.com", no trailing '/'
  bool s3_custom_endpoint = false;
  bool sqs_custom_endpoint = false;  // false: sqs_endpoint is AWS's default for the region
  std::string sts_endpoint;          // "https://sts.us-east-1.amazonaws.com", no trailing '/'
  bool s3_path_style = false;
  int connect_timeout_ms = 3'000;
  int request_timeout_ms = 60'000;
  int max_attempts = 4;
  bool explicit_profile = false;  // [aws] profile (or --profile) was given
};

// `endpoint_flag` is the command line's --endpoint (empty when not given); it applies to S3.
// InvalidArgument (naming the variable or field) for a URL without http:// or https://.
Result<AwsSettings> ResolveAwsSettings(const AwsConfig& config, const Environment& env,
                                       const std::string& endpoint_flag = {});

// The retrying HTTP client the settings describe (connect and request timeouts, attempts).
// `min_total_timeout_ms` raises the request timeout for callers whose requests wait on
// purpose (an SQS long poll holds a request open for up to 20 s).
// `metrics`, when given, counts every call (NewRetryingHttpClient) and must outlive it.
std::shared_ptr<HttpClient> NewHttpClientForSettings(const AwsSettings& settings,
                                                     int min_total_timeout_ms = 0,
                                                     MetricsRegistry* metrics = nullptr);

// What the credentials chain needs from the settings: STS endpoint and region.
CredentialsChainOptions CredentialsOptionsForSettings(const AwsSettings& settings);

// The S3 store options the settings describe (endpoint, region, addressing style).
S3StoreOptions S3StoreOptionsForSettings(const AwsSettings& settings);

// The environment the credentials chain should see: `env` with AWS_PROFILE set from
// [aws] profile when that is given.
Environment EnvironmentForConfig(const AwsConfig& config, Environment env);

}  // namespace thumbflow::aws
