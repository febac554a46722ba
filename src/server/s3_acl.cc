#include "server/s3_acl.h"

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <algorithm>
#include <utility>

#include "core/strings.h"

namespace thumbflow::server {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                           text.front() == '\r')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

constexpr std::pair<std::string_view, unsigned> kPermissionNames[] = {
    {"READ", kAclRead},
    {"WRITE", kAclWrite},
    {"READ_ACP", kAclReadAcp},
    {"WRITE_ACP", kAclWriteAcp},
    {"FULL_CONTROL", kAclFullControl},
};

// The x-amz-grant-* headers and the permission each grants.
constexpr std::pair<std::string_view, unsigned> kGrantHeaders[] = {
    {"x-amz-grant-read", kAclRead},
    {"x-amz-grant-write", kAclWrite},
    {"x-amz-grant-read-acp", kAclReadAcp},
    {"x-amz-grant-write-acp", kAclWriteAcp},
    {"x-amz-grant-full-control", kAclFullControl},
};

Status Refuse(S3Error* error, std::string_view code, std::string message) {
  *error = MakeError(code, message);
  return InvalidArgumentError(std::move(message));
}

Status InvalidArgument(S3Error* error, std::string message, std::string_view name,
                       std::string_view value) {
  *error = MakeError("InvalidArgument", message);
  error->details = {{"ArgumentName", std::string(name)}, {"ArgumentValue", std::string(value)}};
  return InvalidArgumentError(std::move(message));
}

bool KnownGroup(std::string_view uri) {
  return uri == kAllUsersUri || uri == kAuthenticatedUsersUri || uri == kLogDeliveryUri;
}

// One grantee as a header names it (id=, uri= or emailAddress=) or the document does,
// resolved: a known user or group. Errors as S3 answers them.
Result<AclGrant> Resolve(std::string_view type, std::string_view value, unsigned permission,
                         const AclUsers& users, S3Error* error) {
  AclGrant grant;
  grant.permission = permission;
  if (type == "id") {
    if (!users.Known(value)) return InvalidArgument(error, "Invalid id", "CanonicalUser/ID", value);
    grant.id = std::string(value);
  } else if (type == "uri") {
    if (!KnownGroup(value)) return InvalidArgument(error, "Invalid group uri", "Group/URI", value);
    grant.group = true;
    grant.id = std::string(value);
  } else if (type == "emailAddress") {
    const std::string* name = users.ByEmail(value);
    if (name == nullptr) {
      return Refuse(error, "UnresolvableGrantByEmailAddress",
                    "The e-mail address you provided does not match any account on record.");
    }
    grant.id = *name;
  } else {
    return InvalidArgument(error, "Argument format not recognized", "x-amz-grant",
                           std::string(type) + "=" + std::string(value));
  }
  return grant;
}

// `id="a", uri="http://...", emailAddress="x@y"`: a comma-separated list of grantees.
Status ParseGrantHeader(std::string_view header_name, std::string_view text, unsigned permission,
                        const AclUsers& users, std::vector<AclGrant>* out, S3Error* error) {
  std::string_view rest = text;
  while (true) {
    rest = Trim(rest);
    if (rest.empty()) {
      return InvalidArgument(error, "Argument format not recognized", header_name, text);
    }
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument(error, "Argument format not recognized", header_name, text);
    }
    std::string_view type = Trim(rest.substr(0, eq));
    rest = Trim(rest.substr(eq + 1));
    std::string_view value;
    if (!rest.empty() && rest[0] == '"') {
      size_t close = rest.find('"', 1);
      if (close == std::string_view::npos) {
        return InvalidArgument(error, "Argument format not recognized", header_name, text);
      }
      value = rest.substr(1, close - 1);
      rest = Trim(rest.substr(close + 1));
    } else {
      size_t comma = rest.find(',');
      value = Trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
    }
    ASSIGN_OR_RETURN(AclGrant grant, Resolve(type, value, permission, users, error));
    out->push_back(std::move(grant));
    if (rest.empty()) return Status::Ok();
    if (rest[0] != ',') {
      return InvalidArgument(error, "Argument format not recognized", header_name, text);
    }
    rest.remove_prefix(1);
  }
}

// The element's name without a namespace prefix.
std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node Child(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node child : parent.children()) {
    if (child.type() == pugi::node_element && LocalName(child) == name) return child;
  }
  return {};
}

std::string Text(const pugi::xml_node& node) { return std::string(Trim(node.text().get())); }

std::string UserXml(std::string_view element, std::string_view user) {
  std::string name = XmlEscape(user);
  return "<" + std::string(element) + "><ID>" + name + "</ID><DisplayName>" + name +
         "</DisplayName></" + std::string(element) + ">";
}

}  // namespace

std::optional<unsigned> ParseAclPermission(std::string_view name) {
  for (const auto& [text, bits] : kPermissionNames) {
    if (name == text) return bits;
  }
  return std::nullopt;
}

std::string_view AclPermissionName(unsigned permission) {
  for (const auto& [text, bits] : kPermissionNames) {
    if (permission == bits) return text;
  }
  return "";
}

std::string EncodeAcl(const Acl& acl) {
  nlohmann::json doc = {{"owner", acl.owner}, {"grants", nlohmann::json::array()}};
  for (const AclGrant& grant : acl.grants) {
    doc["grants"].push_back({{grant.group ? "group" : "user", grant.id},
                             {"permission", std::string(AclPermissionName(grant.permission))}});
  }
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Acl DecodeAcl(std::string_view stored, const std::string& default_owner) {
  Acl fallback{default_owner, {AclGrant{false, default_owner, kAclFullControl}}};
  if (stored.empty()) return fallback;
  nlohmann::json doc = nlohmann::json::parse(stored, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc["owner"].is_string() || !doc["grants"].is_array()) return fallback;
  Acl acl;
  acl.owner = doc["owner"].get<std::string>();
  for (const auto& g : doc["grants"]) {
    if (!g.is_object() || !g["permission"].is_string()) continue;
    std::optional<unsigned> permission = ParseAclPermission(g["permission"].get<std::string>());
    if (!permission) continue;
    AclGrant grant;
    grant.permission = *permission;
    grant.group = g.contains("group");
    const auto& id = grant.group ? g["group"] : g["user"];
    if (!id.is_string()) continue;
    grant.id = id.get<std::string>();
    acl.grants.push_back(std::move(grant));
  }
  return acl;
}

unsigned AclPermissions(const Acl& acl, const std::string& requester) {
  unsigned allowed = 0;
  for (const AclGrant& grant : acl.grants) {
    bool applies = grant.group ? (grant.id == kAllUsersUri ||
                                  (grant.id == kAuthenticatedUsersUri && !requester.empty()))
                               : (!requester.empty() && grant.id == requester);
    if (applies) allowed |= grant.permission;
  }
  return allowed;
}

bool IsPublicGrant(const AclGrant& grant) {
  return grant.group && (grant.id == kAllUsersUri || grant.id == kAuthenticatedUsersUri);
}

bool IsPublicAcl(const Acl& acl) {
  return std::any_of(acl.grants.begin(), acl.grants.end(), IsPublicGrant);
}

bool AclUsers::Known(std::string_view name) const {
  for (const auto& [user, email] : users) {
    if (user == name) return true;
  }
  return false;
}

const std::string* AclUsers::ByEmail(std::string_view email) const {
  for (const auto& [user, address] : users) {
    if (!address.empty() && EqualsIgnoreCase(address, email)) return &user;
  }
  return nullptr;
}

Result<Acl> CannedAcl(std::string_view canned, const std::string& owner,
                      const std::string& bucket_owner, S3Error* error) {
  // Group grants come first, then the owner's FULL_CONTROL, then the bucket owner's: the
  // order RGW answers in, which ceph/s3-tests relies on (S3 documents none).
  Acl acl{owner, {}};
  auto group = [&](const char* uri, unsigned permission) {
    acl.grants.push_back(AclGrant{true, uri, permission});
  };
  unsigned bucket_owner_permission = 0;
  if (canned == "private") {
  } else if (canned == "public-read") {
    group(kAllUsersUri, kAclRead);
  } else if (canned == "public-read-write") {
    group(kAllUsersUri, kAclRead);
    group(kAllUsersUri, kAclWrite);
  } else if (canned == "authenticated-read") {
    group(kAuthenticatedUsersUri, kAclRead);
  } else if (canned == "bucket-owner-read") {
    bucket_owner_permission = kAclRead;
  } else if (canned == "bucket-owner-full-control") {
    bucket_owner_permission = kAclFullControl;
  } else if (canned == "log-delivery-write") {
    group(kLogDeliveryUri, kAclWrite);
    group(kLogDeliveryUri, kAclReadAcp);
  } else {
    return InvalidArgument(error, "", "x-amz-acl", canned);
  }
  acl.grants.push_back(AclGrant{false, owner, kAclFullControl});
  // On a bucket (its owner is the owner) the bucket-owner-* ACLs are private, as on S3.
  if (bucket_owner_permission != 0 && bucket_owner != owner) {
    acl.grants.push_back(AclGrant{false, bucket_owner, bucket_owner_permission});
  }
  return acl;
}

Result<std::optional<Acl>> AclFromHeaders(const HttpRequestHead& head, const std::string& owner,
                                          const std::string& bucket_owner, const AclUsers& users,
                                          S3Error* error) {
  const std::string* canned = head.Header("x-amz-acl");
  std::vector<AclGrant> grants;
  bool any_grant = false;
  for (const auto& [name, permission] : kGrantHeaders) {
    const std::string* value = head.Header(name);
    if (value == nullptr) continue;
    any_grant = true;
    if (canned != nullptr) {
      return Refuse(error, "InvalidRequest",
                    "Specifying both Canned ACLs and Header Grants is not allowed");
    }
    RETURN_IF_ERROR(ParseGrantHeader(name, *value, permission, users, &grants, error));
  }
  if (canned != nullptr) {
    ASSIGN_OR_RETURN(Acl acl, CannedAcl(Trim(*canned), owner, bucket_owner, error));
    return std::optional<Acl>(std::move(acl));
  }
  if (!any_grant) return std::optional<Acl>();
  // The grants replace the ACL: the owner keeps only what they give it (and the owner's
  // implicit right to read and write the ACL).
  return std::optional<Acl>(Acl{owner, std::move(grants)});
}

Result<Acl> ParseAccessControlPolicy(std::string_view body, const std::string& owner,
                                     const AclUsers& users, S3Error* error) {
  auto malformed = [&]() {
    return Refuse(error, "MalformedACLError",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema");
  };
  pugi::xml_document doc;
  if (body.empty() || !doc.load_buffer(body.data(), body.size())) return malformed();
  pugi::xml_node root = doc.document_element();
  if (LocalName(root) != "AccessControlPolicy") return malformed();
  pugi::xml_node owner_node = Child(root, "Owner");
  pugi::xml_node list = Child(root, "AccessControlList");
  if (!owner_node || !Child(owner_node, "ID") || !list) return malformed();
  if (Text(Child(owner_node, "ID")) != owner) {
    // Object ownership is not transferable through the ACL, as on S3.
    return Refuse(error, "AccessDenied", "Access Denied");
  }
  Acl acl;
  acl.owner = owner;
  for (pugi::xml_node grant : list.children()) {
    if (grant.type() != pugi::node_element) continue;
    if (LocalName(grant) != "Grant") return malformed();
    pugi::xml_node grantee = Child(grant, "Grantee");
    pugi::xml_node permission_node = Child(grant, "Permission");
    if (!grantee || !permission_node) return malformed();
    std::optional<unsigned> permission = ParseAclPermission(Text(permission_node));
    if (!permission) return malformed();
    std::string_view type;
    for (pugi::xml_attribute attribute : grantee.attributes()) {
      std::string_view name = attribute.name();
      if (name == "type" || name.ends_with(":type")) type = attribute.value();
    }
    Result<AclGrant> resolved = InvalidArgumentError("no grantee");
    if (type == "CanonicalUser" && Child(grantee, "ID")) {
      resolved = Resolve("id", Text(Child(grantee, "ID")), *permission, users, error);
    } else if (type == "Group" && Child(grantee, "URI")) {
      resolved = Resolve("uri", Text(Child(grantee, "URI")), *permission, users, error);
    } else if (type == "AmazonCustomerByEmail" && Child(grantee, "EmailAddress")) {
      resolved =
          Resolve("emailAddress", Text(Child(grantee, "EmailAddress")), *permission, users, error);
    } else {
      return malformed();
    }
    if (!resolved.ok()) return resolved.status();
    acl.grants.push_back(std::move(*resolved));
  }
  return acl;
}

std::string AccessControlPolicyXml(const Acl& acl) {
  std::string xml = "<AccessControlPolicy xmlns=\"" + std::string(kS3XmlNamespace) + "\">" +
                    UserXml("Owner", acl.owner) + "<AccessControlList>";
  for (const AclGrant& grant : acl.grants) {
    xml += "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"";
    if (grant.group) {
      xml += "Group\"><URI>" + XmlEscape(grant.id) + "</URI>";
    } else {
      std::string name = XmlEscape(grant.id);
      xml += "CanonicalUser\"><ID>" + name + "</ID><DisplayName>" + name + "</DisplayName>";
    }
    xml += "</Grantee><Permission>" + std::string(AclPermissionName(grant.permission)) +
           "</Permission></Grant>";
  }
  xml += "</AccessControlList></AccessControlPolicy>";
  return xml;
}

}  // namespace thumbflow::server
