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
    "ListObjectVersions",
    "DeleteObjects",
    "GetBucketAcl",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "CopyObject",
    "GetObjectAcl",
    "CreateMultipartUpload",
    "UploadPart",
    "ListParts",
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "ListMultipartUploads",
    "UploadPartCopy",
    "PutBucketAcl",
    "PutBucketVersioning",
    "GetBucketPolicy",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketCors",
    "PutBucketCors",
    "DeleteBucketCors",
    "GetBucketLifecycleConfiguration",
    "PutBucketLifecycleConfiguration",
    "DeleteBucketLifecycle",
    "GetBucketTagging",
    "PutBucketTagging",
    "DeleteBucketTagging",
    "GetBucketEncryption",
    "PutBucketEncryption",
    "DeleteBucketEncryption",
    "GetBucketNotificationConfiguration",
    "PutBucketNotificationConfiguration",
    "GetBucketWebsite",
    "PutBucketWebsite",
    "DeleteBucketWebsite",
    "GetBucketLogging",
    "PutBucketLogging",
    "GetBucketReplication",
    "PutBucketReplication",
    "DeleteBucketReplication",
    "GetBucketOwnershipControls",
    "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls",
    "GetPublicAccessBlock",
    "PutPublicAccessBlock",
    "DeletePublicAccessBlock",
    "GetObjectLockConfiguration",
    "PutObjectLockConfiguration",
    "GetBucketAccelerateConfiguration",
    "PutBucketAccelerateConfiguration",
    "GetBucketRequestPayment",
    "PutBucketRequestPayment",
    "GetBucketAnalyticsConfiguration",
    "ListBucketAnalyticsConfigurations",
    "PutBucketAnalyticsConfiguration",
    "DeleteBucketAnalyticsConfiguration",
    "GetBucketMetricsConfiguration",
    "ListBucketMetricsConfigurations",
    "PutBucketMetricsConfiguration",
    "DeleteBucketMetricsConfiguration",
    "GetBucketInventoryConfiguration",
    "ListBucketInventoryConfigurations",
    "PutBucketInventoryConfiguration",
    "DeleteBucketInventoryConfiguration",
    "GetBucketIntelligentTieringConfiguration",
    "ListBucketIntelligentTieringConfigurations",
    "PutBucketIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration",
    "PostObject",
    "PutObjectAcl",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
    "GetObjectAttributes",
    "GetObjectTorrent",
    "GetObjectRetention",
    "PutObjectRetention",
    "GetObjectLegalHold",
    "PutObjectLegalHold",
    "RestoreObject",
    "SelectObjectContent",
    "OptionsObject",
};

// The operations of a sub-resource by method; kMethodNotAllowed where S3 has none.
struct Subresource {
  std::string_view name;
  Op get = Op::kMethodNotAllowed;
  Op put = Op::kMethodNotAllowed;
  Op del = Op::kMethodNotAllowed;
  Op post = Op::kMethodNotAllowed;
  // GET without ?id lists the configurations (analytics, metrics, ...); kUnknown: no list.
  Op list = Op::kUnknown;
};

// Bucket sub-resources, in the order they are looked for. ?versioning, ?location, ?uploads,
// ?versions and ?delete are routed before these.
constexpr Subresource kBucketSubresources[] = {
    {"acl", Op::kGetBucketAcl, Op::kPutBucketAcl},
    {"policy", Op::kGetBucketPolicy, Op::kPutBucketPolicy, Op::kDeleteBucketPolicy},
    {"policyStatus", Op::kGetBucketPolicyStatus},
    {"cors", Op::kGetBucketCors, Op::kPutBucketCors, Op::kDeleteBucketCors},
    {"lifecycle", Op::kGetBucketLifecycleConfiguration, Op::kPutBucketLifecycleConfiguration,
     Op::kDeleteBucketLifecycle},
    {"tagging", Op::kGetBucketTagging, Op::kPutBucketTagging, Op::kDeleteBucketTagging},
    {"encryption", Op::kGetBucketEncryption, Op::kPutBucketEncryption, Op::kDeleteBucketEncryption},
    {"notification", Op::kGetBucketNotificationConfiguration,
     Op::kPutBucketNotificationConfiguration},
    {"website", Op::kGetBucketWebsite, Op::kPutBucketWebsite, Op::kDeleteBucketWebsite},
    {"logging", Op::kGetBucketLogging, Op::kPutBucketLogging},
    {"replication", Op::kGetBucketReplication, Op::kPutBucketReplication,
     Op::kDeleteBucketReplication},
    {"ownershipControls", Op::kGetBucketOwnershipControls, Op::kPutBucketOwnershipControls,
     Op::kDeleteBucketOwnershipControls},
    {"publicAccessBlock", Op::kGetPublicAccessBlock, Op::kPutPublicAccessBlock,
     Op::kDeletePublicAccessBlock},
    {"object-lock", Op::kGetObjectLockConfiguration, Op::kPutObjectLockConfiguration},
    {"accelerate", Op::kGetBucketAccelerateConfiguration, Op::kPutBucketAccelerateConfiguration},
    {"requestPayment", Op::kGetBucketRequestPayment, Op::kPutBucketRequestPayment},
    {"analytics", Op::kGetBucketAnalyticsConfiguration, Op::kPutBucketAnalyticsConfiguration,
     Op::kDeleteBucketAnalyticsConfiguration, Op::kMethodNotAllowed,
     Op::kListBucketAnalyticsConfigurations},
    {"metrics", Op::kGetBucketMetricsConfiguration, Op::kPutBucketMetricsConfiguration,
     Op::kDeleteBucketMetricsConfiguration, Op::kMethodNotAllowed,
     Op::kListBucketMetricsConfigurations},
    {"inventory", Op::kGetBucketInventoryConfiguration, Op::kPutBucketInventoryConfiguration,
     Op::kDeleteBucketInventoryConfiguration, Op::kMethodNotAllowed,
     Op::kListBucketInventoryConfigurations},
    {"intelligent-tiering", Op::kGetBucketIntelligentTieringConfiguration,
     Op::kPutBucketIntelligentTieringConfiguration,
     Op::kDeleteBucketIntelligentTieringConfiguration, Op::kMethodNotAllowed,
     Op::kListBucketIntelligentTieringConfigurations},
};

// Object sub-resources; ?uploads, ?uploadId and ?partNumber are routed before these.
constexpr Subresource kObjectSubresources[] = {
    {"acl", Op::kGetObjectAcl, Op::kPutObjectAcl},
    {"tagging", Op::kGetObjectTagging, Op::kPutObjectTagging, Op::kDeleteObjectTagging},
    {"attributes", Op::kGetObjectAttributes},
    {"torrent", Op::kGetObjectTorrent},
    {"retention", Op::kGetObjectRetention, Op::kPutObjectRetention},
    {"legal-hold", Op::kGetObjectLegalHold, Op::kPutObjectLegalHold},
    {"restore", Op::kMethodNotAllowed, Op::kMethodNotAllowed, Op::kMethodNotAllowed,
     Op::kRestoreObject},
    {"select", Op::kMethodNotAllowed, Op::kMethodNotAllowed, Op::kMethodNotAllowed,
     Op::kSelectObjectContent},
};

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

 private:
  const aws::QueryParams* params_;
};

// Whether thumbflow carries out `op` (the operations up to kCompleteMultipartUpload, and
// those named after them here).
bool CarriedOut(Op op) {
  return (op >= Op::kListBuckets && op <= Op::kCompleteMultipartUpload) ||
         op == Op::kListMultipartUploads || op == Op::kUploadPartCopy ||
         op == Op::kGetObjectTagging || op == Op::kPutObjectTagging ||
         op == Op::kDeleteObjectTagging || op == Op::kPostObject || op == Op::kGetBucketCors ||
         op == Op::kPutBucketCors || op == Op::kDeleteBucketCors || op == Op::kOptionsObject ||
         op == Op::kPutBucketAcl || op == Op::kPutObjectAcl || op == Op::kGetBucketPolicy ||
         op == Op::kPutBucketPolicy || op == Op::kDeleteBucketPolicy ||
         op == Op::kGetBucketPolicyStatus || op == Op::kPutBucketVersioning ||
         op == Op::kGetObjectLockConfiguration || op == Op::kPutObjectLockConfiguration ||
         op == Op::kGetObjectRetention || op == Op::kPutObjectRetention ||
         op == Op::kGetObjectLegalHold || op == Op::kPutObjectLegalHold ||
         op == Op::kGetObjectAttributes || op == Op::kGetBucketTagging ||
         op == Op::kPutBucketTagging || op == Op::kDeleteBucketTagging ||
         op == Op::kGetBucketEncryption || op == Op::kPutBucketEncryption ||
         op == Op::kDeleteBucketEncryption || op == Op::kGetPublicAccessBlock ||
         op == Op::kPutPublicAccessBlock || op == Op::kDeletePublicAccessBlock;
}

S3Route Named(Op op) { return {op, CarriedOut(op)}; }

// The sub-resource of `table` the query names, if any.
template <size_t N>
const Subresource* FindSubresource(const Query& q, const Subresource (&table)[N]) {
  for (const Subresource& s : table) {
    if (q.Has(s.name)) return &s;
  }
  return nullptr;
}

S3Route RouteSubresource(std::string_view m, const Query& q, const Subresource& s) {
  if (m == "GET" && s.list != Op::kUnknown && !q.Has("id")) return Named(s.list);
  if (m == "GET") return Named(s.get);
  if (m == "PUT") return Named(s.put);
  if (m == "DELETE") return Named(s.del);
  if (m == "POST") return Named(s.post);
  return Named(Op::kMethodNotAllowed);
}

S3Route RouteBucket(std::string_view m, const Query& q) {
  if (q.Has("versioning")) {
    if (m == "GET") return Named(Op::kGetBucketVersioning);
    return Named(m == "PUT" ? Op::kPutBucketVersioning : Op::kMethodNotAllowed);
  }
  if (m == "GET") {
    if (q.Has("location")) return Named(Op::kGetBucketLocation);
    if (q.Has("uploads")) return Named(Op::kListMultipartUploads);
    if (q.Has("versions")) return Named(Op::kListObjectVersions);
  }
  if (m == "POST" && q.Has("delete")) return Named(Op::kDeleteObjects);
  if (const Subresource* s = FindSubresource(q, kBucketSubresources)) {
    return RouteSubresource(m, q, *s);
  }
  if (m == "GET") {
    const std::string* lt = q.Find("list-type");
    return Named(lt && *lt == "2" ? Op::kListObjectsV2 : Op::kListObjects);
  }
  if (m == "HEAD") return Named(Op::kHeadBucket);
  if (m == "PUT") return Named(Op::kCreateBucket);
  if (m == "DELETE") return Named(Op::kDeleteBucket);
  if (m == "POST") return Named(Op::kPostObject);  // a browser form upload
  return Named(Op::kMethodNotAllowed);
}

S3Route RouteObjectOperation(std::string_view m, const Query& q, bool copy_source) {
  if (m == "PUT" && (q.Has("uploadId") || q.Has("partNumber"))) {
    return Named(copy_source ? Op::kUploadPartCopy : Op::kUploadPart);
  }
  if (m == "POST" && q.Has("uploads")) return Named(Op::kCreateMultipartUpload);
  if (q.Has("uploadId")) {
    if (m == "GET") return Named(Op::kListParts);
    if (m == "DELETE") return Named(Op::kAbortMultipartUpload);
    if (m == "POST") return Named(Op::kCompleteMultipartUpload);
  }
  if (const Subresource* s = FindSubresource(q, kObjectSubresources)) {
    return RouteSubresource(m, q, *s);
  }
  if (m == "PUT") return Named(copy_source ? Op::kCopyObject : Op::kPutObject);
  if (m == "GET") return Named(Op::kGetObject);
  if (m == "HEAD") return Named(Op::kHeadObject);
  if (m == "DELETE") return Named(Op::kDeleteObject);
  return Named(Op::kMethodNotAllowed);
}

// Whether `op` carries out ?versionId= (one version of the object; "null" is the null
// version, the only one of an unversioned bucket's objects).
bool TakesVersionId(Op op) {
  return op == Op::kGetObject || op == Op::kHeadObject || op == Op::kDeleteObject ||
         op == Op::kGetObjectAcl || op == Op::kPutObjectAcl || op == Op::kGetObjectTagging ||
         op == Op::kPutObjectTagging || op == Op::kDeleteObjectTagging ||
         op == Op::kGetObjectRetention || op == Op::kPutObjectRetention ||
         op == Op::kGetObjectLegalHold || op == Op::kPutObjectLegalHold ||
         op == Op::kGetObjectAttributes;
}

// Other operations know only the null version (the latest of an unversioned bucket).
S3Route RouteObject(std::string_view m, const Query& q, bool copy_source) {
  S3Route route = RouteObjectOperation(m, q, copy_source);
  const std::string* version = q.Find("versionId");
  if (version && *version != "null" && !TakesVersionId(route.operation)) {
    route.implemented = false;
  }
  return route;
}

}  // namespace

std::string_view S3OperationName(S3Operation operation) {
  size_t i = static_cast<size_t>(operation);
  return i < kNames.size() ? kNames[i] : "Unknown";
}

S3Route RouteS3Request(const S3RouteInput& input) {
  Query q(input.query);
  if (input.bucket.empty()) {
    return Named(input.method == "GET" ? Op::kListBuckets : Op::kMethodNotAllowed);
  }
  if (input.method == "OPTIONS") return Named(Op::kOptionsObject);  // bucket or object
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
