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
