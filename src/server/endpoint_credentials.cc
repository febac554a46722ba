#include "server/endpoint_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "core/disk.h"

namespace thumbflow::server {
namespace {

Result<std::string> RandomChars(size_t count, std::string_view alphabet) {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  std::string out;
  while (out.size() < count) {
    unsigned char c = 0;
    if (!urandom.read(reinterpret_cast<char*>(&c), 1)) {
      return InternalError("cannot read /dev/urandom");
    }
    // Rejection sampling keeps the characters uniform.
    if (c >= 256 - 256 % alphabet.size()) continue;
    out += alphabet[c % alphabet.size()];
  }
  return out;
}

std::string Trim(const std::string& text) {
  size_t b = text.find_first_not_of(" \t\r");
  size_t e = text.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

}  // namespace

Result<EndpointCredentials> LoadEndpointCredentials(const std::string& env_id,
                                                    const std::string& env_secret,
                                                    const std::string& config_id,
                                                    const std::string& config_secret,
                                                    const std::string& data_dir) {
  EndpointCredentials out;
  if (!env_id.empty() || !env_secret.empty()) {
    if (env_id.empty() || env_secret.empty()) {
      return InvalidArgumentError(
          "THUMBFLOW_ACCESS_KEY_ID and THUMBFLOW_SECRET_ACCESS_KEY must be set together");
    }
    return EndpointCredentials{env_id, env_secret, "environment", false};
  }
  if (!config_id.empty()) return EndpointCredentials{config_id, config_secret, "config", false};

  std::string path = data_dir + "/credentials";
  std::ifstream in(path);
  if (in) {
    std::string line;
    bool in_profile = false;
    while (std::getline(in, line)) {
      line = Trim(line);
      if (line.empty() || line[0] == '#' || line[0] == ';') continue;
      if (line[0] == '[') {
        in_profile = line == "[thumbflow]";
        continue;
      }
      if (!in_profile) continue;
      size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string name = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
      if (name == "aws_access_key_id") out.access_key_id = value;
      if (name == "aws_secret_access_key") out.secret_access_key = value;
    }
    if (out.access_key_id.empty() || out.secret_access_key.empty()) {
      return InternalError(path + ": no aws_access_key_id / aws_secret_access_key in [thumbflow]");
    }
    out.source = path;
    return out;
  }
  ASSIGN_OR_RETURN(std::string id_tail, RandomChars(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
  ASSIGN_OR_RETURN(
      out.secret_access_key,
      RandomChars(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"));
  out.access_key_id = "TFAK" + id_tail;
  std::string text = "[thumbflow]\naws_access_key_id = " + out.access_key_id +
                     "\naws_secret_access_key = " + out.secret_access_key + "\n";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FileError(errno, "create", tmp);
  // A temporary file left by a crash keeps its old mode through O_CREAT: set it again. A short
  // write without errno (it cannot happen on a regular file) is reported as EIO.
  errno = EIO;
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return FileError(err, "write", path);
  }
  out.source = path;
  out.generated = true;
  return out;
}

}  // namespace thumbflow::server
