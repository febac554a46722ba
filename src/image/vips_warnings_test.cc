#include "image/vips_warnings.h"

#include <mutex>
#include <string>
#include <vector>

#include <glib.h>
#include <gtest/gtest.h>
#include <vips/vips.h>
#include <nlohmann/json.hpp>

namespace thumbflow::internal {
namespace {

// GLib's messages that no image claims become JSON lines on the installed logger.
class GlibLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InstallVipsWarningHandler(Logger(
        [this](std::string_view line) {
          std::lock_guard<std::mutex> lock(mu_);
          lines_.emplace_back(line);
        },
        nullptr, LogLevel::kDebug));
  }
  // Back to what the rest of the binary expects (VipsRuntime's default logger).
  void TearDown() override { InstallVipsWarningHandler(Logger::Stderr()); }

  std::vector<nlohmann::json> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<nlohmann::json> out;
    for (const std::string& line : lines_) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(GlibLogTest, AnUnclaimedVipsWarningIsAJsonWarnLine) {
  g_log("VIPS", G_LOG_LEVEL_WARNING, "read gave %d warnings\n", 2);
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[0]["msg"], "read gave 2 warnings");
  EXPECT_EQ(lines[0]["domain"], "VIPS");
  EXPECT_TRUE(lines[0].contains("time"));
}

TEST_F(GlibLogTest, OtherDomainsGoThroughTheDefaultHandlerWithTheirLevel) {
  g_log("GLib-GObject", G_LOG_LEVEL_CRITICAL, "g_object_unref: assertion '%s' failed",
        "G_IS_OBJECT (object)");
  g_log("thumbflow-test", G_LOG_LEVEL_MESSAGE, "a \"quoted\" message");
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["level"], "error");
  EXPECT_EQ(lines[0]["domain"], "GLib-GObject");
  EXPECT_EQ(lines[1]["level"], "info");
  EXPECT_EQ(lines[1]["msg"], "a \"quoted\" message");
}

TEST_F(GlibLogTest, AWarningHeardByAWatchIsTheImagesNotALine) {
  {
    WarningWatch watch(WarningWatch::Mode::kExclusive);
    g_log("VIPS", G_LOG_LEVEL_WARNING, "something is damaged");
    EXPECT_EQ(watch.heard(), std::vector<std::string>{"something is damaged"});
  }
  EXPECT_TRUE(Lines().empty());
}

// Whether a run's libvips error text can be its own: overlapped says another run was active
// at some moment of its life, whichever started first.
TEST(WarningWatchTest, OverlappedOnlyWhenAnotherWatchWasActive) {
  {
    WarningWatch alone(WarningWatch::Mode::kShared);
    EXPECT_FALSE(alone.overlapped());
  }
  WarningWatch first(WarningWatch::Mode::kShared);
  EXPECT_FALSE(first.overlapped());
  {
    WarningWatch second(WarningWatch::Mode::kShared);
    EXPECT_TRUE(second.overlapped());
  }
  EXPECT_TRUE(first.overlapped()) << "stays set after the other watch ended";
}

// A watch that starts alone starts from an empty error buffer: an earlier image's text (a
// loader that recorded an error and recovered) is not its own.
TEST(WarningWatchTest, AWatchStartingAloneClearsAnEarlierImagesErrorText) {
  vips_error("earlier", "%s", "bad seek to 1234");
  WarningWatch watch(WarningWatch::Mode::kShared);
  EXPECT_STREQ(vips_error_buffer(), "");
}

}  // namespace
}  // namespace thumbflow::internal
