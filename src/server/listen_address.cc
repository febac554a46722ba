#include "server/listen_address.h"

#include <charconv>

namespace thumbflow::server {

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress address;
  address.host = "127.0.0.1";
  std::string_view port = text;
  size_t colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    if (colon > 0) address.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  const std::string& host = address.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    address.host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535 ||
      address.host.empty()) {
    return InvalidArgumentError("expected HOST:PORT, got \"" + std::string(text) + "\"");
  }
  address.port = static_cast<uint16_t>(value);
  return address;
}

}  // namespace thumbflow::server
