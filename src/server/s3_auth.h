// The S3 endpoint's authentication and authorization: a SigV4 or SigV2 signature
// (Authorization header or presigned URL) checked against the endpoint's users' key pairs,
// or an anonymous (unsigned) request; then what the bucket's and the object's access control
// lists (server/s3_acl.h) and the public-read prefixes allow the requester. Runs before
// anything is read or stored.
//
// Thread-safety: Authenticate may be called from any thread concurrently.
#pragma once

#include <optional>

#include "aws/sigv4.h"
#include "core/clock.h"
#include "server/s3_acl.h"
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

  // Sets r.auth and r.user for a verified signature; returns the error to answer when the
  // request carries a signature (Authorization header, presigned query) that does not verify.
  // An unsigned request passes as anonymous (r.auth empty): AuthorizeRequest then lets it
  // through only where an AllUsers grant or a public-read prefix allows it. `received` is
  // the head as it came (r.head may hold hoisted presigned parameters, which are not signed
  // as headers).
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

// The endpoint's users (names and email addresses), to resolve ACL grantees.
AclUsers UsersOf(const S3HandlerOptions& options);

// After authentication, what the operation needs of the ACLs (the requester is r.user; empty:
// anonymous, which only AllUsers grants reach):
//   READ of the bucket: ListObjects(V2), ListObjectVersions, ListMultipartUploads, HeadBucket
//   WRITE of the bucket: PutObject, CopyObject (and READ of the source object, checked by the
//     operation with AuthorizeRead), DeleteObject(s), the multipart calls, PostObject (the
//     form's signer, or anonymous without a policy: AuthorizePostForm)
//   READ of the object: GetObject, HeadObject, GetObjectTagging
//   READ_ACP / WRITE_ACP of the bucket or the object: Get / Put Bucket / Object Acl; the
//     owner of the bucket (of the object) has them always
//   the bucket's owner only: everything else (DeleteBucket, CORS, bucket configuration,
//     object tag changes).
// FULL_CONTROL gives all four. A GET / HEAD of a key under a public-read prefix passes for
// anyone. 403 AccessDenied otherwise. Requests that name no bucket and CreateBucket pass when
// signed; an anonymous one is denied. A missing bucket passes a signed request (the operation
// answers NoSuchBucket); a missing object passes when the requester may list the bucket (the
// operation answers NoSuchKey), else AccessDenied, as S3 answers. Sets r.bucket_owner. A
// store failure is answered as its S3 error.
std::optional<S3Error> AuthorizeRequest(const S3HandlerOptions& options,
                                        StreamingObjectStore& store, S3Request& r);
// Whether `user` (empty: anonymous) may read bucket/key (a copy source): READ in the object's
// ACL, or a key under a public-read prefix. A missing bucket or object passes for a signed
// user (the read answers NoSuchBucket / NoSuchKey).
std::optional<S3Error> AuthorizeRead(const S3HandlerOptions& options, StreamingObjectStore& store,
                                     const std::string& user, const std::string& bucket,
                                     const std::string& key);
// Whether `user` (empty: anonymous) may write objects to `bucket`: WRITE in its ACL. A
// missing bucket passes for a signed user. Sets *bucket_owner when the bucket exists.
std::optional<S3Error> AuthorizeBucketWrite(const S3HandlerOptions& options,
                                            StreamingObjectStore& store, const std::string& user,
                                            const std::string& bucket, std::string* bucket_owner);

}  // namespace thumbflow::server
