// The S3 operations the endpoint knows, and the one routing function that names the
// operation of a request from its method, whether it addresses a bucket or an object, and
// its sub-resource (query parameters such as ?uploads, ?delete, ?acl).
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aws/sigv4.h"
#include "server/s3_protocol.h"

namespace thumbflow::server {

// Every value is an S3 API operation name (S3OperationName), used as the metric label and
// in NotImplemented messages. The operations after kCompleteMultipartUpload, but
// kListMultipartUploads, kUploadPartCopy, kPutBucketVersioning and those CarriedOut
// (s3_operation.cc) names, are recognised only to be refused by name (501 NotImplemented;
// PutBucketEncryption is carried out, to refuse it with the reason once its document is
// checked). New values go at the end (add, don't reorder).
enum class S3Operation : uint8_t {
  kUnknown,           // the request target could not be parsed (InvalidURI)
  kMethodNotAllowed,  // no operation has this method at this address
  // Carried out.
  kListBuckets,
  kCreateBucket,
  kHeadBucket,
  kDeleteBucket,
  kGetBucketLocation,
  kGetBucketVersioning,
  kListObjects,
  kListObjectsV2,
  kListObjectVersions,
  kDeleteObjects,
  kGetBucketAcl,
  kPutObject,
  kGetObject,
  kHeadObject,
  kDeleteObject,
  kCopyObject,
  kGetObjectAcl,
  kCreateMultipartUpload,
  kUploadPart,
  kListParts,
  kAbortMultipartUpload,
  kCompleteMultipartUpload,
  kListMultipartUploads,  // carried out too
  kUploadPartCopy,        // carried out too
  // Recognised only to be refused by name (501 NotImplemented).
  kPutBucketAcl,
  kPutBucketVersioning,
  kGetBucketPolicy,
  kPutBucketPolicy,
  kDeleteBucketPolicy,
  kGetBucketPolicyStatus,
  kGetBucketCors,
  kPutBucketCors,
  kDeleteBucketCors,
  kGetBucketLifecycleConfiguration,
  kPutBucketLifecycleConfiguration,
  kDeleteBucketLifecycle,
  kGetBucketTagging,
  kPutBucketTagging,
  kDeleteBucketTagging,
  kGetBucketEncryption,
  kPutBucketEncryption,
  kDeleteBucketEncryption,
  kGetBucketNotificationConfiguration,
  kPutBucketNotificationConfiguration,
  kGetBucketWebsite,
  kPutBucketWebsite,
  kDeleteBucketWebsite,
  kGetBucketLogging,
  kPutBucketLogging,
  kGetBucketReplication,
  kPutBucketReplication,
  kDeleteBucketReplication,
  kGetBucketOwnershipControls,
  kPutBucketOwnershipControls,
  kDeleteBucketOwnershipControls,
  kGetPublicAccessBlock,
  kPutPublicAccessBlock,
  kDeletePublicAccessBlock,
  kGetObjectLockConfiguration,
  kPutObjectLockConfiguration,
  kGetBucketAccelerateConfiguration,
  kPutBucketAccelerateConfiguration,
  kGetBucketRequestPayment,
  kPutBucketRequestPayment,
  kGetBucketAnalyticsConfiguration,
  kListBucketAnalyticsConfigurations,
  kPutBucketAnalyticsConfiguration,
  kDeleteBucketAnalyticsConfiguration,
  kGetBucketMetricsConfiguration,
  kListBucketMetricsConfigurations,
  kPutBucketMetricsConfiguration,
  kDeleteBucketMetricsConfiguration,
  kGetBucketInventoryConfiguration,
  kListBucketInventoryConfigurations,
  kPutBucketInventoryConfiguration,
  kDeleteBucketInventoryConfiguration,
  kGetBucketIntelligentTieringConfiguration,
  kListBucketIntelligentTieringConfigurations,
  kPutBucketIntelligentTieringConfiguration,
  kDeleteBucketIntelligentTieringConfiguration,
  kPostObject,
  kPutObjectAcl,
  kGetObjectTagging,
  kPutObjectTagging,
  kDeleteObjectTagging,
  kGetObjectAttributes,
  kGetObjectTorrent,
  kGetObjectRetention,
  kPutObjectRetention,
  kGetObjectLegalHold,
  kPutObjectLegalHold,
  kRestoreObject,
  kSelectObjectContent,
  kOptionsObject,  // a CORS preflight (OPTIONS /bucket[/key]), carried out
};
inline constexpr size_t kS3OperationCount = static_cast<size_t>(S3Operation::kOptionsObject) + 1;

// "ListObjectsV2", "PutObject", ...: the S3 API name, used as the metric label and in
// NotImplemented messages.
std::string_view S3OperationName(S3Operation operation);

struct S3Route {
  S3Operation operation = S3Operation::kUnknown;
  // False: the request is named (for metrics and the error) but thumbflow does not carry it
  // out; it is answered NotImplemented once authenticated. Also false for a carried-out
  // operation that does not take ?versionId= asked of a version other than "null"
  // (GetObject, HeadObject, DeleteObject and the object ACL and tagging calls take it).
  bool implemented = true;
};

// What the router reads of a request. `bucket` empty: the service (GET / lists buckets).
// `key` empty: the bucket itself. `query` is decoded; only parameter names matter, except
// list-type. `copy_source`: an x-amz-copy-source header is present.
struct S3RouteInput {
  std::string_view method;
  std::string_view bucket;
  std::string_view key;
  const aws::QueryParams* query = nullptr;
  bool copy_source = false;
};

// Method x (service | bucket | object) x sub-resource -> operation, as S3 names it
// (PUT /bucket?acl is PutBucketAcl). A method that no operation takes at that address
// routes to kMethodNotAllowed.
S3Route RouteS3Request(const S3RouteInput& input);

// The error for a route that is not carried out: MethodNotAllowed for kMethodNotAllowed,
// otherwise NotImplemented naming the operation and the request (`target` cut to 200 bytes).
S3Error RouteError(const S3Route& route, std::string_view method, std::string_view target);

}  // namespace thumbflow::server
