// The S3 endpoint's one authentication step: a SigV4 or SigV2 signature (Authorization
// header or presigned URL) checked against the endpoint's one key pair, or an anonymous GET /
// HEAD of an object under a public-read prefix. Runs before anything is read or stored.
//
// Thread-safety: Authenticate may be called from any thread concurrently.
#pragma once

#include <optional>

#include "aws/sigv4.h"
#include "core/clock.h"
#include "server/s3_handler.h"
#include "server/s3_protocol.h"
#include "server/s3_request.h"

namespace thumbflow::server {

class S3Authenticator {
 public:
  // Both must outlive the authenticator.
  S3Authenticator(const S3HandlerOptions& options, const Clock& clock)
      : options_(options), clock_(clock) {}

  // Sets r.auth for a verified signature; returns the error to answer when the request is
  // neither validly signed nor an allowed anonymous read. `received` is the head as it came
  // (r.head may hold hoisted presigned parameters, which are not signed as headers).
  std::optional<S3Error> Authenticate(S3Request& r, const HttpRequestHead& received);

 private:
  std::optional<S3Error> AuthenticateSigned(S3Request& r, const HttpRequestHead& received,
                                            bool sigv2);
  Result<aws::VerifiedRequest> VerifySigV2(const S3Request& r, const HttpRequestHead& received,
                                           aws::ErrorDetails* details);
  Result<aws::VerifiedRequest> VerifySigV4(const S3Request& r, const HttpRequestHead& received,
                                           aws::ErrorDetails* details);
  std::optional<S3Error> AuthenticateAnonymous(const S3Request& r) const;
  aws::SecretLookup Lookup() const;

  const S3HandlerOptions& options_;
  const Clock& clock_;
  aws::SigningKeyCache signing_keys_;  // verification derives each day's key once
};

// S3 reads the x-amz-* parameters of a presigned URL as if they were headers: copies them
// into r.head (a header of the same name, if sent, wins). See s3_auth.cc.
void HoistPresignedAmzParameters(S3Request& r);

// Each entry is "bucket/key-prefix", or "bucket" for the whole bucket. The bucket must match
// exactly: "images" or "images/p" never make bucket "images-private" readable.
bool IsPublicRead(const std::vector<std::string>& prefixes, const std::string& bucket,
                  const std::string& key);

}  // namespace thumbflow::server
