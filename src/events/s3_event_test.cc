#include "events/s3_event.h"

#include <string>

#include <gtest/gtest.h>

namespace thumbflow {
namespace {

// The s3:ObjectCreated:Put example of AWS's "Event message structure" page
// (docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
constexpr char kAwsDocPutExample[] = R"({
   "Records":[
      {
         "eventVersion":"2.1",
         "eventSource":"aws:s3",
         "awsRegion":"us-west-2",
         "eventTime":"1970-01-01T00:00:00.000Z",
         "eventName":"ObjectCreated:Put",
         "userIdentity":{
            "principalId":"AIDAJDPLRKLG7UEXAMPLE"
         },
         "requestParameters":{
            "sourceIPAddress":"127.0.0.1"
         },
         "responseElements":{
            "x-amz-request-id":"C3D13FE58DE4C810",
            "x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
         },
         "s3":{
            "s3SchemaVersion":"1.0",
            "configurationId":"testConfigRule",
            "bucket":{
               "name":"mybucket",
               "ownerIdentity":{
                  "principalId":"A3NL1KOZZKExample"
               },
               "arn":"arn:aws:s3:::mybucket"
            },
            "object":{
               "key":"HappyFace.jpg",
               "size":1024,
               "eTag":"d41d8cd98f00b204e9800998ecf8427e",
               "versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko",
               "sequencer":"0055AED6DCD90281E5"
            }
         }
      }
   ]
})";

// The test message of the same page.
constexpr char kAwsDocTestEvent[] = R"({
   "Service":"Amazon S3",
   "Event":"s3:TestEvent",
   "Time":"2014-10-13T15:57:02.089Z",
   "Bucket":"bucketname",
   "RequestId":"5582815E1AEA5ADF",
   "HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"
})";

// Captured from moto_server 5.2.1 after PutObject of "uploads/my photo+1 %/ünï/x~(1).jpg"
// into a bucket whose uploads/ prefix notifies an SQS queue. moto encodes '/' as %2F, omits
// userIdentity/requestParameters/responseElements/sequencer, and writes a local time with
// microseconds and no zone.
constexpr char kMotoPutBody[] =
    R"({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", )"
    R"("eventTime": "2026-11-27T07:21:02.530231", "eventName": "ObjectCreated:Put", "s3": )"
    R"({"s3SchemaVersion": "1.0", "configurationId": "thumbs", "bucket": {"name": "images", )"
    R"("arn": "arn:aws:s3:::images"}, "object": {"key": )"
    R"("uploads%2Fmy+photo%2B1+%25%2F%C3%BCn%C3%AF%2Fx~%281%29.jpg", "size": 5, )"
    R"("eTag": "5d41402abc4b2a76b9719d911017c592"}}}]})";
constexpr char kMotoTestBody[] =
    R"({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-27T07:21:02.510810", )"
    R"("Bucket": "images"})";

std::string Minify(std::string_view json) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < json.size()) {
        out.push_back(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

void ExpectNotAnEvent(std::string_view body) {
  Result<S3Event> event = ParseS3Event(body);
  ASSERT_FALSE(event.ok()) << body;
  EXPECT_EQ(event.status().code(), StatusCode::kInvalidArgument) << event.status().ToString();
  EXPECT_EQ(event.status().reason(), Reason::kNotAnEvent);
  EXPECT_FALSE(event.status().retryable());
}

TEST(ParseS3EventTest, AwsDocumentationExample) {
  Result<S3Event> event = ParseS3Event(kAwsDocPutExample);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_FALSE(event->test_event);
  ASSERT_EQ(event->records.size(), 1u);
  const S3EventRecord& r = event->records[0];
  EXPECT_EQ(r.event_version, "2.1");
  EXPECT_EQ(r.event_source, "aws:s3");
  EXPECT_EQ(r.aws_region, "us-west-2");
  EXPECT_EQ(r.event_time, "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(r.event_time_ms, 0);
  EXPECT_EQ(r.event_name, "ObjectCreated:Put");
  EXPECT_EQ(r.principal_id, "AIDAJDPLRKLG7UEXAMPLE");
  EXPECT_EQ(r.source_ip, "127.0.0.1");
  EXPECT_EQ(r.request_id, "C3D13FE58DE4C810");
  EXPECT_EQ(r.host_id, "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD");
  EXPECT_EQ(r.configuration_id, "testConfigRule");
  EXPECT_EQ(r.bucket, "mybucket");
  EXPECT_EQ(r.bucket_owner, "A3NL1KOZZKExample");
  EXPECT_EQ(r.bucket_arn, "arn:aws:s3:::mybucket");
  EXPECT_EQ(r.key, "HappyFace.jpg");
  EXPECT_EQ(r.size, 1024);
  EXPECT_EQ(r.etag, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(r.version_id, "096fKKXTRTtl3on89fVO.nfljtsv6qko");
  EXPECT_EQ(r.sequencer, "0055AED6DCD90281E5");
}

TEST(BuildS3EventTest, ReproducesAwsDocumentationExampleByteForByte) {
  Result<S3Event> event = ParseS3Event(kAwsDocPutExample);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(BuildS3Event(event->records), Minify(kAwsDocPutExample));
}

TEST(BuildS3EventTest, DefaultsDescribeAPut) {
  S3EventRecord r;
  r.bucket = "images";
  r.key = "uploads/a b.jpg";
  r.size = 7;
  r.etag = "abc";
  r.event_time_ms = 1'700'000'000'123;
  EXPECT_EQ(BuildS3Event({r}),
            R"({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",)"
            R"("eventTime":"2023-11-14T22:13:20.123Z","eventName":"ObjectCreated:Put",)"
            R"("userIdentity":{"principalId":""},"requestParameters":{"sourceIPAddress":""},)"
            R"("responseElements":{"x-amz-request-id":"","x-amz-id-2":""},"s3":{)"
            R"("s3SchemaVersion":"1.0","configurationId":"","bucket":{"name":"images",)"
            R"("ownerIdentity":{"principalId":""},"arn":"arn:aws:s3:::images"},"object":{)"
            R"("key":"uploads/a+b.jpg","size":7,"eTag":"abc","sequencer":""}}}]})");
}

TEST(ParseS3EventTest, AwsDocumentationTestEvent) {
  Result<S3Event> event = ParseS3Event(kAwsDocTestEvent);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_TRUE(event->test_event);
  EXPECT_EQ(event->test_bucket, "bucketname");
  EXPECT_TRUE(event->records.empty());
}

TEST(ParseS3EventTest, MotoBodyDecodesPercentEncodedSlashes) {
  Result<S3Event> event = ParseS3Event(kMotoPutBody);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  ASSERT_EQ(event->records.size(), 1u);
  const S3EventRecord& r = event->records[0];
  EXPECT_EQ(r.bucket, "images");
  EXPECT_EQ(r.key, "uploads/my photo+1 %/\xC3\xBCn\xC3\xAF/x~(1).jpg");
  EXPECT_EQ(r.size, 5);
  EXPECT_EQ(r.etag, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(r.configuration_id, "thumbs");
  EXPECT_EQ(r.event_time, "2026-11-27T07:21:02.530231");
  EXPECT_EQ(r.event_time_ms, *ParseIso8601Millis("2026-11-27T07:21:02.530Z"));
  EXPECT_TRUE(r.sequencer.empty());
  EXPECT_TRUE(r.principal_id.empty());
}

TEST(ParseS3EventTest, MotoTestEvent) {
  Result<S3Event> event = ParseS3Event(kMotoTestBody);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_TRUE(event->test_event);
  EXPECT_EQ(event->test_bucket, "images");
}

TEST(ParseS3EventTest, SeveralRecordsInOrder) {
  S3EventRecord a;
  a.bucket = "b";
  a.key = "uploads/1.jpg";
  S3EventRecord b = a;
  b.key = "uploads/2.jpg";
  b.event_name = "ObjectRemoved:Delete";
  S3EventRecord c = a;
  c.key = "uploads/3.jpg";
  Result<S3Event> event = ParseS3Event(BuildS3Event({a, b, c}));
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  ASSERT_EQ(event->records.size(), 3u);
  EXPECT_EQ(event->records[0].key, "uploads/1.jpg");
  EXPECT_EQ(event->records[1].key, "uploads/2.jpg");
  EXPECT_EQ(event->records[1].event_name, "ObjectRemoved:Delete");
  EXPECT_EQ(event->records[2].key, "uploads/3.jpg");
}

TEST(ParseS3EventTest, RoundTripKeepsEveryField) {
  const std::string keys[] = {
      "uploads/plain.jpg",
      "uploads/with space.jpg",
      "uploads/plus+sign.jpg",
      "uploads/100% sure.png",
      "uploads/%2F literally.png",
      "uploads/deep/er/\xE5\x86\x99\xE7\x9C\x9F \xF0\x9F\x93\xB7.heic",
      "uploads/a+b c%20d~e(f)!'*,;:@&=$#?.gif",
      "/leading/and/trailing/",
      "uploads/tab\tand\nnewline.jpg",
  };
  for (const std::string& key : keys) {
    S3EventRecord r;
    r.aws_region = "eu-west-1";
    r.event_time_ms = 1'735'689'600'007;
    r.event_time = FormatIso8601Millis(r.event_time_ms);
    r.event_name = "ObjectCreated:CompleteMultipartUpload";
    r.principal_id = "AWS:AIDAEXAMPLE";
    r.source_ip = "10.0.0.1";
    r.request_id = "REQ";
    r.host_id = "HOST/ID+=";
    r.configuration_id = "thumbs";
    r.bucket = "images";
    r.bucket_owner = "OWNER";
    r.bucket_arn = "arn:aws:s3:::images";
    r.key = key;
    r.size = 12'345'678'901;
    r.etag = "0123456789abcdef0123456789abcdef-3";
    r.version_id = "v1";
    r.sequencer = "0055AED6DCD90281E5";
    Result<S3Event> event = ParseS3Event(BuildS3Event({r}));
    ASSERT_TRUE(event.ok()) << key << ": " << event.status().ToString();
    ASSERT_EQ(event->records.size(), 1u);
    EXPECT_EQ(event->records[0], r) << key;
  }
}

TEST(ParseS3EventTest, IgnoresUnknownFieldsAndAcceptsLaterVersions) {
  constexpr char kBody[] = R"({"Records":[{"eventVersion":"2.3","eventSource":"aws:s3",
    "eventTime":"2024-02-29T23:59:59Z","eventName":"LifecycleExpiration:Delete",
    "glacierEventData":{"restoreEventData":{}}, "newField":[1,2,3],
    "s3":{"bucket":{"name":"b","extra":true},"object":{"key":"k","size":"42","new":null}}}],
    "somethingElse":1})";
  Result<S3Event> event = ParseS3Event(kBody);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  ASSERT_EQ(event->records.size(), 1u);
  EXPECT_EQ(event->records[0].event_version, "2.3");
  EXPECT_EQ(event->records[0].size, 42);
  EXPECT_EQ(event->records[0].event_time_ms, 1'709'251'199'000);
  EXPECT_TRUE(event->records[0].aws_region.empty());
}

TEST(ParseS3EventTest, SnsWrappedNotification) {
  std::string inner = Minify(kAwsDocPutExample);
  std::string escaped;
  for (char c : inner) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  const std::string body = R"({"Type":"Notification","MessageId":"m","TopicArn":"arn:t",)"
                           R"("Message":")" +
                           escaped + R"("})";
  Result<S3Event> event = ParseS3Event(body);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  ASSERT_EQ(event->records.size(), 1u);
  EXPECT_EQ(event->records[0].key, "HappyFace.jpg");
}

TEST(ParseS3EventTest, SnsWrappingOnlyOneLevelDeep) {
  const std::string body =
      R"({"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"})";
  ExpectNotAnEvent(body);
}

TEST(ParseS3EventTest, EventBridgeObjectCreated) {
  constexpr char kBody[] = R"({"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type":"Object Created","source":"aws.s3","account":"111122223333",
    "time":"2021-11-12T00:00:00Z","region":"ca-central-1",
    "resources":["arn:aws:s3:::example-bucket"],
    "detail":{"version":"0","bucket":{"name":"example-bucket"},
      "object":{"key":"uploads/a b+c.jpg","size":5,"etag":"b1946ac92492d2347c6235b4d2611184",
                "version-id":"IYV3p45BT0ac8hjHg1houSdS1a.Mro8e","sequencer":"617f08299329d189"},
      "request-id":"N4N7GDK58NMKJ12R","requester":"123456789012",
      "source-ip-address":"1.2.3.4","reason":"PutObject"}})";
  Result<S3Event> event = ParseS3Event(kBody);
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  ASSERT_EQ(event->records.size(), 1u);
  const S3EventRecord& r = event->records[0];
  EXPECT_EQ(r.event_name, "ObjectCreated:Put");
  EXPECT_EQ(r.bucket, "example-bucket");
  EXPECT_EQ(r.key, "uploads/a b+c.jpg");  // EventBridge keys are not encoded
  EXPECT_EQ(r.size, 5);
  EXPECT_EQ(r.etag, "b1946ac92492d2347c6235b4d2611184");
  EXPECT_EQ(r.aws_region, "ca-central-1");
  EXPECT_EQ(r.event_time_ms, 1'636'675'200'000);
}

TEST(ParseS3EventTest, MalformedInputIsAPermanentError) {
  const std::string cases[] = {
      "",
      "not json",
      "{",
      "[]",
      "null",
      "42",
      R"("Records")",
      "{}",
      R"({"Records":{}})",
      R"({"Records":[]})",
      R"({"Records":[1]})",
      R"({"Records":[{}]})",
      R"({"Event":"s3:SomethingElse"})",
      R"({"Event":7})",
      R"({"source":"aws.s3","detail-type":"Object Tags Added","time":"2021-11-12T00:00:00Z"})",
      R"({"Type":"Notification","Message":"not json"})",
      "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"key\":\"\xff\"}]}",
  };
  for (const std::string& body : cases) ExpectNotAnEvent(body);
}

// A valid record with one field replaced; each must fail on its own.
std::string RecordWith(std::string_view field, std::string_view value) {
  std::string version = R"("2.1")", source = R"("aws:s3")", time = R"("2024-01-01T00:00:00Z")",
              name = R"("ObjectCreated:Put")", bucket = R"("b")", key = R"("k")", size = "1";
  if (field == "eventVersion") version = value;
  if (field == "eventSource") source = value;
  if (field == "eventTime") time = value;
  if (field == "eventName") name = value;
  if (field == "bucket") bucket = value;
  if (field == "key") key = value;
  if (field == "size") size = value;
  auto member = [](std::string_view n, const std::string& v) {
    return v.empty() ? std::string() : "\"" + std::string(n) + "\":" + v + ",";
  };
  return R"({"Records":[{)" + member("eventVersion", version) + member("eventSource", source) +
         member("eventTime", time) + member("eventName", name) + R"("s3":{"bucket":{)" +
         member("name", bucket) + R"("x":0},"object":{)" + member("key", key) +
         member("size", size) + R"("x":0}}}]})";
}

TEST(ParseS3EventTest, MissingOrMistypedRequiredFields) {
  ASSERT_TRUE(ParseS3Event(RecordWith("", "")).ok()) << RecordWith("", "");
  const std::pair<const char*, const char*> cases[] = {
      {"eventVersion", ""},
      {"eventVersion", R"("1.0")"},
      {"eventVersion", "2.1"},
      {"eventVersion", R"("20")"},
      {"eventSource", ""},
      {"eventSource", R"("aws:sqs")"},
      {"eventTime", ""},
      {"eventTime", R"("yesterday")"},
      {"eventTime", R"("2024-13-01T00:00:00Z")"},
      {"eventTime", R"("2024-01-01T00:00:00.Z")"},
      {"eventTime", R"("2024-01-01T00:00:00+0100")"},
      {"eventName", ""},
      {"eventName", R"("")"},
      {"eventName", "[]"},
      {"bucket", ""},
      {"bucket", "{}"},
      {"key", ""},
      {"key", R"("")"},
      {"key", "5"},
      {"key", R"("a%2")"},
      {"key", R"("a%zz")"},
      {"key", R"("%")"},
      {"key", R"("%C3")"},
      {"key", R"("%FF%FE")"},
      {"size", "-1"},
      {"size", R"("12x")"},
      {"size", "1.5"},
  };
  for (const auto& [field, value] : cases) {
    SCOPED_TRACE(std::string(field) + "=" + value);
    ExpectNotAnEvent(RecordWith(field, value));
  }
}

TEST(ParseS3EventTest, NeverCrashesOnHostileInput) {
  ExpectNotAnEvent(std::string(200'000, '[') + std::string(200'000, ']'));
  ExpectNotAnEvent(std::string(100'000, '{'));
  ExpectNotAnEvent(R"({"Records":[{"eventVersion":"2.1"}]})" + std::string(1000, '\0'));
  // Every prefix of a valid message is either a valid message or a permanent error.
  const std::string body = Minify(kAwsDocPutExample);
  for (size_t n = 0; n < body.size(); ++n) {
    Result<S3Event> event = ParseS3Event(std::string_view(body).substr(0, n));
    ASSERT_FALSE(event.ok()) << n;
    ASSERT_EQ(event.status().reason(), Reason::kNotAnEvent);
  }
}

TEST(UrlS3KeyTest, EncodesAsS3Does) {
  EXPECT_EQ(UrlEncodeS3Key("uploads/a b+c%d.jpg"), "uploads/a+b%2Bc%25d.jpg");
  EXPECT_EQ(UrlEncodeS3Key("x~(1)!'=,&"), "x%7E%281%29%21%27%3D%2C%26");
  EXPECT_EQ(UrlEncodeS3Key("-_.*/"), "-_.*/");
  EXPECT_EQ(UrlEncodeS3Key("\xC3\xBC"), "%C3%BC");
}

TEST(UrlS3KeyTest, DecodesBothSlashForms) {
  EXPECT_EQ(*UrlDecodeS3Key("uploads/a+b%2Bc.jpg"), "uploads/a b+c.jpg");
  EXPECT_EQ(*UrlDecodeS3Key("uploads%2Fa%2fb"), "uploads/a/b");
  EXPECT_EQ(*UrlDecodeS3Key("%c3%bc%C3%BC"), "\xC3\xBC\xC3\xBC");
  EXPECT_EQ(*UrlDecodeS3Key(""), "");
  EXPECT_FALSE(UrlDecodeS3Key("%").ok());
  EXPECT_FALSE(UrlDecodeS3Key("%4").ok());
  EXPECT_FALSE(UrlDecodeS3Key("%G0").ok());
  EXPECT_FALSE(UrlDecodeS3Key("%C0%AF").ok());     // overlong '/'
  EXPECT_FALSE(UrlDecodeS3Key("%ED%A0%80").ok());  // surrogate
}

TEST(Iso8601Test, FormatsWithMilliseconds) {
  EXPECT_EQ(FormatIso8601Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601Millis(1'413'215'822'089), "2014-10-13T15:57:02.089Z");
  EXPECT_EQ(FormatIso8601Millis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso8601Millis(951'782'400'000), "2000-02-29T00:00:00.000Z");
  for (int64_t ms : {int64_t{0}, int64_t{1'709'251'199'999}, int64_t{4'102'444'800'001}}) {
    EXPECT_EQ(*ParseIso8601Millis(FormatIso8601Millis(ms)), ms);
  }
}

TEST(BuildS3TestEventTest, ParsesBackAsATestEvent) {
  const std::string body = BuildS3TestEvent("images", 1'413'215'822'089);
  EXPECT_EQ(body, R"({"Service":"Amazon S3","Event":"s3:TestEvent",)"
                  R"("Time":"2014-10-13T15:57:02.089Z","Bucket":"images"})");
  Result<S3Event> event = ParseS3Event(body);
  ASSERT_TRUE(event.ok());
  EXPECT_TRUE(event->test_event);
  EXPECT_EQ(event->test_bucket, "images");
}

TEST(BuildS3EventTest, InvalidUtf8IsReplacedNotThrown) {
  S3EventRecord r;
  r.bucket = "b\xff";
  r.key = "k";
  const std::string body = BuildS3Event({r});
  EXPECT_NE(body.find("b\xEF\xBF\xBD"), std::string::npos);
}

}  // namespace
}  // namespace thumbflow
