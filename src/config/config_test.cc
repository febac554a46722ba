#include "config/config.h"

#include <gtest/gtest.h>

namespace thumbflow {
namespace {

TEST(ConfigTest, EmptyDocumentIsValid) { EXPECT_TRUE(ParseConfig("", "test").ok()); }

TEST(ConfigTest, UnknownTopLevelFieldIsNamed) {
  auto r = ParseConfig("bogus = 1\n", "test.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown field 'bogus'"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("test.toml"), std::string::npos);
}

TEST(ConfigTest, SyntaxErrorNamesTheOrigin) {
  auto r = ParseConfig("[thumbnails\n", "broken.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("broken.toml"), std::string::npos);
}

TEST(ConfigTest, MissingFileIsNamed) {
  auto r = LoadConfigFile("/nonexistent/thumbflow.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/thumbflow.toml"), std::string::npos);
}

TEST(ConfigTest, ServerBlockingThreadsIsReadAndBounded) {
  auto good = ParseConfig("[server]\nblocking_threads = 8\n", "test.toml");
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->server.blocking_threads, 8);
  EXPECT_EQ(ParseConfig("", "test.toml")->server.blocking_threads, 32);
  auto bad = ParseConfig("[server]\nblocking_threads = 0\n", "test.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("server.blocking_threads"), std::string::npos)
      << bad.status().message();
}

TEST(ConfigTest, IsolationDefaultsAndErrorsNameTheField) {
  Config defaults = *ParseConfig("", "test.toml");
  EXPECT_TRUE(defaults.isolation.isolated());
  EXPECT_TRUE(defaults.isolation.sandbox);
  EXPECT_EQ(defaults.isolation.max_images_per_helper, 1000);
  auto good = ParseConfig(
      "[isolation]\nmode = \"in-process\"\nmax_images_per_helper = 5\nsandbox = false\n",
      "test.toml");
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_FALSE(good->isolation.isolated());
  EXPECT_EQ(good->isolation.max_images_per_helper, 5);
  EXPECT_FALSE(good->isolation.sandbox);
  for (const char* bad :
       {"[isolation]\nmode = \"threads\"\n", "[isolation]\nmemory_limit_mb = 100\n",
        "[isolation]\nmax_rss_mb = -1\n", "[isolation]\nbogus = 1\n"}) {
    auto r = ParseConfig(bad, "test.toml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("isolation."), std::string::npos) << r.status().message();
  }
}

TEST(FieldReaderTest, RangeAndTypeErrorsNameTheField) {
  toml::value v = toml::table{{"width", 0}, {"name", 3}};
  FieldReader r(v, "thumbnails.sizes[0]");
  int width = 50;
  Status s = r.Int("width", &width, 1, 10000);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("thumbnails.sizes[0].width"), std::string::npos);
  std::string name;
  EXPECT_FALSE(r.String("name", &name).ok());
  EXPECT_EQ(width, 50);
}

}  // namespace
}  // namespace thumbflow
