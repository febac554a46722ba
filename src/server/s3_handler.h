// S3Handler: the S3 REST API of the embedded store, as an HttpHandler. Path-style
// (/bucket/key) and virtual-host-style (bucket.<domain>:port/key) addressing; SigV4 header
// and presigned-URL auth (aws/sigv4.h); aws-chunked bodies decoded and verified; Content-MD5
// and x-amz-checksum-* verified; S3 XML errors with a request id. Also answers /healthz,
// /readyz and /metrics (no auth; operational_endpoints.h).
//
// Bodies are never held whole in memory: PutObject streams into the backend
// (ObjectUpload), UploadPart into a file in the backend's staging folder, fsynced, then
// committed.
//
// Thread-safety: Begin() and the exchanges it returns may run on any I/O thread; one
// exchange is used by one thread at a time. Everything passed in must outlive the handler.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aws/sigv4.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "server/http_server.h"
#include "server/multipart.h"
#include "server/operational_endpoints.h"
#include "server/s3_bucket_config.h"
#include "server/s3_cors.h"
#include "server/s3_object_lock.h"
#include "server/s3_policy.h"
#include "server/s3_protocol.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

// One key pair of the endpoint and the name it acts under: the owner of the buckets it
// creates, the Owner ID and DisplayName of the replies ([[server.users]]).
struct S3User {
  std::string name;
  std::string access_key_id;
  std::string secret_access_key;
  // Grants by email address (x-amz-grant-*: emailAddress=, AmazonCustomerByEmail) resolve
  // to the user with this address; empty: none does.
  std::string email;
};

struct S3HandlerOptions {
  // The first user (the generated key, or the configured / environment one), named
  // first_user_name. It owns the buckets whose recorded owner is empty: the default bucket
  // `images` and those the store made itself.
  std::string access_key_id;
  std::string secret_access_key;
  std::string first_user_name = "thumbflow";
  std::string first_user_email;  // as S3User::email
  // The other users, each with its own buckets. Names and access keys are distinct (the
  // config checks it).
  std::vector<S3User> users;
  std::string region = "us-east-1";
  std::vector<std::string> virtual_host_domains = {"localhost"};
  std::vector<std::string> public_read_prefixes;  // "bucket/key-prefix", or "bucket"
  int64_t max_put_bytes = int64_t{5} << 30;
  int64_t min_part_bytes = 5 << 20;  // every multipart part but the last
  int64_t max_clock_skew_ms = 15 * 60 * 1000;
  // A multipart upload not completed this long after its creation is aborted (parts
  // removed): at start and, at most every tenth of it (an hour at most), as another upload
  // is created. 0: never.
  int64_t multipart_upload_max_age_ms = 0;
  // Where the endpoint keeps what must outlive the process, never in the staging folder
  // (serve empties it at every start): multipart uploads in progress and the records of
  // completed ones (state_dir/multipart/uploads), the buckets' CORS rules
  // (state_dir/bucket-cors), policies (state_dir/bucket-policies), tags and public access
  // blocks (state_dir/bucket-config). Empty: those folders
  // in the backend's staging folder (tests).
  std::string state_dir;
};

struct S3Context;
struct S3Request;
class S3Authenticator;
class S3RequestMetrics;

// Serves one request in steps: parse the target and address (path or virtual-host style),
// answer the operational endpoints, route (s3_operation.h), authenticate (s3_auth.h), check
// and admit the body (size, free space, upload), receive it (S3BodySink), then run the
// operation's function (s3_operations.h).
class S3Handler final : public HttpHandler {
 public:
  // `ready` answers /readyz: OK is 200 "ready", any other status 503 "not ready: " and its
  // message (nullptr: always ready). `metrics` may be nullptr.
  S3Handler(S3HandlerOptions options, StreamingObjectStore* backend, const Clock* clock,
            MetricsRegistry* metrics, std::function<Status()> ready = nullptr);
  ~S3Handler() override;

  std::unique_ptr<HttpExchange> Begin(const HttpRequestHead& head, HttpReply* early) override;
  HttpReply TransportError(int status, std::string_view code, std::string_view message) override;

  class Exchange;  // receives the body, then runs the operation (s3_handler.cc)

 private:
  friend class Exchange;
  std::string NextRequestId();
  std::optional<S3Error> ParseAddress(S3Request& r) const;
  std::optional<HttpReply> AnswerOperational(const S3Request& r) const;
  std::optional<S3Error> CheckRequest(S3Request& r) const;
  std::optional<S3Error> AdmitBody(S3Request& r);
  std::optional<S3Error> AdmitPostForm(S3Request& r);
  HttpReply Execute(S3Request& request);
  void Record(const S3Request& request, const HttpReply& reply);

  S3HandlerOptions options_;
  StreamingObjectStore* backend_;
  const Clock* clock_;
  OperationalEndpoints operational_;
  MultipartUploads uploads_;
  BucketCorsStore cors_;        // the buckets' CORS configurations, in the staging folder
  BucketPolicyStore policies_;  // the buckets' policies, under options_.state_dir
  ObjectLockStore locks_;       // object lock configurations and retentions, under state_dir
  BucketConfigStore configs_;   // bucket tags and public access blocks, under state_dir
  std::unique_ptr<S3Context> context_;
  std::unique_ptr<S3Authenticator> authenticator_;
  std::unique_ptr<S3RequestMetrics> metrics_;
  std::atomic<uint64_t> request_counter_{0};
  std::string request_id_prefix_;
};

}  // namespace thumbflow::server
