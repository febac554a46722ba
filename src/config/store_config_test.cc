#include "config/store_config.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace thumbflow {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(StoreConfigTest, DefaultsFollowTheDesign) {
  auto config = ParseConfig("", "test");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const StoreConfig& store = config->store;
  EXPECT_EQ(store.default_bucket, "images");
  EXPECT_EQ(store.max_object_bytes, int64_t{5} * 1024 * 1024 * 1024);
  EXPECT_TRUE(store.fsync);
  ASSERT_EQ(store.notifications.size(), 1u);
  const NotificationRule& rule = store.notifications[0];
  EXPECT_EQ(rule.bucket, "images");
  EXPECT_EQ(rule.prefix, "uploads/");
  EXPECT_EQ(rule.queue, "thumbnails");
  EXPECT_EQ(rule.suffixes,
            (std::vector<std::string>{".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic",
                                      ".heif", ".tif", ".tiff", ".jxl", ".svg"}));
  EXPECT_EQ(rule.events, (std::vector<std::string>{"s3:ObjectCreated:*"}));
}

TEST(StoreConfigTest, DefaultRuleFollowsTheDefaultBucket) {
  auto config = ParseConfig("[storage]\ndefault_bucket = \"photos\"\n", "test");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->store.notifications.size(), 1u);
  EXPECT_EQ(config->store.notifications[0].bucket, "photos");
}

TEST(StoreConfigTest, ExplicitRulesReplaceTheDefault) {
  auto config = ParseConfig(R"(
[storage]
default_bucket = "media"
max_object_bytes = 1048576
fsync = false

[output]
bucket = "media"

[[notifications]]
prefix = "incoming/"
suffixes = [".PNG"]
queue = "png-jobs"

[[notifications]]
id = "all"
bucket = "other-bucket"
prefix = ""
suffixes = []
queue = "everything"
events = ["s3:ObjectCreated:Put", "s3:ObjectRemoved:*"]
)",
                            "test");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const StoreConfig& store = config->store;
  EXPECT_EQ(store.default_bucket, "media");
  EXPECT_EQ(store.max_object_bytes, 1048576);
  EXPECT_FALSE(store.fsync);
  ASSERT_EQ(store.notifications.size(), 2u);
  EXPECT_EQ(store.notifications[0].bucket, "media");
  EXPECT_EQ(store.notifications[0].queue, "png-jobs");
  EXPECT_EQ(store.notifications[1].id, "all");
  EXPECT_EQ(store.notifications[1].bucket, "other-bucket");
  EXPECT_TRUE(store.notifications[1].suffixes.empty());
}

TEST(StoreConfigTest, EmptyArrayTurnsNotificationsOff) {
  auto config = ParseConfig("notifications = []\n", "test");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->store.notifications.empty());
}

TEST(StoreConfigTest, ErrorsNameTheField) {
  struct Case {
    const char* toml;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {"[storage]\ndefault_bucket = \"Bad_Name\"\n", "storage.default_bucket"},
           {"[storage]\nmax_object_bytes = 0\n", "storage.max_object_bytes"},
           {"[storage]\nbogus = 1\n", "storage.bogus"},
           {"[[notifications]]\nqueue = \"\"\n", "notifications[0].queue"},
           {"[[notifications]]\nqueue = \"q\"\n[[notifications]]\nevents = [\"s3:Nope\"]\n",
            "notifications[1].events"},
           {"[[notifications]]\nbucket = \"x\"\n", "notifications[0].bucket"},
           {"[[notifications]]\nsuffixes = [\"\"]\n", "notifications[0].suffixes"},
           {"[[notifications]]\nsuffix = \".jpg\"\n", "notifications[0].suffix"},
           {"notifications = 3\n", "notifications"},
       }) {
    auto config = ParseConfig(c.toml, "test.toml");
    ASSERT_FALSE(config.ok()) << c.toml;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(config.status().message(), c.field))
        << c.field << " not in: " << config.status().message();
  }
}

TEST(NotificationRulesTest, MatchingIsByBucketPrefixAndCaseInsensitiveSuffix) {
  std::vector<NotificationRule> rules = {NotificationRule{}};
  EXPECT_EQ(MatchingQueues(rules, "images", "uploads/a.jpg", "ObjectCreated:Put"),
            (std::vector<std::string>{"thumbnails"}));
  EXPECT_EQ(MatchingQueues(rules, "images", "uploads/deep/A.JPEG", "ObjectCreated:Put").size(), 1u);
  EXPECT_EQ(
      MatchingQueues(rules, "images", "uploads/x.heic", "ObjectCreated:CompleteMultipartUpload")
          .size(),
      1u);
  EXPECT_TRUE(MatchingQueues(rules, "images", "uploads/a.txt", "ObjectCreated:Put").empty());
  EXPECT_TRUE(MatchingQueues(rules, "images", "other/a.jpg", "ObjectCreated:Put").empty());
  EXPECT_TRUE(
      MatchingQueues(rules, "images", "thumbnails/small/a.jpg", "ObjectCreated:Put").empty());
  EXPECT_TRUE(MatchingQueues(rules, "other", "uploads/a.jpg", "ObjectCreated:Put").empty());
  EXPECT_TRUE(MatchingQueues(rules, "images", "uploads/a.jpg", "ObjectRemoved:Delete").empty());
  EXPECT_TRUE(MatchingQueues(rules, "images", "uploads/jpg", "ObjectCreated:Put").empty());
}

TEST(NotificationRulesTest, EventPatterns) {
  NotificationRule rule;
  rule.events = {"s3:ObjectCreated:Put"};
  EXPECT_TRUE(RuleSelectsEvent(rule, "ObjectCreated:Put"));
  EXPECT_FALSE(RuleSelectsEvent(rule, "ObjectCreated:CompleteMultipartUpload"));
  rule.events = {"s3:ObjectRemoved:*"};
  EXPECT_TRUE(RuleSelectsEvent(rule, "ObjectRemoved:Delete"));
  EXPECT_FALSE(RuleSelectsEvent(rule, "ObjectCreated:Put"));
}

TEST(NotificationRulesTest, EachQueueOnce) {
  NotificationRule a;
  NotificationRule b;
  b.prefix = "";
  NotificationRule c;
  c.queue = "other";
  EXPECT_EQ(MatchingQueues({a, b, c}, "images", "uploads/a.png", "ObjectCreated:Put"),
            (std::vector<std::string>{"thumbnails", "other"}));
}

TEST(ValidateConfigTest, DefaultsHaveNoLoop) {
  Config config;
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST(ValidateConfigTest, RefusesOutputPrefixMatchedByARule) {
  auto config = ParseConfig(R"(
[output]
prefix = "uploads/thumbs/"
)",
                            "loop.toml");
  ASSERT_FALSE(config.ok());
  const std::string& message = config.status().message();
  EXPECT_TRUE(Contains(message, "output.prefix")) << message;
  EXPECT_TRUE(Contains(message, "notifications[0].prefix")) << message;
  EXPECT_TRUE(Contains(message, "loop.toml")) << message;
}

TEST(ValidateConfigTest, RefusesRuleUnderTheOutputPrefixOrMatchingEverything) {
  Config config;
  config.store.notifications[0].prefix = "thumbnails/small/";
  EXPECT_FALSE(ValidateConfig(config).ok());
  config.store.notifications[0].prefix = "";
  Status s = ValidateConfig(config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(ValidateConfigTest, OutputInAnotherBucketOrPrefixIsFine) {
  Config config;
  config.store.notifications[0].prefix = "";
  config.pipeline.output_bucket = "thumbs";  // rule is on "images"
  EXPECT_TRUE(ValidateConfig(config).ok());

  config.pipeline.output_bucket = "images";
  EXPECT_FALSE(ValidateConfig(config).ok());

  config.store.notifications[0].prefix = "uploads/";
  config.pipeline.output_prefix = "uploadsx/";  // neither prefix starts the other
  EXPECT_TRUE(ValidateConfig(config).ok());
}

TEST(ValidateConfigTest, RulesThatIgnorePutsCannotLoop) {
  Config config;
  config.store.notifications[0].prefix = "";
  config.store.notifications[0].events = {"s3:ObjectRemoved:*"};
  EXPECT_TRUE(ValidateConfig(config).ok());
}

}  // namespace
}  // namespace thumbflow
