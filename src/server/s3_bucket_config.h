// Bucket configurations kept beside the bucket: its tags (Put/Get/DeleteBucketTagging) and its
// public access block (Put/Get/DeletePublicAccessBlock), with the documents S3 exchanges for
// them; and the check of a PutBucketEncryption document (thumbflow refuses the call: objects
// are stored unencrypted, see s3_bucket_config_operations.cc).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "server/s3_protocol.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

// S3's four switches (all false: nothing blocked). What each does is enforced by
// AuthorizeRequest, the ACL writers and PutBucketPolicy (s3_auth.h).
struct PublicAccessBlock {
  bool block_public_acls = false;
  bool ignore_public_acls = false;
  bool block_public_policy = false;
  bool restrict_public_buckets = false;
};

// <PublicAccessBlockConfiguration> with any of BlockPublicAcls, IgnorePublicAcls,
// BlockPublicPolicy, RestrictPublicBuckets ("true" / "false"; a missing one is false).
// MalformedXML (in `error`) for another root, another value or an element twice.
Result<PublicAccessBlock> ParsePublicAccessBlockXml(std::string_view body, S3Error* error);
// The GetPublicAccessBlock document: all four, as S3 answers.
std::string PublicAccessBlockXml(const PublicAccessBlock& block);

// Whether `body` is a <ServerSideEncryptionConfiguration> of one or more <Rule>s, each with an
// <ApplyServerSideEncryptionByDefault> naming an <SSEAlgorithm> (AES256, aws:kms,
// aws:kms:dsse); MalformedXML otherwise, InvalidArgument for another algorithm.
std::optional<S3Error> CheckServerSideEncryptionConfigurationXml(std::string_view body);

// The documents, one file per bucket and kind under `root`: <root>/<bucket>@<created_ms>.<kind>
// ("tagging", "public-access-block"), replaced atomically and synced, as BucketPolicyStore
// keeps policies: a bucket made again under the name never inherits an old file. The store is
// the only writer of `root` (one serve per data folder): each file is read once, then
// answered from memory. Thread-safe.
class BucketConfigStore {
 public:
  explicit BucketConfigStore(std::string root) : root_(std::move(root)) {}
  Status Put(const BucketInfo& bucket, std::string_view kind, std::string_view document);
  // nullopt: the bucket has none of this kind.
  Result<std::optional<std::string>> Get(const BucketInfo& bucket, std::string_view kind) const;
  Status Delete(const BucketInfo& bucket, std::string_view kind);  // none: OK
  // Every document of the bucket name (DeleteBucket).
  Status DeleteAll(const std::string& bucket);

  // The bucket's public access block; all false when it has none.
  Result<PublicAccessBlock> PublicAccess(const BucketInfo& bucket) const;

 private:
  std::string PathOf(const BucketInfo& bucket, std::string_view kind) const;

  std::string root_;
  // Held across the file operations: changes are rare, and a reader never sees a file half
  // way through a change.
  mutable std::mutex mu_;
  // By path; nullopt: no such file.
  mutable std::map<std::string, std::optional<std::string>> cache_;
};

inline constexpr char kBucketTaggingKind[] = "tagging";
inline constexpr char kPublicAccessBlockKind[] = "public-access-block";

}  // namespace thumbflow::server
