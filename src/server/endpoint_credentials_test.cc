#include "server/endpoint_credentials.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/testing/temp_dir.h"

namespace thumbflow::server {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(EndpointCredentialsTest, GeneratedOnceWithMode0600InSharedCredentialsFormat) {
  testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Result<EndpointCredentials> first = LoadEndpointCredentials("", "", "", "", dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->generated);
  const std::string path = dir.path() + "/credentials";
  EXPECT_EQ(first->source, path);
  EXPECT_TRUE(std::regex_match(first->access_key_id, std::regex("TFAK[A-Z2-7]{16}")))
      << first->access_key_id;
  EXPECT_TRUE(std::regex_match(first->secret_access_key, std::regex("[A-Za-z0-9]{40}")));

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(Slurp(path), "[thumbflow]\naws_access_key_id = " + first->access_key_id +
                             "\naws_secret_access_key = " + first->secret_access_key + "\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  // The next start reads the same pair back.
  Result<EndpointCredentials> second = LoadEndpointCredentials("", "", "", "", dir.path());
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->access_key_id, first->access_key_id);
  EXPECT_EQ(second->secret_access_key, first->secret_access_key);

  // Another data folder gets another pair.
  testing::TempDir other;
  Result<EndpointCredentials> third = LoadEndpointCredentials("", "", "", "", other.path());
  ASSERT_TRUE(third.ok());
  EXPECT_NE(third->access_key_id, first->access_key_id);
  EXPECT_NE(third->secret_access_key, first->secret_access_key);
}

TEST(EndpointCredentialsTest, GeneratedFileIs0600EvenOverALeftoverTemporaryFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/credentials";
  std::ofstream(path + ".tmp") << "left by a crash";
  ASSERT_EQ(::chmod((path + ".tmp").c_str(), 0644), 0);
  Result<EndpointCredentials> got = LoadEndpointCredentials("", "", "", "", dir.path());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(Slurp(path).find("left by a crash"), std::string::npos);
}

TEST(EndpointCredentialsTest, EnvironmentThenConfigThenFile) {
  testing::TempDir dir;
  Result<EndpointCredentials> env =
      LoadEndpointCredentials("ENVID", "envsecret", "CFGID", "cfgsecret", dir.path());
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->access_key_id, "ENVID");
  EXPECT_EQ(env->secret_access_key, "envsecret");
  EXPECT_EQ(env->source, "environment");
  Result<EndpointCredentials> config =
      LoadEndpointCredentials("", "", "CFGID", "cfgsecret", dir.path());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->access_key_id, "CFGID");
  EXPECT_EQ(config->source, "config");
  // Neither writes a file.
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/credentials"));
}

TEST(EndpointCredentialsTest, HalfAnEnvironmentPairIsRefused) {
  testing::TempDir dir;
  EXPECT_EQ(LoadEndpointCredentials("ID", "", "", "", dir.path()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadEndpointCredentials("", "secret", "", "", dir.path()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/credentials"));
}

TEST(EndpointCredentialsTest, ReadsTheThumbflowProfileOnly) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/credentials";
  std::ofstream(path) << "# edited by hand\n[default]\naws_access_key_id = WRONG\n"
                         "aws_secret_access_key = wrong\n\n[thumbflow]\r\n"
                         "  aws_access_key_id=RIGHTID  \r\n; comment\n"
                         "aws_secret_access_key =  right/secret+x= \n[other]\n"
                         "aws_access_key_id = OTHER\n";
  Result<EndpointCredentials> got = LoadEndpointCredentials("", "", "", "", dir.path());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->access_key_id, "RIGHTID");
  EXPECT_EQ(got->secret_access_key, "right/secret+x=");
  EXPECT_FALSE(got->generated);
}

TEST(EndpointCredentialsTest, AFileWithoutTheProfileIsAnErrorNotOverwritten) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/credentials";
  const std::string text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n";
  std::ofstream(path) << text;
  Result<EndpointCredentials> got = LoadEndpointCredentials("", "", "", "", dir.path());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInternal);
  EXPECT_NE(got.status().message().find(path), std::string::npos);
  EXPECT_EQ(Slurp(path), text);
}

TEST(EndpointCredentialsTest, UnwritableDataFolderIsAnErrorFromTheErrnoMapper) {
  const std::string dir = "/nonexistent/tf-endpoint-credentials-test";
  Result<EndpointCredentials> got = LoadEndpointCredentials("", "", "", "", dir);
  ASSERT_FALSE(got.ok());
  // FileError(ENOENT): NotFound, naming the operation and the file.
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(got.status().message(),
            "create " + dir + "/credentials.tmp: No such file or directory");
}

}  // namespace
}  // namespace thumbflow::server
