#include "server/listen_address.h"

#include <gtest/gtest.h>

namespace thumbflow::server {
namespace {

TEST(ListenAddressTest, HostPortForms) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
  };
  for (const Case& c :
       {Case{"127.0.0.1:9000", "127.0.0.1", 9000}, Case{"0.0.0.0:0", "0.0.0.0", 0},
        Case{"localhost:65535", "localhost", 65535}, Case{":9100", "127.0.0.1", 9100},
        Case{"9100", "127.0.0.1", 9100}, Case{"[::1]:9000", "::1", 9000}}) {
    Result<ListenAddress> address = ParseListenAddress(c.text);
    ASSERT_TRUE(address.ok()) << c.text << ": " << address.status().message();
    EXPECT_EQ(address->host, c.host) << c.text;
    EXPECT_EQ(address->port, c.port) << c.text;
  }
}

TEST(ListenAddressTest, MalformedAddressesAreRefusedWithTheText) {
  for (const char* text : {"", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:65536", "host:-1",
                           "host:90x", "[]:80", "127.0.0.1:99999999999"}) {
    Result<ListenAddress> address = ParseListenAddress(text);
    ASSERT_FALSE(address.ok()) << text;
    EXPECT_EQ(address.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(address.status().message(), "expected HOST:PORT, got \"" + std::string(text) + "\"");
  }
}

}  // namespace
}  // namespace thumbflow::server
