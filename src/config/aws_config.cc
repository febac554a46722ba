#include "config/aws_config.h"

namespace thumbflow {
namespace {

Status ReadUrl(FieldReader& r, const std::string& key, std::string* out) {
  RETURN_IF_ERROR(r.String(key, out));
  if (!out->empty() && out->rfind("http://", 0) != 0 && out->rfind("https://", 0) != 0) {
    return r.Error(key, "must be an http:// or https:// URL (got \"" + *out + "\")");
  }
  return Status::Ok();
}

}  // namespace

Status ParseAwsConfig(FieldReader& root, AwsConfig* out) {
  const toml::value* table = root.Table("aws");
  if (table == nullptr) return Status::Ok();
  FieldReader r(*table, "aws");
  RETURN_IF_ERROR(r.String("region", &out->region));
  RETURN_IF_ERROR(ReadUrl(r, "endpoint_url", &out->endpoint_url));
  RETURN_IF_ERROR(ReadUrl(r, "s3_endpoint_url", &out->s3_endpoint_url));
  RETURN_IF_ERROR(ReadUrl(r, "sqs_endpoint_url", &out->sqs_endpoint_url));
  if (r.Has("s3_path_style")) {
    bool path_style = true;
    RETURN_IF_ERROR(r.Bool("s3_path_style", &path_style));
    out->s3_path_style = path_style;
  }
  RETURN_IF_ERROR(r.String("profile", &out->profile));
  RETURN_IF_ERROR(r.Int("connect_timeout_ms", &out->connect_timeout_ms, 1, 600'000));
  RETURN_IF_ERROR(r.Int("request_timeout_ms", &out->request_timeout_ms, 0, 3'600'000));
  RETURN_IF_ERROR(r.Int("max_attempts", &out->max_attempts, 1, 20));
  return r.Finish();
}

}  // namespace thumbflow
