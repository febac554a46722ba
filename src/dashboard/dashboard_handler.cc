#include "dashboard/dashboard_handler.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>

#include "core/strings.h"
#include "core/uri.h"
#include "dashboard/assets.h"
#include "events/s3_event.h"
#include "storage/keys.h"

namespace thumbflow::dashboard {

using server::HttpExchange;
using server::HttpReply;
using server::HttpRequestHead;
using json = nlohmann::json;

namespace {

constexpr char kCookieName[] = "thumbflow_session";
constexpr size_t kMaxApiBody = 64 * 1024;
constexpr int kMaxDeadLetters = 1000;
constexpr char kPageCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};

Target ParseTarget(std::string_view target) {
  Target out;
  size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    Result<std::string> name = PercentDecode(pair.substr(0, eq), true);
    Result<std::string> value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (name.ok() && value.ok()) out.query.emplace(*name, *value);
  }
  return out;
}

std::string CookieValue(const HttpRequestHead& head, std::string_view name) {
  const std::string* cookies = head.Header("cookie");
  if (!cookies) return "";
  std::string_view rest = *cookies;
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
  }
  return "";
}

// Headers every dashboard answer carries.
HttpReply BaseReply(int status, std::string content_type) {
  HttpReply reply;
  reply.status = status;
  reply.headers = {{"Content-Type", std::move(content_type)},
                   {"Cache-Control", "no-store"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Referrer-Policy", "no-referrer"},
                   {"X-Frame-Options", "DENY"}};
  return reply;
}

HttpReply JsonReply(int status, const json& body) {
  HttpReply reply = BaseReply(status, "application/json");
  reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

HttpReply JsonError(int status, std::string_view error, std::string_view message) {
  return JsonReply(status, {{"error", error}, {"message", message}});
}

HttpReply PageReply(int status, std::string_view asset_name) {
  const Asset* asset = FindAsset(asset_name);
  HttpReply reply = BaseReply(status, "text/html; charset=utf-8");
  reply.headers.emplace_back("Content-Security-Policy", kPageCsp);
  if (asset) reply.body.assign(asset->data, asset->size);
  return reply;
}

HttpReply Redirect(int status, std::string location) {
  HttpReply reply = BaseReply(status, "text/plain; charset=utf-8");
  reply.headers.emplace_back("Location", std::move(location));
  return reply;
}

std::string SessionCookie(const std::string& session) {
  return std::string(kCookieName) + "=" + session + "; Path=/ui/; HttpOnly; SameSite=Strict";
}

// A state-changing request must come from the dashboard's own page: the Origin a browser
// sends is this server's. A request without Origin (not a browser's fetch) is refused too.
bool SameOrigin(const HttpRequestHead& head) {
  const std::string* origin = head.Header("origin");
  const std::string* host = head.Header("host");
  if (!origin || !host || host->empty()) return false;
  if (const std::string* site = head.Header("sec-fetch-site"); site && *site != "same-origin") {
    return false;
  }
  return *origin == "http://" + *host || *origin == "https://" + *host;
}

json QueueJson(Queue& queue) {
  Result<QueueStats> stats = queue.Stats();
  if (!stats.ok()) return {{"error", stats.status().message()}};
  return {{"visible", stats->visible},
          {"in_flight", stats->in_flight},
          {"delayed", stats->delayed},
          {"dlq", stats->dlq},
          {"oldest_age_s", stats->oldest_age_s}};
}

json DiskJson(const std::string& dir) {
  struct statvfs fs {};
  if (dir.empty() || ::statvfs(dir.c_str(), &fs) != 0) return nullptr;
  return {{"free_bytes", static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize)},
          {"total_bytes", static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize)}};
}

json ActivityJson(const ActivitySnapshot& a) {
  return {{"bucket_seconds", a.bucket_seconds},
          {"made_per_second", a.made_per_second},
          {"failed_per_second", a.failed_per_second},
          {"latency_samples", a.latency_samples},
          {"p50_ms", a.p50_ms},
          {"p95_ms", a.p95_ms},
          {"made_total", a.made_total},
          {"failed_total", a.failed_total}};
}

// The objects (bucket, key) a dead letter's body names; empty when it is not an S3 event.
json DeadLetterKeys(const DeadLetter& letter) {
  json keys = json::array();
  Result<S3Event> event = ParseS3Event(letter.body);
  if (!event.ok()) return keys;
  for (const S3EventRecord& record : event->records) {
    keys.push_back({{"bucket", record.bucket}, {"key", record.key}});
  }
  return keys;
}

json DeadLetterJson(const DeadLetter& letter) {
  json item = {{"id", letter.id},
               {"keys", DeadLetterKeys(letter)},
               {"reason", letter.reason},
               {"receive_count", letter.receive_count},
               {"sent_ms", letter.sent_ms},
               {"first_receive_ms", letter.first_receive_ms},
               {"last_receive_ms", letter.dead_ms}};
  if (item["keys"].empty()) item["body"] = letter.body.substr(0, 300);
  return item;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kResourceExhausted:
      return status.retryable() ? 503 : 413;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpReply StatusError(const Status& status) {
  return JsonError(HttpStatusFor(status), std::string(ReasonName(status.reason())),
                   status.message());
}

}  // namespace

// ---- exchanges ----------------------------------------------------------------------------

// A request whose small JSON body is read whole, then answered by `answer`.
class ApiExchange final : public HttpExchange {
 public:
  using Answer = std::function<HttpReply(const json& body)>;
  explicit ApiExchange(Answer answer) : answer_(std::move(answer)) {}

  Status OnBody(std::string_view data) override {
    if (body_.size() + data.size() > kMaxApiBody) {
      return InvalidArgumentError("the request body is over 64 KiB");
    }
    body_.append(data);
    return Status::Ok();
  }

  HttpReply Finish(const Status& body_status) override {
    if (!body_status.ok()) return JsonError(400, "bad-request", body_status.message());
    json body = body_.empty() ? json::object() : json::parse(body_, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return JsonError(400, "bad-request", "the body must be a JSON object");
    }
    return answer_(body);
  }

 private:
  Answer answer_;
  std::string body_;
};

// A file from the page's upload form, streamed into the store.
class UploadExchange final : public HttpExchange {
 public:
  UploadExchange(std::unique_ptr<ObjectUpload> upload, std::string key, PutOptions options)
      : upload_(std::move(upload)), key_(std::move(key)), options_(std::move(options)) {}

  Status OnBody(std::string_view data) override { return upload_->Write(data); }

  HttpReply Finish(const Status& body_status) override {
    if (!body_status.ok()) return StatusError(body_status);
    Result<ObjectInfo> info = upload_->Commit(key_, options_);
    if (!info.ok()) return StatusError(info.status());
    return JsonReply(200, {{"key", info->key}, {"size", info->size}, {"etag", info->etag}});
  }

 private:
  std::unique_ptr<ObjectUpload> upload_;
  std::string key_;
  PutOptions options_;
};

// ---- the handler --------------------------------------------------------------------------

struct DashboardHandler::Request {
  const HttpRequestHead& head;
  Target target;
  bool session = false;
};

DashboardHandler::DashboardHandler(DashboardOptions options, StreamingObjectStore* store,
                                   Queue* queue, Activity* activity, Sessions* sessions,
                                   const Clock* clock, MetricsRegistry* metrics)
    : options_(std::move(options)),
      store_(store),
      queue_(queue),
      activity_(activity),
      sessions_(sessions),
      clock_(clock) {
  if (options_.output_bucket.empty()) options_.output_bucket = options_.bucket;
  if (metrics) {
    const char* help = "Dashboard requests refused, by why.";
    refused_no_session_ =
        &metrics->GetCounter("thumbflow_dashboard_refused_total", help, {{"why", "no-session"}});
    refused_cross_origin_ =
        &metrics->GetCounter("thumbflow_dashboard_refused_total", help, {{"why", "cross-origin"}});
  }
}

bool DashboardHandler::Claims(const HttpRequestHead& head) {
  std::string_view target = head.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/ui" || path.starts_with("/ui/")) return true;
  if (head.method != "GET" || target != "/" || head.Header("authorization")) return false;
  const std::string* accept = head.Header("accept");
  return accept && accept->find("text/html") != std::string::npos;
}

std::unique_ptr<HttpExchange> DashboardHandler::Begin(const HttpRequestHead& head,
                                                      HttpReply* early) {
  Request r{head, ParseTarget(head.target)};
  r.session = sessions_->Check(CookieValue(head, kCookieName));
  std::unique_ptr<HttpExchange> exchange = Route(r, early);
  if (!exchange && early->status == 405) early->headers.emplace_back("Allow", "GET, HEAD");
  return exchange;
}

std::unique_ptr<HttpExchange> DashboardHandler::Route(Request& r, HttpReply* early) {
  const std::string& path = r.target.path;
  const std::string& method = r.head.method;
  const bool read = method == "GET" || method == "HEAD";
  if (path == "/" || path == "/ui") {
    *early = Redirect(302, "/ui/");
  } else if (path.starts_with("/ui/api/")) {
    return RouteApi(r, early);
  } else if (!read) {
    *early = JsonError(405, "method-not-allowed", "The page and its assets are read-only.");
  } else if (path == "/ui/") {
    *early = Page(r);
  } else if (const Asset* asset =
                 path.starts_with("/ui/assets/") ? FindAsset(path.substr(11)) : nullptr) {
    *early = BaseReply(200, std::string(asset->content_type));
    early->headers[1].second = "no-cache";
    early->body.assign(asset->data, asset->size);
  } else {
    *early = JsonError(404, "not-found", "No such page.");
  }
  early->head = method == "HEAD";
  return nullptr;
}

std::unique_ptr<HttpExchange> DashboardHandler::RouteApi(Request& r, HttpReply* early) {
  const std::string& method = r.head.method;
  const std::string api = r.target.path.substr(8);
  const bool write = method != "GET" && method != "HEAD";
  if (write && !SameOrigin(r.head)) {
    *early = JsonError(403, "cross-origin", "The request did not come from the dashboard.");
    if (refused_cross_origin_) refused_cross_origin_->Increment();
    return nullptr;
  }
  if (api == "login" && method == "POST") {
    return std::make_unique<ApiExchange>([this](const json& body) { return Login(body); });
  }
  if (!r.session) {
    *early = JsonError(401, "no-session", "Log in with the token serve printed, or a key pair.");
    if (refused_no_session_) refused_no_session_->Increment();
    return nullptr;
  }
  if (api == "logout" && method == "POST") {
    return std::make_unique<ApiExchange>(
        [this, session = CookieValue(r.head, kCookieName)](const json&) {
          sessions_->Close(session);
          HttpReply reply = JsonReply(200, json::object());
          reply.headers.emplace_back("Set-Cookie", SessionCookie("") + "; Max-Age=0");
          return reply;
        });
  }
  if (api == "dlq/redrive" && method == "POST") {
    return std::make_unique<ApiExchange>([this](const json& body) { return Redrive(body); });
  }
  if (api == "dlq/purge" && method == "POST") {
    return std::make_unique<ApiExchange>([this](const json& body) { return Purge(body); });
  }
  if (method == "PUT" && api == "upload") return StartUpload(r, early);
  if (method == "GET" && api == "overview") {
    *early = Overview();
  } else if (method == "GET" && api == "uploads") {
    *early = Uploads(r);
  } else if (method == "GET" && api == "dlq") {
    *early = DeadLetters();
  } else if (method == "GET" && api == "object") {
    *early = ServeObject(r);
  } else {
    *early = JsonError(404, "not-found", "No such call.");
  }
  return nullptr;
}

HttpReply DashboardHandler::Page(Request& r) {
  auto token = r.target.query.find("token");
  if (token != r.target.query.end()) {
    std::optional<std::string> session = sessions_->OpenWithToken(token->second);
    if (!session) return PageReply(401, "login.html");
    // The token leaves the address bar (and the history) at once.
    HttpReply reply = Redirect(303, "/ui/");
    reply.headers.emplace_back("Set-Cookie", SessionCookie(*session));
    return reply;
  }
  return PageReply(r.session ? 200 : 401, r.session ? "index.html" : "login.html");
}

HttpReply DashboardHandler::Login(const json& body) {
  std::optional<std::string> session;
  if (body.contains("token") && body["token"].is_string()) {
    session = sessions_->OpenWithToken(body["token"].get<std::string>());
  } else if (body.contains("access_key_id") && body["access_key_id"].is_string() &&
             body.contains("secret_access_key") && body["secret_access_key"].is_string()) {
    session = sessions_->OpenWithKeys(body["access_key_id"].get<std::string>(),
                                      body["secret_access_key"].get<std::string>());
  }
  if (!session) return JsonError(401, "bad-login", "The token or key pair is not valid.");
  HttpReply reply = JsonReply(200, json::object());
  reply.headers.emplace_back("Set-Cookie", SessionCookie(*session));
  return reply;
}

HttpReply DashboardHandler::Overview() {
  json workers = {{"total", options_.workers},
                  {"busy", options_.workers_busy ? options_.workers_busy() : 0}};
  return JsonReply(200, {{"time_ms", clock_->NowMillis()},
                         {"queue", QueueJson(*queue_)},
                         {"activity", ActivityJson(activity_->Snapshot())},
                         {"workers", workers},
                         {"disk", DiskJson(options_.data_dir)},
                         {"bucket", options_.bucket},
                         {"upload_prefix", options_.upload_prefix},
                         {"sizes", options_.sizes}});
}

// The `limit` most recently modified objects under the upload prefix, newest first, among
// the first max_listed_uploads in key order (`complete` false when there were more).
std::vector<ObjectInfo> DashboardHandler::NewestUploads(size_t limit, int64_t* scanned,
                                                        bool* complete, Status* error) {
  auto newer = [](const ObjectInfo& a, const ObjectInfo& b) {
    return a.last_modified_ms != b.last_modified_ms ? a.last_modified_ms > b.last_modified_ms
                                                    : a.key < b.key;
  };
  std::priority_queue<ObjectInfo, std::vector<ObjectInfo>, decltype(newer)> heap(newer);
  ListOptions list;
  list.prefix = options_.upload_prefix;
  *scanned = 0;
  *complete = true;
  for (;;) {
    Result<ListResult> page = store_->List(options_.bucket, list);
    if (!page.ok()) {
      *error = page.status();
      break;
    }
    for (ObjectInfo& object : page->objects) {
      heap.push(std::move(object));
      if (heap.size() > limit) heap.pop();  // drops the oldest
    }
    *scanned += static_cast<int64_t>(page->objects.size());
    if (!page->truncated) break;
    if (*scanned >= options_.max_listed_uploads) {
      *complete = false;
      break;
    }
    list.continuation_token = page->next_continuation_token;
  }
  std::vector<ObjectInfo> out;
  for (; !heap.empty(); heap.pop()) out.push_back(heap.top());
  std::reverse(out.begin(), out.end());
  return out;
}

json DashboardHandler::UploadJson(const ObjectInfo& source,
                                  const std::map<std::string, const DeadLetter*>& dead) {
  const std::string relative = source.key.substr(options_.upload_prefix.size());
  json thumbnails = json::array();
  for (const std::string& size : options_.sizes) {
    // The thumbnail keeps the source's name, or adds the extension of its format.
    std::string base = options_.output_prefix + size + "/" + relative;
    ListOptions list;
    list.prefix = base;
    list.max_keys = 10;
    Result<ListResult> found = store_->List(options_.output_bucket, list);
    if (!found.ok()) continue;
    for (const ObjectInfo& object : found->objects) {
      std::string_view rest = std::string_view(object.key).substr(base.size());
      if (!rest.empty() && (rest[0] != '.' || rest.find('/') != std::string_view::npos)) continue;
      thumbnails.push_back({{"size", size}, {"key", object.key}, {"bytes", object.size}});
      break;
    }
  }
  json item = {{"key", source.key},
               {"size", source.size},
               {"last_modified_ms", source.last_modified_ms},
               {"thumbnails", thumbnails}};
  std::optional<RecordOutcome> last = activity_->LastOutcome(options_.bucket, source.key);
  auto letter = dead.find(source.key);
  // In the DLQ now, unless a later run made its thumbnails (a redriven copy, say).
  if (letter != dead.end() &&
      (!last || last->outcome != "ok" || last->time_ms <= letter->second->dead_ms)) {
    item["outcome"] = "dead-letter";
    item["reason"] = letter->second->reason;
  } else if (last) {
    item["outcome"] = last->outcome;
    item["reason"] = last->reason;
  } else {
    item["outcome"] = thumbnails.size() == options_.sizes.size() ? "ok" : "pending";
  }
  return item;
}

HttpReply DashboardHandler::Uploads(const Request& r) {
  size_t limit = 24;
  if (auto it = r.target.query.find("limit"); it != r.target.query.end()) {
    limit = static_cast<size_t>(std::clamp(std::atoi(it->second.c_str()), 1, 200));
  }
  int64_t scanned = 0;
  bool complete = true;
  Status error;
  std::vector<ObjectInfo> newest = NewestUploads(limit, &scanned, &complete, &error);
  if (!error.ok()) return StatusError(error);
  Result<std::vector<DeadLetter>> letters = queue_->ListDeadLetters(kMaxDeadLetters);
  std::map<std::string, const DeadLetter*> dead;
  if (letters.ok()) {
    for (const DeadLetter& letter : *letters) {
      for (const json& key : DeadLetterKeys(letter)) {
        if (key["bucket"] == options_.bucket) dead[key["key"].get<std::string>()] = &letter;
      }
    }
  }
  json items = json::array();
  for (const ObjectInfo& source : newest) items.push_back(UploadJson(source, dead));
  return JsonReply(200, {{"uploads", items}, {"scanned", scanned}, {"complete", complete}});
}

HttpReply DashboardHandler::DeadLetters() {
  Result<std::vector<DeadLetter>> letters = queue_->ListDeadLetters(kMaxDeadLetters);
  if (!letters.ok()) return StatusError(letters.status());
  json items = json::array();
  for (const DeadLetter& letter : *letters) items.push_back(DeadLetterJson(letter));
  return JsonReply(200, {{"dead_letters", items}, {"bucket", options_.bucket}});
}

HttpReply DashboardHandler::Redrive(const json& body) {
  std::vector<std::string> ids;
  const bool all = body.contains("all") && body["all"] == true;
  if (!all) {
    if (!body.contains("ids") || !body["ids"].is_array() || body["ids"].empty()) {
      return JsonError(400, "bad-request", "Give \"ids\" (a non-empty list) or \"all\": true.");
    }
    for (const json& id : body["ids"]) {
      if (!id.is_string() || id.get<std::string>().empty()) {
        return JsonError(400, "bad-request", "Each id must be a non-empty string.");
      }
      ids.push_back(id.get<std::string>());
    }
  }
  Result<int64_t> moved = queue_->Redrive(ids);
  if (!moved.ok()) return StatusError(moved.status());
  return JsonReply(200, {{"redriven", *moved}});
}

HttpReply DashboardHandler::Purge(const json& body) {
  if (!body.contains("confirm") || body["confirm"] != true) {
    return JsonError(400, "bad-request", "Purging needs \"confirm\": true.");
  }
  Status purged = queue_->PurgeDeadLetters();
  if (!purged.ok()) return StatusError(purged);
  return JsonReply(200, json::object());
}

HttpReply DashboardHandler::ServeObject(const Request& r) {
  auto bucket = r.target.query.find("bucket");
  auto key = r.target.query.find("key");
  if (bucket == r.target.query.end() || key == r.target.query.end()) {
    return JsonError(400, "bad-request", "Give bucket and key.");
  }
  if (bucket->second != options_.bucket && bucket->second != options_.output_bucket) {
    return JsonError(403, "other-bucket", "The dashboard shows only the pipeline's buckets.");
  }
  Result<ObjectReader> reader = store_->OpenObject(bucket->second, key->second, {});
  if (!reader.ok()) return StatusError(reader.status());
  // Only raster images are shown inline; anything else downloads. The sandbox keeps even
  // those from running script as the dashboard.
  const std::string& type = reader->info.content_type;
  const bool inline_image =
      StartsWithIgnoreCase(type, "image/") && !StartsWithIgnoreCase(type, "image/svg");
  HttpReply reply = BaseReply(200, inline_image ? type : "application/octet-stream");
  reply.headers[1].second = "private, no-cache";
  reply.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'");
  reply.headers.emplace_back("ETag", reader->info.etag);
  if (!inline_image) reply.headers.emplace_back("Content-Disposition", "attachment");
  reply.stream = std::move(reader->source);
  reply.stream_length = reader->length;
  reply.head = r.head.method == "HEAD";
  return reply;
}

std::unique_ptr<HttpExchange> DashboardHandler::StartUpload(const Request& r, HttpReply* early) {
  auto key = r.target.query.find("key");
  std::string why;
  if (key == r.target.query.end() || !key->second.starts_with(options_.upload_prefix) ||
      key->second.size() == options_.upload_prefix.size()) {
    why = "The key must be under " + options_.upload_prefix + ".";
  } else if (Status valid = ValidatePipelineKey(key->second); !valid.ok()) {
    why = valid.message();
  }
  if (!why.empty()) {
    *early = JsonError(400, "bad-key", why);
    return nullptr;
  }
  int64_t declared = static_cast<int64_t>(r.head.content_length.value_or(0));
  if (declared > options_.max_upload_bytes) {
    *early = JsonError(413, "too-large", "The file is larger than the endpoint accepts.");
    return nullptr;
  }
  if (Status room = store_->AdmitWrite(declared); !room.ok()) {
    *early = StatusError(room);
    return nullptr;
  }
  Result<std::unique_ptr<ObjectUpload>> upload = store_->NewUpload(options_.bucket);
  if (!upload.ok()) {
    *early = StatusError(upload.status());
    return nullptr;
  }
  PutOptions put;
  if (const std::string* type = r.head.Header("content-type")) put.content_type = *type;
  return std::make_unique<UploadExchange>(std::move(upload).value(), key->second, put);
}

// ---- routing ------------------------------------------------------------------------------

bool RoutingHandler::IsVirtualHosted(const HttpRequestHead& head) const {
  const std::string* host = head.Header("host");
  if (!host) return false;
  size_t colon = host->rfind(':');
  std::string hostname = ToLowerAscii(
      colon == std::string::npos || host->back() == ']' ? *host : host->substr(0, colon));
  for (const std::string& domain : virtual_host_domains_) {
    if (hostname.size() > domain.size() + 1 && hostname.ends_with("." + ToLowerAscii(domain))) {
      return true;
    }
  }
  return false;
}

std::unique_ptr<HttpExchange> RoutingHandler::Begin(const HttpRequestHead& head, HttpReply* early) {
  if (dashboard_ && !IsVirtualHosted(head) && DashboardHandler::Claims(head)) {
    return dashboard_->Begin(head, early);
  }
  return s3_->Begin(head, early);
}

}  // namespace thumbflow::dashboard
