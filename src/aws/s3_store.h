// S3Store: the ObjectStore port on Amazon S3 or any S3-compatible store (moto, MinIO,
// thumbflow's own endpoint), over the HttpClient port with SigV4. No curl or XML here.
//
// Requests: GetObject (Range, If-Match, If-None-Match), PutObject (Content-Type,
// x-amz-meta-*, Content-MD5 checked by S3), HeadObject, DeleteObject, ListObjectsV2
// (prefix, delimiter, continuation token, start-after, max-keys). Keys are sent encoded once
// and never normalised, so any byte sequence S3 accepts round-trips. Failures are mapped by
// aws::MapAwsFailure (NoSuchKey / 404 -> NotFound, 412 -> FailedPrecondition, 403 ->
// PermissionDenied, wrong region / redirects -> FailedPrecondition, 5xx / throttling /
// unreachable -> retryable Unavailable), then put in the port's words (NoSuchBucket ->
// reason "no-such-bucket", KeyTooLongError -> reason "invalid-key", InvalidRange ->
// "invalid-range", PreconditionFailed / NotModified -> "precondition-failed" /
// "not-modified"); a PUT without a Content-Type stores "binary/octet-stream", as S3 does;
// ranges include suffixes ("bytes=-N"). Retries are the HttpClient's business
// (NewRetryingHttpClient).
// Thread-safe: one store may be shared by all workers.
#pragma once

#include <memory>
#include <string>

#include "aws/credentials.h"
#include "aws/http_client.h"
#include "core/clock.h"
#include "storage/object_store.h"

namespace thumbflow::aws {

struct S3StoreOptions {
  std::string endpoint;  // "https://s3.us-east-1.amazonaws.com" or "http://127.0.0.1:5000"
  std::string region = "us-east-1";
  bool path_style = true;  // false: bucket in the host name (virtual-hosted style)
};

class S3Store : public ObjectStore {
 public:
  // Not part of the ObjectStore port; used by tests and set-up commands. Creating a bucket
  // that the caller already owns succeeds.
  virtual Status CreateBucket(const std::string& bucket) = 0;
  // The endpoint in use, for messages ("cannot reach http://...").
  virtual const std::string& endpoint() const = 0;
};

// `http` and `credentials` are shared (an SQS client may use the same ones); `clock` is not
// owned and must outlive the store. InvalidArgument for an endpoint that is not a URL.
Result<std::unique_ptr<S3Store>> NewS3Store(S3StoreOptions options,
                                            std::shared_ptr<HttpClient> http,
                                            std::shared_ptr<CredentialsProvider> credentials,
                                            const Clock* clock);

}  // namespace thumbflow::aws
