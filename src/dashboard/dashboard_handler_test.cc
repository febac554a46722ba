#include "dashboard/dashboard_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/testing/temp_dir.h"
#include "events/s3_event.h"
#include "queue/memory_queue.h"
#include "storage/memory_store.h"
#include "storage/testing/streaming_adapter.h"

namespace thumbflow::dashboard {
namespace {

using json = nlohmann::json;
using server::HttpReply;
using server::HttpRequestHead;

constexpr char kHost[] = "127.0.0.1:9000";
constexpr char kOrigin[] = "http://127.0.0.1:9000";

std::string HeaderOf(const HttpReply& reply, std::string_view name) {
  for (const auto& [n, v] : reply.headers) {
    if (n == name) return v;
  }
  return "";
}

std::string BodyOf(HttpReply& reply) {
  if (!reply.stream) return reply.body;
  std::string out;
  char buf[4096];
  for (;;) {
    Result<size_t> got = reply.stream->Read(buf, sizeof(buf));
    if (!got.ok() || *got == 0) break;
    out.append(buf, *got);
  }
  return out;
}

class DashboardHandlerTest : public ::testing::Test {
 protected:
  DashboardHandlerTest()
      : memory_({"images"}, &clock_),
        store_(&memory_, staging_.path(), {"images"}, nullptr, &clock_),
        queue_(MemoryQueue::Create(QueueOptions{}, clock_).value()),
        activity_(clock_),
        sessions_(clock_, {{"AKIDEXAMPLE", "secret"}}),
        handler_(Options(), &store_, queue_.get(), &activity_, &sessions_, &clock_) {}

  static DashboardOptions Options() {
    DashboardOptions o;
    o.bucket = "images";
    o.sizes = {"small", "large"};
    o.workers = 2;
    return o;
  }

  HttpReply Call(std::string method, std::string target, server::HeaderList headers = {},
                 std::string body = "") {
    HttpRequestHead head;
    head.method = std::move(method);
    head.target = std::move(target);
    head.headers = std::move(headers);
    head.headers.emplace_back("Host", kHost);
    if (!body.empty()) head.content_length = body.size();
    HttpReply early;
    std::unique_ptr<server::HttpExchange> exchange = handler_.Begin(head, &early);
    if (!exchange) return early;
    Status sent = exchange->OnBody(body);
    return exchange->Finish(sent);
  }

  // Headers of a logged-in page request (cookie and Origin).
  server::HeaderList LoggedIn() {
    if (cookie_.empty()) {
      HttpReply reply = Call("GET", "/ui/?token=" + sessions_.login_token());
      EXPECT_EQ(reply.status, 303);
      std::string set = HeaderOf(reply, "Set-Cookie");
      cookie_ = set.substr(0, set.find(';'));
    }
    return {{"Cookie", cookie_}, {"Origin", kOrigin}};
  }

  void DeadLetter(const std::string& key, const std::string& reason) {
    S3EventRecord record;
    record.bucket = "images";
    record.key = key;
    record.event_time_ms = clock_.NowMillis();
    ASSERT_TRUE(queue_->Send({BuildS3Event({record})}).ok());
    Result<std::vector<Message>> got = queue_->Receive({});
    ASSERT_TRUE(got.ok() && got->size() == 1);
    ASSERT_TRUE(queue_->Fail(got->front(), {reason, true}).ok());
  }

  ManualClock clock_;
  thumbflow::testing::TempDir staging_;
  MemoryObjectStore memory_;
  thumbflow::testing::StreamingAdapter store_;
  std::unique_ptr<MemoryQueue> queue_;
  Activity activity_;
  Sessions sessions_;
  DashboardHandler handler_;
  std::string cookie_;
};

TEST_F(DashboardHandlerTest, ClaimsItsPathsAndABrowsersRootOnly) {
  auto head = [](std::string method, std::string target, server::HeaderList headers) {
    HttpRequestHead h;
    h.method = std::move(method);
    h.target = std::move(target);
    h.headers = std::move(headers);
    return h;
  };
  EXPECT_TRUE(DashboardHandler::Claims(head("GET", "/ui", {})));
  EXPECT_TRUE(DashboardHandler::Claims(head("PUT", "/ui/api/upload?key=x", {})));
  EXPECT_TRUE(DashboardHandler::Claims(head("GET", "/", {{"Accept", "text/html,*/*"}})));
  EXPECT_FALSE(DashboardHandler::Claims(head("GET", "/", {{"Accept", "*/*"}})));
  EXPECT_FALSE(DashboardHandler::Claims(
      head("GET", "/", {{"Accept", "text/html"}, {"Authorization", "AWS4-HMAC-SHA256 x"}})));
  EXPECT_FALSE(DashboardHandler::Claims(head("GET", "/uix/a", {})));
  EXPECT_FALSE(DashboardHandler::Claims(head("GET", "/images/ui/a", {})));
}

TEST_F(DashboardHandlerTest, WithoutASessionThePageIsTheLoginAndTheApiIs401) {
  HttpReply page = Call("GET", "/ui/");
  EXPECT_EQ(page.status, 401);
  EXPECT_NE(page.body.find("login.js"), std::string::npos);
  EXPECT_NE(HeaderOf(page, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  for (const char* call : {"/ui/api/overview", "/ui/api/uploads", "/ui/api/dlq",
                           "/ui/api/object?bucket=images&key=uploads/a.jpg"}) {
    EXPECT_EQ(Call("GET", call).status, 401) << call;
  }
  EXPECT_EQ(Call("POST", "/ui/api/dlq/purge", {{"Origin", kOrigin}}, "{\"confirm\":true}").status,
            401);
  EXPECT_EQ(Call("GET", "/ui/?token=wrong").status, 401);
  HttpReply script = Call("GET", "/ui/assets/app.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(HeaderOf(script, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Call("GET", "/ui/assets/missing.js").status, 404);
  EXPECT_EQ(Call("GET", "/").status, 302);
}

TEST_F(DashboardHandlerTest, TheTokenIsExchangedOnceForAStrictHttpOnlyCookie) {
  std::string token = sessions_.login_token();
  HttpReply first = Call("GET", "/ui/?token=" + token);
  EXPECT_EQ(first.status, 303);
  EXPECT_EQ(HeaderOf(first, "Location"), "/ui/");
  std::string cookie = HeaderOf(first, "Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(Call("GET", "/ui/?token=" + token).status, 401);
  HttpReply page = Call("GET", "/ui/", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("app.js"), std::string::npos);
}

TEST_F(DashboardHandlerTest, LoginWithTheKeyPairNeedsTheRightSecretAndTheOrigin) {
  std::string good = R"({"access_key_id":"AKIDEXAMPLE","secret_access_key":"secret"})";
  EXPECT_EQ(Call("POST", "/ui/api/login", {}, good).status, 403);  // no Origin
  EXPECT_EQ(Call("POST", "/ui/api/login", {{"Origin", "http://evil.example"}}, good).status, 403);
  EXPECT_EQ(Call("POST", "/ui/api/login", {{"Origin", kOrigin}},
                 R"({"access_key_id":"AKIDEXAMPLE","secret_access_key":"nope"})")
                .status,
            401);
  HttpReply ok = Call("POST", "/ui/api/login", {{"Origin", kOrigin}}, good);
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(HeaderOf(ok, "Set-Cookie").find("thumbflow_session="), std::string::npos);
  EXPECT_EQ(Call("POST", "/ui/api/login", {{"Origin", kOrigin}}, "not json").status, 400);
}

TEST_F(DashboardHandlerTest, StateChangesNeedTheDashboardsOrigin) {
  server::HeaderList headers = LoggedIn();
  DeadLetter("uploads/bad.jpg", "not-an-image");
  server::HeaderList cross = {{"Cookie", headers[0].second}, {"Origin", "http://evil.example"}};
  EXPECT_EQ(Call("POST", "/ui/api/dlq/purge", cross, "{\"confirm\":true}").status, 403);
  server::HeaderList no_origin = {{"Cookie", headers[0].second}};
  EXPECT_EQ(Call("POST", "/ui/api/dlq/redrive", no_origin, "{\"all\":true}").status, 403);
  server::HeaderList cross_site = headers;
  cross_site.emplace_back("Sec-Fetch-Site", "cross-site");
  EXPECT_EQ(Call("POST", "/ui/api/dlq/redrive", cross_site, "{\"all\":true}").status, 403);
  EXPECT_EQ(queue_->Stats()->dlq, 1);
  EXPECT_EQ(Call("POST", "/ui/api/dlq/purge", headers, "{}").status, 400);  // no confirm
  EXPECT_EQ(queue_->Stats()->dlq, 1);
  EXPECT_EQ(Call("POST", "/ui/api/dlq/purge", headers, "{\"confirm\":true}").status, 200);
  EXPECT_EQ(queue_->Stats()->dlq, 0);
}

TEST_F(DashboardHandlerTest, DeadLettersAreListedWithTheirKeysAndRedrivenOneByOne) {
  server::HeaderList headers = LoggedIn();
  DeadLetter("uploads/<img src=x onerror=alert(1)>.jpg", "not-an-image");
  DeadLetter("uploads/b.jpg", "truncated");
  HttpReply list = Call("GET", "/ui/api/dlq", headers);
  ASSERT_EQ(list.status, 200);
  json items = json::parse(list.body)["dead_letters"];
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["keys"][0]["key"], "uploads/<img src=x onerror=alert(1)>.jpg");
  EXPECT_EQ(items[0]["reason"], "not-an-image");
  EXPECT_EQ(items[0]["receive_count"], 1);
  EXPECT_GT(items[0]["first_receive_ms"].get<int64_t>(), 0);
  std::string id = items[1]["id"];
  HttpReply moved = Call("POST", "/ui/api/dlq/redrive", headers, json({{"ids", {id}}}).dump());
  ASSERT_EQ(moved.status, 200);
  EXPECT_EQ(json::parse(moved.body)["redriven"], 1);
  EXPECT_EQ(queue_->Stats()->dlq, 1);
  EXPECT_EQ(queue_->Stats()->visible, 1);
  EXPECT_EQ(Call("POST", "/ui/api/dlq/redrive", headers, "{\"ids\":[]}").status, 400);
}

TEST_F(DashboardHandlerTest, UploadsGoUnderThePrefixOnlyAndAreStored) {
  server::HeaderList headers = LoggedIn();
  headers.emplace_back("Content-Type", "image/jpeg");
  HttpReply ok = Call("PUT", "/ui/api/upload?key=uploads%2Fsub%2Fa%20b.jpg", headers, "JPEGBYTES");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["key"], "uploads/sub/a b.jpg");
  Result<ObjectData> stored = memory_.Get("images", "uploads/sub/a b.jpg");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->bytes, "JPEGBYTES");
  EXPECT_EQ(stored->info.content_type, "image/jpeg");
  for (const char* bad : {"/ui/api/upload?key=thumbnails%2Fx.jpg", "/ui/api/upload?key=uploads%2F",
                          "/ui/api/upload?key=uploads%2F..%2Fx.jpg", "/ui/api/upload"}) {
    EXPECT_EQ(Call("PUT", bad, headers, "x").status, 400) << bad;
  }
  EXPECT_EQ(Call("PUT", "/ui/api/upload?key=uploads%2Fc.jpg", {{"Cookie", headers[0].second}}, "x")
                .status,
            403);
  Result<ListResult> all = memory_.List("images", {});
  EXPECT_EQ(all->objects.size(), 1u);
}

TEST_F(DashboardHandlerTest, ObjectsAreServedSandboxedAndOnlyImagesInline) {
  server::HeaderList headers = LoggedIn();
  ASSERT_TRUE(memory_.Put("images", "uploads/a.jpg", "JPEG", {"image/jpeg", {}}).ok());
  ASSERT_TRUE(
      memory_.Put("images", "uploads/s.svg", "<svg onload=alert(1)>", {"image/svg+xml", {}}).ok());
  HttpReply jpeg = Call("GET", "/ui/api/object?bucket=images&key=uploads%2Fa.jpg", headers);
  ASSERT_EQ(jpeg.status, 200);
  EXPECT_EQ(HeaderOf(jpeg, "Content-Type"), "image/jpeg");
  EXPECT_EQ(HeaderOf(jpeg, "Content-Security-Policy"), "sandbox; default-src 'none'");
  EXPECT_EQ(BodyOf(jpeg), "JPEG");
  HttpReply svg = Call("GET", "/ui/api/object?bucket=images&key=uploads%2Fs.svg", headers);
  EXPECT_EQ(HeaderOf(svg, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(HeaderOf(svg, "Content-Disposition"), "attachment");
  EXPECT_EQ(Call("GET", "/ui/api/object?bucket=other&key=a", headers).status, 403);
  EXPECT_EQ(Call("GET", "/ui/api/object?bucket=images&key=uploads%2Fnone", headers).status, 404);
}

TEST_F(DashboardHandlerTest, RecentUploadsShowThumbnailsAndOutcomes) {
  server::HeaderList headers = LoggedIn();
  ASSERT_TRUE(memory_.Put("images", "uploads/done.jpg", "1").ok());
  clock_.AdvanceSeconds(1);
  ASSERT_TRUE(memory_.Put("images", "uploads/half.png", "2").ok());
  clock_.AdvanceSeconds(1);
  ASSERT_TRUE(memory_.Put("images", "uploads/dead.jpg", "3").ok());
  for (const char* key : {"thumbnails/small/done.jpg", "thumbnails/large/done.jpg",
                          "thumbnails/small/half.png.jpg", "thumbnails/small/half.pngx"}) {
    ASSERT_TRUE(memory_.Put("images", key, "t").ok());
  }
  DeadLetter("uploads/dead.jpg", "truncated");
  HttpReply reply = Call("GET", "/ui/api/uploads?limit=2", headers);
  ASSERT_EQ(reply.status, 200);
  json body = json::parse(reply.body);
  json uploads = body["uploads"];
  ASSERT_EQ(uploads.size(), 2u);  // the newest two, newest first
  EXPECT_EQ(uploads[0]["key"], "uploads/dead.jpg");
  EXPECT_EQ(uploads[0]["outcome"], "dead-letter");
  EXPECT_EQ(uploads[0]["reason"], "truncated");
  EXPECT_EQ(uploads[1]["key"], "uploads/half.png");
  EXPECT_EQ(uploads[1]["outcome"], "pending");
  ASSERT_EQ(uploads[1]["thumbnails"].size(), 1u);
  EXPECT_EQ(uploads[1]["thumbnails"][0]["key"], "thumbnails/small/half.png.jpg");
  json all = json::parse(Call("GET", "/ui/api/uploads", headers).body)["uploads"];
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["outcome"], "ok");
  EXPECT_EQ(all[2]["thumbnails"].size(), 2u);
}

TEST_F(DashboardHandlerTest, OverviewReportsTheQueueAndTheWorkers) {
  server::HeaderList headers = LoggedIn();
  DeadLetter("uploads/x.jpg", "truncated");
  HttpReply reply = Call("GET", "/ui/api/overview", headers);
  ASSERT_EQ(reply.status, 200);
  json o = json::parse(reply.body);
  EXPECT_EQ(o["queue"]["dlq"], 1);
  EXPECT_EQ(o["workers"]["total"], 2);
  EXPECT_EQ(o["sizes"], json({"small", "large"}));
  EXPECT_EQ(o["activity"]["made_per_second"].size(), 90u);
}

class RecordingHandler final : public server::HttpHandler {
 public:
  std::unique_ptr<server::HttpExchange> Begin(const HttpRequestHead& head,
                                              HttpReply* early) override {
    targets.push_back(head.target);
    early->status = 299;
    return nullptr;
  }
  HttpReply TransportError(int status, std::string_view, std::string_view) override {
    HttpReply r;
    r.status = status;
    return r;
  }
  std::vector<std::string> targets;
};

TEST_F(DashboardHandlerTest, RoutingSendsVirtualHostedAndS3RequestsToS3) {
  RecordingHandler s3;
  RoutingHandler routing(&s3, &handler_, {"localhost"});
  auto route = [&](std::string target, std::string host) {
    HttpRequestHead head;
    head.method = "GET";
    head.target = std::move(target);
    head.headers = {{"Host", std::move(host)}};
    HttpReply reply;
    routing.Begin(head, &reply);
    return reply.status;
  };
  EXPECT_EQ(route("/ui/api/overview", "127.0.0.1:9000"), 401);
  EXPECT_EQ(route("/ui/a.jpg", "images.localhost:9000"), 299);  // an object key
  EXPECT_EQ(route("/images/ui/a.jpg", "127.0.0.1:9000"), 299);
  EXPECT_EQ(s3.targets.size(), 2u);
}

}  // namespace
}  // namespace thumbflow::dashboard
