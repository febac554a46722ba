#include "lambda/lambda_config.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "core/testing/temp_dir.h"

namespace thumbflow::lambda {
namespace {

TEST(LambdaConfigTest, EmptyMeansDefaults) {
  auto config = LoadLambdaConfig("");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->lambda.deadline_margin_ms, 3'000);
  EXPECT_EQ(config->lambda.dlq, "");
  EXPECT_EQ(config->config.pipeline.output_prefix, "thumbnails/");
}

TEST(LambdaConfigTest, ReadsTheLambdaTableAndTheRest) {
  auto config = LoadLambdaConfig(
      "[output]\nprefix = \"thumbs/\"\n"
      "[lambda]\ndeadline_margin_ms = 500\nconcurrency = 3\ndlq = \"my-dlq\"\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->lambda.deadline_margin_ms, 500);
  EXPECT_EQ(config->lambda.concurrency, 3);
  EXPECT_EQ(config->lambda.dlq, "my-dlq");
  EXPECT_EQ(config->config.pipeline.output_prefix, "thumbs/");
}

TEST(LambdaConfigTest, ErrorsNameTheField) {
  struct Case {
    const char* text;
    const char* names;
  } cases[] = {
      {"[lambda]\ndeadline_margin_ms = -1\n", "lambda.deadline_margin_ms"},
      {"[lambda]\ncolour = 1\n", "lambda.colour"},
      {"lambda = 3\n", "lambda"},
      {"[output]\nprefix = 7\n", "output.prefix"},
      {"[lambda]\nconcurrency = 1\n[nonsense]\nx = 1\n", "nonsense"},
      {"this is = = not toml\n", "THUMBFLOW_CONFIG"},
  };
  for (const auto& c : cases) {
    auto config = LoadLambdaConfig(c.text);
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(config.status().message().find(c.names), std::string::npos)
        << c.text << " -> " << config.status().message();
  }
}

TEST(LambdaConfigTest, APathIsReadAsAFile) {
  thumbflow::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/lambda_config_test.toml";
  {
    std::ofstream out(path);
    out << "[lambda]\ndeadline_margin_ms = 1234\n";
  }
  auto config = LoadLambdaConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->lambda.deadline_margin_ms, 1234);
  std::remove(path.c_str());

  auto missing = LoadLambdaConfig(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
  EXPECT_TRUE(LooksLikeTomlDocument("[aws]"));
  EXPECT_TRUE(LooksLikeTomlDocument("a = 1"));
  EXPECT_FALSE(LooksLikeTomlDocument("/var/task/thumbflow.toml"));
}

}  // namespace
}  // namespace thumbflow::lambda
