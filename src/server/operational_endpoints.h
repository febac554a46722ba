// The operational endpoints every thumbflow HTTP server answers, without auth: GET or HEAD
// /metrics (Prometheus text), /healthz (200 "ok": the process is alive) and /readyz (200
// "ready", or 503 "not ready: <why>"). `thumbflow serve` answers them beside the S3 API
// (S3Handler); `thumbflow worker --metrics-listen` answers only them (OperationalHttpHandler).
//
// Thread-safety: Answer and the handler may be called from any thread concurrently, as long
// as `ready` may.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "core/metrics.h"
#include "core/status.h"
#include "server/http_server.h"

namespace thumbflow::server {

struct OperationalEndpoints {
  MetricsRegistry* metrics = nullptr;  // null: /metrics answers an empty document
  // /readyz: OK is ready; any other status is 503 with its message. Null: always ready.
  std::function<Status()> ready;

  // The reply for `path` (without the query) when it names an endpoint and `method` is GET
  // or HEAD: status, Content-Type and body (not sent for HEAD). nullopt otherwise.
  std::optional<HttpReply> Answer(std::string_view method, std::string_view path) const;
};

// An HttpHandler serving only the operational endpoints: other paths 404, other methods
// 405, in plain text. Reads no body (a request with one closes the connection).
class OperationalHttpHandler final : public HttpHandler {
 public:
  explicit OperationalHttpHandler(OperationalEndpoints endpoints)
      : endpoints_(std::move(endpoints)) {}

  std::unique_ptr<HttpExchange> Begin(const HttpRequestHead& head, HttpReply* early) override;
  HttpReply TransportError(int status, std::string_view code, std::string_view message) override;

 private:
  OperationalEndpoints endpoints_;
};

}  // namespace thumbflow::server
