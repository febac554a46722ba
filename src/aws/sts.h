// AWS STS, the two calls the credentials chain needs (query protocol, version 2011-06-15):
//   AssumeRole                 signed (SigV4, service "sts") with the source credentials;
//   AssumeRoleWithWebIdentity  unsigned: the web identity token is the proof.
// Both POST a form to the endpoint and read Credentials (AccessKeyId, SecretAccessKey,
// SessionToken, Expiration) from the XML answer. Failures are mapped by aws::MapAwsFailure
// (an STS error names its code: AccessDenied, InvalidIdentityToken, ExpiredTokenException...).
// Thread-safe: the functions keep no state.
#pragma once

#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/http_client.h"
#include "core/clock.h"
#include "core/result.h"

namespace thumbflow::aws {

struct StsEndpoint {
  std::string url;     // "https://sts.us-east-1.amazonaws.com" or "http://127.0.0.1:5000"
  std::string region;  // the SigV4 region of AssumeRole
};

struct AssumeRoleParams {
  std::string role_arn;
  std::string session_name;  // 2-64 characters of [\w+=,.@-]
  std::string external_id;   // AssumeRole only; empty: not sent
  int duration_s = 0;        // 0: STS's default (1 h)
};

// `source` signs the call; `clock` gives the signing time. `label` names the credential
// source in errors and becomes Credentials::source.
Result<Credentials> StsAssumeRole(HttpClient& http, const StsEndpoint& endpoint,
                                  const Credentials& source, const AssumeRoleParams& params,
                                  const Clock& clock, const std::string& label);

Result<Credentials> StsAssumeRoleWithWebIdentity(HttpClient& http, const StsEndpoint& endpoint,
                                                 const AssumeRoleParams& params,
                                                 const std::string& web_identity_token,
                                                 const std::string& label);

// The Credentials element of an AssumeRole* answer; Unavailable when it lacks a key.
Result<Credentials> ParseStsCredentialsXml(std::string_view xml, const std::string& label);

}  // namespace thumbflow::aws
