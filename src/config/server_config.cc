#include "config/server_config.h"

#include <cctype>
#include <string_view>

namespace thumbflow {
namespace {

// IAM's user-name characters: letters, digits and + = , . @ _ -.
bool IsUserName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("+=,.@_-").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

Status ParseUser(const toml::value& table, const std::string& path, ServerUser* out) {
  FieldReader r(table, path);
  for (const char* field : {"name", "access_key_id", "secret_access_key"}) {
    if (!r.Has(field)) return r.Error(field, "is required");
  }
  RETURN_IF_ERROR(r.String("name", &out->name));
  RETURN_IF_ERROR(r.String("access_key_id", &out->access_key_id));
  RETURN_IF_ERROR(r.String("secret_access_key", &out->secret_access_key));
  RETURN_IF_ERROR(r.String("email", &out->email));
  RETURN_IF_ERROR(r.Finish());
  if (!IsUserName(out->name)) {
    return r.Error("name", "must be 1 to 64 letters, digits and + = , . @ _ - characters");
  }
  if (out->access_key_id.empty() || out->access_key_id.size() > 128) {
    return r.Error("access_key_id", "must be 1 to 128 bytes");
  }
  if (out->secret_access_key.empty()) return r.Error("secret_access_key", "must not be empty");
  return Status::Ok();
}

// The users after the first: every field present, names and access keys distinct (also from
// the first user's name and configured key).
Status ParseUsers(FieldReader& server, ServerConfig* out) {
  if (!server.Has("users")) return Status::Ok();
  const toml::array* users = server.TableArray("users");
  RETURN_IF_ERROR(server.Finish());  // reports "must be an array of tables"
  for (size_t i = 0; i < users->size(); ++i) {
    const std::string path = "server.users[" + std::to_string(i) + "]";
    ServerUser user;
    RETURN_IF_ERROR(ParseUser((*users)[i], path, &user));
    if (user.name == kFirstUserName) {
      return InvalidArgumentError(path + ".name: \"" + user.name +
                                  "\" is the first user's name (the [server] key pair)");
    }
    if (!out->access_key_id.empty() && user.access_key_id == out->access_key_id) {
      return InvalidArgumentError(path +
                                  ".access_key_id: duplicate of server.access_key_id (the first "
                                  "user's)");
    }
    for (size_t j = 0; j < out->users.size(); ++j) {
      const std::string other = "server.users[" + std::to_string(j) + "]";
      if (out->users[j].name == user.name) {
        return InvalidArgumentError(path + ".name: duplicate of " + other + ".name \"" + user.name +
                                    "\"");
      }
      if (out->users[j].access_key_id == user.access_key_id) {
        return InvalidArgumentError(path + ".access_key_id: duplicate of " + other +
                                    ".access_key_id");
      }
    }
    out->users.push_back(std::move(user));
  }
  return Status::Ok();
}

}  // namespace

Status ParseServerConfig(FieldReader& root, ServerConfig* out) {
  const toml::value* table = root.Table("server");
  if (table == nullptr) return Status::Ok();
  FieldReader r(*table, "server");
  RETURN_IF_ERROR(r.String("access_key_id", &out->access_key_id));
  RETURN_IF_ERROR(r.String("secret_access_key", &out->secret_access_key));
  RETURN_IF_ERROR(r.String("region", &out->region));
  RETURN_IF_ERROR(r.String("email", &out->email));
  RETURN_IF_ERROR(r.StringList("virtual_host_domains", &out->virtual_host_domains));
  RETURN_IF_ERROR(r.StringList("public_read_prefixes", &out->public_read_prefixes));
  RETURN_IF_ERROR(r.Int("max_put_bytes", &out->max_put_bytes, 1, int64_t{5} << 40));
  RETURN_IF_ERROR(r.Int("max_header_bytes", &out->max_header_bytes, 1024, 1 << 20));
  RETURN_IF_ERROR(r.Int("header_timeout_s", &out->header_timeout_s, 1, 3600));
  RETURN_IF_ERROR(r.Int("idle_timeout_s", &out->idle_timeout_s, 1, 3600));
  RETURN_IF_ERROR(r.Int("max_connections", &out->max_connections, 1, 1'000'000));
  RETURN_IF_ERROR(
      r.Int("max_connections_per_address", &out->max_connections_per_address, 1, 1'000'000));
  RETURN_IF_ERROR(r.Int("threads", &out->threads, 0, 256));
  RETURN_IF_ERROR(r.Int("blocking_threads", &out->blocking_threads, 1, 1024));
  RETURN_IF_ERROR(r.Int("multipart_upload_max_age_s", &out->multipart_upload_max_age_s, 0,
                        int64_t{10} * 365 * 24 * 3600));
  if (out->access_key_id.empty() != out->secret_access_key.empty()) {
    return r.Error("access_key_id", "access_key_id and secret_access_key go together");
  }
  if (out->access_key_id.size() > 128) return r.Error("access_key_id", "longer than 128 bytes");
  if (out->region.empty()) return r.Error("region", "must not be empty");
  RETURN_IF_ERROR(ParseUsers(r, out));
  return r.Finish();
}

}  // namespace thumbflow
