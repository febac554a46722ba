#include "core/log.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/civil_time.h"
#include "core/clock.h"

namespace thumbflow {
namespace {

class LoggerTest : public ::testing::Test {
 protected:
  Logger MakeLogger(LogLevel min_level = LogLevel::kInfo) {
    return Logger([this](std::string_view line) { lines_.emplace_back(line); }, &clock_, min_level);
  }

  ManualClock clock_{1'700'000'000'123};
  std::vector<std::string> lines_;
};

TEST_F(LoggerTest, OneJsonObjectPerLineWithTimeLevelMsgThenFieldsInOrder) {
  MakeLogger().Info("record", LogFields()
                                  .Add("bucket", "images")
                                  .Add("duration_ms", int64_t{12})
                                  .Add("duplicate", true)
                                  .Add("ratio", 0.5));
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0],
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"level\":\"info\",\"msg\":\"record\","
            "\"bucket\":\"images\",\"duration_ms\":12,\"duplicate\":true,\"ratio\":0.5}");
}

TEST_F(LoggerTest, NestedObjectsAndArrays) {
  std::vector<LogFields> sizes;
  sizes.push_back(LogFields().Add("size", "small").Add("width", 50));
  sizes.push_back(LogFields().Add("size", "large").Add("width", 800));
  MakeLogger().Warn("x", LogFields().Add("sizes", sizes).Add("empty", std::vector<LogFields>{}));
  ASSERT_EQ(lines_.size(), 1u);
  auto doc = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(doc["level"], "warn");
  ASSERT_EQ(doc["sizes"].size(), 2u);
  EXPECT_EQ(doc["sizes"][1]["size"], "large");
  EXPECT_EQ(doc["sizes"][1]["width"], 800);
  EXPECT_TRUE(doc["empty"].is_array());
}

TEST_F(LoggerTest, StringsAreEscapedAndInvalidUtf8IsReplaced) {
  std::string nasty = "a\"b\\c\nd\te\x01 caf\xC3\xA9 \xFF\xC3";
  MakeLogger().Error(nasty, LogFields().Add("detail", nasty).Add("nan", 0.0 / 0.0));
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find('\n'), std::string::npos);
  auto doc = nlohmann::json::parse(lines_[0]);  // throws on invalid JSON or UTF-8
  EXPECT_EQ(doc["detail"], "a\"b\\c\nd\te\x01 caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(doc["msg"], doc["detail"]);
  EXPECT_TRUE(doc["nan"].is_null());
  EXPECT_NE(lines_[0].find("\\u0001"), std::string::npos);
  EXPECT_NE(lines_[0].find("caf\xC3\xA9"), std::string::npos);  // UTF-8 as is, not \u-escaped
}

TEST_F(LoggerTest, LinesBelowTheMinimumLevelAreDropped) {
  Logger logger = MakeLogger(LogLevel::kWarn);
  EXPECT_FALSE(logger.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.Enabled(LogLevel::kError));
  logger.Log(LogLevel::kDebug, "d");
  logger.Info("i");
  logger.Warn("w");
  logger.Error("e");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines_[0])["msg"], "w");
  EXPECT_EQ(nlohmann::json::parse(lines_[1])["msg"], "e");
}

TEST_F(LoggerTest, DefaultLoggerDiscards) {
  Logger logger;
  EXPECT_FALSE(logger.Enabled(LogLevel::kError));
  logger.Error("nothing happens");
}

TEST_F(LoggerTest, CopiesShareTheSinkAndLinesNeverInterleave) {
  // The sink itself is not thread-safe (a plain vector): the logger must serialize.
  Logger logger = MakeLogger();
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([copy = logger, t] {
      for (int i = 0; i < kLines; ++i) {
        copy.Info("line",
                  LogFields().Add("thread", t).Add("i", i).Add("pad", std::string(200, 'x')));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(lines_.size(), static_cast<size_t>(kThreads * kLines));
  for (const std::string& line : lines_) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST_F(LoggerTest, LevelNamesRoundTripAndOtherTextIsRefused) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(level)), level);
  }
  EXPECT_EQ(ParseLogLevel("nope"), std::nullopt);
  EXPECT_EQ(ParseLogLevel("INFO"), std::nullopt);
  EXPECT_EQ(ParseLogLevel(""), std::nullopt);
}

TEST_F(LoggerTest, DebugLinesAppearOnlyAtLevelDebug) {
  MakeLogger(LogLevel::kInfo).Debug("hidden");
  EXPECT_TRUE(lines_.empty());
  MakeLogger(LogLevel::kDebug).Debug("shown");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines_[0])["level"], "debug");
}

TEST_F(LoggerTest, LogAlwaysIgnoresTheMinimumLevelButNotADiscardingLogger) {
  MakeLogger(LogLevel::kError).LogAlways(LogLevel::kInfo, "metrics");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines_[0])["msg"], "metrics");
  Logger().LogAlways(LogLevel::kInfo, "nowhere");
  EXPECT_EQ(lines_.size(), 1u);
}

TEST_F(LoggerTest, AddJsonEmbedsAnEncodedValue) {
  MakeLogger().Info("m", LogFields().AddJson("_aws", R"({"Timestamp":1,"List":[["a"]]})"));
  ASSERT_EQ(lines_.size(), 1u);
  auto doc = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(doc["_aws"]["Timestamp"], 1);
  EXPECT_EQ(doc["_aws"]["List"][0][0], "a");
}

TEST(FormatIso8601MillisTest, Formats) {
  EXPECT_EQ(FormatIso8601Millis(0), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace thumbflow
