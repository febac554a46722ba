#include "server/s3_policy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/civil_time.h"
#include "core/disk.h"
#include "core/random.h"
#include "core/strings.h"

namespace thumbflow::server {
namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyBytes = 20 * 1024;  // S3's limit on a bucket policy

// Every action of S3's service authorization reference ("Actions defined by Amazon S3"),
// by the resource it addresses in a bucket policy: the bucket ARN, an object ARN, or neither
// (access points, jobs, Storage Lens, Access Grants, Multi-Region Access Points, the
// account: S3 takes the name but it applies to no resource of a bucket policy).
// On arn:aws:s3:::bucket.
constexpr std::string_view kBucketActions[] = {
    "AllowVendedLogDeliveryForResource",
    "CreateBucket",
    "CreateBucketMetadataTableConfiguration",
    "DeleteBucket",
    "DeleteBucketMetadataTableConfiguration",
    "DeleteBucketPolicy",
    "DeleteBucketWebsite",
    "GetAccelerateConfiguration",
    "GetAnalyticsConfiguration",
    "GetBucketAbac",
    "GetBucketAcl",
    "GetBucketCORS",
    "GetBucketLocation",
    "GetBucketLogging",
    "GetBucketMetadataTableConfiguration",
    "GetBucketNotification",
    "GetBucketObjectLockConfiguration",
    "GetBucketOwnershipControls",
    "GetBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketPublicAccessBlock",
    "GetBucketRequestPayment",
    "GetBucketTagging",
    "GetBucketVersioning",
    "GetBucketWebsite",
    "GetEncryptionConfiguration",
    "GetIntelligentTieringConfiguration",
    "GetInventoryConfiguration",
    "GetLifecycleConfiguration",
    "GetMetricsConfiguration",
    "GetReplicationConfiguration",
    "ListBucket",
    "ListBucketMultipartUploads",
    "ListBucketVersions",
    "ListTagsForResource",
    "PauseReplication",
    "PutAccelerateConfiguration",
    "PutAnalyticsConfiguration",
    "PutBucketAbac",
    "PutBucketAcl",
    "PutBucketCORS",
    "PutBucketLogging",
    "PutBucketNotification",
    "PutBucketObjectLockConfiguration",
    "PutBucketOwnershipControls",
    "PutBucketPolicy",
    "PutBucketPublicAccessBlock",
    "PutBucketRequestPayment",
    "PutBucketTagging",
    "PutBucketVersioning",
    "PutBucketWebsite",
    "PutEncryptionConfiguration",
    "PutIntelligentTieringConfiguration",
    "PutInventoryConfiguration",
    "PutLifecycleConfiguration",
    "PutMetricsConfiguration",
    "PutReplicationConfiguration",
    "TagResource",
    "UntagResource",
    "UpdateBucketMetadataAnnotationTableConfiguration",
    "UpdateBucketMetadataInventoryTableConfiguration",
    "UpdateBucketMetadataJournalTableConfiguration",
};
// On arn:aws:s3:::bucket/key.
constexpr std::string_view kObjectActions[] = {
    "AbortMultipartUpload",
    "BypassGovernanceRetention",
    "DeleteObject",
    "DeleteObjectAnnotation",
    "DeleteObjectTagging",
    "DeleteObjectVersion",
    "DeleteObjectVersionAnnotation",
    "DeleteObjectVersionTagging",
    "GetObject",
    "GetObjectAcl",
    "GetObjectAnnotation",
    "GetObjectAttributes",
    "GetObjectLegalHold",
    "GetObjectRetention",
    "GetObjectTagging",
    "GetObjectTorrent",
    "GetObjectVersion",
    "GetObjectVersionAcl",
    "GetObjectVersionAnnotation",
    "GetObjectVersionAnnotationForReplication",
    "GetObjectVersionAttributes",
    "GetObjectVersionForReplication",
    "GetObjectVersionTagging",
    "GetObjectVersionTorrent",
    "InitiateReplication",
    "ListMultipartUploadParts",
    "ListObjectAnnotations",
    "ListObjectVersionAnnotations",
    "ObjectOwnerOverrideToBucketOwner",
    "PutObject",
    "PutObjectAcl",
    "PutObjectAnnotation",
    "PutObjectLegalHold",
    "PutObjectRetention",
    "PutObjectTagging",
    "PutObjectVersionAcl",
    "PutObjectVersionAnnotation",
    "PutObjectVersionTagging",
    "ReplicateDelete",
    "ReplicateObject",
    "ReplicateObjectAnnotation",
    "ReplicateTags",
    "RestoreObject",
    "UpdateObjectEncryption",
};
// On no resource a bucket policy can name.
constexpr std::string_view kOtherActions[] = {
    "AssociateAccessGrantsIdentityCenter",
    "CreateAccessGrant",
    "CreateAccessGrantsInstance",
    "CreateAccessGrantsLocation",
    "CreateAccessPoint",
    "CreateAccessPointForObjectLambda",
    "CreateJob",
    "CreateMultiRegionAccessPoint",
    "CreateStorageLensGroup",
    "DeleteAccessGrant",
    "DeleteAccessGrantsInstance",
    "DeleteAccessGrantsInstanceResourcePolicy",
    "DeleteAccessGrantsLocation",
    "DeleteAccessPoint",
    "DeleteAccessPointForObjectLambda",
    "DeleteAccessPointPolicy",
    "DeleteAccessPointPolicyForObjectLambda",
    "DeleteJobTagging",
    "DeleteMultiRegionAccessPoint",
    "DeleteStorageLensConfiguration",
    "DeleteStorageLensConfigurationTagging",
    "DeleteStorageLensGroup",
    "DescribeJob",
    "DescribeMultiRegionAccessPointOperation",
    "DissociateAccessGrantsIdentityCenter",
    "GetAccessGrant",
    "GetAccessGrantsInstance",
    "GetAccessGrantsInstanceForPrefix",
    "GetAccessGrantsInstanceResourcePolicy",
    "GetAccessGrantsLocation",
    "GetAccessPoint",
    "GetAccessPointConfigurationForObjectLambda",
    "GetAccessPointForObjectLambda",
    "GetAccessPointPolicy",
    "GetAccessPointPolicyForObjectLambda",
    "GetAccessPointPolicyStatus",
    "GetAccessPointPolicyStatusForObjectLambda",
    "GetAccountPublicAccessBlock",
    "GetDataAccess",
    "GetJobTagging",
    "GetMultiRegionAccessPoint",
    "GetMultiRegionAccessPointPolicy",
    "GetMultiRegionAccessPointPolicyStatus",
    "GetMultiRegionAccessPointRoutes",
    "GetStorageLensConfiguration",
    "GetStorageLensConfigurationTagging",
    "GetStorageLensDashboard",
    "GetStorageLensGroup",
    "ListAccessGrants",
    "ListAccessGrantsInstances",
    "ListAccessGrantsLocations",
    "ListAccessPoints",
    "ListAccessPointsForObjectLambda",
    "ListAllMyBuckets",
    "ListCallerAccessGrants",
    "ListJobs",
    "ListMultiRegionAccessPoints",
    "ListStorageLensConfigurations",
    "ListStorageLensGroups",
    "PutAccessGrantsInstanceResourcePolicy",
    "PutAccessPointConfigurationForObjectLambda",
    "PutAccessPointPolicy",
    "PutAccessPointPolicyForObjectLambda",
    "PutAccessPointPublicAccessBlock",
    "PutAccountPublicAccessBlock",
    "PutJobTagging",
    "PutMultiRegionAccessPointPolicy",
    "PutStorageLensConfiguration",
    "PutStorageLensConfigurationTagging",
    "SubmitMultiRegionAccessPointRoutes",
    "UpdateAccessGrantsLocation",
    "UpdateJobPriority",
    "UpdateJobStatus",
    "UpdateStorageLensGroup",
};

// Whether the action pattern of a statement ("s3:GetObject", "s3:get*", "*": case-blind)
// names one of `actions`.
template <size_t N>
bool NamesAction(std::string_view pattern, const std::string_view (&actions)[N]) {
  return std::any_of(std::begin(actions), std::end(actions), [&](std::string_view name) {
    return PolicyWildcardMatch(pattern, "s3:" + std::string(name), true);
  });
}

// The condition keys thumbflow knows (lower case; a trailing '/' takes any tag key after
// it): every S3 key a bucket policy may name (any other s3: key, or a key of another
// service, is "Policy has an invalid condition key"; every aws: key is taken), and whether
// thumbflow puts it in a request's context when the request has it (PolicyRequest::Supplies).
struct ConditionKeySpec {
  std::string_view name;
  bool supplied;
};
constexpr ConditionKeySpec kConditionKeys[] = {
    {"aws:sourceip", true},
    {"aws:securetransport", true},
    {"aws:currenttime", true},
    {"aws:epochtime", true},
    {"aws:useragent", true},
    {"aws:referer", true},
    {"aws:principaltype", true},
    {"aws:principalaccount", true},
    {"aws:principalarn", true},
    {"aws:userid", true},
    {"s3:prefix", true},
    {"s3:delimiter", true},
    {"s3:max-keys", true},
    {"s3:versionid", true},
    {"s3:x-amz-acl", true},
    {"s3:x-amz-grant-read", true},
    {"s3:x-amz-grant-write", true},
    {"s3:x-amz-grant-read-acp", true},
    {"s3:x-amz-grant-write-acp", true},
    {"s3:x-amz-grant-full-control", true},
    {"s3:x-amz-copy-source", true},
    {"s3:x-amz-metadata-directive", true},
    {"s3:x-amz-server-side-encryption", true},
    {"s3:x-amz-server-side-encryption-aws-kms-key-id", true},
    {"s3:x-amz-server-side-encryption-customer-algorithm", true},
    {"s3:x-amz-storage-class", true},
    {"s3:x-amz-website-redirect-location", true},
    {"s3:x-amz-content-sha256", true},
    {"s3:x-amz-object-ownership", false},
    {"s3:authtype", true},
    {"s3:signatureversion", true},
    {"s3:signatureage", false},
    {"s3:tlsversion", false},
    {"s3:locationconstraint", false},
    {"s3:resourceaccount", true},
    {"s3:objectcreationoperation", false},
    {"s3:requestobjecttagkeys", true},
    {"s3:object-lock-mode", false},
    {"s3:object-lock-retain-until-date", false},
    {"s3:object-lock-remaining-retention-days", false},
    {"s3:object-lock-legal-hold", false},
    {"s3:dataaccesspointarn", false},
    {"s3:dataaccesspointaccount", false},
    {"s3:accesspointnetworkorigin", false},
    {"s3:existingobjecttag/", true},
    {"s3:requestobjecttag/", true},
};

// The entry of `key`; nullptr when unknown.
const ConditionKeySpec* FindConditionKey(std::string_view key) {
  for (const ConditionKeySpec& spec : kConditionKeys) {
    bool match = spec.name.ends_with('/')
                     ? key.size() > spec.name.size() && key.starts_with(spec.name)
                     : key == spec.name;
    if (match) return &spec;
  }
  return nullptr;
}

// The condition operators, by name without IfExists and set qualifier.
enum class OpType { kString, kNumeric, kDate, kBool, kBinary, kIp, kArn, kNull };

struct OperatorSpec {
  std::string_view name;
  OpType type;
  bool negated;
  bool ignore_case;
  bool like;
  int compare;  // numeric and date: 0 equals, -1 less than, -2 less or equal, 1 greater, 2 >=
};

constexpr OperatorSpec kOperators[] = {
    {"StringEquals", OpType::kString, false, false, false, 0},
    {"StringNotEquals", OpType::kString, true, false, false, 0},
    {"StringEqualsIgnoreCase", OpType::kString, false, true, false, 0},
    {"StringNotEqualsIgnoreCase", OpType::kString, true, true, false, 0},
    {"StringLike", OpType::kString, false, false, true, 0},
    {"StringNotLike", OpType::kString, true, false, true, 0},
    {"NumericEquals", OpType::kNumeric, false, false, false, 0},
    {"NumericNotEquals", OpType::kNumeric, true, false, false, 0},
    {"NumericLessThan", OpType::kNumeric, false, false, false, -1},
    {"NumericLessThanEquals", OpType::kNumeric, false, false, false, -2},
    {"NumericGreaterThan", OpType::kNumeric, false, false, false, 1},
    {"NumericGreaterThanEquals", OpType::kNumeric, false, false, false, 2},
    {"DateEquals", OpType::kDate, false, false, false, 0},
    {"DateNotEquals", OpType::kDate, true, false, false, 0},
    {"DateLessThan", OpType::kDate, false, false, false, -1},
    {"DateLessThanEquals", OpType::kDate, false, false, false, -2},
    {"DateGreaterThan", OpType::kDate, false, false, false, 1},
    {"DateGreaterThanEquals", OpType::kDate, false, false, false, 2},
    {"Bool", OpType::kBool, false, false, false, 0},
    {"BinaryEquals", OpType::kBinary, false, false, false, 0},
    {"IpAddress", OpType::kIp, false, false, false, 0},
    {"NotIpAddress", OpType::kIp, true, false, false, 0},
    {"ArnEquals", OpType::kArn, false, false, true, 0},
    {"ArnLike", OpType::kArn, false, false, true, 0},
    {"ArnNotEquals", OpType::kArn, true, false, true, 0},
    {"ArnNotLike", OpType::kArn, true, false, true, 0},
    {"Null", OpType::kNull, false, false, false, 0},
};

const OperatorSpec* FindOperator(std::string_view name) {
  for (const OperatorSpec& spec : kOperators) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status Malformed(S3Error* error, std::string message) {
  *error = MakeError("MalformedPolicy", message);
  error->http_status = 400;
  return InvalidArgumentError(std::move(message));
}

// A JSON string or a list of strings; nullopt for anything else (or an empty list).
std::optional<std::vector<std::string>> StringList(const json& value) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
    return out;
  }
  if (!value.is_array() || value.empty()) return std::nullopt;
  for (const json& item : value) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

// A condition value: strings, numbers and booleans are compared as their text, as IAM does.
std::optional<std::vector<std::string>> ConditionValues(const json& value) {
  auto text = [](const json& v) -> std::optional<std::string> {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
    if (v.is_number()) return v.dump();
    return std::nullopt;
  };
  std::vector<std::string> out;
  if (value.is_array()) {
    if (value.empty()) return std::nullopt;
    for (const json& item : value) {
      std::optional<std::string> t = text(item);
      if (!t) return std::nullopt;
      out.push_back(std::move(*t));
    }
    return out;
  }
  std::optional<std::string> t = text(value);
  if (!t) return std::nullopt;
  out.push_back(std::move(*t));
  return out;
}

// Whether some text that begins with `prefix` matches `pattern`: the pattern positions
// reachable after reading the prefix (a '*' may match nothing or stay); whatever pattern is
// left after one of them can be met by the rest of such a text.
bool PatternCanStartWith(std::string_view pattern, std::string_view prefix) {
  const size_t n = pattern.size();
  std::vector<char> states(n + 1, 0), next(n + 1, 0);
  auto close = [&](std::vector<char>& s) {
    for (size_t i = 0; i < n; ++i) {
      if (s[i] && pattern[i] == '*') s[i + 1] = 1;
    }
  };
  states[0] = 1;
  close(states);
  for (char c : prefix) {
    std::fill(next.begin(), next.end(), 0);
    for (size_t i = 0; i < n; ++i) {
      if (!states[i]) continue;
      if (pattern[i] == '*') {
        next[i] = 1;
      } else if (pattern[i] == '?' || pattern[i] == c) {
        next[i + 1] = 1;
      }
    }
    close(next);
    states.swap(next);
    if (std::none_of(states.begin(), states.end(), [](char r) { return r != 0; })) return false;
  }
  return true;
}

// "NAME.amazonaws.com" (NAME: dot-separated labels of lower-case letters, digits and '-').
bool IsServicePrincipal(std::string_view name) {
  constexpr std::string_view kSuffix = ".amazonaws.com";
  if (!name.ends_with(kSuffix) || name.size() == kSuffix.size()) return false;
  name.remove_suffix(kSuffix.size());
  bool label_start = true;
  for (char c : name) {
    if (c == '.') {
      if (label_start) return false;
      label_start = true;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    label_start = false;
  }
  return !label_start;
}

// Principal / NotPrincipal: "*", or {"AWS": ..., "CanonicalUser": ..., "Service": ...}, the
// first two naming known users.
Status ParsePrincipal(const json& value, const AclUsers* users, std::vector<std::string>* out,
                      S3Error* error) {
  if (value.is_string()) {
    if (value.get<std::string>() != "*") return Malformed(error, "Invalid principal in policy");
    out->push_back("*");
    return Status::Ok();
  }
  if (!value.is_object() || value.empty()) return Malformed(error, "Invalid principal in policy");
  for (const auto& [type, names] : value.items()) {
    std::optional<std::vector<std::string>> list = StringList(names);
    if (!list || (type != "AWS" && type != "CanonicalUser" && type != "Service")) {
      return Malformed(error, "Invalid principal in policy");
    }
    for (std::string name : *list) {
      // An AWS service (logging.s3.amazonaws.com, cloudfront.amazonaws.com, ...): valid, and
      // never one of the endpoint's users, so such a statement applies to no request here.
      if (type == "Service") {
        if (!IsServicePrincipal(name)) return Malformed(error, "Invalid principal in policy");
        continue;
      }
      if (type == "AWS" && name == "*") {
        out->push_back("*");
        continue;
      }
      // Each user is an account of its own: its id is its name, its root ARN names it.
      constexpr std::string_view kArnPrefix = "arn:aws:iam::";
      if (type == "AWS" && name.starts_with(kArnPrefix) && name.ends_with(":root")) {
        name = name.substr(kArnPrefix.size(), name.size() - kArnPrefix.size() - 5);
      }
      if (users != nullptr && !users->Known(name))
        return Malformed(error, "Invalid principal in policy");
      out->push_back(std::move(name));
    }
  }
  return Status::Ok();
}

Status ParseConditions(const json& value, std::vector<PolicyCondition>* out, S3Error* error) {
  if (!value.is_object()) return Malformed(error, "Condition must be an object");
  for (const auto& [full_name, keys] : value.items()) {
    PolicyCondition base;
    std::string_view name = full_name;
    if (name.starts_with("ForAnyValue:")) {
      base.set = PolicyCondition::Set::kAnyValue;
      name.remove_prefix(12);
    } else if (name.starts_with("ForAllValues:")) {
      base.set = PolicyCondition::Set::kAllValues;
      name.remove_prefix(13);
    }
    if (name.ends_with("IfExists") && name != "Null") {
      base.if_exists = true;
      name.remove_suffix(8);
    }
    const OperatorSpec* spec = FindOperator(name);
    if (spec == nullptr || (spec->type == OpType::kNull && base.if_exists)) {
      return Malformed(error, "Invalid Condition type : " + full_name);
    }
    base.op = std::string(name);
    if (!keys.is_object() || keys.empty()) {
      return Malformed(error, "Invalid Condition type : " + full_name);
    }
    for (const auto& [key, values] : keys.items()) {
      std::string lower = ToLowerAscii(key);
      bool known = lower.starts_with("aws:") || FindConditionKey(lower) != nullptr;
      if (!known) return Malformed(error, "Policy has an invalid condition key");
      std::optional<std::vector<std::string>> list = ConditionValues(values);
      if (!list) return Malformed(error, "Invalid Condition value for key " + key);
      PolicyCondition condition = base;
      condition.key = std::move(lower);
      condition.values = std::move(*list);
      out->push_back(std::move(condition));
    }
  }
  return Status::Ok();
}

Result<PolicyStatement> ParseStatement(const json& s, const std::string& bucket,
                                       const AclUsers* users, S3Error* error) {
  if (!s.is_object()) return Malformed(error, "Statement must be an object");
  PolicyStatement statement;
  for (const auto& [field, value] : s.items()) {
    static constexpr std::string_view kFields[] = {"Sid",          "Effect",      "Principal",
                                                   "NotPrincipal", "Action",      "NotAction",
                                                   "Resource",     "NotResource", "Condition"};
    if (std::find(std::begin(kFields), std::end(kFields), field) == std::end(kFields)) {
      return Malformed(error, "Unknown field " + field);
    }
  }
  if (!s.contains("Effect")) return Malformed(error, "Missing required field Effect");
  const json& effect = s["Effect"];
  if (!effect.is_string() || (effect != "Allow" && effect != "Deny")) {
    return Malformed(error, "Invalid effect: " +
                                (effect.is_string() ? effect.get<std::string>() : effect.dump()));
  }
  statement.allow = effect == "Allow";

  const bool has_principal = s.contains("Principal");
  if (has_principal == s.contains("NotPrincipal")) {
    return Malformed(error, has_principal ? "Statement has both Principal and NotPrincipal"
                                          : "Missing required field Principal");
  }
  statement.not_principal = !has_principal;
  RETURN_IF_ERROR(ParsePrincipal(has_principal ? s["Principal"] : s["NotPrincipal"], users,
                                 &statement.principals, error));

  const bool has_action = s.contains("Action");
  if (has_action == s.contains("NotAction")) {
    return Malformed(error, has_action ? "Statement has both Action and NotAction"
                                       : "Missing required field Action");
  }
  statement.not_action = !has_action;
  std::optional<std::vector<std::string>> actions =
      StringList(has_action ? s["Action"] : s["NotAction"]);
  if (!actions) return Malformed(error, "Policy has invalid action");
  for (std::string& action : *actions) {
    LowerAsciiInPlace(action);
    if (!NamesAction(action, kBucketActions) && !NamesAction(action, kObjectActions) &&
        !NamesAction(action, kOtherActions)) {
      return Malformed(error, "Policy has invalid action");
    }
    statement.actions.push_back(std::move(action));
  }

  const bool has_resource = s.contains("Resource");
  if (has_resource == s.contains("NotResource")) {
    return Malformed(error, has_resource ? "Statement has both Resource and NotResource"
                                         : "Missing required field Resource");
  }
  statement.not_resource = !has_resource;
  std::optional<std::vector<std::string>> resources =
      StringList(has_resource ? s["Resource"] : s["NotResource"]);
  if (!resources) return Malformed(error, "Policy has invalid resource");
  const std::string bucket_arn = "arn:aws:s3:::" + bucket;
  bool bucket_resource = false;
  bool object_resource = false;
  for (std::string& resource : *resources) {
    // A resource of this bucket, or a pattern that can name it or its objects.
    const bool names_bucket = PolicyWildcardMatch(resource, bucket_arn, false);
    const bool names_objects = PatternCanStartWith(resource, bucket_arn + "/");
    if (!resource.starts_with("arn:aws:s3:::") || (!names_bucket && !names_objects)) {
      return Malformed(error, "Policy has invalid resource");
    }
    bucket_resource = bucket_resource || names_bucket;
    object_resource = object_resource || names_objects;
    statement.resources.push_back(std::move(resource));
  }
  // Each action must apply to one of the resources (S3 checks the plain forms only).
  if (!statement.not_action && !statement.not_resource) {
    for (const std::string& action : statement.actions) {
      const bool applies = (bucket_resource && NamesAction(action, kBucketActions)) ||
                           (object_resource && NamesAction(action, kObjectActions));
      if (!applies) {
        return Malformed(error, "Action does not apply to any resource(s) in statement");
      }
    }
  }
  if (s.contains("Condition")) {
    RETURN_IF_ERROR(ParseConditions(s["Condition"], &statement.conditions, error));
  }
  return statement;
}

// --- Evaluation ---------------------------------------------------------------------------

std::optional<double> ParseNumber(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// ISO 8601 ("2026-12-06T10:00:00Z", with optional fraction, or a date alone) or epoch
// seconds, as IAM reads dates; milliseconds since the epoch.
std::optional<int64_t> ParseDate(std::string_view text) {
  if (std::optional<double> epoch = ParseNumber(text)) {
    return static_cast<int64_t>(std::floor(*epoch * 1000));
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char zone[8] = {0};
  std::string copy(text);
  int n = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &year, &month, &day, &hour,
                      &minute, &second, zone);
  if (n == 3 && copy.size() == 10) return UtcMillis(year, month, day, 0, 0, 0);
  if (n < 6) return std::nullopt;
  std::string_view rest = zone;
  if (rest.starts_with('.')) {
    size_t digits = rest.find_first_not_of("0123456789", 1);
    rest = digits == std::string_view::npos ? std::string_view() : rest.substr(digits);
  }
  if (!rest.empty() && rest != "Z" && rest != "+00:00") return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  return UtcMillis(year, month, day, hour, minute, second);
}

// "10.0.0.0/8", "2001:db8::/32" or a bare address; whether `address` falls inside.
bool IpInRange(std::string_view range, std::string_view address) {
  std::string cidr(range);
  int bits = -1;
  if (size_t slash = cidr.find('/'); slash != std::string::npos) {
    std::optional<double> n = ParseNumber(std::string_view(cidr).substr(slash + 1));
    if (!n || *n < 0 || *n != std::floor(*n)) return false;
    bits = static_cast<int>(*n);
    cidr.resize(slash);
  }
  unsigned char net[16], addr[16];
  std::string a(address);
  // An IPv4-mapped peer (::ffff:a.b.c.d) is compared as IPv4.
  if (a.starts_with("::ffff:") && a.find('.') != std::string::npos) a = a.substr(7);
  size_t length = 0;
  if (inet_pton(AF_INET, cidr.c_str(), net) == 1 && inet_pton(AF_INET, a.c_str(), addr) == 1) {
    length = 4;
  } else if (inet_pton(AF_INET6, cidr.c_str(), net) == 1 &&
             inet_pton(AF_INET6, a.c_str(), addr) == 1) {
    length = 16;
  } else {
    return false;
  }
  if (bits < 0) bits = static_cast<int>(length * 8);
  if (bits > static_cast<int>(length * 8)) return false;
  for (int i = 0; i < bits; ++i) {
    int mask = 0x80 >> (i % 8);
    if ((net[i / 8] & mask) != (addr[i / 8] & mask)) return false;
  }
  return true;
}

// One policy value against one request value (positive sense: equal / like / in range).
bool ValueMatches(const OperatorSpec& spec, std::string_view wanted, std::string_view actual) {
  switch (spec.type) {
    case OpType::kString:
      if (spec.like) return PolicyWildcardMatch(wanted, actual, false);
      return spec.ignore_case ? EqualsIgnoreCase(wanted, actual) : wanted == actual;
    case OpType::kArn:
      return PolicyWildcardMatch(wanted, actual, false);
    case OpType::kBool:
      return EqualsIgnoreCase(wanted, actual);
    case OpType::kBinary:
      return wanted == actual;
    case OpType::kIp:
      return IpInRange(wanted, actual);
    case OpType::kNumeric:
    case OpType::kDate: {
      std::optional<double> a, w;
      if (spec.type == OpType::kNumeric) {
        a = ParseNumber(actual);
        w = ParseNumber(wanted);
      } else {
        std::optional<int64_t> ad = ParseDate(actual), wd = ParseDate(wanted);
        if (ad) a = static_cast<double>(*ad);
        if (wd) w = static_cast<double>(*wd);
      }
      if (!a || !w) return false;
      switch (spec.compare) {
        case -1:
          return *a < *w;
        case -2:
          return *a <= *w;
        case 1:
          return *a > *w;
        case 2:
          return *a >= *w;
        default:
          return *a == *w;
      }
    }
    case OpType::kNull:
      return false;
  }
  return false;
}

// Whether one request value satisfies the operator against the policy's values: any of them
// for a positive operator, none of them for a negated one.
bool OneValueHolds(const OperatorSpec& spec, const std::vector<std::string>& wanted,
                   std::string_view actual) {
  bool any = std::any_of(wanted.begin(), wanted.end(),
                         [&](const std::string& w) { return ValueMatches(spec, w, actual); });
  return spec.negated ? !any : any;
}

bool ConditionHolds(const PolicyCondition& condition, const PolicyRequest& request, bool allow) {
  const OperatorSpec& spec = *FindOperator(condition.op);
  auto found = request.keys.find(condition.key);
  const bool present = found != request.keys.end() && !found->second.empty();
  if (spec.type == OpType::kNull) {
    // "true": the key must be absent; "false": present.
    bool want_absent = EqualsIgnoreCase(condition.values.front(), "true");
    if (allow && !PolicyRequest::Supplies(condition.key)) return false;
    return want_absent ? !present : present;
  }
  if (allow && !PolicyRequest::Supplies(condition.key)) return false;
  if (!present) {
    if (condition.if_exists) return true;
    if (condition.set == PolicyCondition::Set::kAllValues) return true;
    if (condition.set == PolicyCondition::Set::kAnyValue) return false;
    return spec.negated;
  }
  const std::vector<std::string>& actual = found->second;
  if (condition.set == PolicyCondition::Set::kAllValues) {
    return std::all_of(actual.begin(), actual.end(), [&](const std::string& a) {
      return OneValueHolds(spec, condition.values, a);
    });
  }
  // Single-valued keys and ForAnyValue: some request value holds.
  return std::any_of(actual.begin(), actual.end(), [&](const std::string& a) {
    return OneValueHolds(spec, condition.values, a);
  });
}

bool StatementApplies(const PolicyStatement& s, const PolicyRequest& request) {
  bool principal = std::any_of(s.principals.begin(), s.principals.end(), [&](const auto& p) {
    return p == "*" || (!request.principal.empty() && p == request.principal);
  });
  if (principal == s.not_principal) return false;
  const std::string action = ToLowerAscii(request.action);
  bool action_named = std::any_of(s.actions.begin(), s.actions.end(), [&](const auto& a) {
    return PolicyWildcardMatch(a, action, false);
  });
  if (action_named == s.not_action) return false;
  bool resource_named = std::any_of(s.resources.begin(), s.resources.end(), [&](const auto& r) {
    return PolicyWildcardMatch(r, request.resource, false);
  });
  if (resource_named == s.not_resource) return false;
  return std::all_of(s.conditions.begin(), s.conditions.end(),
                     [&](const PolicyCondition& c) { return ConditionHolds(c, request, s.allow); });
}

// Keys whose fixed values make a statement non-public (S3's "public" judgement).
constexpr std::string_view kNarrowingKeys[] = {
    "aws:sourceip",      "aws:sourcearn",   "aws:sourcevpc",         "aws:sourcevpce",
    "aws:sourceaccount", "aws:sourceowner", "aws:principalorgid",    "aws:principalaccount",
    "aws:principalarn",  "aws:userid",      "s3:dataaccesspointarn", "s3:dataaccesspointaccount"};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(errno, "write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

void PolicyRequest::Set(std::string_view key, std::string value) {
  keys[ToLowerAscii(key)].push_back(std::move(value));
}

bool PolicyRequest::Supplies(std::string_view key) {
  const ConditionKeySpec* spec = FindConditionKey(key);
  return spec != nullptr && spec->supplied;
}

bool PolicyWildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto same = [ignore_case](char a, char b) {
    return ignore_case ? ToLowerAscii(a) == ToLowerAscii(b) : a == b;
  };
  // Greedy with one back-tracking point, the last '*' seen.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || same(pattern[p], text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<BucketPolicy> BucketPolicy::Parse(std::string_view document, const std::string& bucket,
                                         const AclUsers* users, S3Error* error) {
  if (document.size() > kMaxPolicyBytes) {
    return Malformed(error, "Policies must be no larger than 20 KB");
  }
  json doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Malformed(error, "Policies must be valid JSON and the first byte must be '{'");
  }
  for (const auto& [field, value] : doc.items()) {
    if (field != "Version" && field != "Id" && field != "Statement") {
      return Malformed(error, "Unknown field " + field);
    }
  }
  if (doc.contains("Version")) {
    const json& version = doc["Version"];
    if (!version.is_string() || (version != "2012-10-17" && version != "2008-10-17")) {
      return Malformed(error, "The policy must contain a valid version string");
    }
  }
  if (!doc.contains("Statement")) return Malformed(error, "Missing required field Statement");
  const json& statements = doc["Statement"];
  if (statements.is_array() && statements.empty()) {
    return Malformed(error, "Could not parse the policy: Statement is empty!");
  }
  BucketPolicy policy;
  for (const json& s : statements.is_array() ? statements : json::array({statements})) {
    ASSIGN_OR_RETURN(PolicyStatement statement, ParseStatement(s, bucket, users, error));
    policy.statements_.push_back(std::move(statement));
  }
  return policy;
}

PolicyDecision BucketPolicy::Evaluate(const PolicyRequest& request) const {
  bool allowed = false;
  for (const PolicyStatement& s : statements_) {
    if (!StatementApplies(s, request)) continue;
    if (!s.allow) return PolicyDecision::kDeny;  // an explicit Deny wins over any Allow
    allowed = true;
  }
  return allowed ? PolicyDecision::kAllow : PolicyDecision::kNone;
}

bool BucketPolicy::IsPublic() const {
  for (const PolicyStatement& s : statements_) {
    if (!s.allow) continue;
    bool everyone = s.not_principal ||
                    std::find(s.principals.begin(), s.principals.end(), "*") != s.principals.end();
    if (!everyone) continue;
    bool narrowed = std::any_of(s.conditions.begin(), s.conditions.end(), [](const auto& c) {
      bool narrowing_key = std::find(std::begin(kNarrowingKeys), std::end(kNarrowingKeys), c.key) !=
                           std::end(kNarrowingKeys);
      bool positive = !FindOperator(c.op)->negated && c.op != "Null";
      bool fixed = std::none_of(c.values.begin(), c.values.end(), [](const std::string& v) {
        return v.find('*') != std::string::npos || v == "0.0.0.0/0" || v == "::/0";
      });
      return narrowing_key && positive && fixed;
    });
    if (!narrowed) return true;
  }
  return false;
}

namespace {

// The name of a bucket's policy file without folder and extension, and GetParsed's key.
std::string PolicyId(const BucketInfo& bucket) {
  return bucket.name + "@" + std::to_string(bucket.created_ms);  // '@' is never in a name
}

}  // namespace

std::string BucketPolicyStore::PathOf(const BucketInfo& bucket) const {
  return root_ + "/" + PolicyId(bucket) + ".json";
}

void BucketPolicyStore::Forget(const std::string& bucket) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  const std::string prefix = bucket + "@";
  for (auto it = parsed_.lower_bound(prefix);
       it != parsed_.end() && it->first.starts_with(prefix);) {
    it = parsed_.erase(it);
  }
}

Result<std::shared_ptr<const BucketPolicy>> BucketPolicyStore::GetParsed(
    const BucketInfo& bucket) const {
  const std::string id = PolicyId(bucket);
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto found = parsed_.find(id); found != parsed_.end()) return found->second;
    generation = generation_;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> document, Get(bucket));
  std::shared_ptr<const BucketPolicy> policy;
  if (document) {
    S3Error error;
    Result<BucketPolicy> parsed = BucketPolicy::Parse(*document, bucket.name, nullptr, &error);
    if (!parsed.ok()) {
      return InternalError("the stored policy of bucket " + bucket.name +
                           " does not parse: " + parsed.status().message());
    }
    policy = std::make_shared<const BucketPolicy>(std::move(*parsed));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (generation_ == generation) parsed_.emplace(id, policy);
  return policy;
}

Status BucketPolicyStore::Put(const BucketInfo& bucket, std::string_view document) {
  Forget(bucket.name);
  Status written = Write(bucket, document);
  Forget(bucket.name);
  return written;
}

Status BucketPolicyStore::Write(const BucketInfo& bucket, std::string_view document) {
  return ReplaceFileDurably(root_, PathOf(bucket), document);
}

Status ReplaceFileDurably(const std::string& folder, const std::string& path,
                          std::string_view data) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return FileError(ec.value(), "create folder", folder);
  const std::string tmp = path + "." + RandomHex(6) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FileError(errno, "create", tmp);
  Status written = WriteAll(fd, data, tmp);
  if (written.ok() && ::fsync(fd) != 0) written = FileError(errno, "fsync", tmp);
  ::close(fd);
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    written = FileError(errno, "rename", tmp);
  }
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  // The rename is durable once the folder is synced.
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return FileError(errno, "open", folder);
  int synced = ::fsync(dir);
  int err = errno;
  ::close(dir);
  if (synced != 0) return FileError(err, "fsync", folder);
  return Status::Ok();
}

Result<std::optional<std::string>> BucketPolicyStore::Get(const BucketInfo& bucket) const {
  return ReadFileIfPresent(PathOf(bucket));
}

Result<std::optional<std::string>> ReadFileIfPresent(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return FileError(errno, "open", path);
  }
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return FileError(err, "read", path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(text));
}

Status BucketPolicyStore::Delete(const BucketInfo& bucket) {
  Forget(bucket.name);
  const std::string path = PathOf(bucket);
  Status removed = Status::Ok();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) removed = FileError(errno, "remove", path);
  Forget(bucket.name);
  return removed;
}

Status BucketPolicyStore::DeleteAll(const std::string& bucket) {
  Forget(bucket);
  Status removed = RemoveAll(bucket);
  Forget(bucket);
  return removed;
}

Status BucketPolicyStore::RemoveAll(const std::string& bucket) {
  return RemoveBucketFiles(root_, bucket);
}

Status RemoveBucketFiles(const std::string& folder, const std::string& bucket) {
  std::error_code ec;
  std::filesystem::directory_iterator it(folder, ec);
  if (ec)
    return ec == std::errc::no_such_file_or_directory ? Status::Ok()
                                                      : FileError(ec.value(), "list", folder);
  const std::string prefix = bucket + "@";  // '@' is never in a bucket name
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT) {
      return FileError(errno, "remove", entry.path().string());
    }
  }
  return Status::Ok();
}

}  // namespace thumbflow::server
