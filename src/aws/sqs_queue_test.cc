// SqsClient and SqsQueue against a scripted HttpClient: the wire format of each action, the
// mapping of answers and batch entries, and the Queue-port decisions (dead-lettering,
// DLQ resolution) without a network.
#include "aws/sqs_queue.h"

#include "aws/testing/scripted_http_client.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace thumbflow::aws {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kEndpoint[] = "http://127.0.0.1:4566";
constexpr char kQueueUrl[] = "http://127.0.0.1:4566/123456789012/thumbnails";
constexpr char kDlqUrl[] = "http://127.0.0.1:4566/123456789012/thumbnails-dlq";

class FixedCredentials : public CredentialsProvider {
 public:
  Result<Credentials> GetCredentials() override {
    Credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    return c;
  }
  std::string Name() const override { return "fixed"; }
};

// Answers each action (by X-Amz-Target) from a script; an action without one gets 200.
class ScriptedSqs : public testing::ScriptedHttpClient {
 public:
  ScriptedSqs() {
    respond = [this](const HttpRequest& request) -> Result<HttpResponse> {
      const std::string* target = FindHeader(request.headers, "X-Amz-Target");
      const std::string action =
          target ? target->substr(std::string("AmazonSQS.").size()) : std::string("?");
      auto it = script.find(action);
      if (it == script.end() || it->second.empty()) {
        return testing::Reply(200, action == "SendMessage" ? R"({"MessageId":"auto"})" : "{}");
      }
      Result<HttpResponse> r = it->second.front();
      if (it->second.size() > 1) it->second.pop_front();
      return r;
    };
  }

  void Answer(const std::string& action, int status, const json& body, HttpHeaders headers = {}) {
    headers.emplace_back("Content-Type", "application/x-amz-json-1.0");
    script[action].push_back(testing::Reply(status, body.dump(), std::move(headers)));
  }
  void Fail(const std::string& action, Status status) { script[action].push_back(status); }

  json BodyOf(size_t i) const { return json::parse(request(i).body); }
  std::string ActionOf(size_t i) const {
    return FindHeader(request(i).headers, "X-Amz-Target")->substr(10);
  }
  std::vector<std::string> Actions() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < static_cast<size_t>(calls()); ++i) out.push_back(ActionOf(i));
    return out;
  }

  std::map<std::string, std::deque<Result<HttpResponse>>> script;
};

class SqsQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqsClient> Client() {
    auto client = SqsClient::Create(kEndpoint, "us-east-1", http_, credentials_, &clock_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  // A queue on kQueueUrl whose RedrivePolicy names kDlqUrl (or none).
  std::unique_ptr<SqsQueue> Queue(bool with_dlq) {
    if (with_dlq) {
      http_->Answer(
          "GetQueueAttributes", 200,
          {{"Attributes",
            {{"RedrivePolicy",
              R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:thumbnails-dlq","maxReceiveCount":3})"}}}});
      http_->Answer("GetQueueUrl", 200, {{"QueueUrl", kDlqUrl}});
    } else {
      http_->Answer("GetQueueAttributes", 200, {{"Attributes", json::object()}});
    }
    SqsQueueOptions options;
    options.queue = kQueueUrl;
    auto queue = NewSqsQueue(options, http_, credentials_, &clock_);
    EXPECT_TRUE(queue.ok()) << queue.status().ToString();
    http_->ClearRequests();
    http_->script.clear();
    return std::move(queue).value();
  }

  ManualClock clock_{1'700'000'000'000};  // 2023-11-14T22:13:20Z
  std::shared_ptr<ScriptedSqs> http_ = std::make_shared<ScriptedSqs>();
  std::shared_ptr<CredentialsProvider> credentials_ = std::make_shared<FixedCredentials>();
};

TEST_F(SqsQueueTest, RequestsAreSignedAwsJson10) {
  http_->Answer("SendMessage", 200, {{"MessageId", "m-1"}});
  Result<std::string> id = Client()->SendMessage(kQueueUrl, {"hello", {{"k", "v"}}, 5});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "m-1");
  ASSERT_EQ(http_->requests().size(), 1u);
  const HttpRequest r = http_->request(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, std::string(kEndpoint) + "/");
  EXPECT_EQ(*FindHeader(r.headers, "Host"), "127.0.0.1:4566");
  EXPECT_EQ(*FindHeader(r.headers, "Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(*FindHeader(r.headers, "X-Amz-Target"), "AmazonSQS.SendMessage");
  EXPECT_EQ(*FindHeader(r.headers, "X-Amz-Date"), "20231114T221320Z");
  ASSERT_NE(FindHeader(r.headers, "Authorization"), nullptr);
  EXPECT_THAT(*FindHeader(r.headers, "Authorization"),
              StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/sqs/"
                         "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                         "Signature="));
  EXPECT_EQ(http_->BodyOf(0),
            json({{"QueueUrl", kQueueUrl},
                  {"MessageBody", "hello"},
                  {"DelaySeconds", 5},
                  {"MessageAttributes", {{"k", {{"DataType", "String"}, {"StringValue", "v"}}}}}}));
}

TEST_F(SqsQueueTest, SignatureChangesWithTheBody) {
  auto client = Client();
  ASSERT_TRUE(client->SendMessage(kQueueUrl, {"a", {}, 0}).ok());
  ASSERT_TRUE(client->SendMessage(kQueueUrl, {"b", {}, 0}).ok());
  EXPECT_NE(*FindHeader(http_->request(0).headers, "Authorization"),
            *FindHeader(http_->request(1).headers, "Authorization"));
}

TEST_F(SqsQueueTest, ReceiveAsksForEveryAttributeAndReadsThem) {
  http_->Answer("ReceiveMessage", 200,
                {{"Messages",
                  {{{"MessageId", "id-1"},
                    {"ReceiptHandle", "rh-1"},
                    {"Body", "{\"Records\":[]}"},
                    {"Attributes",
                     {{"ApproximateReceiveCount", "3"},
                      {"SentTimestamp", "1700000000123"},
                      {"ApproximateFirstReceiveTimestamp", "1700000001456"}}},
                    {"MessageAttributes",
                     {{"s", {{"DataType", "String"}, {"StringValue", "x"}}},
                      {"n", {{"DataType", "Number"}, {"StringValue", "42"}}},
                      {"b", {{"DataType", "Binary"}, {"BinaryValue", "AAE="}}}}}}}}});
  ReceiveOptions options;
  options.max_messages = 10;
  options.wait_seconds = 20;
  options.visibility_timeout_s = 60;
  Result<std::vector<Message>> messages = Client()->ReceiveMessage(kQueueUrl, options);
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 1u);
  const Message& m = (*messages)[0];
  EXPECT_EQ(m.id, "id-1");
  EXPECT_EQ(m.receipt, "rh-1");
  EXPECT_EQ(m.body, "{\"Records\":[]}");
  EXPECT_EQ(m.receive_count, 3);
  EXPECT_EQ(m.sent_ms, 1'700'000'000'123);
  EXPECT_EQ(m.first_receive_ms, 1'700'000'001'456);
  EXPECT_EQ(m.attributes, (MessageAttributes{{"s", "x"}, {"n", "42"}, {"b", "AAE="}}));
  const json body = http_->BodyOf(0);
  EXPECT_EQ(body["MaxNumberOfMessages"], 10);
  EXPECT_EQ(body["WaitTimeSeconds"], 20);
  EXPECT_EQ(body["VisibilityTimeout"], 60);
  EXPECT_EQ(body["MessageSystemAttributeNames"], json({"All"}));
  EXPECT_EQ(body["AttributeNames"], json({"All"}));
  EXPECT_EQ(body["MessageAttributeNames"], json({"All"}));
}

TEST_F(SqsQueueTest, ReceiveWithoutVisibilityUsesTheQueueDefault) {
  ASSERT_TRUE(Client()->ReceiveMessage(kQueueUrl, {}).ok());
  EXPECT_FALSE(http_->BodyOf(0).contains("VisibilityTimeout"));
}

TEST_F(SqsQueueTest, BadInputFailsBeforeAnyRequest) {
  auto client = Client();
  ReceiveOptions too_many;
  too_many.max_messages = 11;
  EXPECT_EQ(client->ReceiveMessage(kQueueUrl, too_many).status().code(),
            StatusCode::kInvalidArgument);
  ReceiveOptions too_long;
  too_long.wait_seconds = 21;
  EXPECT_EQ(client->ReceiveMessage(kQueueUrl, too_long).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client->SendMessageBatch(kQueueUrl, std::vector<SendRequest>(11)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client->DeleteMessageBatch(kQueueUrl, std::vector<std::string>(11)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client->ChangeMessageVisibility(kQueueUrl, "r", 43'201).code(),
            StatusCode::kInvalidArgument);
  Result<std::string> not_utf8 = client->SendMessage(kQueueUrl, {"bad \xff byte", {}, 0});
  EXPECT_EQ(not_utf8.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(http_->requests().empty());
  EXPECT_EQ(client->SendMessageBatch(kQueueUrl, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->DeleteMessageBatch(kQueueUrl, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(http_->requests().empty());
}

TEST_F(SqsQueueTest, BatchEntriesFailOnTheirOwn) {
  http_->Answer(
      "SendMessageBatch", 200,
      {{"Successful", {{{"Id", "0"}, {"MessageId", "m-0"}}, {{"Id", "2"}, {"MessageId", "m-2"}}}},
       {"Failed",
        {{{"Id", "1"},
          {"SenderFault", true},
          {"Code", "InvalidParameterValue"},
          {"Message", "body too large"}},
         {{"Id", "3"}, {"SenderFault", false}, {"Code", "InternalError"}, {"Message", "oops"}}}}});
  Result<std::vector<Result<std::string>>> results =
      Client()->SendMessageBatch(kQueueUrl, std::vector<SendRequest>(5, SendRequest{"x", {}, 0}));
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 5u);
  EXPECT_EQ(*(*results)[0], "m-0");
  EXPECT_EQ((*results)[1].status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE((*results)[1].status().retryable());
  EXPECT_THAT((*results)[1].status().message(), HasSubstr("body too large"));
  EXPECT_EQ(*(*results)[2], "m-2");
  EXPECT_TRUE((*results)[3].status().retryable()) << (*results)[3].status().ToString();
  EXPECT_EQ((*results)[4].status().code(), StatusCode::kInternal);  // absent from the answer
  const json body = http_->BodyOf(0);
  ASSERT_EQ(body["Entries"].size(), 5u);
  EXPECT_EQ(body["Entries"][4]["Id"], "4");
  EXPECT_EQ(body["Entries"][4]["MessageBody"], "x");
}

TEST_F(SqsQueueTest, DeleteAndVisibilityBatches) {
  http_->Answer("DeleteMessageBatch", 200,
                {{"Successful", {{{"Id", "0"}}}},
                 {"Failed",
                  {{{"Id", "1"},
                    {"SenderFault", true},
                    {"Code", "ReceiptHandleIsInvalid"},
                    {"Message", "bad"}}}}});
  http_->Answer("ChangeMessageVisibilityBatch", 200,
                {{"Successful", {{{"Id", "0"}}, {{"Id", "1"}}}}});
  auto client = Client();
  Result<std::vector<Status>> deleted = client->DeleteMessageBatch(kQueueUrl, {"a", "b"});
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE((*deleted)[0].ok());
  EXPECT_EQ((*deleted)[1].code(), StatusCode::kInvalidArgument);
  Result<std::vector<Status>> changed =
      client->ChangeMessageVisibilityBatch(kQueueUrl, {{"a", 0}, {"b", 30}});
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE((*changed)[0].ok() && (*changed)[1].ok());
  EXPECT_EQ(http_->BodyOf(1)["Entries"][1],
            json({{"Id", "1"}, {"ReceiptHandle", "b"}, {"VisibilityTimeout", 30}}));
}

TEST_F(SqsQueueTest, ErrorsAreMappedByTheOneFunction) {
  http_->Answer("GetQueueUrl", 400,
                {{"__type", "com.amazonaws.sqs#QueueDoesNotExist"},
                 {"message", "The specified queue does not exist."}});
  http_->Answer("SendMessage", 400,
                {{"__type", "com.amazonaws.sqs#ThrottlingException"}, {"message", "slow down"}});
  http_->Answer("SendMessage", 503, json::object());
  http_->Fail("DeleteMessage", UnavailableError("cannot connect to http://127.0.0.1:4566/"));
  auto client = Client();
  Status missing = client->GetQueueUrl("nope").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  EXPECT_THAT(missing.message(), HasSubstr("nope"));
  Status throttled = client->SendMessage(kQueueUrl, {"x", {}, 0}).status();
  EXPECT_TRUE(throttled.retryable()) << throttled.ToString();
  Status unavailable = client->SendMessage(kQueueUrl, {"x", {}, 0}).status();
  EXPECT_EQ(unavailable.code(), StatusCode::kUnavailable) << unavailable.ToString();
  EXPECT_TRUE(unavailable.retryable());
  Status unreachable = client->DeleteMessage(kQueueUrl, "r");
  EXPECT_TRUE(unreachable.retryable()) << unreachable.ToString();
}

// A refusal names SQS's error code and request id, as S3 errors do. Real SQS (JSON protocol)
// sends __type, Message and x-amzn-RequestId, and the legacy query code in x-amzn-query-error
// (preferred when present: it is the code the AWS SDKs and CLI show); moto answers an
// authentication failure with query-style XML that lists the error under <Errors>.
TEST_F(SqsQueueTest, ErrorsNameTheAwsCodeAndTheRequestId) {
  http_->Answer("ReceiveMessage", 403,
                {{"__type", "com.amazon.coral.service#AccessDeniedException"},
                 {"Message", "User: arn:aws:iam::123456789012:user/w is not authorized"}},
                {{"x-amzn-RequestId", "req-403"}});
  http_->Answer("GetQueueUrl", 400,
                {{"__type", "com.amazonaws.sqs#QueueDoesNotExist"},
                 {"message", "The specified queue does not exist."}},
                {{"x-amzn-RequestId", "req-q1"},
                 {"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}});
  http_->Answer("GetQueueUrl", 400,
                {{"__type", "com.amazonaws.sqs#QueueDoesNotExist"}, {"message", "no queue"}},
                {{"x-amzn-RequestId", "req-q2"}});
  http_->script["SendMessage"].push_back(testing::Reply(
      403,
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error>"
      "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is "
      "invalid.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>",
      {{"x-amzn-requestid", "req-moto"}, {"Content-Type", "text/html; charset=utf-8"}}));
  // Real SQS's 403 on the JSON protocol: the query code in the header, the JSON one in __type.
  http_->Answer("DeleteMessage", 403,
                {{"__type", "com.amazon.coral.service#AccessDeniedException"},
                 {"Message", "not authorized to perform: sqs:deletemessage"}},
                {{"x-amzn-RequestId", "req-del"}, {"x-amzn-query-error", "AccessDenied;Sender"}});
  auto client = Client();

  Status both = client->DeleteMessage(kQueueUrl, "r");
  EXPECT_EQ(both.code(), StatusCode::kPermissionDenied) << both.ToString();
  EXPECT_EQ(both.error_code(), "AccessDenied");
  EXPECT_EQ(both.message(),
            "access denied: DeleteMessage sqs://thumbnails: HTTP 403 AccessDenied: not "
            "authorized to perform: sqs:deletemessage (request id req-del)");

  Status denied = client->ReceiveMessage(kQueueUrl, ReceiveOptions{}).status();
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied) << denied.ToString();
  EXPECT_EQ(denied.error_code(), "AccessDeniedException");
  EXPECT_EQ(denied.message(),
            "access denied: ReceiveMessage sqs://thumbnails: HTTP 403 AccessDeniedException: "
            "User: arn:aws:iam::123456789012:user/w is not authorized (request id req-403)");

  Status legacy = client->GetQueueUrl("nope").status();
  EXPECT_EQ(legacy.code(), StatusCode::kNotFound) << legacy.ToString();
  EXPECT_EQ(legacy.error_code(), "AWS.SimpleQueueService.NonExistentQueue");
  EXPECT_EQ(legacy.message(),
            "GetQueueUrl sqs://nope: HTTP 400 AWS.SimpleQueueService.NonExistentQueue: The "
            "specified queue does not exist. (request id req-q1)");

  Status json_only = client->GetQueueUrl("nope").status();
  EXPECT_EQ(json_only.code(), StatusCode::kNotFound) << json_only.ToString();
  EXPECT_EQ(json_only.error_code(), "QueueDoesNotExist");
  EXPECT_THAT(json_only.message(), HasSubstr("HTTP 400 QueueDoesNotExist: no queue"));
  EXPECT_THAT(json_only.message(), HasSubstr("(request id req-q2)"));

  Status bad_key = client->SendMessage(kQueueUrl, {"x", {}, 0}).status();
  EXPECT_EQ(bad_key.code(), StatusCode::kPermissionDenied) << bad_key.ToString();
  EXPECT_EQ(bad_key.error_code(), "InvalidClientTokenId");
  EXPECT_EQ(bad_key.message(),
            "access denied: SendMessage sqs://thumbnails: HTTP 403 InvalidClientTokenId: The "
            "security token included in the request is invalid. (request id req-moto)");
}

TEST_F(SqsQueueTest, PurgeInProgressIsRetryable) {
  http_->Answer("PurgeQueue", 403,
                {{"__type", "com.amazonaws.sqs#PurgeQueueInProgress"},
                 {"message", "Only one PurgeQueue operation is allowed every 60 seconds."}});
  Status s = Client()->PurgeQueue(kQueueUrl);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_TRUE(s.retryable());
}

TEST_F(SqsQueueTest, FactoryResolvesNameAndDlqFromRedrivePolicy) {
  http_->Answer("GetQueueUrl", 200, {{"QueueUrl", kQueueUrl}});
  http_->Answer("GetQueueUrl", 200, {{"QueueUrl", kDlqUrl}});
  http_->Answer(
      "GetQueueAttributes", 200,
      {{"Attributes",
        {{"RedrivePolicy",
          R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:210987654321:the-dlq","maxReceiveCount":"3"})"}}}});
  SqsQueueOptions options;
  options.endpoint = kEndpoint;
  options.queue = "thumbnails";
  auto queue = NewSqsQueue(options, http_, credentials_, &clock_);
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  EXPECT_EQ((*queue)->queue_url(), kQueueUrl);
  EXPECT_EQ((*queue)->dlq_url(), kDlqUrl);
  EXPECT_EQ(http_->Actions(),
            (std::vector<std::string>{"GetQueueUrl", "GetQueueAttributes", "GetQueueUrl"}));
  EXPECT_EQ(http_->BodyOf(0), json({{"QueueName", "thumbnails"}}));
  EXPECT_EQ(http_->BodyOf(2),
            json({{"QueueName", "the-dlq"}, {"QueueOwnerAWSAccountId", "210987654321"}}));
}

TEST_F(SqsQueueTest, FactoryTakesAnExplicitDlqAndTheEndpointFromTheUrl) {
  http_->Answer("GetQueueAttributes", 200, {{"Attributes", json::object()}});
  SqsQueueOptions options;
  options.queue = kQueueUrl;
  options.dlq = kDlqUrl;
  auto queue = NewSqsQueue(options, http_, credentials_, &clock_);
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  EXPECT_EQ((*queue)->dlq_url(), kDlqUrl);
  EXPECT_EQ((*queue)->client().endpoint(), kEndpoint);
  EXPECT_EQ(http_->Actions(), std::vector<std::string>{"GetQueueAttributes"});
}

TEST_F(SqsQueueTest, FactoryFailsForAMissingQueue) {
  http_->Answer("GetQueueUrl", 400,
                {{"__type", "com.amazonaws.sqs#QueueDoesNotExist"}, {"message", "no"}});
  SqsQueueOptions options;
  options.endpoint = kEndpoint;
  options.queue = "missing";
  EXPECT_EQ(NewSqsQueue(options, http_, credentials_, &clock_).status().code(),
            StatusCode::kNotFound);
  options.endpoint.clear();
  EXPECT_EQ(NewSqsQueue(options, http_, credentials_, &clock_).status().code(),
            StatusCode::kInvalidArgument);
  options.endpoint = "ftp://x";
  EXPECT_EQ(NewSqsQueue(options, http_, credentials_, &clock_).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SqsQueueTest, PermanentFailureMovesTheOriginalBodyToTheDlq) {
  auto queue = Queue(/*with_dlq=*/true);
  EXPECT_EQ(queue->dlq_url(), kDlqUrl);
  Message m;
  m.id = "id-1";
  m.receipt = "rh-1";
  m.body = "{\"Records\":[{\"k\":\"a b\"}]}";
  m.attributes = {{"origin", "test"}};
  m.receive_count = 2;
  m.sent_ms = 1'700'000'000'000;
  ASSERT_TRUE(queue->Fail(m, {"truncated", true, 0}).ok());
  ASSERT_EQ(http_->Actions(),
            (std::vector<std::string>{"ChangeMessageVisibility", "SendMessage", "DeleteMessage"}));
  EXPECT_EQ(http_->BodyOf(0)["ReceiptHandle"], "rh-1");
  const json sent = http_->BodyOf(1);
  EXPECT_EQ(sent["QueueUrl"], kDlqUrl);
  EXPECT_EQ(sent["MessageBody"], m.body);
  EXPECT_EQ(sent["MessageAttributes"]["thumbflow-reason"]["StringValue"], "truncated");
  EXPECT_EQ(sent["MessageAttributes"]["thumbflow-receive-count"]["StringValue"], "2");
  EXPECT_EQ(sent["MessageAttributes"]["thumbflow-sent-ms"]["StringValue"], "1700000000000");
  EXPECT_EQ(sent["MessageAttributes"]["thumbflow-message-id"]["StringValue"], "id-1");
  EXPECT_EQ(sent["MessageAttributes"]["origin"]["StringValue"], "test");
  EXPECT_EQ(http_->BodyOf(2), json({{"QueueUrl", kQueueUrl}, {"ReceiptHandle", "rh-1"}}));
}

TEST_F(SqsQueueTest, PermanentFailureKeepsTheMessageWhenTheDlqSendFails) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Fail("SendMessage", UnavailableError("down"));
  Message m;
  m.id = "id-1";
  m.receipt = "rh-1";
  m.body = "x";
  Status s = queue->Fail(m, {"corrupt", true, 0});
  EXPECT_TRUE(s.retryable()) << s.ToString();
  EXPECT_EQ(http_->Actions(), (std::vector<std::string>{"ChangeMessageVisibility", "SendMessage"}));
}

TEST_F(SqsQueueTest, PermanentFailureWithAStaleReceiptCopiesNothing) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("ChangeMessageVisibility", 400,
                {{"__type", "com.amazonaws.sqs#ReceiptHandleIsInvalid"}, {"message", "stale"}});
  Message m;
  m.id = "id-1";
  m.receipt = "old";
  m.body = "x";
  EXPECT_FALSE(queue->Fail(m, {"corrupt", true, 0}).ok());
  EXPECT_EQ(http_->Actions(), std::vector<std::string>{"ChangeMessageVisibility"});
}

TEST_F(SqsQueueTest, ReasonAlwaysFitsInTenAttributes) {
  auto queue = Queue(/*with_dlq=*/true);
  Message m;
  m.receipt = "rh";
  m.body = "x";
  for (int i = 0; i < 10; ++i) m.attributes["a" + std::to_string(i)] = "v";
  ASSERT_TRUE(queue->Fail(m, {"corrupt", true, 0}).ok());
  const json attributes = http_->BodyOf(1)["MessageAttributes"];
  EXPECT_EQ(attributes.size(), 10u);
  EXPECT_EQ(attributes["thumbflow-reason"]["StringValue"], "corrupt");
  EXPECT_TRUE(attributes.contains("thumbflow-message-id"));
}

TEST_F(SqsQueueTest, PermanentFailureWithoutDlqLeavesTheMessage) {
  auto queue = Queue(/*with_dlq=*/false);
  EXPECT_TRUE(queue->dlq_url().empty());
  Message m;
  m.id = "id-1";
  m.receipt = "rh-1";
  Status s = queue->Fail(m, {"not-an-image", true, 0});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.reason(), Reason::kNotAnImage);
  EXPECT_THAT(s.message(), HasSubstr("left to be retried"));
  EXPECT_TRUE(http_->requests().empty());
  EXPECT_EQ(queue->PurgeDeadLetters().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SqsQueueTest, TransientFailureDelaysTheNextDelivery) {
  auto queue = Queue(/*with_dlq=*/true);
  Message m;
  m.receipt = "rh-1";
  ASSERT_TRUE(queue->Fail(m, {"timeout", false, 40}).ok());
  ASSERT_TRUE(queue->Fail(m, {"timeout", false, 1'000'000}).ok());
  EXPECT_EQ(http_->Actions(),
            (std::vector<std::string>{"ChangeMessageVisibility", "ChangeMessageVisibility"}));
  EXPECT_EQ(http_->BodyOf(0)["VisibilityTimeout"], 40);
  EXPECT_EQ(http_->BodyOf(1)["VisibilityTimeout"], 43'200);
}

TEST_F(SqsQueueTest, StatsAddTheDlqCounts) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("GetQueueAttributes", 200,
                {{"Attributes",
                  {{"ApproximateNumberOfMessages", "5"},
                   {"ApproximateNumberOfMessagesNotVisible", "2"},
                   {"ApproximateNumberOfMessagesDelayed", "1"}}}});
  http_->Answer("GetQueueAttributes", 200,
                {{"Attributes",
                  {{"ApproximateNumberOfMessages", "3"},
                   {"ApproximateNumberOfMessagesNotVisible", "1"},
                   {"ApproximateNumberOfMessagesDelayed", "0"}}}});
  Result<QueueStats> stats = queue->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->visible, 5);
  EXPECT_EQ(stats->in_flight, 2);
  EXPECT_EQ(stats->delayed, 1);
  EXPECT_EQ(stats->dlq, 4);
  EXPECT_EQ(http_->BodyOf(1)["QueueUrl"], kDlqUrl);
}

TEST_F(SqsQueueTest, ListDeadLettersReadsTheReasonAndReleasesTheMessages) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer(
      "ReceiveMessage", 200,
      {{"Messages",
        {{{"MessageId", "d-1"},
          {"ReceiptHandle", "r-1"},
          {"Body", "b1"},
          {"Attributes", {{"ApproximateReceiveCount", "1"}, {"SentTimestamp", "2000"}}},
          {"MessageAttributes",
           {{"thumbflow-reason", {{"DataType", "String"}, {"StringValue", "truncated"}}},
            {"thumbflow-receive-count", {{"DataType", "String"}, {"StringValue", "1"}}},
            {"thumbflow-sent-ms", {{"DataType", "String"}, {"StringValue", "1000"}}},
            {"origin", {{"DataType", "String"}, {"StringValue", "o"}}}}}},
         {{"MessageId", "d-2"},
          {"ReceiptHandle", "r-2"},
          {"Body", "b2"},
          {"Attributes", {{"ApproximateReceiveCount", "4"}, {"SentTimestamp", "500"}}}}}}});
  http_->Answer("ReceiveMessage", 200, json::object());
  Result<std::vector<DeadLetter>> letters = queue->ListDeadLetters(100);
  ASSERT_TRUE(letters.ok()) << letters.status().ToString();
  ASSERT_EQ(letters->size(), 2u);
  EXPECT_EQ((*letters)[0].id, "d-1");
  EXPECT_EQ((*letters)[0].body, "b1");
  EXPECT_EQ((*letters)[0].reason, "truncated");
  EXPECT_EQ((*letters)[0].receive_count, 1);
  EXPECT_EQ((*letters)[0].sent_ms, 1000);
  EXPECT_EQ((*letters)[0].dead_ms, 2000);
  EXPECT_EQ((*letters)[0].attributes, (MessageAttributes{{"origin", "o"}}));
  EXPECT_EQ((*letters)[1].reason, ReasonName(Reason::kMaxReceives));
  EXPECT_EQ((*letters)[1].receive_count, 3);
  EXPECT_EQ((*letters)[1].sent_ms, 500);
  ASSERT_EQ(http_->Actions(), (std::vector<std::string>{"ReceiveMessage", "ReceiveMessage",
                                                        "ChangeMessageVisibilityBatch"}));
  EXPECT_EQ(http_->BodyOf(0)["QueueUrl"], kDlqUrl);
  EXPECT_EQ(http_->BodyOf(0)["VisibilityTimeout"], 10);
  EXPECT_EQ(http_->BodyOf(0)["WaitTimeSeconds"], 1);
  const json released = http_->BodyOf(2)["Entries"];
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(released[0]["ReceiptHandle"], "r-1");
  EXPECT_EQ(released[0]["VisibilityTimeout"], 0);
}

// The walk holds what it has seen for 10 s at a time, extended (not received again) while
// it lasts, and a stop request ends it before the next receive with everything released.
TEST_F(SqsQueueTest, ListDeadLettersExtendsItsHoldsAndStopsOnRequest) {
  auto queue = Queue(/*with_dlq=*/true);
  for (const char* id : {"1", "2", "3"}) {
    http_->Answer("ReceiveMessage", 200,
                  {{"Messages",
                    {{{"MessageId", std::string("d-") + id},
                      {"ReceiptHandle", std::string("r-") + id},
                      {"Body", "b"}}}}});
  }
  std::atomic<bool> stop{false};
  queue->SetScanStop(&stop);
  int receives = 0;
  auto scripted = http_->respond;
  http_->respond = [&](const HttpRequest& request) {
    if (FindHeader(request.headers, "X-Amz-Target")->ends_with("ReceiveMessage")) {
      clock_.AdvanceSeconds(3);               // each page takes 3 s
      if (++receives == 3) stop.store(true);  // Ctrl-C during the third page
    }
    return scripted(request);
  };
  Result<std::vector<DeadLetter>> letters = queue->ListDeadLetters(100);
  ASSERT_FALSE(letters.ok());
  EXPECT_EQ(letters.status().code(), StatusCode::kAborted) << letters.status().ToString();
  ASSERT_EQ(
      http_->Actions(),
      (std::vector<std::string>{"ReceiveMessage", "ReceiveMessage", "ChangeMessageVisibilityBatch",
                                "ReceiveMessage", "ChangeMessageVisibilityBatch"}));
  // 6 s after the start (half of the 10 s passed): the two held messages extended.
  const json extended = http_->BodyOf(2)["Entries"];
  ASSERT_EQ(extended.size(), 2u);
  EXPECT_EQ(extended[0]["ReceiptHandle"], "r-1");
  EXPECT_EQ(extended[1]["VisibilityTimeout"], 10);
  const json released = http_->BodyOf(4)["Entries"];
  ASSERT_EQ(released.size(), 3u);
  EXPECT_EQ(released[2]["ReceiptHandle"], "r-3");
  EXPECT_EQ(released[2]["VisibilityTimeout"], 0);
}

TEST_F(SqsQueueTest, RedriveSendsTheOriginalAndDeletesTheDeadLetter) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("ReceiveMessage", 200,
                {{"Messages",
                  {{{"MessageId", "d-1"},
                    {"ReceiptHandle", "r-1"},
                    {"Body", "b1"},
                    {"MessageAttributes",
                     {{"thumbflow-reason", {{"DataType", "String"}, {"StringValue", "truncated"}}},
                      {"origin", {{"DataType", "String"}, {"StringValue", "o"}}}}}},
                   {{"MessageId", "d-2"}, {"ReceiptHandle", "r-2"}, {"Body", "b2"}}}}});
  Result<int64_t> moved = queue->Redrive({"d-1"});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, 1);
  ASSERT_EQ(http_->Actions(),
            (std::vector<std::string>{"ReceiveMessage", "SendMessage", "DeleteMessage",
                                      "ChangeMessageVisibilityBatch"}));
  EXPECT_EQ(
      http_->BodyOf(1),
      json({{"QueueUrl", kQueueUrl},
            {"MessageBody", "b1"},
            {"MessageAttributes", {{"origin", {{"DataType", "String"}, {"StringValue", "o"}}}}}}));
  EXPECT_EQ(http_->BodyOf(2), json({{"QueueUrl", kDlqUrl}, {"ReceiptHandle", "r-1"}}));
  EXPECT_EQ(http_->BodyOf(3)["Entries"][0]["ReceiptHandle"], "r-2");
}

// A stop request (Ctrl-C) during a redrive by copy: the message in hand is finished (sent,
// then deleted from the DLQ), the rest of the page is not touched and given back at once,
// and the result counts what was moved.
TEST_F(SqsQueueTest, RedriveByCopyStopsAfterTheMessageInHand) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("ReceiveMessage", 200,
                {{"Messages",
                  {{{"MessageId", "d-1"}, {"ReceiptHandle", "r-1"}, {"Body", "b1"}},
                   {{"MessageId", "d-2"}, {"ReceiptHandle", "r-2"}, {"Body", "b2"}},
                   {{"MessageId", "d-3"}, {"ReceiptHandle", "r-3"}, {"Body", "b3"}}}}});
  std::atomic<bool> stop{false};
  queue->SetScanStop(&stop);
  auto scripted = http_->respond;
  http_->respond = [&](const HttpRequest& request) {
    if (FindHeader(request.headers, "X-Amz-Target")->ends_with("SendMessage")) {
      stop.store(true);  // Ctrl-C while the first message is being sent
    }
    return scripted(request);
  };
  auto moved = queue->RedriveAll(SqsQueue::RedriveMethod::kCopy, nullptr);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->method, "copy");
  EXPECT_EQ(moved->moved, 1);
  EXPECT_EQ(moved->interrupted.code(), StatusCode::kAborted) << moved->interrupted.ToString();
  EXPECT_THAT(moved->interrupted.message(), HasSubstr("interrupted"));
  ASSERT_EQ(http_->Actions(),
            (std::vector<std::string>{"ReceiveMessage", "SendMessage", "DeleteMessage",
                                      "ChangeMessageVisibilityBatch"}));
  EXPECT_EQ(http_->BodyOf(2)["ReceiptHandle"], "r-1");
  const json released = http_->BodyOf(3)["Entries"];
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(released[0]["ReceiptHandle"], "r-2");
  EXPECT_EQ(released[1]["ReceiptHandle"], "r-3");
  EXPECT_EQ(released[1]["VisibilityTimeout"], 0);
}

// `dlq redrive --all` on SQS: the message-move task, polled until it completes.
TEST_F(SqsQueueTest, RedriveAllStartsAMessageMoveTaskAndWaitsForIt) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer(
      "GetQueueAttributes", 200,
      {{"Attributes", {{"QueueArn", "arn:aws:sqs:us-east-1:123456789012:thumbnails-dlq"}}}});
  http_->Answer("GetQueueAttributes", 200,
                {{"Attributes", {{"QueueArn", "arn:aws:sqs:us-east-1:123456789012:thumbnails"}}}});
  http_->Answer("StartMessageMoveTask", 200, {{"TaskHandle", "h-1"}});
  http_->Answer("ListMessageMoveTasks", 200,
                {{"Results",
                  {{{"Status", "RUNNING"},
                    {"TaskHandle", "h-1"},
                    {"ApproximateNumberOfMessagesMoved", 1}}}}});
  http_->Answer(
      "ListMessageMoveTasks", 200,
      {{"Results", {{{"Status", "COMPLETED"}, {"ApproximateNumberOfMessagesMoved", 3}}}}});
  int pauses = 0;
  auto moved = queue->RedriveAll(SqsQueue::RedriveMethod::kAuto, [&] { ++pauses; });
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->method, "message-move-task");
  EXPECT_EQ(moved->task_handle, "h-1");
  EXPECT_EQ(moved->moved, 3);
  EXPECT_EQ(moved->fallback, "");
  EXPECT_EQ(pauses, 1);
  ASSERT_EQ(
      http_->Actions(),
      (std::vector<std::string>{"GetQueueAttributes", "GetQueueAttributes", "StartMessageMoveTask",
                                "ListMessageMoveTasks", "ListMessageMoveTasks"}));
  EXPECT_EQ(http_->BodyOf(2),
            json({{"SourceArn", "arn:aws:sqs:us-east-1:123456789012:thumbnails-dlq"},
                  {"DestinationArn", "arn:aws:sqs:us-east-1:123456789012:thumbnails"}}));
  EXPECT_EQ(http_->BodyOf(3)["SourceArn"], "arn:aws:sqs:us-east-1:123456789012:thumbnails-dlq");
}

TEST_F(SqsQueueTest, RedriveAllReportsAFailedTask) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("GetQueueAttributes", 200, {{"Attributes", {{"QueueArn", "arn:dlq"}}}});
  http_->Answer("GetQueueAttributes", 200, {{"Attributes", {{"QueueArn", "arn:q"}}}});
  http_->Answer("StartMessageMoveTask", 200, {{"TaskHandle", "h-1"}});
  http_->Answer("ListMessageMoveTasks", 200,
                {{"Results",
                  {{{"Status", "FAILED"},
                    {"ApproximateNumberOfMessagesMoved", 2},
                    {"FailureReason", "AWS.SimpleQueueService.NonExistentQueue"}}}}});
  auto moved = queue->RedriveAll(SqsQueue::RedriveMethod::kAuto, nullptr);
  ASSERT_FALSE(moved.ok());
  EXPECT_THAT(moved.status().message(), HasSubstr("FAILED after moving 2 messages"));
  EXPECT_THAT(moved.status().message(), HasSubstr("NonExistentQueue"));
  // A task that started is never copied over.
  for (const std::string& action : http_->Actions()) EXPECT_NE(action, "ReceiveMessage");
}

TEST_F(SqsQueueTest, RedriveAllCopiesWhenSqsRefusesTheTask) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("GetQueueAttributes", 200, {{"Attributes", {{"QueueArn", "arn:dlq"}}}});
  http_->Answer("GetQueueAttributes", 200, {{"Attributes", {{"QueueArn", "arn:q"}}}});
  http_->Answer(
      "StartMessageMoveTask", 400,
      {{"__type", "com.amazonaws.sqs#UnsupportedOperation"}, {"message", "not supported"}});
  http_->Answer("ReceiveMessage", 200,
                {{"Messages", {{{"MessageId", "d-1"}, {"ReceiptHandle", "r-1"}, {"Body", "b1"}}}}});
  http_->Answer("ReceiveMessage", 200, json::object());
  auto moved = queue->RedriveAll(SqsQueue::RedriveMethod::kAuto, nullptr);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->method, "copy");
  EXPECT_EQ(moved->moved, 1);
  EXPECT_THAT(moved->fallback, HasSubstr("not supported"));
  const std::vector<std::string> actions = http_->Actions();
  const auto send = std::find(actions.begin(), actions.end(), "SendMessage");
  const auto remove = std::find(actions.begin(), actions.end(), "DeleteMessage");
  ASSERT_NE(send, actions.end());
  ASSERT_NE(remove, actions.end());
  EXPECT_LT(send, remove);  // sent to the queue before it leaves the DLQ
}

TEST_F(SqsQueueTest, RedriveAllWithTheTaskOnlyFailsWhenRefused) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("GetQueueAttributes", 200, {{"Attributes", {{"QueueArn", "arn:dlq"}}}});
  http_->Answer("GetQueueAttributes", 200, {{"Attributes", {{"QueueArn", "arn:q"}}}});
  http_->Answer("StartMessageMoveTask", 400,
                {{"__type", "com.amazonaws.sqs#UnsupportedOperation"}, {"message", "no"}});
  auto moved = queue->RedriveAll(SqsQueue::RedriveMethod::kMoveTask, nullptr);
  ASSERT_FALSE(moved.ok());
  for (const std::string& action : http_->Actions()) EXPECT_NE(action, "ReceiveMessage");
}

TEST_F(SqsQueueTest, DeadLetterDepthIsTheDlqsOwnCounts) {
  auto queue = Queue(/*with_dlq=*/true);
  http_->Answer("GetQueueAttributes", 200,
                {{"Attributes",
                  {{"ApproximateNumberOfMessages", "3"},
                   {"ApproximateNumberOfMessagesNotVisible", "1"},
                   {"ApproximateNumberOfMessagesDelayed", "2"}}}});
  Result<QueueStats> depth = queue->DeadLetterDepth();
  ASSERT_TRUE(depth.ok()) << depth.status().ToString();
  EXPECT_EQ(depth->visible, 3);
  EXPECT_EQ(depth->in_flight, 1);
  EXPECT_EQ(depth->delayed, 2);
  EXPECT_EQ(http_->BodyOf(0)["QueueUrl"], kDlqUrl);
  EXPECT_FALSE(Queue(/*with_dlq=*/false)->DeadLetterDepth().ok());
}

TEST(SqsArnTest, ParsesQueueArns) {
  auto parsed = ParseSqsQueueArn("arn:aws:sqs:eu-west-1:123456789012:thumbnails-dlq");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->first, "123456789012");
  EXPECT_EQ(parsed->second, "thumbnails-dlq");
  EXPECT_TRUE(ParseSqsQueueArn("arn:aws-cn:sqs:cn-north-1:1:q").ok());
  EXPECT_FALSE(ParseSqsQueueArn("arn:aws:sns:us-east-1:1:q").ok());
  EXPECT_FALSE(ParseSqsQueueArn("arn:aws:sqs:us-east-1:1").ok());
  EXPECT_FALSE(ParseSqsQueueArn("arn:aws:sqs:us-east-1:1:q:extra").ok());
  EXPECT_FALSE(ParseSqsQueueArn("").ok());
}

}  // namespace
}  // namespace thumbflow::aws
