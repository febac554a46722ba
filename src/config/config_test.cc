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

TEST(ConfigTest, DeleteThumbnailsIsOffByDefaultAndOnAddsRemovalsToTheDefaultRule) {
  auto defaults = ParseConfig("", "test.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->pipeline.delete_thumbnails);
  EXPECT_EQ(defaults->store.notifications.at(0).events,
            std::vector<std::string>{"s3:ObjectCreated:*"});

  auto on = ParseConfig("[pipeline]\ndelete_thumbnails = true\n", "test.toml");
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_TRUE(on->pipeline.delete_thumbnails);
  EXPECT_EQ(on->store.notifications.at(0).events,
            (std::vector<std::string>{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}));

  // Rules the config names keep the events they name.
  auto named = ParseConfig(
      "[pipeline]\ndelete_thumbnails = true\n[[notifications]]\nevents = "
      "[\"s3:ObjectCreated:Put\"]\n",
      "test.toml");
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(named->store.notifications.at(0).events,
            std::vector<std::string>{"s3:ObjectCreated:Put"});

  auto bad = ParseConfig("[pipeline]\ndelete_thumbnails = \"yes\"\n", "test.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("pipeline.delete_thumbnails"), std::string::npos)
      << bad.status().message();
}

TEST(ConfigTest, ServerUsersAreReadInOrder) {
  auto good = ParseConfig(
      "[server]\nregion = \"us-east-1\"\n"
      "[[server.users]]\nname = \"alice\"\naccess_key_id = \"AKALICE\"\n"
      "secret_access_key = \"alice-secret\"\n"
      "[[server.users]]\nname = \"bob\"\naccess_key_id = \"AKBOB\"\nsecret_access_key = \"b\"\n",
      "test.toml");
  ASSERT_TRUE(good.ok()) << good.status().message();
  ASSERT_EQ(good->server.users.size(), 2u);
  EXPECT_EQ(good->server.users[0].name, "alice");
  EXPECT_EQ(good->server.users[0].access_key_id, "AKALICE");
  EXPECT_EQ(good->server.users[0].secret_access_key, "alice-secret");
  EXPECT_EQ(good->server.users[1].name, "bob");
  EXPECT_TRUE(ParseConfig("", "test.toml")->server.users.empty());
}

// Each bad entry is refused, naming the entry and its field.
TEST(ConfigTest, BadServerUsersNameTheField) {
  const std::string alice =
      "[[server.users]]\nname = \"alice\"\naccess_key_id = \"AK1\"\nsecret_access_key = \"s\"\n";
  const std::pair<std::string, std::string> kBad[] = {
      {"[[server.users]]\naccess_key_id = \"AK1\"\nsecret_access_key = \"s\"\n",
       "server.users[0].name: is required"},
      {"[[server.users]]\nname = \"alice\"\nsecret_access_key = \"s\"\n",
       "server.users[0].access_key_id: is required"},
      {"[[server.users]]\nname = \"alice\"\naccess_key_id = \"AK1\"\n",
       "server.users[0].secret_access_key: is required"},
      {alice + "[[server.users]]\nname = \"bob\"\naccess_key_id = \"AK1\"\n"
               "secret_access_key = \"t\"\n",
       "server.users[1].access_key_id: duplicate of server.users[0].access_key_id"},
      {alice + "[[server.users]]\nname = \"alice\"\naccess_key_id = \"AK2\"\n"
               "secret_access_key = \"t\"\n",
       "server.users[1].name: duplicate of server.users[0].name"},
      {"[[server.users]]\nname = \"thumbflow\"\naccess_key_id = \"AK1\"\n"
       "secret_access_key = \"s\"\n",
       "server.users[0].name: \"thumbflow\" is the first user's name"},
      {"[server]\naccess_key_id = \"AK1\"\nsecret_access_key = \"x\"\n" + alice,
       "server.users[0].access_key_id: duplicate of server.access_key_id"},
      {"[[server.users]]\nname = \"a b\"\naccess_key_id = \"AK1\"\nsecret_access_key = \"s\"\n",
       "server.users[0].name: must be 1 to 64"},
      {"[[server.users]]\nname = \"alice\"\naccess_key_id = \"\"\nsecret_access_key = \"s\"\n",
       "server.users[0].access_key_id: must be 1 to 128 bytes"},
      {"[[server.users]]\nname = \"alice\"\naccess_key_id = \"AK1\"\nsecret_access_key = \"\"\n",
       "server.users[0].secret_access_key: must not be empty"},
      {alice + "role = \"admin\"\n", "server.users[0].role"},
      {"[server]\nusers = \"alice\"\n", "server.users: must be an array of tables"},
  };
  for (const auto& [text, expected] : kBad) {
    auto parsed = ParseConfig(text, "test.toml");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find(expected), std::string::npos)
        << text << "\n-> " << parsed.status().message();
  }
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

namespace thumbflow {
namespace {

TEST(ConfigTest, LogLevelIsReadAndABadOneNamesTheField) {
  Result<Config> defaults = ParseConfig("", "test");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->log.level, LogLevel::kInfo);
  Result<Config> warn = ParseConfig("[log]\nlevel = \"warn\"\n", "test");
  ASSERT_TRUE(warn.ok()) << warn.status().message();
  EXPECT_EQ(warn->log.level, LogLevel::kWarn);
  for (const char* bad : {"[log]\nlevel = \"nope\"\n", "[log]\nlevel = 3\n"}) {
    Result<Config> r = ParseConfig(bad, "test");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("log.level"), std::string::npos) << r.status().message();
  }
  Result<Config> unknown = ParseConfig("[log]\nformat = \"text\"\n", "test");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("log.format"), std::string::npos)
      << unknown.status().message();
}

}  // namespace
}  // namespace thumbflow
