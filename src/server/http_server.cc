#include "server/http_server.h"

// GCC 12 reports a false -Wmismatched-new-delete on every Asio coroutine frame (Asio 1.18
// pairs its own frame operator new/delete correctly).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/strings.h"
#include "server/connection_table.h"

namespace thumbflow::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

const std::string* HttpRequestHead::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      return &value;
    }
  }
  return nullptr;
}

namespace {

constexpr size_t kIoBufferBytes = 256 * 1024;
using RequestParser = http::request_parser<http::buffer_body>;

template <typename Fields>
void AddHeaders(Fields& fields, const HeaderList& headers) {
  for (const auto& [name, value] : headers) fields.insert(name, value);
}

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions o, HttpHandler* h, MetricsRegistry* m)
      : options(std::move(o)),
        handler(h),
        ioc(std::max(1, options.threads)),
        blocking(static_cast<size_t>(std::max(1, options.blocking_threads))) {
    if (m) {
      connections_gauge = &m->GetGauge("thumbflow_http_connections", "Open HTTP connections.");
      rejected = &m->GetCounter("thumbflow_http_connections_rejected_total",
                                "Connections refused because max_connections or "
                                "max_connections_per_address was reached with none idle.");
      evicted = &m->GetCounter("thumbflow_http_idle_connections_closed_total",
                               "Idle keep-alive connections closed to make room for new ones.");
      timeouts = &m->GetCounter("thumbflow_http_timeouts_total",
                                "Connections closed because a client was too slow.");
    }
  }

  asio::awaitable<void> Accept();
  asio::awaitable<void> Session(tcp::socket socket);
  // Reads one request, hands it to the handler and writes the reply; false when the
  // connection is to be closed. `connection` is its id in `table`.
  asio::awaitable<bool> ServeOneRequest(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                        std::vector<char>& buf, const std::string& remote,
                                        uint64_t connection);
  // Waits, idle (evictable), for the first bytes of the next request when none are
  // buffered. False when the connection is to close (evicted, timed out, gone).
  asio::awaitable<bool> AwaitRequest(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     std::vector<char>& buf, uint64_t connection);
  // A request header that could not be read: answered 400 when it was too large or
  // malformed; a timeout is counted; a client that went away is not answered.
  asio::awaitable<void> AnswerUnreadHeader(beast::tcp_stream& stream, const error_code& ec,
                                           std::vector<char>& buf);
  // Expect: 100-continue on a body not yet read: sends the interim reply. False when the
  // client went away.
  asio::awaitable<bool> SendContinue(beast::tcp_stream& stream, const HttpRequestHead& head,
                                     const RequestParser& parser);
  // Feeds the body to `exchange` in pieces of `buf`; returns what ended it (OK at its end,
  // the OnBody failure, or the transport error, which is also left in `ec`).
  asio::awaitable<Status> ReadBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                   RequestParser& parser, HttpExchange& exchange,
                                   std::vector<char>& buf, error_code& ec);
  asio::awaitable<bool> WriteReply(beast::tcp_stream& stream, HttpReply& reply,
                                   std::vector<char>& buf);
  asio::awaitable<HttpReply> FinishExchange(HttpExchange& exchange, const Status& body_status,
                                            const std::string& method);

  HttpServerOptions options;
  HttpHandler* handler;
  // Built in Start(), once max_connections is capped to the descriptors. Before ioc, so it
  // outlives it: destroying ioc destroys the sessions still open, which release their slot.
  std::unique_ptr<ConnectionTable> table;
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  // After ioc: destroyed (joined) first, since its tasks refer to sessions of ioc.
  asio::thread_pool blocking;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  bool stopped = false;
  uint16_t bound_port = 0;
  Gauge* connections_gauge = nullptr;
  Counter* rejected = nullptr;
  Counter* evicted = nullptr;
  Counter* timeouts = nullptr;
};

asio::awaitable<void> HttpServer::Impl::Accept() {
  for (;;) {
    tcp::socket socket(asio::make_strand(ioc));
    error_code ec;
    co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or a reset during accept: back off briefly, keep serving.
      asio::steady_timer timer(ioc, std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, Session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<bool> HttpServer::Impl::WriteReply(beast::tcp_stream& stream, HttpReply& reply,
                                                   std::vector<char>& buf) {
  error_code ec;
  auto idle = std::chrono::milliseconds(options.idle_timeout_ms);
  const bool no_body_status =
      reply.status == 204 || reply.status == 304 || (reply.status >= 100 && reply.status < 200);
  if (reply.head || no_body_status || reply.stream == nullptr) {
    if (reply.head || no_body_status) {
      http::response<http::empty_body> res{static_cast<http::status>(reply.status), 11};
      AddHeaders(res, reply.headers);
      if (!no_body_status) {
        res.content_length(reply.stream || reply.stream_length > 0
                               ? static_cast<uint64_t>(reply.stream_length)
                               : reply.body.size());
      }
      res.keep_alive(!reply.close);
      stream.expires_after(idle);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      AddHeaders(res, reply.headers);
      res.body() = std::move(reply.body);
      res.prepare_payload();
      res.keep_alive(!reply.close);
      stream.expires_after(idle);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !ec;
  }
  http::response<http::buffer_body> res{static_cast<http::status>(reply.status), 11};
  AddHeaders(res, reply.headers);
  res.content_length(static_cast<uint64_t>(reply.stream_length));
  res.keep_alive(!reply.close);
  res.body().data = nullptr;
  res.body().more = true;
  http::response_serializer<http::buffer_body> serializer{res};
  // The header goes out with the first piece of the body (one send, one segment for a small
  // object) rather than on its own.
  int64_t remaining = reply.stream_length;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(remaining, buf.size()));
    Result<size_t> got = reply.stream->Read(buf.data(), want);
    // A read failure cannot become an error reply (the status line is committed to, and
    // may be out): the connection is closed and the client sees a short body.
    if (!got.ok() || *got == 0) co_return false;
    remaining -= static_cast<int64_t>(*got);
    res.body().data = buf.data();
    res.body().size = *got;
    res.body().more = remaining > 0;
    stream.expires_after(idle);
    co_await http::async_write(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return false;
  }
  if (!serializer.is_done()) {
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = false;
    co_await http::async_write(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
  }
  co_return !ec;
}

asio::awaitable<HttpReply> HttpServer::Impl::FinishExchange(HttpExchange& exchange,
                                                            const Status& body_status,
                                                            const std::string& method) {
  if (method == "GET" || method == "HEAD") co_return exchange.Finish(body_status);
  // The session waits here without holding its I/O thread; it resumes on its own strand.
  co_return co_await asio::co_spawn(
      blocking.get_executor(),
      [&exchange, &body_status]() -> asio::awaitable<HttpReply> {
        co_return exchange.Finish(body_status);
      },
      asio::use_awaitable);
}

namespace {

HttpRequestHead HeadFromParser(const RequestParser& parser, const std::string& remote) {
  const auto& req = parser.get();
  HttpRequestHead head;
  head.method = std::string(req.method_string());
  head.target = std::string(req.target());
  for (const auto& field : req) {
    head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (auto length = parser.content_length()) head.content_length = *length;
  head.chunked = parser.chunked();
  head.keep_alive = req.keep_alive();
  head.remote = remote;
  return head;
}

// The status a body read ends with when the transport failed (`ec` set).
Status BodyReadError(const error_code& ec) {
  if (ec == http::error::body_limit) {
    return Status(StatusCode::kResourceExhausted, "body too large", "EntityTooLarge");
  }
  if (ec == beast::error::timeout) {
    return Status(StatusCode::kDeadlineExceeded, "body read timed out", "RequestTimeout");
  }
  return Status(StatusCode::kAborted, "body incomplete: " + ec.message(), "IncompleteBody");
}

}  // namespace

asio::awaitable<void> HttpServer::Impl::AnswerUnreadHeader(beast::tcp_stream& stream,
                                                           const error_code& ec,
                                                           std::vector<char>& buf) {
  if (ec == beast::error::timeout) {
    if (timeouts) timeouts->Increment();
    co_return;
  }
  HttpReply reply;
  if (ec == http::error::header_limit) {
    reply = handler->TransportError(400, "RequestHeaderSectionTooLarge",
                                    "Your request header section exceeds the "
                                    "maximum allowed size.");
  } else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    reply = handler->TransportError(400, "BadRequest", ec.message());
  } else {
    co_return;  // the client went away: nobody to answer
  }
  reply.close = true;
  co_await WriteReply(stream, reply, buf);
}

asio::awaitable<bool> HttpServer::Impl::SendContinue(beast::tcp_stream& stream,
                                                     const HttpRequestHead& head,
                                                     const RequestParser& parser) {
  const std::string* expect = head.Header("expect");
  if (parser.is_done() || !expect || !EqualsIgnoreCase(*expect, "100-continue")) {
    co_return true;
  }
  error_code ec;
  http::response<http::empty_body> cont{http::status::continue_, 11};
  stream.expires_after(std::chrono::milliseconds(options.idle_timeout_ms));
  co_await http::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

asio::awaitable<Status> HttpServer::Impl::ReadBody(beast::tcp_stream& stream,
                                                   beast::flat_buffer& buffer,
                                                   RequestParser& parser, HttpExchange& exchange,
                                                   std::vector<char>& buf, error_code& ec) {
  auto& req = parser.get();
  while (!parser.is_done()) {
    req.body().data = buf.data();
    req.body().size = buf.size();
    // Fill the buffer with as many reads as it takes, restarting the idle timer on each:
    // the timeout is for a stalled client, not a slow one (one async_read under one timer
    // cut off every client sending less than the buffer per idle_timeout_ms).
    while (!parser.is_done() && req.body().size > 0) {
      stream.expires_after(std::chrono::milliseconds(options.idle_timeout_ms));
      co_await http::async_read_some(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (ec == http::error::need_buffer) ec = {};
    size_t got = buf.size() - req.body().size;
    if (got > 0) {
      Status body_status = exchange.OnBody(std::string_view(buf.data(), got));
      if (!body_status.ok()) co_return body_status;
    }
    if (ec) {
      if (ec == beast::error::timeout && timeouts) timeouts->Increment();
      co_return BodyReadError(ec);
    }
  }
  co_return Status::Ok();
}

namespace {

// What an eviction (another thread) and the session (its strand) share: the stream, while
// the session has it. Touched only on the session's strand.
struct SessionStream {
  beast::tcp_stream* stream = nullptr;
};

}  // namespace

asio::awaitable<void> HttpServer::Impl::Session(tcp::socket socket) {
  std::string remote;  // once per connection, not a getpeername per request
  {
    error_code ep_ec;
    auto endpoint = socket.remote_endpoint(ep_ec);
    if (!ep_ec) remote = endpoint.address().to_string();
  }
  auto executor = socket.get_executor();
  auto shared = std::make_shared<SessionStream>();
  // Evicted while idle: the stream is closed on the session's strand, which ends its wait.
  ConnectionTable::Admission admission = table->Admit(remote, [executor, shared] {
    asio::post(executor, [shared] {
      if (shared->stream) shared->stream->close();
    });
  });
  if (admission.close_evicted) {
    if (evicted) evicted->Increment();
    admission.close_evicted();
  }
  const bool admitted = admission.outcome == ConnectionTable::Outcome::kAdmitted;
  if (connections_gauge) connections_gauge->Add(1);
  // The slot is released before the socket is shut down: a client that has seen the close
  // can open a new connection and find the slot free.
  struct Release {
    Impl* impl;
    uint64_t id;
    SessionStream* shared;
    bool done = false;
    void Now() {
      if (done) return;
      done = true;
      shared->stream = nullptr;
      if (id != 0) impl->table->Release(id);
      if (impl->connections_gauge) impl->connections_gauge->Add(-1);
    }
    ~Release() { Now(); }
  } release{this, admission.id, shared.get()};

  beast::tcp_stream stream(std::move(socket));
  shared->stream = &stream;
  // Allocated when a request arrives (ServeOneRequest): an idle connection of a flood costs
  // no 256 KiB buffer.
  std::vector<char> buf;
  error_code ec;
  if (!admitted) {
    if (rejected) rejected->Increment();
    HttpReply reply =
        handler->TransportError(503, "SlowDown",
                                admission.outcome == ConnectionTable::Outcome::kRefusedAddressFull
                                    ? "Too many open connections from your address."
                                    : "Too many open connections.");
    reply.close = true;
    co_await WriteReply(stream, reply, buf);
    release.Now();
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return;
  }
  beast::flat_buffer buffer;
  // Beast receives at most the buffer's free capacity (at least 512 bytes, at most 64 KiB)
  // at a time; left at the size of a request header, a 100 KB body took ~200 receives.
  buffer.reserve(64 * 1024);
  while (co_await ServeOneRequest(stream, buffer, buf, remote, admission.id)) {
  }
  release.Now();
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
}

asio::awaitable<bool> HttpServer::Impl::AwaitRequest(beast::tcp_stream& stream,
                                                     beast::flat_buffer& buffer,
                                                     std::vector<char>& buf, uint64_t connection) {
  if (buffer.size() > 0) co_return table->SetBusy(connection);  // pipelined: not idle
  table->SetIdle(connection);
  error_code ec;
  size_t got = co_await stream.async_read_some(buffer.prepare(64 * 1024),
                                               asio::redirect_error(asio::use_awaitable, ec));
  buffer.commit(got);
  // Evicted: whatever arrived meanwhile is not served (the client retries on a new
  // connection, as after any keep-alive close).
  if (!table->SetBusy(connection)) co_return false;
  if (ec) {
    // A transport error or timeout: nothing is written back (AnswerUnreadHeader answers
    // only HTTP parse errors, which a raw read cannot have), so `buf` may still be empty.
    co_await AnswerUnreadHeader(stream, ec, buf);
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> HttpServer::Impl::ServeOneRequest(beast::tcp_stream& stream,
                                                        beast::flat_buffer& buffer,
                                                        std::vector<char>& buf,
                                                        const std::string& remote,
                                                        uint64_t connection) {
  error_code ec;
  RequestParser parser;
  parser.header_limit(options.max_header_bytes);
  parser.body_limit(options.max_body_bytes);
  // One deadline for the whole header, the idle wait for its first bytes included.
  stream.expires_after(std::chrono::milliseconds(options.header_timeout_ms));
  if (!co_await AwaitRequest(stream, buffer, buf, connection)) co_return false;
  if (buf.empty()) buf.resize(kIoBufferBytes);
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_await AnswerUnreadHeader(stream, ec, buf);
    co_return false;
  }
  ++in_flight;
  struct Done {
    std::atomic<int>* counter;
    ~Done() { --*counter; }
  } done{&in_flight};

  HttpRequestHead head = HeadFromParser(parser, remote);
  HttpReply early;
  std::unique_ptr<HttpExchange> exchange = handler->Begin(head, &early);
  if (!exchange) {
    if (!parser.is_done()) early.close = true;
    if (!head.keep_alive || stopping) early.close = true;
    bool written = co_await WriteReply(stream, early, buf);
    co_return written && !early.close;
  }
  if (!co_await SendContinue(stream, head, parser)) {
    exchange->Finish(AbortedError("client went away"));
    co_return false;
  }
  Status body_status = co_await ReadBody(stream, buffer, parser, *exchange, buf, ec);
  HttpReply reply = co_await FinishExchange(*exchange, body_status, head.method);
  if (!body_status.ok() || !parser.is_done()) reply.close = true;
  if (!head.keep_alive || stopping) reply.close = true;
  bool client_gone = ec && ec != http::error::body_limit;
  if (client_gone) co_return false;
  bool written = co_await WriteReply(stream, reply, buf);
  co_return written && !reply.close;
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler* handler, MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), handler, metrics)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  // Every connection holds a descriptor and its request may hold one more (object or staging
  // file); SQLite and the rest of the process need some too. Past RLIMIT_NOFILE accept()
  // fails and a new client waits unanswered in the backlog, so the limit is capped to what
  // the descriptors allow: the excess gets its 503 SlowDown instead.
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    const int64_t soft = static_cast<int64_t>(files.rlim_cur);
    const int64_t cap = std::max<int64_t>(1, (soft - std::min<int64_t>(64, soft / 4)) / 2);
    impl_->options.max_connections =
        static_cast<int>(std::min<int64_t>(impl_->options.max_connections, cap));
  }
  error_code ec;
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec)
    return InvalidArgumentError("listen address " + impl_->options.host + ": " + ec.message());
  tcp::endpoint endpoint(address, impl_->options.port);
  tcp::acceptor acceptor(impl_->ioc);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError("listen on " + impl_->options.host + ":" +
                            std::to_string(impl_->options.port) + ": " + ec.message());
  }
  impl_->table = std::make_unique<ConnectionTable>(impl_->options.max_connections,
                                                   impl_->options.max_connections_per_address);
  impl_->bound_port = acceptor.local_endpoint().port();
  impl_->acceptor.emplace(std::move(acceptor));
  asio::co_spawn(impl_->ioc, impl_->Accept(), asio::detached);
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return Status::Ok();
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::Stop() {
  {
    std::lock_guard lock(impl_->stop_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->stopping = true;
  if (impl_->acceptor) {
    std::promise<void> closed;
    asio::post(impl_->acceptor->get_executor(), [this, &closed] {
      error_code ec;
      impl_->acceptor->close(ec);
      closed.set_value();
    });
    if (!impl_->threads.empty()) closed.get_future().wait();
  }
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->options.drain_timeout_ms);
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->blocking.join();
}

}  // namespace thumbflow::server
