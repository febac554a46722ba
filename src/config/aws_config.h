// Config section [aws]: region, endpoints, addressing and HTTP behaviour for the S3 and SQS
// clients. Every field may be left out; the environment (AWS_REGION, AWS_ENDPOINT_URL, ...)
// and the shared AWS config file fill the gaps (aws/aws_settings.h resolves the order).
//
//   [aws]
//   region = "eu-west-1"
//   endpoint_url = "http://127.0.0.1:5000"   # every service
//   s3_endpoint_url = "https://minio:9000"   # overrides endpoint_url for S3
//   sqs_endpoint_url = "..."                 # overrides endpoint_url for SQS
//   s3_path_style = true                     # default: true when an S3 endpoint is set
//   profile = "dev"                          # AWS profile for credentials and region
//   connect_timeout_ms = 3000
//   request_timeout_ms = 60000
//   max_attempts = 4                         # tries per request, retries included
#pragma once

#include <optional>
#include <string>

#include "config/field_reader.h"

namespace thumbflow {

struct AwsConfig {
  std::string region;
  std::string endpoint_url;
  std::string s3_endpoint_url;
  std::string sqs_endpoint_url;
  std::optional<bool> s3_path_style;  // absent: path style when a custom endpoint is used
  std::string profile;
  int connect_timeout_ms = 3'000;
  int request_timeout_ms = 60'000;
  int max_attempts = 4;
};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
// Endpoint URLs must start with http:// or https://.
Status ParseAwsConfig(FieldReader& root, AwsConfig* out);

}  // namespace thumbflow
