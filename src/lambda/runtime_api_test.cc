#include "lambda/runtime_api.h"

#include <cstdlib>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "aws/testing/scripted_http_client.h"
#include "lambda/runtime.h"

namespace thumbflow::lambda {
namespace {

using aws::testing::Reply;
using aws::testing::ScriptedHttpClient;

aws::HttpResponse Invocation(const std::string& id, const std::string& body,
                             const std::string& deadline = "1700000060000") {
  return Reply(200, body,
               {{"Lambda-Runtime-Aws-Request-Id", id},
                {"lambda-runtime-deadline-ms", deadline},
                {"Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:1:function:f"},
                {"Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"}});
}

aws::HttpResponse Accepted() { return Reply(202, R"({"status":"OK"})"); }

std::string HeaderOf(const aws::HttpRequest& request, const std::string& name) {
  for (const auto& [k, v] : request.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(RuntimeApiTest, NextReadsTheInvocationHeaders) {
  ScriptedHttpClient http;
  http.answers.push_back(Invocation("8476a536-e9f4-11e8-9739-2dfe598c3fcd", "{\"a\":1}"));
  RuntimeApiClient api(http, "127.0.0.1:9001");
  auto invocation = api.Next();
  ASSERT_TRUE(invocation.ok()) << invocation.status().ToString();
  EXPECT_EQ(http.request(0).method, "GET");
  EXPECT_EQ(http.request(0).url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(invocation->request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  EXPECT_EQ(invocation->deadline_ms, 1700000060000);
  EXPECT_EQ(invocation->function_arn, "arn:aws:lambda:us-east-1:1:function:f");
  EXPECT_EQ(invocation->trace_id, "Root=1-5759e988-bd862e3fe1be46a994272793");
  EXPECT_EQ(invocation->event, "{\"a\":1}");
}

TEST(RuntimeApiTest, NextRefusesAnswersItCannotUse) {
  ScriptedHttpClient http;
  http.answers.push_back(Invocation("", "{}"));
  http.answers.push_back(Invocation("../../init/error", "{}"));
  http.answers.push_back(Invocation("id", "{}", "soon"));
  http.answers.push_back(Reply(500));
  RuntimeApiClient api(http, "127.0.0.1:9001");
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(api.Next().ok()) << i;
  auto gone = api.Next();  // transport failure
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kUnavailable);
}

TEST(RuntimeApiTest, ErrorsCarryTheirTypeInHeaderAndBody) {
  ScriptedHttpClient http;
  http.answers.push_back(Accepted());
  http.answers.push_back(Accepted());
  http.answers.push_back(Accepted());
  RuntimeApiClient api(http, "localhost:1");
  ASSERT_TRUE(api.PostResponse("req-1", R"({"batchItemFailures":[]})").ok());
  ASSERT_TRUE(api.PostInvocationError("req-1", {kErrorTypeBadEvent, "not SQS"}).ok());
  ASSERT_TRUE(api.PostInitError({kErrorTypeConfig, "bad field"}).ok());

  EXPECT_EQ(http.request(0).url, "http://localhost:1/2018-06-01/runtime/invocation/req-1/response");
  EXPECT_EQ(http.request(0).body, R"({"batchItemFailures":[]})");
  EXPECT_EQ(HeaderOf(http.request(0), "Lambda-Runtime-Function-Error-Type"), "<absent>");

  EXPECT_EQ(http.request(1).url, "http://localhost:1/2018-06-01/runtime/invocation/req-1/error");
  EXPECT_EQ(HeaderOf(http.request(1), "Lambda-Runtime-Function-Error-Type"),
            "Runtime.InvalidEvent");
  auto body = nlohmann::json::parse(http.request(1).body);
  EXPECT_EQ(body["errorType"], "Runtime.InvalidEvent");
  EXPECT_EQ(body["errorMessage"], "not SQS");

  EXPECT_EQ(http.request(2).url, "http://localhost:1/2018-06-01/runtime/init/error");
  EXPECT_EQ(HeaderOf(http.request(2), "Lambda-Runtime-Function-Error-Type"), "Runtime.ConfigError");
  EXPECT_EQ(nlohmann::json::parse(http.request(2).body)["errorType"], "Runtime.ConfigError");
}

TEST(RuntimeApiTest, RejectedPostIsAnError) {
  ScriptedHttpClient http;
  http.answers.push_back(Reply(400));
  RuntimeApiClient api(http, "localhost:1");
  EXPECT_FALSE(api.PostResponse("req-1", "{}").ok());
}

TEST(RuntimeLoopTest, AnswersEachInvocationAndReportsHandlerFailures) {
  ScriptedHttpClient http;
  http.answers.push_back(Invocation("one", "good"));
  http.answers.push_back(Accepted());
  http.answers.push_back(Invocation("two", "bad"));
  http.answers.push_back(Accepted());
  http.answers.push_back(Invocation("three", "broken"));
  http.answers.push_back(Accepted());
  RuntimeApiClient api(http, "h:1");
  std::vector<std::string> traces;
  auto handler = [&](const lambda::Invocation& inv) -> Result<std::string> {
    const char* trace = std::getenv("_X_AMZN_TRACE_ID");
    traces.push_back(trace ? trace : "");
    if (inv.event == "bad") return InvalidArgumentError("not an SQS event");
    if (inv.event == "broken") return InternalError("boom");
    return std::string("answer");
  };
  Status status = RunRuntimeLoop(api, handler, {.max_invocations = 3});
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(http.calls(), 6);
  EXPECT_EQ(http.request(1).url, "http://h:1/2018-06-01/runtime/invocation/one/response");
  EXPECT_EQ(http.request(1).body, "answer");
  EXPECT_EQ(http.request(3).url, "http://h:1/2018-06-01/runtime/invocation/two/error");
  EXPECT_EQ(HeaderOf(http.request(3), "Lambda-Runtime-Function-Error-Type"),
            "Runtime.InvalidEvent");
  EXPECT_EQ(http.request(5).url, "http://h:1/2018-06-01/runtime/invocation/three/error");
  EXPECT_EQ(HeaderOf(http.request(5), "Lambda-Runtime-Function-Error-Type"),
            "Runtime.InternalError");
  EXPECT_EQ(traces[0], "Root=1-5759e988-bd862e3fe1be46a994272793");
}

TEST(RuntimeLoopTest, StopsWhenTheRuntimeApiGoesAway) {
  ScriptedHttpClient http;  // no answers: the first Next() fails
  RuntimeApiClient api(http, "h:1");
  Status status = RunRuntimeLoop(
      api, [](const lambda::Invocation&) -> Result<std::string> { return std::string("{}"); });
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace thumbflow::lambda
