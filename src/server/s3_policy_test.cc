#include "server/s3_policy.h"

#include "server/s3_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/random.h"

namespace thumbflow::server {
namespace {

const AclUsers kUsers{{{"owner", ""}, {"alice", ""}, {"bob", ""}}};

BucketPolicy MustParse(const std::string& document, const std::string& bucket = "b") {
  S3Error error;
  Result<BucketPolicy> policy = BucketPolicy::Parse(document, bucket, &kUsers, &error);
  EXPECT_TRUE(policy.ok()) << error.code << ": " << error.message << "\n" << document;
  return policy.ok() ? std::move(*policy) : BucketPolicy();
}

// The MalformedPolicy message S3 gives `document`; "" when it parses.
std::string Refusal(const std::string& document, const std::string& bucket = "b") {
  S3Error error;
  Result<BucketPolicy> policy = BucketPolicy::Parse(document, bucket, &kUsers, &error);
  if (policy.ok()) return "";
  EXPECT_EQ(error.code, "MalformedPolicy");
  EXPECT_EQ(error.http_status, 400);
  return error.message;
}

// One statement: effect, principal JSON, action JSON, resource JSON, optional condition.
std::string Statement(const std::string& effect, const std::string& principal,
                      const std::string& action, const std::string& resource,
                      const std::string& condition = "") {
  std::string s = R"({"Effect":")" + effect + R"(","Principal":)" + principal + R"(,"Action":)" +
                  action + R"(,"Resource":)" + resource;
  if (!condition.empty()) s += R"(,"Condition":)" + condition;
  return s + "}";
}

std::string Policy(const std::vector<std::string>& statements) {
  std::string s = R"({"Version":"2012-10-17","Statement":[)";
  for (size_t i = 0; i < statements.size(); ++i) s += (i ? "," : "") + statements[i];
  return s + "]}";
}

PolicyRequest Ask(std::string principal, std::string action, std::string resource) {
  PolicyRequest r;
  r.principal = std::move(principal);
  r.action = std::move(action);
  r.resource = std::move(resource);
  return r;
}

TEST(PolicyWildcardTest, StarAndQuestionMark) {
  EXPECT_TRUE(PolicyWildcardMatch("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/c", false));
  EXPECT_FALSE(PolicyWildcardMatch("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
  EXPECT_TRUE(PolicyWildcardMatch("arn:aws:s3:::b/p?b*", "arn:aws:s3:::b/pub/x", false));
  EXPECT_FALSE(PolicyWildcardMatch("arn:aws:s3:::b/p?b*", "arn:aws:s3:::b/pb", false));
  EXPECT_TRUE(PolicyWildcardMatch("*", "", false));
  EXPECT_TRUE(PolicyWildcardMatch("s3:get*", "s3:GetObject", true));
  EXPECT_FALSE(PolicyWildcardMatch("s3:get*", "s3:GetObject", false));
  EXPECT_TRUE(PolicyWildcardMatch("a*b*c", "aXbYbZc", false));
  EXPECT_FALSE(PolicyWildcardMatch("a*b*c", "aXbYbZ", false));
}

TEST(BucketPolicyParseTest, RefusesWhatS3RefusesWithItsMessage) {
  const std::string everyone = R"("*")";
  const std::string get = R"("s3:GetObject")";
  const std::string objects = R"("arn:aws:s3:::b/*")";
  EXPECT_EQ(Refusal("not json"), "Policies must be valid JSON and the first byte must be '{'");
  EXPECT_EQ(Refusal("[]"), "Policies must be valid JSON and the first byte must be '{'");
  EXPECT_EQ(Refusal(R"({"Version":"2012-10-17"})"), "Missing required field Statement");
  EXPECT_EQ(Refusal(R"({"Version":"2000-01-01","Statement":[)" +
                    Statement("Allow", everyone, get, objects) + "]}"),
            "The policy must contain a valid version string");
  EXPECT_EQ(Refusal(Policy({Statement("Maybe", everyone, get, objects)})), "Invalid effect: Maybe");
  EXPECT_EQ(Refusal(Policy(
                {R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"})"})),
            "Missing required field Principal");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", R"({"AWS":"mallory"})", get, objects)})),
            "Invalid principal in policy");
  EXPECT_EQ(Refusal(Policy(
                {Statement("Allow", R"({"AWS":"arn:aws:iam::s3tenant1:root"})", get, objects)})),
            "Invalid principal in policy");
  for (const char* service : {R"({"Service":"logging.s3.amazonaws.comkaboom"})",
                              R"({"Service":"amazonaws.com"})", R"({"Service":"a..amazonaws.com"})",
                              R"({"Service":"Logging.amazonaws.com"})", R"({"Service":7})"}) {
    EXPECT_EQ(Refusal(Policy({Statement("Allow", service, get, objects)})),
              "Invalid principal in policy")
        << service;
  }
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, R"("s3:Fly")", objects)})),
            "Policy has invalid action");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, R"("sqs:SendMessage")", objects)})),
            "Policy has invalid action");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, get, R"("arn:aws:s3:::other/*")")})),
            "Policy has invalid resource");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, get, R"("*")")})),
            "Policy has invalid resource");
  // An object action on the bucket alone, a bucket action on objects alone.
  EXPECT_EQ(
      Refusal(Policy({Statement("Allow", everyone, R"("s3:PutObject")", R"("arn:aws:s3:::b")")})),
      "Action does not apply to any resource(s) in statement");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, R"("s3:ListBucket")", objects)})),
            "Action does not apply to any resource(s) in statement");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, get, objects,
                                      R"({"StringEqualz":{"s3:prefix":"a"}})")})),
            "Invalid Condition type : StringEqualz");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, get, objects,
                                      R"({"StringEquals":{"s3:flavour":"a"}})")})),
            "Policy has an invalid condition key");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, get, objects,
                                      R"({"StringEquals":{"foo:bar":"a"}})")})),
            "Policy has an invalid condition key");
  EXPECT_EQ(Refusal(std::string(21 * 1024, ' ') + "{}"), "Policies must be no larger than 20 KB");
}

TEST(BucketPolicyParseTest, TakesTheFormsS3Takes) {
  // Principal forms, wildcard actions and resources, a single statement as an object,
  // Statement without Version, NotPrincipal / NotAction / NotResource.
  EXPECT_EQ(Refusal(Policy({Statement("Allow", R"({"AWS":["alice","arn:aws:iam::bob:root"]})",
                                      R"(["s3:Get*","s3:ListBucket"])",
                                      R"(["arn:aws:s3:::b","arn:aws:s3:::b/*"])")})),
            "");
  EXPECT_EQ(Refusal(Policy({Statement("Allow", R"({"CanonicalUser":"alice"})", R"("s3:*")",
                                      R"("arn:aws:s3:::*")")})),
            "");
  EXPECT_EQ(Refusal(R"({"Statement":)" +
                    Statement("Deny", R"({"AWS":"*"})", R"("*")", R"("arn:aws:s3:::b*")") + "}"),
            "");
  EXPECT_EQ(
      Refusal(Policy(
          {R"({"Effect":"Deny","NotPrincipal":{"AWS":"owner"},"NotAction":"s3:Get*","NotResource":"arn:aws:s3:::b/public/*"})"})),
      "");
}

// Every action of S3's reference is a name a policy may use, on the resource it addresses.
TEST(BucketPolicyParseTest, TakesEveryS3ActionOnItsResource) {
  const std::string everyone = R"("*")";
  const std::string objects = R"("arn:aws:s3:::b/*")";
  const std::string bucket = R"("arn:aws:s3:::b")";
  for (const char* action :
       {"s3:GetObjectVersion", "s3:DeleteObjectVersion", "s3:GetObjectVersionAcl",
        "s3:PutObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:PutObjectVersionTagging",
        "s3:DeleteObjectVersionTagging", "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAttributes", "s3:GetObjectVersionTorrent", "s3:ReplicateObject",
        "s3:PutObjectRetention", "s3:InitiateReplication", "s3:GetObjectAnnotation",
        "s3:UpdateObjectEncryption", "S3:getobjectversion", "s3:*Version*"}) {
    EXPECT_EQ(
        Refusal(Policy({Statement("Allow", everyone, "\"" + std::string(action) + "\"", objects)})),
        "")
        << action;
  }
  for (const char* action :
       {"s3:ListBucketVersions", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
        "s3:PutBucketOwnershipControls", "s3:GetBucketAbac", "s3:TagResource",
        "s3:GetBucketMetadataTableConfiguration", "s3:PutIntelligentTieringConfiguration"}) {
    EXPECT_EQ(
        Refusal(Policy({Statement("Allow", everyone, "\"" + std::string(action) + "\"", bucket)})),
        "")
        << action;
  }
  // Real names that address neither a bucket nor an object (jobs, access points, the
  // account), names S3 does not have, and a version action on the bucket alone.
  for (const char* action : {"s3:CreateJob", "s3:ListAccessPoints", "s3:ListAllMyBuckets",
                             "s3:GetStorageLensConfiguration"}) {
    EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, "\"" + std::string(action) + "\"",
                                        R"(["arn:aws:s3:::b","arn:aws:s3:::b/*"])")})),
              "Action does not apply to any resource(s) in statement")
        << action;
  }
  for (const char* action : {"s3:GetObjectVersions", "s3:ListObjectVersions", "s3:Version*"}) {
    EXPECT_EQ(
        Refusal(Policy({Statement("Allow", everyone, "\"" + std::string(action) + "\"", objects)})),
        "Policy has invalid action")
        << action;
  }
  EXPECT_EQ(Refusal(Policy({Statement("Allow", everyone, R"("s3:GetObjectVersion")", bucket)})),
            "Action does not apply to any resource(s) in statement");
}

TEST(BucketPolicyEvaluateTest, ExplicitDenyBeatsAllowAndNothingSaysNothing) {
  BucketPolicy policy =
      MustParse(Policy({Statement("Allow", R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::b/*")"),
                        Statement("Deny", R"({"AWS":"bob"})", R"("s3:GetObject")",
                                  R"("arn:aws:s3:::b/secret/*")")}));
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:GetObject", "arn:aws:s3:::b/secret/x")),
            PolicyDecision::kAllow);
  EXPECT_EQ(policy.Evaluate(Ask("bob", "s3:GetObject", "arn:aws:s3:::b/secret/x")),
            PolicyDecision::kDeny);
  EXPECT_EQ(policy.Evaluate(Ask("bob", "s3:GetObject", "arn:aws:s3:::b/open")),
            PolicyDecision::kAllow);
  // Anonymous requests are "*" too.
  EXPECT_EQ(policy.Evaluate(Ask("", "s3:GetObject", "arn:aws:s3:::b/open")),
            PolicyDecision::kAllow);
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:PutObject", "arn:aws:s3:::b/open")),
            PolicyDecision::kNone);
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:GetObject", "arn:aws:s3:::b")), PolicyDecision::kNone);
}

TEST(BucketPolicyEvaluateTest, NamedPrincipalsAndWildcardActions) {
  BucketPolicy policy = MustParse(Policy({Statement("Allow", R"({"AWS":"arn:aws:iam::alice:root"})",
                                                    R"("s3:get*")", R"("arn:aws:s3:::b/p*")")}));
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:GetObjectTagging", "arn:aws:s3:::b/pub")),
            PolicyDecision::kAllow);
  EXPECT_EQ(policy.Evaluate(Ask("bob", "s3:GetObject", "arn:aws:s3:::b/pub")),
            PolicyDecision::kNone);
  EXPECT_EQ(policy.Evaluate(Ask("", "s3:GetObject", "arn:aws:s3:::b/pub")), PolicyDecision::kNone);
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:PutObject", "arn:aws:s3:::b/pub")),
            PolicyDecision::kNone);
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:GetObject", "arn:aws:s3:::b/other")),
            PolicyDecision::kNone);
}

// A service principal (S3's log delivery, CloudFront, ...) is a valid policy, and never one
// of the endpoint's users.
TEST(BucketPolicyEvaluateTest, ServicePrincipalsApplyToNoUser) {
  BucketPolicy policy = MustParse(Policy(
      {Statement("Allow", R"({"Service":["logging.s3.amazonaws.com","cloudfront.amazonaws.com"]})",
                 R"("s3:*")", R"("arn:aws:s3:::b/*")")}));
  for (const char* user :
       {"alice", "", "logging.s3.amazonaws.com", "service:cloudfront.amazonaws.com"}) {
    EXPECT_EQ(policy.Evaluate(Ask(user, "s3:GetObject", "arn:aws:s3:::b/x")), PolicyDecision::kNone)
        << user;
  }
}

TEST(BucketPolicyEvaluateTest, NotPrincipalNotActionNotResource) {
  BucketPolicy policy = MustParse(Policy({
      R"({"Effect":"Deny","NotPrincipal":{"AWS":"owner"},"NotAction":"s3:Get*","NotResource":"arn:aws:s3:::b/inbox/*"})",
  }));
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:PutObject", "arn:aws:s3:::b/x")),
            PolicyDecision::kDeny);
  EXPECT_EQ(policy.Evaluate(Ask("", "s3:DeleteObject", "arn:aws:s3:::b/x")), PolicyDecision::kDeny);
  EXPECT_EQ(policy.Evaluate(Ask("owner", "s3:PutObject", "arn:aws:s3:::b/x")),
            PolicyDecision::kNone);
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:GetObject", "arn:aws:s3:::b/x")),
            PolicyDecision::kNone);
  EXPECT_EQ(policy.Evaluate(Ask("alice", "s3:PutObject", "arn:aws:s3:::b/inbox/x")),
            PolicyDecision::kNone);
}

// One Allow statement for everyone on b/* with `condition`; its decision for `request`.
PolicyDecision AllowIf(const std::string& condition, PolicyRequest request) {
  BucketPolicy policy = MustParse(
      Policy({Statement("Allow", R"("*")", R"(["s3:GetObject","s3:ListBucket","s3:PutObject"])",
                        R"(["arn:aws:s3:::b","arn:aws:s3:::b/*"])", condition)}));
  return policy.Evaluate(request);
}
PolicyDecision DenyIf(const std::string& condition, PolicyRequest request) {
  BucketPolicy policy = MustParse(Policy(
      {Statement("Deny", R"("*")", R"("s3:PutObject")", R"("arn:aws:s3:::b/*")", condition)}));
  return policy.Evaluate(request);
}

PolicyRequest With(std::initializer_list<std::pair<std::string, std::string>> keys,
                   std::string action = "s3:PutObject") {
  PolicyRequest r = Ask("alice", std::move(action), "arn:aws:s3:::b/k");
  for (const auto& [key, value] : keys) r.Set(key, value);
  return r;
}

constexpr PolicyDecision kAllow = PolicyDecision::kAllow;
constexpr PolicyDecision kDeny = PolicyDecision::kDeny;
constexpr PolicyDecision kNone = PolicyDecision::kNone;

TEST(BucketPolicyConditionTest, StringOperators) {
  const std::string equals = R"({"StringEquals":{"s3:x-amz-acl":["private","public-read"]}})";
  EXPECT_EQ(AllowIf(equals, With({{"s3:x-amz-acl", "public-read"}})), kAllow);
  EXPECT_EQ(AllowIf(equals, With({{"s3:x-amz-acl", "Public-Read"}})), kNone);
  EXPECT_EQ(AllowIf(equals, With({})), kNone);  // absent: no match
  const std::string not_equals = R"({"StringNotEquals":{"s3:x-amz-acl":["private","x"]}})";
  EXPECT_EQ(AllowIf(not_equals, With({{"s3:x-amz-acl", "public-read"}})), kAllow);
  EXPECT_EQ(AllowIf(not_equals, With({{"s3:x-amz-acl", "private"}})), kNone);
  EXPECT_EQ(AllowIf(not_equals, With({})), kAllow);  // negated and absent: holds
  const std::string ignore_case = R"({"StringEqualsIgnoreCase":{"s3:x-amz-acl":"PRIVATE"}})";
  EXPECT_EQ(AllowIf(ignore_case, With({{"s3:x-amz-acl", "private"}})), kAllow);
  const std::string like = R"({"StringLike":{"s3:prefix":["public/*","home/?/"]}})";
  PolicyRequest list = With({{"s3:prefix", "public/a/b"}}, "s3:ListBucket");
  list.resource = "arn:aws:s3:::b";
  EXPECT_EQ(AllowIf(like, list), kAllow);
  list.keys["s3:prefix"] = {"home/x/"};
  EXPECT_EQ(AllowIf(like, list), kAllow);
  list.keys["s3:prefix"] = {"home/xy/"};
  EXPECT_EQ(AllowIf(like, list), kNone);
  const std::string not_like = R"({"StringNotLike":{"s3:x-amz-copy-source":"b/public/*"}})";
  EXPECT_EQ(DenyIf(not_like, With({{"s3:x-amz-copy-source", "b/private/x"}})), kDeny);
  EXPECT_EQ(DenyIf(not_like, With({{"s3:x-amz-copy-source", "b/public/x"}})), kNone);
}

TEST(BucketPolicyConditionTest, NumericDateBoolAndNull) {
  PolicyRequest list = Ask("alice", "s3:ListBucket", "arn:aws:s3:::b");
  list.Set("s3:max-keys", "10");
  EXPECT_EQ(AllowIf(R"({"NumericLessThanEquals":{"s3:max-keys":"10"}})", list), kAllow);
  EXPECT_EQ(AllowIf(R"({"NumericLessThan":{"s3:max-keys":10}})", list), kNone);
  EXPECT_EQ(AllowIf(R"({"NumericGreaterThan":{"s3:max-keys":"9.5"}})", list), kAllow);
  EXPECT_EQ(AllowIf(R"({"NumericGreaterThanEquals":{"s3:max-keys":"11"}})", list), kNone);
  EXPECT_EQ(AllowIf(R"({"NumericEquals":{"s3:max-keys":"10"}})", list), kAllow);
  EXPECT_EQ(AllowIf(R"({"NumericNotEquals":{"s3:max-keys":"10"}})", list), kNone);
  list.keys["s3:max-keys"] = {"ten"};
  EXPECT_EQ(AllowIf(R"({"NumericLessThan":{"s3:max-keys":"100"}})", list), kNone);

  PolicyRequest now = With({{"aws:CurrentTime", "2026-12-06T10:00:00.000Z"}});
  EXPECT_EQ(AllowIf(R"({"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}})", now), kAllow);
  EXPECT_EQ(AllowIf(R"({"DateGreaterThan":{"aws:CurrentTime":"2027-01-01"}})", now), kNone);
  EXPECT_EQ(AllowIf(R"({"DateGreaterThanEquals":{"aws:CurrentTime":"1796551200"}})", now), kAllow);

  PolicyRequest plain = With({{"aws:SecureTransport", "false"}});
  EXPECT_EQ(AllowIf(R"({"Bool":{"aws:SecureTransport":"false"}})", plain), kAllow);
  EXPECT_EQ(AllowIf(R"({"Bool":{"aws:SecureTransport":true}})", plain), kNone);

  const std::string unencrypted = R"({"Null":{"s3:x-amz-server-side-encryption":"true"}})";
  EXPECT_EQ(DenyIf(unencrypted, With({})), kDeny);
  EXPECT_EQ(DenyIf(unencrypted, With({{"s3:x-amz-server-side-encryption", "AES256"}})), kNone);
  const std::string encrypted = R"({"Null":{"s3:x-amz-server-side-encryption":"false"}})";
  EXPECT_EQ(DenyIf(encrypted, With({{"s3:x-amz-server-side-encryption", "AES256"}})), kDeny);
}

TEST(BucketPolicyConditionTest, IpAddresses) {
  const std::string local = R"({"IpAddress":{"aws:SourceIp":["127.0.0.0/8","2001:db8::/32"]}})";
  EXPECT_EQ(AllowIf(local, With({{"aws:SourceIp", "127.0.0.1"}})), kAllow);
  EXPECT_EQ(AllowIf(local, With({{"aws:SourceIp", "::ffff:127.0.0.1"}})), kAllow);
  EXPECT_EQ(AllowIf(local, With({{"aws:SourceIp", "10.0.0.1"}})), kNone);
  EXPECT_EQ(AllowIf(local, With({{"aws:SourceIp", "2001:db8:1::5"}})), kAllow);
  EXPECT_EQ(AllowIf(local, With({{"aws:SourceIp", "2001:db9::5"}})), kNone);
  EXPECT_EQ(AllowIf(R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/32"}})",
                    With({{"aws:SourceIp", "10.0.0.0"}})),
            kAllow);
  EXPECT_EQ(DenyIf(R"({"NotIpAddress":{"aws:SourceIp":"192.168.0.0/16"}})",
                   With({{"aws:SourceIp", "127.0.0.1"}})),
            kDeny);
  EXPECT_EQ(DenyIf(R"({"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}})",
                   With({{"aws:SourceIp", "127.0.0.1"}})),
            kNone);
}

TEST(BucketPolicyConditionTest, TagsIfExistsAndSetQualifiers) {
  const std::string tagged = R"({"StringEquals":{"s3:ExistingObjectTag/security":"public"}})";
  PolicyRequest get = Ask("alice", "s3:GetObject", "arn:aws:s3:::b/k");
  get.Set("s3:ExistingObjectTag/security", "public");
  EXPECT_EQ(AllowIf(tagged, get), kAllow);
  get.keys["s3:existingobjecttag/security"] = {"private"};
  EXPECT_EQ(AllowIf(tagged, get), kNone);
  get.keys.clear();
  EXPECT_EQ(AllowIf(tagged, get), kNone);

  const std::string referer =
      R"({"StringLikeIfExists":{"aws:Referer":"http://www.example.com/*"}})";
  EXPECT_EQ(AllowIf(referer, With({{"aws:Referer", "http://www.example.com/x"}})), kAllow);
  EXPECT_EQ(AllowIf(referer, With({{"aws:Referer", "http://example.com"}})), kNone);
  EXPECT_EQ(AllowIf(referer, With({})), kAllow);

  PolicyRequest tags = With({});
  tags.keys["s3:requestobjecttagkeys"] = {"a", "b"};
  EXPECT_EQ(
      AllowIf(R"({"ForAllValues:StringEquals":{"s3:RequestObjectTagKeys":["a","b","c"]}})", tags),
      kAllow);
  EXPECT_EQ(AllowIf(R"({"ForAllValues:StringEquals":{"s3:RequestObjectTagKeys":["a"]}})", tags),
            kNone);
  EXPECT_EQ(AllowIf(R"({"ForAnyValue:StringEquals":{"s3:RequestObjectTagKeys":["b","z"]}})", tags),
            kAllow);
  EXPECT_EQ(AllowIf(R"({"ForAnyValue:StringEquals":{"s3:RequestObjectTagKeys":["z"]}})", tags),
            kNone);
}

TEST(BucketPolicyConditionTest, SeveralOperatorsAndKeysAllHold) {
  const std::string both =
      R"({"StringEquals":{"s3:x-amz-acl":"private","s3:x-amz-metadata-directive":"COPY"},)"
      R"("IpAddress":{"aws:SourceIp":"127.0.0.1/32"}})";
  EXPECT_EQ(AllowIf(both, With({{"s3:x-amz-acl", "private"},
                                {"s3:x-amz-metadata-directive", "COPY"},
                                {"aws:SourceIp", "127.0.0.1"}})),
            kAllow);
  EXPECT_EQ(AllowIf(both, With({{"s3:x-amz-acl", "private"}, {"aws:SourceIp", "127.0.0.1"}})),
            kNone);
}

// A key thumbflow never fills in (it has no VPCs) never grants; in a Deny it reads as absent.
TEST(BucketPolicyConditionTest, UnsuppliedKeysNeverMatchAnAllow) {
  const std::string not_vpc = R"({"StringNotEquals":{"aws:SourceVpc":"vpc-1"}})";
  EXPECT_EQ(AllowIf(not_vpc, With({})), kNone);
  EXPECT_EQ(AllowIf(R"({"Null":{"aws:SourceVpc":"true"}})", With({})), kNone);
  EXPECT_EQ(AllowIf(R"({"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}})", With({})), kNone);
  EXPECT_EQ(DenyIf(not_vpc, With({})), kDeny);
  EXPECT_EQ(DenyIf(R"({"StringEquals":{"aws:SourceVpc":"vpc-1"}})", With({})), kNone);
}

TEST(BucketPolicyTest, IsPublicAsS3JudgesIt) {
  auto is_public = [](const std::string& principal, const std::string& condition = "",
                      const std::string& effect = "Allow") {
    return MustParse(Policy({Statement(effect, principal, R"("s3:ListBucket")",
                                       R"("arn:aws:s3:::b")", condition)}))
        .IsPublic();
  };
  EXPECT_TRUE(is_public(R"({"AWS":"*"})"));
  EXPECT_TRUE(is_public(R"("*")"));
  EXPECT_FALSE(is_public(R"("*")", "", "Deny"));
  EXPECT_FALSE(is_public(R"({"AWS":"alice"})"));
  EXPECT_FALSE(is_public(R"("*")", R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/32"}})"));
  EXPECT_TRUE(is_public(R"("*")", R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})"));
  EXPECT_TRUE(is_public(R"("*")", R"({"StringLike":{"s3:prefix":"public/*"}})"));
}

// A store in a folder of its own, removed after the test.
class BucketPolicyStoreTest : public testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(root); }

  const std::string root =
      (std::filesystem::temp_directory_path() / ("policy-store-" + RandomHex(6))).string();
  BucketPolicyStore store{root};
};

TEST_F(BucketPolicyStoreTest, KeepsTheDocumentPerBucketLifetime) {
  BucketInfo b{"b", 1000, "", ""};
  ASSERT_TRUE(store.Get(b).ok());
  EXPECT_FALSE(store.Get(b)->has_value());
  const std::string document = "{ \"Statement\" : [] }\n";
  ASSERT_TRUE(store.Put(b, document).ok());
  EXPECT_EQ(**store.Get(b), document);
  // The same name created again later is another bucket: no policy.
  BucketInfo again{"b", 2000, "", ""};
  EXPECT_FALSE(store.Get(again)->has_value());
  ASSERT_TRUE(store.Delete(b).ok());
  EXPECT_FALSE(store.Get(b)->has_value());
  ASSERT_TRUE(store.Delete(b).ok());  // none: fine
  ASSERT_TRUE(store.Put(b, document).ok());
  ASSERT_TRUE(store.Put(BucketInfo{"bb", 1000, "", ""}, document).ok());
  ASSERT_TRUE(store.DeleteAll("b").ok());
  EXPECT_FALSE(store.Get(b)->has_value());
  EXPECT_TRUE(store.Get(BucketInfo{"bb", 1000, "", ""})->has_value());
}

// GetParsed reads and parses a bucket's policy once; every change through the store is seen
// by the next call; a document that no longer parses is an error each time.
TEST_F(BucketPolicyStoreTest, GetParsedRemembersUntilTheBucketsPolicyChanges) {
  BucketInfo b{"b", 1000, "", ""};
  BucketInfo other{"bb", 1000, "", ""};
  const std::string deny =
      Policy({Statement("Deny", R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::b/*")")});
  const std::string allow =
      Policy({Statement("Allow", R"("*")", R"("s3:GetObject")", R"("arn:aws:s3:::b/*")")});
  auto decision = [&](const BucketInfo& bucket) {
    Result<std::shared_ptr<const BucketPolicy>> policy = store.GetParsed(bucket);
    EXPECT_TRUE(policy.ok()) << policy.status().message();
    if (!policy.ok() || !*policy) return PolicyDecision::kNone;
    return (*policy)->Evaluate(Ask("", "s3:GetObject", "arn:aws:s3:::" + bucket.name + "/k"));
  };
  EXPECT_EQ(decision(b), PolicyDecision::kNone);
  ASSERT_TRUE(store.Put(b, deny).ok());
  ASSERT_TRUE(store
                  .Put(other, Policy({Statement("Allow", R"("*")", R"("s3:GetObject")",
                                                R"("arn:aws:s3:::bb/*")")}))
                  .ok());
  EXPECT_EQ(decision(b), PolicyDecision::kDeny);
  // Remembered: the same parsed policy, whatever the file says meanwhile.
  Result<std::shared_ptr<const BucketPolicy>> first = store.GetParsed(b);
  ASSERT_TRUE(first.ok());
  std::filesystem::remove(root + "/b@1000.json");
  EXPECT_EQ(store.GetParsed(b)->get(), first->get());
  ASSERT_TRUE(store.Put(b, allow).ok());
  EXPECT_EQ(decision(b), PolicyDecision::kAllow);
  ASSERT_TRUE(store.Delete(b).ok());
  EXPECT_EQ(decision(b), PolicyDecision::kNone);
  ASSERT_TRUE(store.Put(b, deny).ok());
  EXPECT_EQ(decision(b), PolicyDecision::kDeny);
  EXPECT_EQ(decision(other), PolicyDecision::kAllow);
  ASSERT_TRUE(store.DeleteAll("b").ok());  // bucket b deleted: bb keeps its policy
  EXPECT_EQ(decision(b), PolicyDecision::kNone);
  EXPECT_EQ(decision(BucketInfo{"b", 2000, "", ""}), PolicyDecision::kNone);
  EXPECT_EQ(decision(other), PolicyDecision::kAllow);
  // A damaged document is an error, and stays one until it is replaced.
  BucketInfo damaged{"d", 1000, "", ""};
  ASSERT_TRUE(store.Put(damaged, "{ damaged").ok());
  for (int i = 0; i < 2; ++i) {
    Result<std::shared_ptr<const BucketPolicy>> policy = store.GetParsed(damaged);
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.status().code(), StatusCode::kInternal);
  }
  ASSERT_TRUE(store.Delete(damaged).ok());
  EXPECT_EQ(decision(damaged), PolicyDecision::kNone);
}

// Readers racing the writers of one bucket: once the last Put has returned, every reader sees
// its policy (no reader keeps a document it read before that Put renamed its file).
TEST_F(BucketPolicyStoreTest, GetParsedIsRightAcrossConcurrentChanges) {
  BucketInfo b{"b", 1000, "", ""};
  auto document = [](int i) {
    return Policy({Statement("Allow", R"("*")", R"("s3:GetObject")",
                             "\"arn:aws:s3:::b/" + std::to_string(i) + "\"")});
  };
  for (int round = 0; round < 20; ++round) {
    std::atomic<bool> done{false};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
      readers.emplace_back([&] {
        while (!done.load()) {
          Result<std::shared_ptr<const BucketPolicy>> policy = store.GetParsed(b);
          EXPECT_TRUE(policy.ok());
        }
      });
    }
    const int last = round * 10 + 9;
    for (int i = round * 10; i <= last; ++i) {
      if (i % 10 % 3 == 2) {
        EXPECT_TRUE(store.Delete(b).ok());  // no ASSERT while readers run
      } else {
        EXPECT_TRUE(store.Put(b, document(i)).ok());
      }
    }
    done = true;
    for (std::thread& reader : readers) reader.join();
    Result<std::shared_ptr<const BucketPolicy>> policy = store.GetParsed(b);
    ASSERT_TRUE(policy.ok());
    ASSERT_NE(*policy, nullptr);  // the last change of a round (offset 9) is a Put
    const std::string resource = "arn:aws:s3:::b/" + std::to_string(last);
    EXPECT_EQ((*policy)->Evaluate(Ask("", "s3:GetObject", resource)), PolicyDecision::kAllow)
        << "round " << round;
  }
}

// The condition keys a request puts in its context (s3_auth.h).
TEST(PolicyRequestOfTest, TheRequestsKeys) {
  S3Request r;
  r.head.method = "PUT";
  r.head.remote = "127.0.0.1";
  r.head.headers = {{"X-Amz-Acl", "public-read"},
                    {"x-amz-copy-source", "src/a"},
                    {"x-amz-tagging", "security=public&x=1"},
                    {"User-Agent", "aws-cli/1"},
                    {"Authorization", "AWS4-HMAC-SHA256 ..."}};
  r.user = "alice";
  r.auth.emplace();
  const std::string bucket = "b", key = "k", owner = "owner";
  TagSet existing{{"Security", "private"}};
  PolicyRequest p = PolicyRequestOf(
      {r, "s3:PutObject", bucket, key, true, owner, &existing, std::nullopt, 1796551200000});
  EXPECT_EQ(p.action, "s3:PutObject");
  EXPECT_EQ(p.resource, "arn:aws:s3:::b/k");
  EXPECT_EQ(p.principal, "alice");
  auto value = [&](const std::string& k) {
    auto found = p.keys.find(k);
    return found == p.keys.end() ? std::string("<absent>") : found->second.front();
  };
  EXPECT_EQ(value("aws:sourceip"), "127.0.0.1");
  EXPECT_EQ(value("aws:securetransport"), "false");
  EXPECT_EQ(value("aws:epochtime"), "1796551200");
  EXPECT_EQ(value("aws:currenttime"), "2026-12-06T10:00:00.000Z");
  EXPECT_EQ(value("aws:useragent"), "aws-cli/1");
  EXPECT_EQ(value("aws:principaltype"), "Account");
  EXPECT_EQ(value("aws:principalarn"), "arn:aws:iam::alice:root");
  EXPECT_EQ(value("s3:authtype"), "REST-HEADER");
  EXPECT_EQ(value("s3:signatureversion"), "AWS4-HMAC-SHA256");
  EXPECT_EQ(value("s3:resourceaccount"), "owner");
  EXPECT_EQ(value("s3:x-amz-acl"), "public-read");
  EXPECT_EQ(value("s3:x-amz-copy-source"), "src/a");
  EXPECT_EQ(value("s3:x-amz-server-side-encryption"), "<absent>");
  EXPECT_EQ(value("s3:existingobjecttag/security"), "private");
  EXPECT_EQ(value("s3:requestobjecttag/security"), "public");
  EXPECT_EQ(p.keys["s3:requestobjecttagkeys"], (std::vector<std::string>{"security", "x"}));
  EXPECT_EQ(value("s3:prefix"), "<absent>");  // not a listing
  EXPECT_EQ(value("s3:versionid"), "<absent>");
  // s3:versionid: the version the request names (a query's, a copy source's, a
  // DeleteObjects entry's), only where the caller passes it.
  const std::string version = "0123456789abcdef0123456789abcdef";
  r.query = {{"versionId", "fedcba9876543210fedcba9876543210"}};
  EXPECT_EQ(PolicyRequestOf({r, "s3:PutObject", bucket, key, true, owner, nullptr, std::nullopt, 0})
                .keys.count("s3:versionid"),
            0u);
  EXPECT_EQ(PolicyRequestOf({r, "s3:GetObjectVersion", bucket, key, true, owner, nullptr,
                             std::nullopt, 0, &version})
                .keys["s3:versionid"],
            std::vector<std::string>{version});

  S3Request anonymous;
  anonymous.head.method = "GET";
  anonymous.query = {{"prefix", "public/"}, {"max-keys", "10"}};
  PolicyRequest list = PolicyRequestOf(
      {anonymous, "s3:ListBucket", bucket, std::string(), false, owner, nullptr, std::nullopt, 0});
  EXPECT_EQ(list.resource, "arn:aws:s3:::b");
  EXPECT_EQ(list.principal, "");
  EXPECT_EQ(list.keys["aws:principaltype"], std::vector<std::string>{"Anonymous"});
  EXPECT_EQ(list.keys["s3:prefix"], std::vector<std::string>{"public/"});
  EXPECT_EQ(list.keys["s3:max-keys"], std::vector<std::string>{"10"});
  EXPECT_EQ(list.keys.count("s3:authtype"), 0u);
  // A missing key's s3:prefix is the key (may the requester learn it is missing?).
  PolicyRequest head = PolicyRequestOf(
      {anonymous, "s3:ListBucket", bucket, std::string(), false, owner, nullptr, "a/b", 0});
  EXPECT_EQ(head.keys["s3:prefix"], std::vector<std::string>{"a/b"});
}

}  // namespace
}  // namespace thumbflow::server
