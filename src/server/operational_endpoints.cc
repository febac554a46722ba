#include "server/operational_endpoints.h"

#include <string>

namespace thumbflow::server {
namespace {

// The readiness text may name a path, which may be any UTF-8: the charset is stated.
constexpr char kTextType[] = "text/plain; charset=utf-8";
constexpr char kPrometheusType[] = "text/plain; version=0.0.4; charset=utf-8";

HttpReply Text(int status, std::string body, const char* type = kTextType) {
  HttpReply reply;
  reply.status = status;
  reply.headers = {{"Content-Type", type}};
  reply.body = std::move(body);
  return reply;
}

}  // namespace

std::optional<HttpReply> OperationalEndpoints::Answer(std::string_view method,
                                                      std::string_view path) const {
  if (method != "GET" && method != "HEAD") return std::nullopt;
  std::optional<HttpReply> reply;
  if (path == "/metrics") {
    reply = Text(200, metrics ? metrics->RenderText() : "", kPrometheusType);
  } else if (path == "/healthz") {
    reply = Text(200, "ok\n");
  } else if (path == "/readyz") {
    Status status = ready ? ready() : Status::Ok();
    reply = status.ok() ? Text(200, "ready\n") : Text(503, "not ready: " + status.message() + "\n");
  } else {
    return std::nullopt;
  }
  reply->head = method == "HEAD";
  return reply;
}

std::unique_ptr<HttpExchange> OperationalHttpHandler::Begin(const HttpRequestHead& head,
                                                            HttpReply* early) {
  std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
  if (head.method != "GET" && head.method != "HEAD") {
    *early = Text(405, "method not allowed\n");
  } else if (std::optional<HttpReply> reply = endpoints_.Answer(head.method, path)) {
    *early = std::move(*reply);
  } else {
    *early = Text(404, "not found\n");
    early->head = head.method == "HEAD";
  }
  early->close = head.has_body();
  return nullptr;
}

HttpReply OperationalHttpHandler::TransportError(int status, std::string_view,
                                                 std::string_view message) {
  return Text(status, std::string(message) + "\n");
}

}  // namespace thumbflow::server
