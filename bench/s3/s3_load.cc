// s3_load: a small S3 load generator, cheap enough that a benchmark measures the server and
// not the client. Each client is one thread with one keep-alive HTTP/1.1 connection (plain
// blocking sockets), sending PUT or GET requests signed with SigV4 (UNSIGNED-PAYLOAD, header
// auth) by thumbflow's own aws/ signer, for --seconds. The signing key is derived once per
// day (SigningKeyCache); what remains per request is two SHA-256 and one HMAC (a few
// microseconds).
//
// Keys: client c writes "<prefix>c<c>-<n % keys>" (--keys distinct keys per client, reused
// round-robin); GETs read the same names, so a PUT run with the same prefix, size and at
// least as many clients must have written them first (s3_bench.py does so).
//
// Output: one JSON object on stdout: requests, bytes (of successful requests), errors,
// seconds, requests_per_s, mb_per_s (1 MB = 1e6 bytes). The first failure of each kind is
// described on stderr. Exit code 0 when it ran (even with request errors), 2 on bad usage,
// 1 when it could not connect at all.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aws/sigv4.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string method = "PUT";
  std::string bucket = "bench";
  std::string prefix = "load/";
  size_t size = 100'000;
  int clients = 1;
  double seconds = 3;
  int keys = 64;
  std::string access_key;
  std::string secret_key;
  std::string region = "us-east-1";
};

struct ClientResult {
  int64_t requests = 0;
  int64_t bytes = 0;
  int64_t errors = 0;
  std::string first_error;
};

// One keep-alive connection; reconnects when the server closes it.
class Connection {
 public:
  explicit Connection(const Options& options) : options_(options) {}
  ~Connection() { Close(); }

  bool Connect(std::string* error) {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(error, "socket");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(options_.port));
    if (::inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1) {
      *error = "bad IPv4 address " + options_.host;
      return false;
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return Fail(error, "connect");
    }
    pending_.clear();
    return true;
  }

  // Sends head + body, reads one response. Returns the status (0 on a transport error,
  // with `error` set); `body_bytes` receives the response body length.
  int RoundTrip(const std::string& head, std::string_view body, int64_t* body_bytes,
                std::string* error) {
    if (fd_ < 0 && !Connect(error)) return 0;
    if (!SendAll(head, body, error)) return 0;
    return ReadResponse(body_bytes, error);
  }

 private:
  bool Fail(std::string* error, const char* what) {
    *error = std::string(what) + ": " + std::strerror(errno);
    Close();
    return false;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool SendAll(std::string_view head, std::string_view body, std::string* error) {
    while (!head.empty() || !body.empty()) {
      iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                      {const_cast<char*>(body.data()), body.size()}};
      ssize_t n = ::writev(fd_, head.empty() ? iov + 1 : iov, head.empty() ? 1 : 2);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(error, "send");
      }
      size_t sent = static_cast<size_t>(n);
      size_t from_head = std::min(sent, head.size());
      head.remove_prefix(from_head);
      body.remove_prefix(sent - from_head);
    }
    return true;
  }

  // Appends what the socket has to pending_; false at EOF or error.
  bool Fill(std::string* error) {
    char buf[256 * 1024];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        pending_.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) *error = "connection closed by the server";
      if (n < 0) *error = std::string("recv: ") + std::strerror(errno);
      Close();
      return false;
    }
  }

  static bool HeaderIs(std::string_view line, std::string_view name, std::string_view* value) {
    if (line.size() <= name.size() || line[name.size()] != ':') return false;
    for (size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    }
    std::string_view v = line.substr(name.size() + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.remove_suffix(1);
    *value = v;
    return true;
  }

  // Drops `n` body bytes from the stream (reading as needed).
  bool Skip(size_t n, std::string* error) {
    while (pending_.size() < n) {
      n -= pending_.size();
      pending_.clear();
      if (!Fill(error)) return false;
    }
    pending_.erase(0, n);
    return true;
  }

  int ReadResponse(int64_t* body_bytes, std::string* error) {
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(error)) return 0;
    }
    std::string head = pending_.substr(0, end + 2);
    pending_.erase(0, end + 4);
    int status = 0;
    bool http10 = head.compare(0, 8, "HTTP/1.0") == 0;
    if (head.size() > 12) status = std::atoi(head.c_str() + 9);
    int64_t length = -1;
    bool chunked = false;
    bool close = http10;
    size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      std::string_view line(head.data() + pos, eol - pos);
      std::string_view value;
      if (HeaderIs(line, "content-length", &value)) {
        length = std::strtoll(std::string(value).c_str(), nullptr, 10);
      } else if (HeaderIs(line, "transfer-encoding", &value)) {
        chunked = value.find("chunked") != std::string_view::npos;
      } else if (HeaderIs(line, "connection", &value)) {
        close = value == "close" || value == "Close";
        if (value == "keep-alive" || value == "Keep-Alive") close = false;
      }
      pos = eol + 2;
    }
    *body_bytes = 0;
    if (chunked) {
      for (;;) {
        size_t eol;
        while ((eol = pending_.find("\r\n")) == std::string::npos) {
          if (!Fill(error)) return 0;
        }
        size_t chunk = std::strtoull(pending_.c_str(), nullptr, 16);
        pending_.erase(0, eol + 2);
        if (!Skip(chunk + 2, error)) return 0;  // data + CRLF (no trailers expected)
        *body_bytes += static_cast<int64_t>(chunk);
        if (chunk == 0) break;
      }
    } else if (length >= 0) {
      if (!Skip(static_cast<size_t>(length), error)) return 0;
      *body_bytes = length;
    } else {
      std::string ignored;
      while (Fill(&ignored)) {
      }
      *body_bytes = static_cast<int64_t>(pending_.size());
      pending_.clear();
    }
    if (close) Close();
    return status;
  }

  const Options& options_;
  int fd_ = -1;
  std::string pending_;
};

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The request head (request line and headers, signed) for `key`.
std::string BuildHead(const Options& options, const std::string& host_header,
                      const std::string& key, thumbflow::aws::Signer& signer,
                      const thumbflow::aws::Credentials& credentials) {
  namespace aws = thumbflow::aws;
  aws::SignableRequest request;
  request.method = options.method;
  request.path = "/" + options.bucket + "/" + key;
  request.headers = {{"Host", host_header}};
  request.payload_hash = std::string(aws::kUnsignedPayload);
  auto signed_request =
      signer.Sign(request, credentials, aws::S3SigningParams(options.region, UnixMillis()));
  if (!signed_request.ok()) {
    std::fprintf(stderr, "s3_load: signing failed: %s\n",
                 signed_request.status().message().c_str());
    std::exit(1);
  }
  std::string head =
      options.method + " " + aws::EncodeRequestTarget(request.path, {}) + " HTTP/1.1\r\n";
  for (const auto& [name, value] : request.headers) head += name + ": " + value + "\r\n";
  if (options.method == "PUT") head += "Content-Length: " + std::to_string(options.size) + "\r\n";
  head += "\r\n";
  return head;
}

void RunClient(const Options& options, int id, const std::string& body,
               thumbflow::aws::SigningKeyCache* cache, Clock::time_point start,
               Clock::time_point end, ClientResult* out) {
  thumbflow::aws::Signer signer(cache);
  thumbflow::aws::Credentials credentials;
  credentials.access_key_id = options.access_key;
  credentials.secret_access_key = options.secret_key;
  const std::string host_header = options.host + ":" + std::to_string(options.port);
  std::vector<std::string> keys;
  for (int k = 0; k < options.keys; ++k) {
    keys.push_back(options.prefix + "c" + std::to_string(id) + "-" + std::to_string(k));
  }
  Connection conn(options);
  std::string error;
  if (!conn.Connect(&error)) {
    out->errors = 1;
    out->first_error = error;
    return;
  }
  std::this_thread::sleep_until(start);
  std::string_view payload = options.method == "PUT" ? std::string_view(body) : "";
  for (int64_t n = 0; Clock::now() < end; ++n) {
    const std::string& key = keys[static_cast<size_t>(n % options.keys)];
    std::string head = BuildHead(options, host_header, key, signer, credentials);
    int64_t got = 0;
    int status = conn.RoundTrip(head, payload, &got, &error);
    ++out->requests;
    if (status == 200) {
      out->bytes += static_cast<int64_t>(options.method == "PUT" ? body.size() : got);
    } else {
      ++out->errors;
      if (out->first_error.empty()) {
        out->first_error = status == 0 ? error : "HTTP " + std::to_string(status) + " for " + key;
      }
    }
  }
}

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "s3_load: %s\nusage: s3_load --port P --access-key AK --secret-key SK "
               "[--host 127.0.0.1] [--method PUT|GET] [--bucket B] [--prefix P] [--size BYTES] "
               "[--clients N] [--seconds S] [--keys N] [--region R]\n",
               message);
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("missing value for " + flag).c_str());
    std::string value = argv[++i];
    if (flag == "--host")
      o.host = value;
    else if (flag == "--port")
      o.port = std::atoi(value.c_str());
    else if (flag == "--method")
      o.method = value;
    else if (flag == "--bucket")
      o.bucket = value;
    else if (flag == "--prefix")
      o.prefix = value;
    else if (flag == "--size")
      o.size = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--clients")
      o.clients = std::atoi(value.c_str());
    else if (flag == "--seconds")
      o.seconds = std::atof(value.c_str());
    else if (flag == "--keys")
      o.keys = std::atoi(value.c_str());
    else if (flag == "--access-key")
      o.access_key = value;
    else if (flag == "--secret-key")
      o.secret_key = value;
    else if (flag == "--region")
      o.region = value;
    else
      Usage(("unknown option " + flag).c_str());
  }
  if (o.port <= 0 || o.port > 65535) Usage("--port is required");
  if (o.method != "PUT" && o.method != "GET") Usage("--method must be PUT or GET");
  if (o.clients < 1 || o.keys < 1 || o.seconds <= 0) Usage("bad --clients, --keys or --seconds");
  if (o.access_key.empty() || o.secret_key.empty()) Usage("--access-key and --secret-key");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseArgs(argc, argv);
  std::string body(options.method == "PUT" ? options.size : 0, '\0');
  std::mt19937_64 random(42);
  for (char& c : body) c = static_cast<char>(random());
  thumbflow::aws::SigningKeyCache cache;
  std::vector<ClientResult> results(static_cast<size_t>(options.clients));
  std::vector<std::thread> threads;
  // Connections are made before the clock starts; the window is the same for every client.
  auto start = Clock::now() + std::chrono::milliseconds(200);
  auto end = start + std::chrono::microseconds(static_cast<int64_t>(options.seconds * 1e6));
  for (int c = 0; c < options.clients; ++c) {
    threads.emplace_back(RunClient, std::cref(options), c, std::cref(body), &cache, start, end,
                         &results[static_cast<size_t>(c)]);
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  ClientResult total;
  for (const ClientResult& r : results) {
    total.requests += r.requests;
    total.bytes += r.bytes;
    total.errors += r.errors;
    if (total.first_error.empty()) total.first_error = r.first_error;
  }
  if (!total.first_error.empty()) {
    std::fprintf(stderr, "s3_load: %s %lld errors; first: %s\n", options.method.c_str(),
                 static_cast<long long>(total.errors), total.first_error.c_str());
  }
  std::printf(
      "{\"requests\": %lld, \"bytes\": %lld, \"errors\": %lld, \"seconds\": %.3f, "
      "\"requests_per_s\": %.1f, \"mb_per_s\": %.2f}\n",
      static_cast<long long>(total.requests), static_cast<long long>(total.bytes),
      static_cast<long long>(total.errors), elapsed,
      static_cast<double>(total.requests - total.errors) / elapsed,
      static_cast<double>(total.bytes) / elapsed / 1e6);
  return total.requests == 0 && total.errors > 0 ? 1 : 0;
}
