#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <functional>
#include <thread>

#include "aws/aws_error.h"
#include "aws/http_client.h"
#include "aws/testing/scripted_http_client.h"

namespace thumbflow::aws {
namespace {

using testing::Reply;
using testing::ScriptedHttpClient;

// A one-connection HTTP peer on 127.0.0.1: records the request head it receives, then
// answers 200 at once, or never (a long poll that nothing ends but the client). With
// `between_head_and_body`, the answer's head is sent first, then that function runs, then
// the body follows.
class RawPeer {
 public:
  explicit RawPeer(bool answer, std::function<void()> between_head_and_body = nullptr)
      : answer_(answer), between_(std::move(between_head_and_body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(::listen(fd_, 1), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawPeer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }
  // The request line, once received.
  std::string request_line() const { return request_line_; }

 private:
  void Serve() {
    int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(conn, buffer, sizeof(buffer));
      if (n <= 0) break;
      head.append(buffer, static_cast<size_t>(n));
    }
    request_line_ = head.substr(0, head.find("\r\n"));
    if (answer_) {
      const std::string answer_head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
      const std::string body = "ok";
      if (between_) {
        (void)!::write(conn, answer_head.data(), answer_head.size());
        between_();
        (void)!::write(conn, body.data(), body.size());
      } else {
        const std::string response = answer_head + body;
        (void)!::write(conn, response.data(), response.size());
      }
    }
    // Without an answer: hold the connection until the client gives up and closes it.
    while (::read(conn, buffer, sizeof(buffer)) > 0) {
    }
    ::close(conn);
  }

  bool answer_;
  std::function<void()> between_;
  int fd_ = -1;
  int port_ = 0;
  std::string request_line_;
  std::thread thread_;
};

TEST(CurlHttpClient, SendsThePathExactlyAsGiven) {
  // libcurl would squash "/./" and "/../"; a signed S3 key must reach the server as signed.
  RawPeer peer(/*answer=*/true);
  auto client = NewCurlHttpClient();
  HttpRequest request;
  request.url = peer.url("/images/dir/./x/../y.jpg//z%2F%2e%2E");
  Result<HttpResponse> response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(peer.request_line(), "GET /images/dir/./x/../y.jpg//z%2F%2e%2E HTTP/1.1");
}

TEST(CurlHttpClient, AbortCutsOffAWaitingExchange) {
  RawPeer peer(/*answer=*/false);
  auto client = NewCurlHttpClient();
  std::atomic<bool> abort{false};
  HttpRequest request;
  request.method = "POST";
  request.url = peer.url("/");
  request.body = "{}";
  request.abort = &abort;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    abort.store(true);
  });
  // Without the abort this would wait for the client's 60 s total timeout.
  Result<HttpResponse> response = client->Send(request);
  stopper.join();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kAborted) << response.status().ToString();
  EXPECT_FALSE(response.status().retryable());
}

TEST(CurlHttpClient, AbortDoesNotCutOffAnAnswerThatHasBegun) {
  // The server has acted on the request once it answers (an SQS receive has hidden its
  // messages): a stop that comes while the answer arrives must get the whole answer, so the
  // caller can undo the action. The peer sends the head, the stop comes, then the body; the
  // client checks the stop about once a second while it waits, so the body is held back
  // long enough for that check to run with the stop set. (The first pause only lets the
  // head reach the client before the stop; on loopback it takes microseconds.)
  std::atomic<bool> abort{false};
  RawPeer peer(/*answer=*/true, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    abort.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  });
  auto client = NewCurlHttpClient();
  HttpRequest request;
  request.method = "POST";
  request.url = peer.url("/");
  request.body = "{}";
  request.abort = &abort;
  Result<HttpResponse> response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_TRUE(abort.load());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
}

TEST(Retry, RetriesTransientFailuresWithJitteredBackoff) {
  ScriptedHttpClient inner;
  inner.repeat_last = true;
  inner.answers = {Status(StatusCode::kUnavailable, "refused", "", true), Reply(503),
                   Reply(400, "<Error><Code>SlowDown</Code></Error>"), Reply(200, "ok")};
  std::vector<int64_t> delays;
  RetryPolicy policy{5, 100, 1000};
  auto client = NewRetryingHttpClient(
      &inner, policy, [&](int64_t ms) { delays.push_back(ms); }, 42);
  auto r = client->Send(HttpRequest{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(inner.calls(), 4);
  ASSERT_EQ(delays.size(), 3u);
  EXPECT_LE(delays[0], 100);
  EXPECT_LE(delays[1], 200);
  EXPECT_LE(delays[2], 400);
}

TEST(Retry, GivesUpAfterMaxAttemptsAndNeverRetriesClientErrors) {
  ScriptedHttpClient inner;
  inner.repeat_last = true;
  inner.answers = {Reply(500)};
  auto client = NewRetryingHttpClient(
      &inner, RetryPolicy{3, 1, 1}, [](int64_t) {}, 1);
  auto r = client->Send(HttpRequest{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(inner.calls(), 3);

  ScriptedHttpClient denied;
  denied.repeat_last = true;
  denied.answers = {Reply(403, "<Error><Code>AccessDenied</Code></Error>")};
  auto client2 = NewRetryingHttpClient(
      &denied, RetryPolicy{3, 1, 1}, [](int64_t) {}, 1);
  EXPECT_EQ(client2->Send(HttpRequest{})->status, 403);
  EXPECT_EQ(denied.calls(), 1);
}

TEST(Retry, CountsCallsRetriesAndOutcomesByServiceAndOperation) {
  MetricsRegistry registry;
  ScriptedHttpClient inner;
  inner.answers = {Reply(503), Reply(200, "ok"), Reply(404), Reply(429),
                   Status(StatusCode::kUnavailable, "refused", "", true)};
  auto client = NewRetryingHttpClient(
      &inner, RetryPolicy{2, 1, 1}, [](int64_t) {}, 1, &registry);
  HttpRequest get;
  get.service = "s3";
  get.operation = "GetObject";
  EXPECT_EQ(client->Send(get)->status, 200);  // 503, then 200: one call, one retry
  EXPECT_EQ(client->Send(get)->status, 404);  // not retried
  HttpRequest receive;
  receive.headers = {{"X-Amz-Target", "AmazonSQS.ReceiveMessage"}};
  EXPECT_EQ(client->Send(receive)->status, 429);  // 429, then no answer: the last counts
  std::string text = registry.RenderText();
  for (const char* sample :
       {"thumbflow_aws_requests_total{service=\"s3\",operation=\"GetObject\",outcome=\"ok\"} 1\n",
        "thumbflow_aws_requests_total{service=\"s3\",operation=\"GetObject\","
        "outcome=\"client_error\"} 1\n",
        "thumbflow_aws_retries_total{service=\"s3\",operation=\"GetObject\"} 1\n",
        "thumbflow_aws_requests_total{service=\"sqs\",operation=\"ReceiveMessage\","
        "outcome=\"network_error\"} 1\n",
        "thumbflow_aws_retries_total{service=\"sqs\",operation=\"ReceiveMessage\"} 1\n",
        "thumbflow_aws_request_duration_seconds_count{service=\"s3\",operation=\"GetObject\"} "
        "2\n"}) {
    EXPECT_NE(text.find(sample), std::string::npos) << sample << "\n" << text;
  }
}

TEST(Retry, CallLabelsComeFromTheRequestItself) {
  HttpRequest sts;
  sts.method = "POST";
  sts.body = "Version=2011-06-15&Action=AssumeRoleWithWebIdentity&RoleArn=x";
  sts.headers = {{"Authorization",
                  "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/sts/aws4_request, "
                  "SignedHeaders=host, Signature=00"}};
  EXPECT_EQ(AwsCallLabels(sts),
            std::make_pair(std::string("sts"), std::string("AssumeRoleWithWebIdentity")));
  HttpRequest imds;
  imds.method = "PUT";
  imds.body = "NotAction=1";
  EXPECT_EQ(AwsCallLabels(imds), std::make_pair(std::string("other"), std::string("PUT")));
  HttpRequest named;
  named.service = "s3";
  named.operation = "HeadObject";
  named.headers = {{"X-Amz-Target", "AmazonSQS.SendMessage"}};
  EXPECT_EQ(AwsCallLabels(named), std::make_pair(std::string("s3"), std::string("HeadObject")));
}

TEST(Retry, BackoffIsCappedFullJitter) {
  RetryPolicy policy{10, 100, 1000};
  EXPECT_EQ(BackoffDelayMs(policy, 1, 0.0), 0);
  EXPECT_EQ(BackoffDelayMs(policy, 1, 0.999999), 100);
  EXPECT_EQ(BackoffDelayMs(policy, 3, 0.999999), 400);
  EXPECT_EQ(BackoffDelayMs(policy, 9, 0.999999), 1000);
}

// A wrong region, a redirect or an account problem says nothing about the object: the
// mapper names it a misconfiguration (FailedPrecondition), never InvalidArgument, so the
// pipeline retries the message instead of dead-lettering it as a bad key.
TEST(AwsError, MisconfigurationIsNotAnInvalidArgument) {
  AwsCall call{"GetObject", "images", "uploads/a.jpg"};
  auto region = MapAwsFailure(
      call, Reply(400,
                  "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization "
                  "header is malformed; the region 'us-east-1' is wrong; expecting "
                  "'eu-west-1'</Message></Error>"));
  EXPECT_EQ(region.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(region.error_code(), "AuthorizationHeaderMalformed");
  EXPECT_EQ(region.message().rfind("misconfigured: GetObject s3://images/uploads/a.jpg", 0), 0u)
      << region.message();
  EXPECT_FALSE(region.retryable()) << "the HTTP client must not spin on it";
  auto redirect = MapAwsFailure(call, Reply(301,
                                            "<Error><Code>PermanentRedirect</Code><Message>use the "
                                            "eu-west-1 endpoint</Message></Error>"));
  EXPECT_EQ(redirect.code(), StatusCode::kFailedPrecondition);
  auto head_redirect = MapAwsFailure(AwsCall{"HeadObject", "images", "a"}, Reply(301));
  EXPECT_EQ(head_redirect.code(), StatusCode::kFailedPrecondition);
  auto bucket_name =
      MapAwsFailure(call, Reply(400, "<Error><Code>InvalidBucketName</Code></Error>"));
  EXPECT_EQ(bucket_name.code(), StatusCode::kFailedPrecondition);
  // Other 4xx stay InvalidArgument, without the "invalid-key" reason of the store port.
  auto other = MapAwsFailure(call, Reply(400, "<Error><Code>InvalidArgument</Code></Error>"));
  EXPECT_EQ(other.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.reason(), Reason::kInvalidKey);
}

TEST(AwsError, MapsStatusesCodesAndRequestIds) {
  AwsCall call{"GetObject", "images", "uploads/a.jpg"};
  auto denied = MapAwsFailure(
      call, Reply(403,
                  "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access "
                  "Denied</Message><RequestId>REQ1</RequestId></Error>"));
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.error_code(), "AccessDenied");
  EXPECT_EQ(denied.message(),
            "access denied: GetObject s3://images/uploads/a.jpg: HTTP 403 AccessDenied: Access "
            "Denied (request id REQ1)");
  EXPECT_FALSE(denied.retryable());

  auto missing = MapAwsFailure(call, Reply(404, "", {{"x-amz-request-id", "R2"}}));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("request id R2"), std::string::npos);

  auto no_such_key = MapAwsFailure(call, Reply(404, "<Error><Code>NoSuchKey</Code></Error>"));
  EXPECT_EQ(no_such_key.error_code(), "NoSuchKey");

  auto slow = MapAwsFailure(call, Reply(503, "<Error><Code>SlowDown</Code></Error>"));
  EXPECT_EQ(slow.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(slow.retryable());

  auto throttled = MapAwsFailure(
      AwsCall{"SendMessage", "q", "", "sqs"},
      Reply(400, R"({"__type":"com.amazonaws.sqs#ThrottlingException","message":"slow"})"));
  EXPECT_TRUE(throttled.retryable());
  EXPECT_EQ(throttled.error_code(), "ThrottlingException");

  auto queue = MapAwsFailure(
      AwsCall{"GetQueueUrl", "q", "", "sqs"},
      Reply(400, R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"})",
            {{"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}}));
  EXPECT_EQ(queue.code(), StatusCode::kNotFound);

  // The list form of query errors (moto's authentication errors; EC2's <Response>).
  auto listed = MapAwsFailure(
      AwsCall{"GetQueueUrl", "q", "", "sqs"},
      Reply(403,
            "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>bad "
            "token</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"));
  EXPECT_EQ(listed.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(listed.error_code(), "InvalidClientTokenId");
  EXPECT_EQ(listed.message(),
            "access denied: GetQueueUrl sqs://q: HTTP 403 InvalidClientTokenId: bad token");
  AwsErrorDetails ec2 = ParseAwsError(
      Reply(400,
            "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>m</Message>"
            "</Error></Errors><RequestID>ec2-id</RequestID></Response>"));
  EXPECT_EQ(ec2.code, "InvalidParameterValue");
  EXPECT_EQ(ec2.request_id, "ec2-id");

  auto precondition = MapAwsFailure(call, Reply(412));
  EXPECT_EQ(precondition.code(), StatusCode::kFailedPrecondition);

  auto unreachable = MapAwsFailure(call, Status(StatusCode::kUnavailable, "refused", "", true),
                                   "http://127.0.0.1:1");
  EXPECT_EQ(unreachable.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(unreachable.retryable());
  EXPECT_NE(unreachable.message().find("cannot reach http://127.0.0.1:1"), std::string::npos);
}

TEST(Headers, CaseInsensitiveHelpers) {
  HttpHeaders h = {{"Content-Type", "a"}, {"x-amz-date", "b"}};
  EXPECT_EQ(*FindHeader(h, "content-type"), "a");
  SetHeader(h, "X-Amz-Date", "c");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(*FindHeader(h, "x-amz-date"), "c");
  RemoveHeader(h, "CONTENT-TYPE");
  EXPECT_EQ(FindHeader(h, "content-type"), nullptr);
}

}  // namespace
}  // namespace thumbflow::aws
