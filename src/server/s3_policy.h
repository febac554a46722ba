// S3 bucket policies, as S3 reads and evaluates them: the JSON document of PutBucketPolicy
// (validated as S3 validates it), and its decision for one request: an explicit Deny wins,
// else an Allow, else the policy says nothing (the ACLs decide; s3_auth.h).
//
// What a statement holds: Effect (Allow | Deny); Principal or NotPrincipal ("*",
// {"AWS": "*"}, {"AWS": NAME | "arn:aws:iam::NAME:root"}, {"CanonicalUser": NAME}, where NAME
// is a user of the endpoint: each user is an account of its own); Action or NotAction
// ("s3:GetObject", "s3:Get*", "s3:*", "*", case-blind); Resource or NotResource (ARNs
// "arn:aws:s3:::bucket" and "arn:aws:s3:::bucket/key", with * and ? wildcards); Condition
// (the operators of IAM: String*, Numeric*, Date*, Bool, IpAddress / NotIpAddress, Arn*,
// BinaryEquals, Null, each with ...IfExists and the ForAnyValue: / ForAllValues: set
// qualifiers).
//
// A condition key absent from a request matches as IAM documents it: the positive operators
// fail, the negated ones (StringNotEquals, NotIpAddress, ...) hold, ...IfExists holds, Null
// tests the absence. A key thumbflow never supplies (PolicyRequest::Supplies is false, such
// as aws:SourceVpc) makes an Allow statement fail whatever its operator: an Allow is never
// granted on a key that is not checked. In a Deny it is read as absent.
//
// Pure functions and immutable values; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "server/s3_acl.h"
#include "server/s3_protocol.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

enum class PolicyDecision { kNone, kAllow, kDeny };

// What a statement is matched against: one action on one resource by one principal, and
// the request's condition keys.
struct PolicyRequest {
  std::string action;     // "s3:GetObject"
  std::string resource;   // "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/key"
  std::string principal;  // the user's name; empty: anonymous
  // Condition keys present in the request, by lower-case name ("s3:prefix",
  // "s3:existingobjecttag/security"), each with its values (several for a multi-valued key).
  std::map<std::string, std::vector<std::string>> keys;

  void Set(std::string_view key, std::string value);
  // Whether thumbflow fills `key` (lower case) when a request has it: the keys of
  // PolicyRequestKeys (s3_auth.cc) and the tag keys. False for every other key.
  static bool Supplies(std::string_view key);
};

struct PolicyCondition {
  std::string op;  // the operator without qualifier and IfExists: "StringLike"
  bool if_exists = false;
  enum class Set { kNone, kAnyValue, kAllValues } set = Set::kNone;
  std::string key;  // lower case
  std::vector<std::string> values;
};

struct PolicyStatement {
  bool allow = false;
  // Principals: user names; "*" is everyone, anonymous included.
  std::vector<std::string> principals;
  bool not_principal = false;
  std::vector<std::string> actions;  // lower case patterns
  bool not_action = false;
  std::vector<std::string> resources;  // patterns
  bool not_resource = false;
  std::vector<PolicyCondition> conditions;
};

class BucketPolicy {
 public:
  // Parses `document` as the policy of `bucket`, with S3's checks and messages
  // (400 MalformedPolicy): valid JSON object, Version "2012-10-17" or "2008-10-17" (or
  // none), a Statement (one or a list) each with Effect, a Principal or NotPrincipal that
  // names known users or "*" ("Invalid principal in policy"), S3 actions ("Policy has
  // invalid action"), resources of this bucket ("Policy has invalid resource"), at least one
  // resource each action applies to ("Action does not apply to any resource(s) in
  // statement"), known condition operators and keys. Size: at most 20 KB, as S3.
  // `users` nullptr: principals are not checked (a stored policy, checked when it was put).
  static Result<BucketPolicy> Parse(std::string_view document, const std::string& bucket,
                                    const AclUsers* users, S3Error* error);

  PolicyDecision Evaluate(const PolicyRequest& request) const;

  // GetBucketPolicyStatus: whether an Allow statement applies to everyone ("*" principal,
  // or NotPrincipal) with no condition that narrows it to known sources (aws:SourceIp,
  // aws:SourceArn, aws:SourceVpc(e), aws:SourceAccount, aws:SourceOwner, aws:PrincipalOrgID,
  // aws:PrincipalAccount, aws:PrincipalArn, aws:userid), as S3 judges "public".
  bool IsPublic() const;

  const std::vector<PolicyStatement>& statements() const { return statements_; }

 private:
  std::vector<PolicyStatement> statements_;
};

// `pattern` with * (any text, '/' included) and ? (one character).
bool PolicyWildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

// The state stores' files (policies, object lock): `data` replaces the file at `path` in
// `folder` (created if missing) atomically and durably (a temporary file, fsync, rename, fsync
// of the folder); ReadFileIfPresent gives nullopt for a missing file.
Status ReplaceFileDurably(const std::string& folder, const std::string& path,
                          std::string_view data);
Result<std::optional<std::string>> ReadFileIfPresent(const std::string& path);
// Removes every file of `folder` named "<bucket>@..." (the files of every creation of the
// bucket name); a missing folder is OK.
Status RemoveBucketFiles(const std::string& folder, const std::string& bucket);

// The stored policies, one file per bucket under `root`, replaced atomically and synced:
// <root>/<bucket>@<created_ms>.json holds the document as it was put (GetBucketPolicy
// returns it byte for byte). The bucket's creation time is in the name, so a bucket made
// again under the name never inherits an old policy, even one whose removal failed.
// The store is the only writer of `root` while it lives (one serve per data folder): each
// bucket's policy is read and parsed once (GetParsed), not on every request.
// Thread-safe.
class BucketPolicyStore {
 public:
  explicit BucketPolicyStore(std::string root) : root_(std::move(root)) {}
  Status Put(const BucketInfo& bucket, std::string_view document);
  // nullopt: the bucket has no policy.
  Result<std::optional<std::string>> Get(const BucketInfo& bucket) const;
  // The bucket's policy, parsed (its principals unchecked: they were when it was put, and a
  // user removed from the config since matches nobody); nullptr when it has none. Read from
  // disk once, then from memory until Put, Delete or DeleteAll of the bucket; a call that
  // begins after one of them returned sees its change. Internal when the stored document
  // does not parse (not remembered: read again on the next call).
  Result<std::shared_ptr<const BucketPolicy>> GetParsed(const BucketInfo& bucket) const;
  Status Delete(const BucketInfo& bucket);
  // Every policy file of the bucket name (DeleteBucket).
  Status DeleteAll(const std::string& bucket);

 private:
  std::string PathOf(const BucketInfo& bucket) const;
  Status Write(const BucketInfo& bucket, std::string_view document);
  Status RemoveAll(const std::string& bucket);
  // Drops what GetParsed remembers of the bucket name (every creation of it); called before
  // and after a change of its files, so that a GetParsed that read the old file while the
  // change was under way never remembers it.
  void Forget(const std::string& bucket);

  std::string root_;
  mutable std::mutex mu_;
  // By "<bucket>@<created_ms>"; nullptr: the bucket has no policy.
  mutable std::map<std::string, std::shared_ptr<const BucketPolicy>> parsed_;
  // Bumped by every Forget: a GetParsed remembers what it read only when no Forget came
  // between its look-up and its insertion.
  mutable uint64_t generation_ = 0;
};

}  // namespace thumbflow::server
