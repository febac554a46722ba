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

// Every value names a metric label (S3OperationName). The operations after
// kCompleteMultipartUpload are recognised only to be refused by name (NotImplemented).
enum class S3Operation : uint8_t {
  kUnknown,           // the request target could not be parsed (InvalidURI)
  kMethodNotAllowed,  // no operation has this method at this address
  kListBuckets,
  kCreateBucket,
  kHeadBucket,
  kDeleteBucket,
  kGetBucketLocation,
  kGetBucketVersioning,
  kListObjects,
  kListObjectsV2,
  kDeleteObjects,
  kPutObject,
  kGetObject,
  kHeadObject,
  kDeleteObject,
  kCopyObject,
  kCreateMultipartUpload,
  kUploadPart,
  kListParts,
  kAbortMultipartUpload,
  kCompleteMultipartUpload,
  kListMultipartUploads,
  kBucketSubresource,  // ?acl, ?policy, ?cors, ... on a bucket
  kPostBucket,         // POST on a bucket without ?delete (browser form uploads)
  kUploadPartCopy,
  kObjectSubresource,  // ?acl, ?tagging, ?torrent, ... on an object
  kPostObject,         // POST on an object without ?uploads or ?uploadId (S3 Select, ...)
};
inline constexpr size_t kS3OperationCount = static_cast<size_t>(S3Operation::kPostObject) + 1;

// "ListObjectsV2", "PutObject", ...: the S3 API name, used as the metric label and in
// NotImplemented messages.
std::string_view S3OperationName(S3Operation operation);

struct S3Route {
  S3Operation operation = S3Operation::kUnknown;
  // False: the request is named (for metrics and the error) but thumbflow does not carry it
  // out; it is answered NotImplemented once authenticated. Also false for an implemented
  // operation asked with a sub-resource it does not support (PUT /bucket?acl is
  // CreateBucket, not implemented).
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

// Method x (service | bucket | object) x sub-resource -> operation. A method that no
// operation takes at that address routes to kMethodNotAllowed.
S3Route RouteS3Request(const S3RouteInput& input);

// The error for a route that is not carried out: MethodNotAllowed for kMethodNotAllowed,
// otherwise NotImplemented naming the operation and the request (`target` cut to 200 bytes).
S3Error RouteError(const S3Route& route, std::string_view method, std::string_view target);

}  // namespace thumbflow::server
