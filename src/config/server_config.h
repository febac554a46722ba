// Config section `server`: the embedded store's S3-compatible endpoint.
//
//   [server]
//   access_key_id = "..."          # with secret_access_key; else THUMBFLOW_ACCESS_KEY_ID /
//   secret_access_key = "..."      # THUMBFLOW_SECRET_ACCESS_KEY, else DIR/credentials
//   region = "us-east-1"           # reported by GetBucketLocation; a signature's credential
//                                  # scope must name it (else AuthorizationHeaderMalformed)
//   virtual_host_domains = ["localhost"]  # bucket.<domain>[:port] selects the bucket
//   public_read_prefixes = []      # "bucket/prefix" or "bucket": anonymous GET/HEAD
//   email = ""                     # the first user's, for ACL grants by email address
//   max_put_bytes = 5368709120     # single PUT (and part) size limit
//   max_header_bytes = 16384
//   header_timeout_s = 30          # to receive a request header
//   idle_timeout_s = 30            # without progress while reading a body / writing a reply
//   max_connections = 1024
//   max_connections_per_address = 128  # from one peer address; idle ones give way first
//   threads = 0                    # I/O threads; 0: 2 x cores, at least 4
//   blocking_threads = 32          # finish writes (fsync, commit); PUTs waiting on the disk
//                                  # at once, sharing commits
//   multipart_upload_max_age_s = 604800  # a multipart upload not completed this long after
//                                  # its creation is aborted (its parts removed); 0: never
//
//   [[server.users]]               # more users, after the first (the key pair above); each
//   name = "alice"                 # owns the buckets it creates
//   access_key_id = "..."
//   secret_access_key = "..."
//   email = "alice@example.com"    # optional: ACL grants by email address resolve to it
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/field_reader.h"

namespace thumbflow {

// One [[server.users]] entry: every field but email required; names and access keys distinct.
struct ServerUser {
  std::string name;
  std::string access_key_id;
  std::string secret_access_key;
  std::string email;  // empty: none
};

// The name of the first user (the [server] / environment / generated key pair).
inline constexpr char kFirstUserName[] = "thumbflow";

struct ServerConfig {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::vector<std::string> virtual_host_domains = {"localhost"};
  std::vector<std::string> public_read_prefixes;
  std::string email;  // the first user's; empty: none
  int64_t max_put_bytes = int64_t{5} << 30;
  int max_header_bytes = 16 * 1024;
  int header_timeout_s = 30;
  int idle_timeout_s = 30;
  int max_connections = 1024;
  int max_connections_per_address = 128;
  int threads = 0;
  int blocking_threads = 32;
  int64_t multipart_upload_max_age_s = 7 * 24 * 3600;  // 0: uploads are never aborted
  std::vector<ServerUser> users;                       // [[server.users]]
};

// Reads this section's top-level keys from the root table; leaves defaults for absent ones.
Status ParseServerConfig(FieldReader& root, ServerConfig* out);

}  // namespace thumbflow
