// The S3 endpoint's authentication and authorization: a SigV4 or SigV2 signature
// (Authorization header or presigned URL) checked against the endpoint's users' key pairs,
// or an anonymous GET / HEAD of an object under a public-read prefix; then the bucket's
// owner. Runs before anything is read or stored.
//
// Thread-safety: Authenticate may be called from any thread concurrently.
#pragma once

#include <optional>

#include "aws/sigv4.h"
#include "core/clock.h"
#include "server/s3_handler.h"
#include "server/s3_protocol.h"
#include "server/s3_request.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

class S3Authenticator {
 public:
  // Both must outlive the authenticator.
  S3Authenticator(const S3HandlerOptions& options, const Clock& clock)
      : options_(options), clock_(clock) {}

  // Sets r.auth and r.user for a verified signature; returns the error to answer when the request
  // is neither validly signed nor an allowed anonymous read. `received` is the head as it came
  // (r.head may hold hoisted presigned parameters, which are not signed as headers).
  std::optional<S3Error> Authenticate(S3Request& r, const HttpRequestHead& received);
  // The endpoint's secrets by access key id (PostObject checks its form's policy with them).
  aws::SecretLookup Lookup() const;

 private:
  std::optional<S3Error> AuthenticateSigned(S3Request& r, const HttpRequestHead& received,
                                            bool sigv2);
  Result<aws::VerifiedRequest> VerifySigV2(const S3Request& r, const HttpRequestHead& received,
                                           aws::ErrorDetails* details);
  Result<aws::VerifiedRequest> VerifySigV4(const S3Request& r, const HttpRequestHead& received,
                                           aws::ErrorDetails* details);
  std::optional<S3Error> AuthenticateAnonymous(const S3Request& r) const;

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

// The name of the user who owns `bucket`: its recorded owner, or the first user when none is
// recorded (the default bucket, buckets made before owners were kept).
const std::string& BucketOwner(const S3HandlerOptions& options, const BucketInfo& bucket);
// What CreateBucket records as the owner for `user`: empty for the first user.
std::string RecordedOwner(const S3HandlerOptions& options, const std::string& user);

// After authentication: a signed request to another user's bucket is 403 AccessDenied,
// unless it reads (GetObject / HeadObject) a key under a public-read prefix. Requests that
// name no bucket, CreateBucket (it answers BucketAlreadyExists itself), anonymous requests
// (AuthenticateAnonymous allowed them) and a missing bucket (the operation answers
// NoSuchBucket) pass. A store failure is answered as its S3 error.
std::optional<S3Error> AuthorizeRequest(const S3HandlerOptions& options,
                                        StreamingObjectStore& store, const S3Request& r);
// Whether `user` may read bucket/key (a copy source): its own bucket, or a key under a
// public-read prefix. A missing bucket passes (the read answers NoSuchBucket).
std::optional<S3Error> AuthorizeRead(const S3HandlerOptions& options, StreamingObjectStore& store,
                                     const std::string& user, const std::string& bucket,
                                     const std::string& key);

}  // namespace thumbflow::server
