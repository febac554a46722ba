// HttpServer: an HTTP/1.1 server (Boost.Beast/Asio, C++20 coroutines) that hands each request
// to an HttpHandler and streams request and response bodies in pieces.
//
// Limits (HttpServerOptions) protect the process: header size, body size, a deadline for the
// request header, an idle timeout on every body read and response write (a stalled or
// slow-loris client is disconnected), and a maximum number of open connections, in all and
// from one peer address. When there is no room for a new connection, an idle one (waiting
// for its next request) is closed to make it, the heaviest address's first
// (connection_table.h); only when none is idle does the new one get 503 and is closed.
//
// Threads: Start() spawns `threads` I/O threads, which run Begin, OnBody and the Finish of
// GET and HEAD requests; those may block only briefly (an SQLite read, opening a file).
// The Finish of every other method (PUT, POST, DELETE: fsync and a durable commit) runs on
// a separate pool of `blocking_threads`, so a request waiting for the disk never stalls the
// connections of an I/O thread, and as many writes as that pool has threads can wait for
// the disk at once (their fsyncs and SQLite commits are then shared). Stop() may be called
// from any thread (a signal watcher): it stops accepting, lets requests in flight finish (up
// to drain_timeout_ms), then stops the threads.
// No Boost types appear in this header.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "storage/byte_source.h"

namespace thumbflow::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequestHead {
  std::string method;  // upper case as sent
  std::string target;  // origin-form, still percent-encoded
  HeaderList headers;  // names as sent
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked
  bool keep_alive = true;
  std::string remote;  // peer address, for logs

  // Case-insensitive lookup of the first header `name`; nullptr when absent.
  const std::string* Header(std::string_view name) const;
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

struct HttpReply {
  int status = 200;
  HeaderList headers;  // Content-Length is set by the server
  std::string body;
  // When set, the body is streamed from here instead (`stream_length` bytes). A HEAD
  // reply sets only stream_length: the Content-Length of the body it does not send.
  std::unique_ptr<ByteSource> stream;
  int64_t stream_length = 0;
  // HEAD: send the headers (with the Content-Length of the would-be body) but no body.
  bool head = false;
  bool close = false;  // close the connection after this reply
};

// One request being received. OnBody gets the body in pieces (transfer-encoding removed);
// a failed OnBody stops the reading. Finish is called exactly once, after the last piece or
// with the status that ended the body early (timeout, client gone, limit, OnBody failure).
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual Status OnBody(std::string_view data) = 0;
  virtual HttpReply Finish(const Status& body_status) = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Returns the exchange that receives the body, or nullptr after filling `early` with a
  // reply to send at once (the body, if any, is then not read and the connection closes).
  virtual std::unique_ptr<HttpExchange> Begin(const HttpRequestHead& head, HttpReply* early) = 0;
  // Called when a request could not be parsed or hit a transport limit before Begin
  // (status 400 / 431 / 413); the handler renders the body.
  virtual HttpReply TransportError(int status, std::string_view code, std::string_view message) = 0;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;  // 0: any free port (see HttpServer::port())
  int threads = 4;
  // Threads for the Finish of write requests (see above); at least 1. Sized for the number
  // of concurrent writers whose commits should share one fsync, not for the cores.
  int blocking_threads = 32;
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = (5ull << 30) + (64ull << 20);  // a 5 GiB PUT plus chunk framing
  int header_timeout_ms = 30'000;  // from connection/keep-alive start to the end of the header
  int idle_timeout_ms = 30'000;    // per body read / response write without progress
  int max_connections = 1024;      // capped by what RLIMIT_NOFILE allows (see Start)
  int max_connections_per_address = 128;
  int drain_timeout_ms = 20'000;
};

class HttpServer {
 public:
  // `handler` and `metrics` are not owned and must outlive the server; metrics may be null.
  HttpServer(HttpServerOptions options, HttpHandler* handler, MetricsRegistry* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. Unavailable when the address cannot be bound.
  Status Start();
  uint16_t port() const;
  // Idempotent; returns once every I/O thread has exited.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace thumbflow::server
