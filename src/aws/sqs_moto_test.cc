// SqsQueue against moto_server: the Queue port's conformance suite, the wire protocol as a
// real SQS implementation answers it, dead-lettering both ways (thumbflow's Fail and the
// queue's own RedrivePolicy), and the reference set-up of DESIGN.md: a bucket whose uploads/
// prefix notifies a queue with a DLQ (maxReceiveCount 3), delivering an event that events/
// parses to the exact bucket and key.
//
// One moto_server serves the whole binary (started at the first test that needs it, stopped
// by PID at exit), so CTest runs this binary as one test rather than one process per case.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aws/sigv4.h"
#include "aws/sqs_queue.h"
#include "aws/testing/moto_server.h"
#include "events/s3_event.h"
#include "queue/queue_conformance.h"

namespace thumbflow::aws {
namespace {

using ::testing::UnorderedElementsAre;

// The server shared by every test of this binary; null when moto_server is unavailable.
testing::MotoServer* SharedMoto() {
  static std::unique_ptr<testing::MotoServer> moto = testing::MotoServer::StartOrSkip();
  return moto.get();
}

// The conformance suite's factory: a fresh queue and DLQ on moto, made with the suite's
// options. moto's clock cannot be moved, so the suite skips the cases that need time to pass.
QueueUnderTest MakeSqsQueue(const QueueOptions& options) {
  QueueUnderTest out;
  testing::MotoServer* moto = SharedMoto();
  if (moto == nullptr) {
    out.error = testing::MotoServer::SkipReason();
    return out;
  }
  auto clock = std::make_shared<SystemClock>();
  std::shared_ptr<HttpClient> http(NewCurlHttpClient().release());
  std::shared_ptr<CredentialsProvider> credentials(
      NewStaticCredentialsProvider(testing::MotoServer::TestCredentials()).release());
  SqsQueueOptions sqs;
  sqs.endpoint = moto->endpoint();
  sqs.scan_wait_seconds = 0;
  auto queue = CreateSqsQueues(sqs, options, http, credentials, clock.get());
  if (!queue.ok()) {
    out.error = queue.status().ToString();
    return out;
  }
  out.queue = std::shared_ptr<Queue>(std::move(queue).value());
  out.keep_alive = clock;
  return out;
}

// Instantiated only where moto_server can run (always in CI, where its absence must fail).
std::vector<QueueConformanceParam> SqsConformanceParams() {
  if (std::getenv("CI") == nullptr && std::system("command -v moto_server >/dev/null 2>&1") != 0) {
    return {};
  }
  return {QueueConformanceParam{"sqs_on_moto", &MakeSqsQueue}};
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(QueueConformanceTest);
INSTANTIATE_TEST_SUITE_P(Sqs, QueueConformanceTest, ::testing::ValuesIn(SqsConformanceParams()),
                         QueueConformanceParamName);

class SqsMotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    moto_ = SharedMoto();
    if (moto_ == nullptr) GTEST_SKIP() << testing::MotoServer::SkipReason();
    ASSERT_TRUE(moto_->Reset());
    http_ = std::shared_ptr<HttpClient>(NewCurlHttpClient().release());
    credentials_ = std::shared_ptr<CredentialsProvider>(
        NewStaticCredentialsProvider(testing::MotoServer::TestCredentials()).release());
    auto client = SqsClient::Create(moto_->endpoint(), "us-east-1", http_, credentials_, &clock_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
  }

  // Creates "<name>-dlq" (10 days retention) and "<name>" (visibility 60 s, DLQ after 3
  // receives), the reference queues; returns the SqsQueue found through the RedrivePolicy.
  std::unique_ptr<SqsQueue> ReferenceQueues(const std::string& name) {
    Result<std::string> dlq_url =
        client_->CreateQueue(name + "-dlq", {{"MessageRetentionPeriod", "864000"}});
    EXPECT_TRUE(dlq_url.ok()) << dlq_url.status().ToString();
    Result<SqsAttributes> dlq = client_->GetQueueAttributes(*dlq_url, {"QueueArn"});
    EXPECT_TRUE(dlq.ok()) << dlq.status().ToString();
    const std::string policy =
        R"({"deadLetterTargetArn":")" + (*dlq)["QueueArn"] + R"(","maxReceiveCount":"3"})";
    Result<std::string> url =
        client_->CreateQueue(name, {{"VisibilityTimeout", "60"}, {"RedrivePolicy", policy}});
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    SqsQueueOptions options;
    options.endpoint = moto_->endpoint();
    options.queue = name;
    options.scan_wait_seconds = 0;
    auto queue = NewSqsQueue(options, http_, credentials_, &clock_);
    EXPECT_TRUE(queue.ok()) << queue.status().ToString();
    if (!queue.ok()) return nullptr;
    EXPECT_EQ((*queue)->dlq_url(), *dlq_url);
    return std::move(queue).value();
  }

  // One signed path-style S3 request; returns the HTTP status (0 when there was no answer).
  int S3(const std::string& method, const std::string& bucket, const std::string& key,
         const QueryParams& query, const std::string& body) {
    const std::string host = moto_->endpoint().substr(std::string("http://").size());
    SignableRequest request;
    request.method = method;
    request.path = "/" + bucket + (key.empty() ? "" : "/" + key);
    request.query = query;
    request.headers = {{"Host", host}, {"Content-Type", "application/octet-stream"}};
    request.payload_hash = Sha256Hex(body);
    Result<SigningResult> signed_request =
        Signer().Sign(request, testing::MotoServer::TestCredentials(),
                      S3SigningParams("us-east-1", clock_.NowMillis()));
    EXPECT_TRUE(signed_request.ok()) << signed_request.status().ToString();
    HttpRequest http;
    http.method = method;
    http.url = moto_->endpoint() + EncodeRequestTarget(request.path, query);
    http.headers = request.headers;
    http.body = body;
    Result<HttpResponse> response = http_->Send(http);
    if (!response.ok()) return 0;
    EXPECT_LT(response->status, 300) << method << " " << http.url << ": " << response->body;
    return response->status;
  }

  testing::MotoServer* moto_ = nullptr;
  SystemClock clock_;
  std::shared_ptr<HttpClient> http_;
  std::shared_ptr<CredentialsProvider> credentials_;
  std::unique_ptr<SqsClient> client_;
};

ReceiveOptions Immediately(int max = 10, std::optional<int> visibility = std::nullopt) {
  ReceiveOptions options;
  options.max_messages = max;
  options.visibility_timeout_s = visibility;
  return options;
}

TEST_F(SqsMotoTest, SendReceiveDeleteWithAttributes) {
  auto queue = ReferenceQueues("basic");
  ASSERT_NE(queue, nullptr);
  Result<std::string> id = queue->Send({"body with \xC3\xBC and \"quotes\"", {{"k", "v"}}, 0});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Result<std::vector<Message>> got = queue->Receive(Immediately());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  const Message& m = (*got)[0];
  EXPECT_EQ(m.id, *id);
  EXPECT_EQ(m.body, "body with \xC3\xBC and \"quotes\"");
  EXPECT_EQ(m.attributes, (MessageAttributes{{"k", "v"}}));
  EXPECT_EQ(m.receive_count, 1);
  EXPECT_GT(m.sent_ms, 1'600'000'000'000);
  EXPECT_GE(m.first_receive_ms, m.sent_ms);

  Result<QueueStats> stats = queue->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->visible, 0);
  EXPECT_EQ(stats->in_flight, 1);

  ASSERT_TRUE(queue->ChangeVisibility(m.receipt, 0).ok());
  got = queue->Receive(Immediately());
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].receive_count, 2);
  ASSERT_TRUE(queue->Delete((*got)[0].receipt).ok());
  // Deleting again (the message is gone) succeeds.
  EXPECT_TRUE(queue->Delete((*got)[0].receipt).ok());
  stats = queue->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible + stats->in_flight + stats->delayed, 0);
}

TEST_F(SqsMotoTest, BatchesReportEachEntry) {
  auto queue = ReferenceQueues("batch");
  ASSERT_NE(queue, nullptr);
  std::vector<SendRequest> requests;
  for (int i = 0; i < 10; ++i) requests.push_back({"m" + std::to_string(i), {}, 0});
  requests[3].delay_seconds = 901;  // out of range: this entry alone fails
  Result<std::vector<Result<std::string>>> sent = queue->SendBatch(requests);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_EQ(sent->size(), 10u);
  for (int i = 0; i < 10; ++i) {
    if (i == 3) {
      EXPECT_FALSE((*sent)[i].ok());
      EXPECT_FALSE((*sent)[i].status().retryable()) << (*sent)[i].status().ToString();
    } else {
      EXPECT_TRUE((*sent)[i].ok()) << i << ": " << (*sent)[i].status().ToString();
    }
  }
  std::vector<Message> all;
  for (int round = 0; round < 5 && all.size() < 9; ++round) {
    Result<std::vector<Message>> got = queue->Receive(Immediately());
    ASSERT_TRUE(got.ok());
    all.insert(all.end(), got->begin(), got->end());
  }
  ASSERT_EQ(all.size(), 9u);
  std::vector<std::string> receipts;
  for (const Message& m : all) receipts.push_back(m.receipt);
  receipts.resize(5);
  receipts.push_back("not-a-receipt");
  Result<std::vector<Status>> changed =
      queue->ChangeVisibilityBatch({{receipts[0], 0}, {"not-a-receipt", 0}});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE((*changed)[0].ok());
  EXPECT_FALSE((*changed)[1].ok());
  Result<std::vector<Status>> deleted = queue->DeleteBatch(receipts);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  ASSERT_EQ(deleted->size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE((*deleted)[i].ok()) << (*deleted)[i].ToString();
  EXPECT_FALSE((*deleted)[5].ok());
  EXPECT_FALSE((*deleted)[5].retryable());
}

TEST_F(SqsMotoTest, MissingQueueIsNotFound) {
  SqsQueueOptions options;
  options.endpoint = moto_->endpoint();
  options.queue = "does-not-exist";
  auto queue = NewSqsQueue(options, http_, credentials_, &clock_);
  EXPECT_EQ(queue.status().code(), StatusCode::kNotFound) << queue.status().ToString();
}

TEST_F(SqsMotoTest, PermanentFailureDeadLettersAndRedriveRestores) {
  auto queue = ReferenceQueues("fail");
  ASSERT_NE(queue, nullptr);
  const std::string body = BuildS3Event({S3EventRecord{}});
  ASSERT_TRUE(queue->Send({body, {{"origin", "test"}}, 0}).ok());
  ASSERT_TRUE(queue->Send({"second", {}, 0}).ok());
  Result<std::vector<Message>> got = queue->Receive(Immediately(10, 60));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  for (const Message& m : *got) {
    ASSERT_TRUE(queue->Fail(m, {m.body == body ? "truncated" : "corrupt", true, 0}).ok());
  }
  Result<QueueStats> stats = queue->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible + stats->in_flight, 0);
  EXPECT_EQ(stats->dlq, 2);

  Result<std::vector<DeadLetter>> letters = queue->ListDeadLetters(10);
  ASSERT_TRUE(letters.ok()) << letters.status().ToString();
  ASSERT_EQ(letters->size(), 2u);
  const DeadLetter& first = (*letters)[0].body == body ? (*letters)[0] : (*letters)[1];
  const DeadLetter& second = (*letters)[0].body == body ? (*letters)[1] : (*letters)[0];
  EXPECT_EQ(first.body, body);  // byte for byte
  EXPECT_EQ(first.reason, "truncated");
  EXPECT_EQ(first.attributes, (MessageAttributes{{"origin", "test"}}));
  EXPECT_EQ(first.receive_count, 1);
  EXPECT_EQ(second.reason, "corrupt");
  // Listing leaves them in the DLQ, visible.
  Result<std::vector<DeadLetter>> again = queue->ListDeadLetters(10);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 2u);

  Result<int64_t> moved = queue->Redrive({first.id});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, 1);
  got = queue->Receive(Immediately());
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, body);
  EXPECT_EQ((*got)[0].attributes, (MessageAttributes{{"origin", "test"}}));
  EXPECT_EQ((*got)[0].receive_count, 1);

  ASSERT_TRUE(queue->PurgeDeadLetters().ok());
  stats = queue->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->dlq, 0);
}

TEST_F(SqsMotoTest, RedrivePolicyMovesAfterThreeReceives) {
  auto queue = ReferenceQueues("poison");
  ASSERT_NE(queue, nullptr);
  ASSERT_TRUE(queue->Send({"poison", {}, 0}).ok());
  for (int i = 1; i <= 3; ++i) {
    Result<std::vector<Message>> got = queue->Receive(Immediately(1, 0));
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u) << "receive " << i;
    EXPECT_EQ((*got)[0].receive_count, i);
  }
  Result<std::vector<Message>> fourth = queue->Receive(Immediately(1, 0));
  ASSERT_TRUE(fourth.ok());
  EXPECT_TRUE(fourth->empty());
  Result<std::vector<DeadLetter>> letters = queue->ListDeadLetters(10);
  ASSERT_TRUE(letters.ok()) << letters.status().ToString();
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].body, "poison");
  EXPECT_EQ((*letters)[0].reason, ReasonName(Reason::kMaxReceives));
  EXPECT_EQ((*letters)[0].receive_count, 3);
  Result<int64_t> moved = queue->Redrive({});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, 1);
  Result<std::vector<Message>> back = queue->Receive(Immediately());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].receive_count, 1);
}

TEST_F(SqsMotoTest, ReferenceSetUpDeliversParsableEvents) {
  auto queue = ReferenceQueues("thumbnails");
  ASSERT_NE(queue, nullptr);
  Result<SqsAttributes> arn = client_->GetQueueAttributes(queue->queue_url(), {"QueueArn"});
  ASSERT_TRUE(arn.ok());
  ASSERT_EQ(S3("PUT", "images", "", {}, ""), 200);
  const std::string notification =
      "<NotificationConfiguration><QueueConfiguration><Id>thumbs</Id><Queue>" + (*arn)["QueueArn"] +
      "</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name>"
      "<Value>uploads/</Value></FilterRule></S3Key></Filter></QueueConfiguration>"
      "</NotificationConfiguration>";
  ASSERT_EQ(S3("PUT", "images", "", {{"notification", ""}}, notification), 200);

  const std::string keys[] = {
      "uploads/my photo+1 %/\xC3\xBCn\xC3\xAF/x~(1).jpg",
      "uploads/plain.png",
  };
  for (const std::string& key : keys) ASSERT_EQ(S3("PUT", "images", key, {}, "bytes"), 200);
  ASSERT_EQ(S3("PUT", "images", "thumbnails/small/plain.png", {}, "out"), 200);

  int test_events = 0;
  std::vector<std::string> parsed_keys;
  for (int round = 0; round < 5; ++round) {
    Result<std::vector<Message>> got = queue->Receive(Immediately());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (got->empty()) break;
    for (const Message& m : *got) {
      Result<S3Event> event = ParseS3Event(m.body);
      ASSERT_TRUE(event.ok()) << event.status().ToString() << "\n" << m.body;
      if (event->test_event) {
        ++test_events;
        EXPECT_EQ(event->test_bucket, "images");
      }
      for (const S3EventRecord& r : event->records) {
        EXPECT_EQ(r.bucket, "images");
        EXPECT_EQ(r.event_name, "ObjectCreated:Put");
        EXPECT_EQ(r.size, 5);
        EXPECT_EQ(r.etag, Md5Hex("bytes")) << r.etag;
        parsed_keys.push_back(r.key);
      }
      ASSERT_TRUE(queue->Delete(m.receipt).ok());
    }
  }
  EXPECT_EQ(test_events, 1);
  EXPECT_THAT(parsed_keys, UnorderedElementsAre(keys[0], keys[1]));
}

}  // namespace
}  // namespace thumbflow::aws
