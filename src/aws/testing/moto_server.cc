#include "aws/testing/moto_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "aws/http_client.h"

namespace thumbflow::aws::testing {
namespace {

std::string& LastSkipReason() {
  static std::string reason;
  return reason;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string MotoServer::SkipReason() { return LastSkipReason(); }

std::unique_ptr<MotoServer> MotoServer::StartOrSkip() {
  std::string binary = FindOnPath("moto_server");
  if (binary.empty()) {
    LastSkipReason() = "moto_server is not installed; skipping";
    if (std::getenv("CI") != nullptr) {
      ADD_FAILURE() << "moto_server is required in CI but is not installed";
    }
    return nullptr;
  }
  std::unique_ptr<MotoServer> server(new MotoServer());
  server->port_ = FreePort();
  server->endpoint_ = "http://127.0.0.1:" + std::to_string(server->port_);
  if (server->log_dir_.path().empty()) {
    ADD_FAILURE() << "cannot create a folder for moto_server's log";
    return nullptr;
  }
  server->log_path_ = server->log_dir_.path() + "/moto.log";
  std::string port = std::to_string(server->port_);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int log = open(server->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    setenv("AWS_ACCESS_KEY_ID", "testing", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    execl(binary.c_str(), binary.c_str(), "-H", "127.0.0.1", "-p", port.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid < 0) {
    LastSkipReason() = "fork failed";
    ADD_FAILURE() << "cannot start moto_server: fork failed";
    return nullptr;
  }
  server->pid_ = pid;
  CurlHttpClientOptions options;
  options.connect_timeout_ms = 500;
  options.total_timeout_ms = 2000;
  auto http = NewCurlHttpClient(options);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      LastSkipReason() = "moto_server exited";
      ADD_FAILURE() << "moto_server exited during start-up:\n" << ReadLog(server->log_path_);
      return nullptr;
    }
    HttpRequest probe;
    probe.url = server->endpoint_ + "/moto-api/";
    Result<HttpResponse> r = http->Send(probe);
    if (r.ok() && r->status == 200) return server;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  LastSkipReason() = "moto_server did not answer";
  ADD_FAILURE() << "moto_server did not answer within 60 s:\n" << ReadLog(server->log_path_);
  return nullptr;
}

namespace {

void StopByPid(pid_t pid) {
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace

MotoServer::~MotoServer() {
  if (pid_ > 0) StopByPid(pid_);  // before log_dir_ goes
}

Credentials MotoServer::TestCredentials() {
  Credentials c;
  c.access_key_id = "testing";
  c.secret_access_key = "testing";
  c.source = "moto";
  return c;
}

Environment MotoServer::ClientEnvironment() const {
  return {{"AWS_ACCESS_KEY_ID", "testing"}, {"AWS_SECRET_ACCESS_KEY", "testing"},
          {"AWS_REGION", "us-east-1"},      {"AWS_DEFAULT_REGION", "us-east-1"},
          {"AWS_ENDPOINT_URL", endpoint_},  {"AWS_EC2_METADATA_DISABLED", "true"},
          {"AWS_CONFIG_FILE", "/dev/null"}, {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"}};
}

bool MotoServer::Reset() const {
  auto http = NewCurlHttpClient();
  HttpRequest request;
  request.method = "POST";
  request.url = endpoint_ + "/moto-api/reset";
  Result<HttpResponse> r = http->Send(request);
  return r.ok() && r->status == 200;
}

}  // namespace thumbflow::aws::testing
