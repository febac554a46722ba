#include "server/s3_operation.h"

#include <string>

namespace thumbflow::server {
namespace {

using Op = S3Operation;

constexpr std::array<std::string_view, kS3OperationCount> kNames = {
    "Unknown",
    "MethodNotAllowed",
    "ListBuckets",
    "CreateBucket",
    "HeadBucket",
    "DeleteBucket",
    "GetBucketLocation",
    "GetBucketVersioning",
    "ListObjects",
    "ListObjectsV2",
    "DeleteObjects",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "ListParts",
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "ListMultipartUploads",
    "BucketSubresource",
    "PostBucket",
    "UploadPartCopy",
    "ObjectSubresource",
    "PostObject",
};

// Sub-resources S3 has and thumbflow does not implement; a request naming one is refused
// rather than served as the plain operation (PUT ?acl must not overwrite the object).
constexpr std::string_view kUnsupportedBucketSubresources[] = {"acl",
                                                               "policy",
                                                               "cors",
                                                               "lifecycle",
                                                               "tagging",
                                                               "encryption",
                                                               "notification",
                                                               "website",
                                                               "logging",
                                                               "replication",
                                                               "ownershipControls",
                                                               "publicAccessBlock",
                                                               "object-lock",
                                                               "accelerate",
                                                               "requestPayment",
                                                               "analytics",
                                                               "metrics",
                                                               "inventory",
                                                               "intelligent-tiering",
                                                               "versions",
                                                               "policyStatus"};
constexpr std::string_view kUnsupportedObjectSubresources[] = {"acl",     "tagging",   "attributes",
                                                               "torrent", "retention", "legal-hold",
                                                               "restore", "select",    "versionId"};

class Query {
 public:
  explicit Query(const aws::QueryParams* params) : params_(params) {}
  const std::string* Find(std::string_view name) const {
    if (!params_) return nullptr;
    for (const auto& [k, v] : *params_) {
      if (k == name) return &v;
    }
    return nullptr;
  }
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  bool empty() const { return !params_ || params_->empty(); }
  template <size_t N>
  bool HasAny(const std::string_view (&names)[N]) const {
    for (std::string_view n : names) {
      if (Has(n)) return true;
    }
    return false;
  }

 private:
  const aws::QueryParams* params_;
};

S3Route Implemented(Op op) { return {op, true}; }
S3Route Refused(Op op) { return {op, false}; }

S3Route RouteBucketGet(const Query& q) {
  if (q.Has("location")) return Implemented(Op::kGetBucketLocation);
  if (q.Has("versioning")) return Implemented(Op::kGetBucketVersioning);
  if (q.Has("uploads")) return Refused(Op::kListMultipartUploads);
  if (q.HasAny(kUnsupportedBucketSubresources)) return Refused(Op::kBucketSubresource);
  if (const std::string* lt = q.Find("list-type"); lt && *lt == "2") {
    return Implemented(Op::kListObjectsV2);
  }
  return Implemented(Op::kListObjects);
}

S3Route RouteBucket(std::string_view m, const Query& q) {
  if (m == "GET") return RouteBucketGet(q);
  if (m == "HEAD") return Implemented(Op::kHeadBucket);
  if (m == "PUT") return {Op::kCreateBucket, q.empty()};
  if (m == "DELETE") return {Op::kDeleteBucket, q.empty()};
  if (m == "POST")
    return q.Has("delete") ? Implemented(Op::kDeleteObjects) : Refused(Op::kPostBucket);
  return Refused(Op::kMethodNotAllowed);
}

S3Route RouteObjectPut(const Query& q, bool copy_source) {
  if (q.Has("uploadId") || q.Has("partNumber")) {
    return copy_source ? Refused(Op::kUploadPartCopy) : Implemented(Op::kUploadPart);
  }
  if (q.HasAny(kUnsupportedObjectSubresources)) return Refused(Op::kObjectSubresource);
  return Implemented(copy_source ? Op::kCopyObject : Op::kPutObject);
}

S3Route RouteObject(std::string_view m, const Query& q, bool copy_source) {
  if (m == "PUT") return RouteObjectPut(q, copy_source);
  if (m == "GET") {
    if (q.Has("uploadId")) return Implemented(Op::kListParts);
    if (q.HasAny(kUnsupportedObjectSubresources)) return Refused(Op::kObjectSubresource);
    return Implemented(Op::kGetObject);
  }
  if (m == "HEAD") return Implemented(Op::kHeadObject);
  if (m == "DELETE") {
    if (q.Has("uploadId")) return Implemented(Op::kAbortMultipartUpload);
    return {Op::kDeleteObject, !q.HasAny(kUnsupportedObjectSubresources)};
  }
  if (m == "POST") {
    if (q.Has("uploads")) return Implemented(Op::kCreateMultipartUpload);
    if (q.Has("uploadId")) return Implemented(Op::kCompleteMultipartUpload);
    return Refused(Op::kPostObject);
  }
  return Refused(Op::kMethodNotAllowed);
}

}  // namespace

std::string_view S3OperationName(S3Operation operation) {
  size_t i = static_cast<size_t>(operation);
  return i < kNames.size() ? kNames[i] : "Unknown";
}

S3Route RouteS3Request(const S3RouteInput& input) {
  Query q(input.query);
  if (input.bucket.empty()) {
    return input.method == "GET" ? Implemented(Op::kListBuckets) : Refused(Op::kMethodNotAllowed);
  }
  if (input.key.empty()) return RouteBucket(input.method, q);
  return RouteObject(input.method, q, input.copy_source);
}

S3Error RouteError(const S3Route& route, std::string_view method, std::string_view target) {
  if (route.operation == S3Operation::kMethodNotAllowed) return MakeError("MethodNotAllowed");
  return MakeError("NotImplemented", "thumbflow does not implement " +
                                         std::string(S3OperationName(route.operation)) + " (" +
                                         std::string(method) + " " +
                                         std::string(target.substr(0, 200)) + ").");
}

}  // namespace thumbflow::server
