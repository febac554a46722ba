// The listen address of a thumbflow server (`serve --listen`, `worker --metrics-listen`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace thumbflow::server {

struct ListenAddress {
  std::string host;   // an address or name, IPv6 without brackets
  uint16_t port = 0;  // 0: any free port
};

// "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (the host then 127.0.0.1); PORT is 0..65535 in
// decimal. InvalidArgument otherwise, with the text in the message.
Result<ListenAddress> ParseListenAddress(std::string_view text);

}  // namespace thumbflow::server
