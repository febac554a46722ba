// MotoServer: a GoogleTest helper that runs `moto_server` (Python moto, an S3/SQS emulator)
// on 127.0.0.1 with a free port for the lifetime of the object, and stops it by PID.
//
//   TEST(MyTest, X) {
//     auto moto = thumbflow::aws::testing::MotoServer::StartOrSkip();
//     if (!moto) GTEST_SKIP() << thumbflow::aws::testing::MotoServer::SkipReason();
//     ... moto->endpoint() == "http://127.0.0.1:NNNNN"
//   }
//
// Or, to share one server between the tests of a suite, use MotoEnvironment / a static in
// SetUpTestSuite. When moto_server is not on PATH: skipped (StartOrSkip returns nullptr and
// SkipReason explains), except when env CI is set, where it is a test failure (ADD_FAILURE).
// The server's output goes to a log file whose path log_path() gives; a start-up failure
// prints it. Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "aws/credentials.h"
#include "core/testing/temp_dir.h"

namespace thumbflow::aws::testing {

class MotoServer {
 public:
  // Starts moto_server and waits (up to 60 s) until GET /moto-api/ answers. Returns nullptr
  // when moto_server is missing (not in CI) or did not start (then also ADD_FAILURE).
  static std::unique_ptr<MotoServer> StartOrSkip();
  // Why the last StartOrSkip returned nullptr.
  static std::string SkipReason();

  // SIGTERM, then SIGKILL after 5 s; by PID, never by name. Then removes the log folder
  // (kept when THUMBFLOW_KEEP_TMP=1).
  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  const std::string& endpoint() const { return endpoint_; }  // "http://127.0.0.1:PORT"
  int port() const { return port_; }
  const std::string& log_path() const { return log_path_; }
  // The fixed test credentials moto accepts ("testing"/"testing").
  static Credentials TestCredentials();
  // An Environment for clients under test: test keys, us-east-1, AWS_ENDPOINT_URL=endpoint(),
  // AWS_EC2_METADATA_DISABLED=true, shared files pointed at /dev/null.
  Environment ClientEnvironment() const;
  // Wipes all state (POST /moto-api/reset); between tests sharing one server.
  bool Reset() const;

 private:
  MotoServer() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string endpoint_;
  std::string log_path_;
  thumbflow::testing::TempDir log_dir_{"tf-moto-"};  // removed after the server stops
};

}  // namespace thumbflow::aws::testing
