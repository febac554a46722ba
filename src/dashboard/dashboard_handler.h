// The dashboard: a web page that `thumbflow serve` answers on its own listener, under /ui/,
// built into the binary (assets/, embedded at build time: no CDN, works offline).
//
// Routes (all under /ui/; `GET /` from a browser redirects to /ui/):
//   GET  /ui/                 the page, or 401 with the login page without a session;
//                             ?token=T exchanges the printed one-time token for a session
//   GET  /ui/assets/NAME      scripts, styles, icons (no session needed: they hold no data)
//   POST /ui/api/login        {"token"} or {"access_key_id","secret_access_key"} -> cookie
//   POST /ui/api/logout
//   GET  /ui/api/overview     queue depths, thumbnails/s, latency, workers, disk
//   GET  /ui/api/uploads      the newest sources under the upload prefix, their thumbnails
//                             and the outcome of their record
//   GET  /ui/api/dlq          dead letters: keys, reason, receive count, times
//   POST /ui/api/dlq/redrive  {"ids":[...]} or {"all":true}
//   POST /ui/api/dlq/purge    {"confirm":true}
//   GET  /ui/api/object       ?bucket=B&key=K: a source or thumbnail, for <img> and links
//   PUT  /ui/api/upload       ?key=K (under the upload prefix): the body becomes the object
//
// Access: every route but the page's assets and login needs a session (Sessions); every
// request that changes state must also come from the page itself: its Origin must be this
// server's (http://Host or https://Host), so another site cannot drive a logged-in browser
// (the cookie is SameSite=Strict as well). Answers: 401 without a session, 403 for a bad
// Origin, JSON errors {"error":..., "message":...}.
// Everything the page shows from users (keys, reasons) is written as text by the page's
// script, and the page runs under a Content-Security-Policy without inline script, so a
// key that looks like markup stays text. Objects are served with a CSP sandbox, so an
// uploaded SVG or HTML file cannot run script as the dashboard.
//
// Thread-safety: Begin may be called from any I/O thread concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "core/metrics.h"
#include "dashboard/activity.h"
#include "dashboard/sessions.h"
#include "queue/queue.h"
#include "server/http_server.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::dashboard {

struct DashboardOptions {
  std::string bucket;  // where uploads arrive (the pipeline's source bucket)
  std::string upload_prefix = "uploads/";
  std::string output_bucket;  // empty: `bucket`
  std::string output_prefix = "thumbnails/";
  std::vector<std::string> sizes;  // the configured size names, in order
  std::string data_dir;            // its filesystem's free space is shown
  int64_t max_upload_bytes = int64_t{5} << 30;
  int workers = 0;
  std::function<int64_t()> workers_busy;  // messages being processed now; null: 0
  int max_listed_uploads = 20'000;        // objects scanned to find the newest uploads
};

class DashboardHandler {
 public:
  // None of the pointers is owned; all must outlive the handler.
  // `metrics` may be null; it counts refused requests (thumbflow_dashboard_refused_total
  // by why: "no-session", "cross-origin").
  DashboardHandler(DashboardOptions options, StreamingObjectStore* store, Queue* queue,
                   Activity* activity, Sessions* sessions, const Clock* clock,
                   MetricsRegistry* metrics = nullptr);

  // True for the requests the dashboard answers: /ui and everything under /ui/, and an
  // unsigned browser GET of `/` (Accept: text/html), which is redirected to /ui/.
  static bool Claims(const server::HttpRequestHead& head);

  std::unique_ptr<server::HttpExchange> Begin(const server::HttpRequestHead& head,
                                              server::HttpReply* early);

  const DashboardOptions& options() const { return options_; }

 private:
  struct Request;

  std::unique_ptr<server::HttpExchange> Route(Request& r, server::HttpReply* early);
  std::unique_ptr<server::HttpExchange> RouteApi(Request& r, server::HttpReply* early);
  server::HttpReply Page(Request& r);
  server::HttpReply Login(const nlohmann::json& body);
  server::HttpReply Overview();
  server::HttpReply Uploads(const Request& r);
  server::HttpReply DeadLetters();
  server::HttpReply Redrive(const nlohmann::json& body);
  server::HttpReply Purge(const nlohmann::json& body);
  server::HttpReply ServeObject(const Request& r);
  std::unique_ptr<server::HttpExchange> StartUpload(const Request& r, server::HttpReply* early);
  nlohmann::json UploadJson(const ObjectInfo& source,
                            const std::map<std::string, const DeadLetter*>& dead);
  std::vector<ObjectInfo> NewestUploads(size_t limit, int64_t* scanned, bool* complete,
                                        Status* error);

  DashboardOptions options_;
  StreamingObjectStore* store_;
  Queue* queue_;
  Activity* activity_;
  Sessions* sessions_;
  const Clock* clock_;
  Counter* refused_no_session_ = nullptr;
  Counter* refused_cross_origin_ = nullptr;
};

class RoutingHandler final : public server::HttpHandler {
 public:
  RoutingHandler(server::HttpHandler* s3, DashboardHandler* dashboard,
                 std::vector<std::string> virtual_host_domains)
      : s3_(s3), dashboard_(dashboard), virtual_host_domains_(std::move(virtual_host_domains)) {}

  std::unique_ptr<server::HttpExchange> Begin(const server::HttpRequestHead& head,
                                              server::HttpReply* early) override;
  server::HttpReply TransportError(int status, std::string_view code,
                                   std::string_view message) override {
    return s3_->TransportError(status, code, message);
  }

 private:
  bool IsVirtualHosted(const server::HttpRequestHead& head) const;

  server::HttpHandler* s3_;
  DashboardHandler* dashboard_;
  std::vector<std::string> virtual_host_domains_;
};

}  // namespace thumbflow::dashboard
