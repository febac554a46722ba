#include "server/operational_endpoints.h"

#include <gtest/gtest.h>

namespace thumbflow::server {
namespace {

const std::string* ContentType(const HttpReply& reply) {
  for (const auto& [name, value] : reply.headers) {
    if (name == "Content-Type") return &value;
  }
  return nullptr;
}

TEST(OperationalEndpointsTest, HealthReadinessAndMetrics) {
  MetricsRegistry registry;
  registry.GetCounter("thumbflow_test_total", "A test counter.").Increment();
  Status readiness = Status::Ok();
  OperationalEndpoints endpoints{&registry, [&readiness] { return readiness; }};

  std::optional<HttpReply> health = endpoints.Answer("GET", "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  EXPECT_EQ(*ContentType(*health), "text/plain; charset=utf-8");
  EXPECT_FALSE(health->head);

  std::optional<HttpReply> ready = endpoints.Answer("GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "ready\n");
  readiness = UnavailableError("disk full: /data");
  ready = endpoints.Answer("GET", "/readyz");
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "not ready: disk full: /data\n");

  std::optional<HttpReply> metrics = endpoints.Answer("HEAD", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_TRUE(metrics->head);
  EXPECT_EQ(*ContentType(*metrics), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics->body.find("thumbflow_test_total 1"), std::string::npos) << metrics->body;
}

TEST(OperationalEndpointsTest, OtherPathsAndMethodsAreNotAnswered) {
  OperationalEndpoints endpoints;  // no registry, always ready
  EXPECT_EQ(endpoints.Answer("GET", "/readyz")->status, 200);
  EXPECT_EQ(endpoints.Answer("GET", "/metrics")->body, "");
  EXPECT_FALSE(endpoints.Answer("POST", "/healthz"));
  EXPECT_FALSE(endpoints.Answer("PUT", "/metrics"));
  EXPECT_FALSE(endpoints.Answer("GET", "/healthz/"));
  EXPECT_FALSE(endpoints.Answer("GET", "/health"));
  EXPECT_FALSE(endpoints.Answer("GET", "/"));
}

TEST(OperationalHttpHandlerTest, AnswersEndpointsElse404Or405) {
  OperationalHttpHandler handler(
      OperationalEndpoints{nullptr, [] { return UnavailableError("stopping"); }});
  auto send = [&](const char* method, const char* target) {
    HttpRequestHead head;
    head.method = method;
    head.target = target;
    HttpReply reply;
    EXPECT_EQ(handler.Begin(head, &reply), nullptr);
    return reply;
  };
  EXPECT_EQ(send("GET", "/healthz?x=1").status, 200);
  HttpReply ready = send("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "not ready: stopping\n");
  EXPECT_EQ(send("GET", "/nothing").status, 404);
  EXPECT_TRUE(send("HEAD", "/nothing").head);
  EXPECT_EQ(send("POST", "/metrics").status, 405);
  EXPECT_EQ(handler.TransportError(400, "BadRequest", "bad").body, "bad\n");
}

}  // namespace
}  // namespace thumbflow::server
