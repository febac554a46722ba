// S3 access control lists, as S3 keeps them with ACLs enabled (object ownership
// "ObjectWriter"): each bucket and each object has an owner (a user of the endpoint: the
// bucket's creator, the object's writer) and a list of grants of READ, WRITE, READ_ACP,
// WRITE_ACP or FULL_CONTROL to a user (CanonicalUser, ID = the user's name) or to a group
// (AllUsers: anyone, signed or not; AuthenticatedUsers: any signed user of the endpoint).
//
// On the wire: canned ACLs (x-amz-acl), grant headers (x-amz-grant-*), the
// AccessControlPolicy document (Put/Get*Acl). In the store: the opaque text EncodeAcl writes
// (storage keeps it as given); an empty text is the default ACL: the bucket's owner owns the
// object (or the bucket) with FULL_CONTROL, which is what the pipeline's thumbnails and the
// objects and buckets made before ACLs were kept have.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "server/http_server.h"
#include "server/s3_protocol.h"

namespace thumbflow::server {

inline constexpr char kAllUsersUri[] = "http://acs.amazonaws.com/groups/global/AllUsers";
inline constexpr char kAuthenticatedUsersUri[] =
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
inline constexpr char kLogDeliveryUri[] = "http://acs.amazonaws.com/groups/s3/LogDelivery";

// Permission bits; FULL_CONTROL is all four.
enum AclPermission : unsigned {
  kAclRead = 1,
  kAclWrite = 2,
  kAclReadAcp = 4,
  kAclWriteAcp = 8,
  kAclFullControl = 15,
};

struct AclGrant {
  bool group = false;              // false: a user (CanonicalUser)
  std::string id;                  // the user's name, or the group's URI
  unsigned permission = kAclRead;  // exactly one AclPermission value

  bool operator==(const AclGrant&) const = default;
};

struct Acl {
  std::string owner;  // the user's name
  std::vector<AclGrant> grants;

  bool operator==(const Acl&) const = default;
};

// "READ", ..., "FULL_CONTROL"; nullopt for any other text.
std::optional<unsigned> ParseAclPermission(std::string_view name);
std::string_view AclPermissionName(unsigned permission);

// The stored form (JSON) and back. Decoding an empty or unreadable text gives the default:
// `default_owner` with FULL_CONTROL.
std::string EncodeAcl(const Acl& acl);
Acl DecodeAcl(std::string_view stored, const std::string& default_owner);

// Who asks: a user's name, empty for an anonymous (unsigned) request.
// The permissions `acl` gives `requester`: its grants to the requester, to AllUsers, and to
// AuthenticatedUsers when the requester is signed. The owner gets no implicit permission
// here (see the callers: the owner may always read and write an ACL).
unsigned AclPermissions(const Acl& acl, const std::string& requester);

// Whether `grant` is public as S3's public access block judges it: to AllUsers or to
// AuthenticatedUsers (any signed user).
bool IsPublicGrant(const AclGrant& grant);
bool IsPublicAcl(const Acl& acl);  // any grant public

// What the endpoint knows of its users, to resolve grantees.
struct AclUsers {
  // Every user's name; its email address when configured (empty: none).
  std::vector<std::pair<std::string, std::string>> users;
  bool Known(std::string_view name) const;
  // The user with this email address (case-insensitive); nullptr when none.
  const std::string* ByEmail(std::string_view email) const;
};

// The ACL a write or a PutAcl asks for in its headers: x-amz-acl (a canned ACL) or the
// x-amz-grant-* headers; nullopt when it names neither. `owner` owns the resource;
// `bucket_owner` matters to bucket-owner-read / -full-control. Errors as S3 answers them:
// both kinds at once (InvalidRequest), an unknown canned ACL or user id (InvalidArgument),
// an unknown email (UnresolvableGrantByEmailAddress), a malformed grant (InvalidArgument).
Result<std::optional<Acl>> AclFromHeaders(const HttpRequestHead& head, const std::string& owner,
                                          const std::string& bucket_owner, const AclUsers& users,
                                          S3Error* error);
// The same for a canned ACL given as text (the `acl` field of a form upload).
Result<Acl> CannedAcl(std::string_view canned, const std::string& owner,
                      const std::string& bucket_owner, S3Error* error);

// The AccessControlPolicy document of PutBucketAcl / PutObjectAcl. Its Owner must be the
// resource's owner `owner` (else AccessDenied, as S3); other shapes are MalformedACLError,
// an unknown user id InvalidArgument, an unknown email UnresolvableGrantByEmailAddress.
Result<Acl> ParseAccessControlPolicy(std::string_view body, const std::string& owner,
                                     const AclUsers& users, S3Error* error);

// GetBucketAcl / GetObjectAcl: Owner (ID and DisplayName, both the name) and every grant.
std::string AccessControlPolicyXml(const Acl& acl);

}  // namespace thumbflow::server
