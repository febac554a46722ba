// The endpoint's key pair: from the environment (THUMBFLOW_ACCESS_KEY_ID /
// THUMBFLOW_SECRET_ACCESS_KEY), else the config's [server] section, else DIR/credentials
// (AWS shared-credentials format, profile [thumbflow]), generated with mode 0600 at first
// start. Not thread-safe (called once at start).
#pragma once

#include <string>

#include "core/result.h"

namespace thumbflow::server {

struct EndpointCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string source;  // "environment", "config", or the credentials file path
  bool generated = false;
};

// `env_id`/`env_secret` are the environment values (empty when unset); both or neither must
// be set (InvalidArgument otherwise). Internal when the file cannot be read or written.
Result<EndpointCredentials> LoadEndpointCredentials(const std::string& env_id,
                                                    const std::string& env_secret,
                                                    const std::string& config_id,
                                                    const std::string& config_secret,
                                                    const std::string& data_dir);

}  // namespace thumbflow::server
