#include "server/s3_bucket_config.h"

#include <unistd.h>

#include <cerrno>
#include <iterator>

#include <pugixml.hpp>

#include "core/disk.h"
#include "server/s3_policy.h"

namespace thumbflow::server {
namespace {

struct Switch {
  const char* name;
  bool PublicAccessBlock::*field;
};

constexpr Switch kSwitches[] = {
    {"BlockPublicAcls", &PublicAccessBlock::block_public_acls},
    {"IgnorePublicAcls", &PublicAccessBlock::ignore_public_acls},
    {"BlockPublicPolicy", &PublicAccessBlock::block_public_policy},
    {"RestrictPublicBuckets", &PublicAccessBlock::restrict_public_buckets},
};

Status Malformed(S3Error* error, std::string why) {
  *error = MakeError("MalformedXML");
  return InvalidArgumentError(std::move(why));
}

}  // namespace

Result<PublicAccessBlock> ParsePublicAccessBlockXml(std::string_view body, S3Error* error) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size(),
                       pugi::parse_default | pugi::parse_ws_pcdata_single)) {
    return Malformed(error, "the body is not XML");
  }
  pugi::xml_node root = doc.child("PublicAccessBlockConfiguration");
  if (!root) return Malformed(error, "not a PublicAccessBlockConfiguration");
  PublicAccessBlock block;
  for (pugi::xml_node node : root.children()) {
    if (node.type() != pugi::node_element) continue;
    const Switch* found = nullptr;
    for (const Switch& s : kSwitches) {
      if (std::string_view(node.name()) == s.name) found = &s;
    }
    if (!found) return Malformed(error, std::string("unknown element ") + node.name());
    auto same = root.children(found->name);
    if (std::distance(same.begin(), same.end()) > 1) {
      return Malformed(error, std::string(found->name) + " twice");
    }
    std::string_view value = node.child_value();
    if (value != "true" && value != "false") {
      return Malformed(error, std::string(found->name) + " is not a boolean");
    }
    block.*(found->field) = value == "true";
  }
  return block;
}

std::string PublicAccessBlockXml(const PublicAccessBlock& block) {
  std::string xml =
      std::string("<PublicAccessBlockConfiguration xmlns=\"") + kS3XmlNamespace + "\">";
  for (const Switch& s : kSwitches) {
    xml += std::string("<") + s.name + ">" + (block.*(s.field) ? "true" : "false") + "</" + s.name +
           ">";
  }
  return xml + "</PublicAccessBlockConfiguration>";
}

std::optional<S3Error> CheckServerSideEncryptionConfigurationXml(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return MakeError("MalformedXML");
  pugi::xml_node root = doc.child("ServerSideEncryptionConfiguration");
  if (!root || !root.child("Rule")) return MakeError("MalformedXML");
  for (pugi::xml_node rule : root.children("Rule")) {
    pugi::xml_node by_default = rule.child("ApplyServerSideEncryptionByDefault");
    if (!by_default || !by_default.child("SSEAlgorithm")) return MakeError("MalformedXML");
    std::string_view algorithm = by_default.child_value("SSEAlgorithm");
    if (algorithm != "AES256" && algorithm != "aws:kms" && algorithm != "aws:kms:dsse") {
      S3Error error =
          MakeError("InvalidArgument", "The encryption method specified is not supported");
      error.details = {{"ArgumentName", "SSEAlgorithm"}, {"ArgumentValue", std::string(algorithm)}};
      return error;
    }
  }
  return std::nullopt;
}

std::string BucketConfigStore::PathOf(const BucketInfo& bucket, std::string_view kind) const {
  // '@' is never in a bucket name; the creation time keeps a bucket made again apart.
  return root_ + "/" + bucket.name + "@" + std::to_string(bucket.created_ms) + "." +
         std::string(kind);
}

Status BucketConfigStore::Put(const BucketInfo& bucket, std::string_view kind,
                              std::string_view document) {
  const std::string path = PathOf(bucket, kind);
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(path);  // a failed write may have replaced the file all the same
  RETURN_IF_ERROR(ReplaceFileDurably(root_, path, document));
  cache_[path] = std::string(document);
  return Status::Ok();
}

Result<std::optional<std::string>> BucketConfigStore::Get(const BucketInfo& bucket,
                                                          std::string_view kind) const {
  const std::string path = PathOf(bucket, kind);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto found = cache_.find(path); found != cache_.end()) return found->second;
  ASSIGN_OR_RETURN(std::optional<std::string> document, ReadFileIfPresent(path));
  cache_[path] = document;
  return document;
}

Status BucketConfigStore::Delete(const BucketInfo& bucket, std::string_view kind) {
  const std::string path = PathOf(bucket, kind);
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return FileError(errno, "remove", path);
  cache_[path] = std::nullopt;
  return Status::Ok();
}

Status BucketConfigStore::DeleteAll(const std::string& bucket) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string prefix = root_ + "/" + bucket + "@";
  for (auto it = cache_.lower_bound(prefix); it != cache_.end() && it->first.starts_with(prefix);) {
    it = cache_.erase(it);
  }
  return RemoveBucketFiles(root_, bucket);
}

Result<PublicAccessBlock> BucketConfigStore::PublicAccess(const BucketInfo& bucket) const {
  ASSIGN_OR_RETURN(std::optional<std::string> document, Get(bucket, kPublicAccessBlockKind));
  if (!document) return PublicAccessBlock{};
  S3Error ignored;
  Result<PublicAccessBlock> block = ParsePublicAccessBlockXml(*document, &ignored);
  if (!block.ok()) {
    return InternalError("the stored public access block of bucket " + bucket.name +
                         " does not parse: " + block.status().message());
  }
  return block;
}

}  // namespace thumbflow::server
