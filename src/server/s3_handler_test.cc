// S3Handler driven directly (no sockets): requests are built, SigV4-signed with the shared
// signer and fed through Begin / OnBody / Finish, over the streaming adapter on the in-memory
// store.
#include "server/s3_handler.h"
#include "core/strings.h"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <algorithm>
#include <filesystem>

#include "aws/checksums.h"
#include "aws/sigv2.h"
#include "aws/sigv4.h"
#include "core/clock.h"
#include "core/testing/temp_dir.h"
#include "server/s3_protocol.h"
#include "storage/etag.h"
#include "storage/local_store.h"
#include "storage/memory_store.h"
#include "storage/testing/streaming_adapter.h"

namespace thumbflow::server {
namespace {

constexpr char kAccessKey[] = "TFTESTKEY";
constexpr char kSecret[] = "tf-unit-test-secret";
constexpr char kHost[] = "127.0.0.1:9000";

struct Response {
  int status = 0;
  HeaderList headers;
  std::string body;
  bool head = false;

  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (EqualsIgnoreCase(k, name)) return v;
    }
    return "";
  }
  // The <Code> of an S3 error body; empty when there is none.
  std::string Code() const { return ErrorElement("Code"); }
  std::string ErrorElement(const char* name) const {
    pugi::xml_document doc;
    if (!doc.load_buffer(body.data(), body.size())) return "";
    return doc.child("Error").child_value(name);
  }
};

struct Request {
  std::string method = "GET";
  std::string target = "/";  // as on the wire (percent-encoded)
  std::string host = kHost;
  std::string body;
  HeaderList headers;
  bool sign = true;
  std::string secret = kSecret;
  std::string access_key = kAccessKey;
  bool declare_length = true;  // false: chunked transfer encoding, no length
  size_t piece = 7;            // the body arrives in pieces of this size
};

class S3HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    options_.access_key_id = kAccessKey;
    options_.secret_access_key = kSecret;
    options_.min_part_bytes = 5;
    options_.max_put_bytes = 1000;
    Restart();
  }

  void Restart() {
    handler_.reset();
    backend_ = std::make_unique<testing::StreamingAdapter>(
        &store_, dir_.path(), std::vector<std::string>{"images", "other"},
        [this](const std::string& bucket) { return store_.CreateBucket(bucket); }, &clock_);
    handler_ = std::make_unique<S3Handler>(options_, backend_.get(), &clock_, nullptr);
  }

  // The head of `req` as a client would send it: Host, and the SigV4 headers unless
  // req.sign is false.
  HttpRequestHead Head(const Request& req) {
    HttpRequestHead head;
    head.method = req.method;
    head.target = req.target;
    head.headers = req.headers;
    head.headers.emplace_back("Host", req.host);
    Result<aws::RequestTarget> target = aws::ParseRequestTarget(req.target);
    if (!req.sign || !target.ok()) return head;
    aws::SignableRequest signable;
    signable.method = req.method;
    signable.path = target->path;
    signable.query = target->query;
    signable.headers.assign(head.headers.begin(), head.headers.end());
    signable.payload_hash = Sha256Hex(req.body);
    aws::Credentials credentials;
    credentials.access_key_id = req.access_key;
    credentials.secret_access_key = req.secret;
    aws::Signer signer;
    EXPECT_TRUE(
        signer.Sign(signable, credentials, aws::S3SigningParams("us-east-1", clock_.NowMillis()))
            .ok());
    head.headers.assign(signable.headers.begin(), signable.headers.end());
    return head;
  }

  Response Send(Request req) {
    HttpRequestHead head = Head(req);
    if (req.declare_length) {
      if (!req.body.empty() || req.method == "PUT" || req.method == "POST") {
        head.content_length = req.body.size();
      }
    } else {
      head.chunked = true;
    }
    return SendHead(head, req.body, req.piece);
  }

  // `head` as given (a test may alter a signed head, as a man in the middle would).
  Response SendHead(const HttpRequestHead& head, const std::string& body, size_t piece = 7) {
    struct {
      std::string body;
      size_t piece;
    } req{body, piece};
    HttpReply early;
    std::unique_ptr<HttpExchange> exchange = handler_->Begin(head, &early);
    HttpReply reply;
    if (!exchange) {
      reply = std::move(early);
    } else {
      Status body_status;
      for (size_t at = 0; at < req.body.size() && body_status.ok(); at += req.piece) {
        body_status = exchange->OnBody(std::string_view(req.body).substr(at, req.piece));
      }
      reply = exchange->Finish(body_status);
    }
    Response out;
    out.status = reply.status;
    out.headers = reply.headers;
    out.head = reply.head;
    if (reply.stream && !reply.head) {
      char buf[3];  // small, so streaming is exercised
      for (;;) {
        Result<size_t> got = reply.stream->Read(buf, sizeof(buf));
        EXPECT_TRUE(got.ok());
        if (!got.ok() || *got == 0) break;
        out.body.append(buf, *got);
      }
    } else if (!reply.head) {
      out.body = reply.body;
    }
    return out;
  }

  static Request Make(std::string method, std::string target, std::string body) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    return req;
  }

  Response Do(std::string method, std::string target, std::string body = "",
              HeaderList headers = {}) {
    Request req = Make(std::move(method), std::move(target), std::move(body));
    req.headers = std::move(headers);
    return Send(std::move(req));
  }

  Response DoAt(std::string host, std::string method, std::string target, std::string body = "") {
    Request req = Make(std::move(method), std::move(target), std::move(body));
    req.host = std::move(host);
    return Send(std::move(req));
  }

  Response Anonymous(std::string method, std::string target, std::string body = "") {
    Request req = Make(std::move(method), std::move(target), std::move(body));
    req.sign = false;
    return Send(std::move(req));
  }

  std::string Stored(const std::string& bucket, const std::string& key) {
    Result<ObjectData> data = store_.Get(bucket, key);
    return data.ok() ? data->bytes : "<absent>";
  }

  // The keys of a ListObjectsV2 reply, as the XML carries them.
  static std::vector<std::string> ListedKeys(const Response& r) {
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_buffer(r.body.data(), r.body.size())) << r.body;
    std::vector<std::string> keys;
    for (pugi::xml_node c : doc.child("ListBucketResult").children("Contents")) {
      keys.push_back(c.child_value("Key"));
    }
    return keys;
  }

  ManualClock clock_{1'790'000'000'000};
  MemoryObjectStore store_{{"images", "other"}, &clock_};
  testing::TempDir dir_;
  S3HandlerOptions options_;
  std::unique_ptr<testing::StreamingAdapter> backend_;
  std::unique_ptr<S3Handler> handler_;
};

// ---- the free-space reserve ----------------------------------------------------------

// Below [storage] min_free_bytes (here: more than any disk has) new objects are refused
// before their body is read, with a 503 every SDK retries; reads and deletes still work,
// and /readyz says why it is not ready.
TEST_F(S3HandlerTest, BelowTheFreeSpaceReserveNewObjectsAre503AndReadyzSaysWhy) {
  LocalStoreOptions store_options;
  store_options.staging_dir = dir_.path() + "/staging";
  store_options.min_free_bytes = int64_t{1} << 60;
  auto local = LocalObjectStore::Open(dir_.path() + "/data", store_options, clock_);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  ASSERT_TRUE((*local)->Put("images", "kept.txt", "kept").ok());
  std::filesystem::create_directories(dir_.path() + "/staging");
  LocalObjectStore* store = local->get();
  handler_ = std::make_unique<S3Handler>(options_, store, &clock_, nullptr,
                                         [store] { return store->FreeSpaceStatus(); });

  Response put = Send({.method = "PUT", .target = "/images/uploads/a.jpg", .body = "x"});
  EXPECT_EQ(put.status, 503);
  EXPECT_EQ(put.Code(), "SlowDown");
  EXPECT_NE(put.body.find("min_free_bytes"), std::string::npos) << put.body;
  EXPECT_EQ(Send({.method = "PUT",
                  .target = "/images/copy.txt",
                  .headers = {{"x-amz-copy-source", "/images/kept.txt"}}})
                .status,
            503);
  EXPECT_EQ(Send({.target = "/images/kept.txt"}).body, "kept");
  EXPECT_EQ(Send({.method = "DELETE", .target = "/images/kept.txt"}).status, 204);

  Response ready = Send({.target = "/readyz", .sign = false});
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("not ready: the disk of the data folder"), std::string::npos)
      << ready.body;
  handler_.reset();
}

// ---- addressing ------------------------------------------------------------------------

TEST_F(S3HandlerTest, PathStyleAndVirtualHostStyleAddressTheSameObjects) {
  ASSERT_EQ(Do("PUT", "/images/a/b.txt", "path style").status, 200);
  Response v = DoAt("images.localhost:9000", "GET", "/a/b.txt");
  EXPECT_EQ(v.status, 200);
  EXPECT_EQ(v.body, "path style");
  ASSERT_EQ(DoAt("images.localhost", "PUT", "/c/d.txt", "virtual").status, 200);
  EXPECT_EQ(Stored("images", "c/d.txt"), "virtual");
  // Host names are case-insensitive.
  EXPECT_EQ(DoAt("Images.LocalHost:9000", "GET", "/c/d.txt").body, "virtual");
  // On a bucket's host the whole path is the key.
  ASSERT_EQ(DoAt("other.localhost:9000", "PUT", "/images/c/d.txt", "in other").status, 200);
  EXPECT_EQ(Stored("other", "images/c/d.txt"), "in other");
  EXPECT_EQ(Stored("images", "c/d.txt"), "virtual");
  // "/" on a bucket's host lists that bucket.
  Response list = DoAt("other.localhost:9000", "GET", "/?list-type=2");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(ListedKeys(list), std::vector<std::string>{"images/c/d.txt"});
}

TEST_F(S3HandlerTest, OnlyConfiguredDomainsSelectABucket) {
  ASSERT_EQ(Do("PUT", "/images/k", "v").status, 200);
  // The bare domain, an IP literal, IPv6 and other domains are path style.
  for (const char* host : {"localhost:9000", "localhost", "127.0.0.1:9000", "[::1]:9000",
                           "images.example.test:9000", "imageslocalhost:9000"}) {
    Response r = DoAt(host, "GET", "/images/k");
    EXPECT_EQ(r.status, 200) << host;
    EXPECT_EQ(r.body, "v") << host;
  }
  // ListBuckets on the bare domain.
  Response buckets = DoAt("localhost:9000", "GET", "/");
  ASSERT_EQ(buckets.status, 200);
  EXPECT_NE(buckets.body.find("<Name>images</Name>"), std::string::npos);
  EXPECT_NE(buckets.body.find("<Name>other</Name>"), std::string::npos);

  options_.virtual_host_domains = {"S3.Example.Test"};
  Restart();
  EXPECT_EQ(DoAt("images.s3.example.test:9000", "GET", "/k").body, "v");
  EXPECT_EQ(DoAt("IMAGES.S3.EXAMPLE.TEST", "GET", "/k").body, "v");
  // localhost is no longer a virtual-host domain: "images.localhost" is path style.
  EXPECT_EQ(DoAt("images.localhost:9000", "GET", "/images/k").body, "v");
}

TEST_F(S3HandlerTest, UnknownBucketInHostOrPath) {
  for (const auto& [host, target] :
       std::vector<std::pair<std::string, std::string>>{{"missing.localhost:9000", "/k"},
                                                        {"a.b.localhost:9000", "/k"},
                                                        {"..localhost:9000", "/k"},
                                                        {"...localhost:9000", "/k"},
                                                        {kHost, "/missing/k"},
                                                        {kHost, "/../images/k"},
                                                        {kHost, "/./k"}}) {
    EXPECT_EQ(DoAt(host, "PUT", target, "x").Code(), "NoSuchBucket") << host << target;
    EXPECT_EQ(DoAt(host, "GET", target).Code(), "NoSuchBucket") << host << target;
  }
  EXPECT_EQ(DoAt("missing.localhost:9000", "GET", "/?list-type=2").Code(), "NoSuchBucket");
  EXPECT_EQ(Do("GET", "/missing?list-type=2").status, 404);
}

// An empty continuation-token starts at the beginning and is echoed, as S3 does; an
// absent one is not.
TEST_F(S3HandlerTest, ListV2EchoesAnEmptyContinuationToken) {
  ASSERT_EQ(Do("PUT", "/images/a", "x").status, 200);
  Response empty = Do("GET", "/images?list-type=2&continuation-token=");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_NE(empty.body.find("<ContinuationToken></ContinuationToken>"), std::string::npos)
      << empty.body;
  EXPECT_EQ(ListedKeys(empty), std::vector<std::string>{"a"});
  Response absent = Do("GET", "/images?list-type=2");
  EXPECT_EQ(absent.body.find("ContinuationToken"), std::string::npos) << absent.body;
}

// ---- keys ------------------------------------------------------------------------------

TEST_F(S3HandlerTest, KeysAreValidated) {
  Response nul = Do("PUT", "/images/nul%00byte", "x");
  EXPECT_EQ(nul.Code(), "InvalidArgument") << nul.body;
  EXPECT_EQ(Do("PUT", "/images/bad%FFutf8", "x").Code(), "InvalidArgument");
  EXPECT_EQ(Do("PUT", "/images/" + std::string(1025, 'k'), "x").Code(), "KeyTooLongError");
  EXPECT_EQ(Do("PUT", "/images/" + std::string(1024, 'k'), "x").status, 200);
  EXPECT_EQ(Anonymous("GET", "/images/bad%zzescape").Code(), "InvalidURI");
  Response list = Do("GET", "/images?list-type=2");
  EXPECT_EQ(ListedKeys(list), std::vector<std::string>{std::string(1024, 'k')});
  // The refused keys reached nothing: the copy source and DeleteObjects check keys too.
  EXPECT_EQ(Do("PUT", "/images/copy", "", {{"x-amz-copy-source", "/images/a%00b"}}).Code(),
            "InvalidArgument");
}

TEST_F(S3HandlerTest, DotSegmentsAreKeysNeverPaths) {
  ASSERT_EQ(Do("PUT", "/images/private/secret", "secret").status, 200);
  ASSERT_EQ(Do("PUT", "/images/../x", "dots").status, 200);
  EXPECT_EQ(Stored("images", "../x"), "dots");
  EXPECT_EQ(Do("PUT", "/images/a/%2E%2E/b", "encoded").status, 200);
  EXPECT_EQ(Stored("images", "a/../b"), "encoded");
  EXPECT_EQ(Do("PUT", "/images//lead", "slash").status, 200);
  EXPECT_EQ(Stored("images", "/lead"), "slash");
  EXPECT_EQ(Stored("images", "x"), "<absent>");
  EXPECT_EQ(Stored("images", "b"), "<absent>");
  // Reading through dot segments never reaches another key.
  EXPECT_EQ(Do("GET", "/images/public/../private/secret").Code(), "NoSuchKey");
  EXPECT_EQ(Do("GET", "/images/./private/secret").Code(), "NoSuchKey");
  EXPECT_EQ(Do("GET", "/other/../images/private/secret").Code(), "NoSuchKey");
  EXPECT_EQ(Do("GET", "/images/../x").body, "dots");
  // No bytes were written outside the staging folder the store was given.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    EXPECT_TRUE(entry.is_directory()) << entry.path();
  }
}

// ---- ranges and conditions -------------------------------------------------------------

TEST_F(S3HandlerTest, RangeHeaders) {
  ASSERT_EQ(Do("PUT", "/images/r", "0123456789").status, 200);
  struct Case {
    const char* range;
    int status;
    const char* body;
    const char* content_range;
  };
  for (const Case& c :
       {Case{"bytes=2-5", 206, "2345", "bytes 2-5/10"},
        Case{"bytes=7-", 206, "789", "bytes 7-9/10"}, Case{"bytes=-3", 206, "789", "bytes 7-9/10"},
        Case{"bytes=-30", 206, "0123456789", "bytes 0-9/10"},
        Case{"bytes=2-100", 206, "23456789", "bytes 2-9/10"},
        Case{"bytes=9-9", 206, "9", "bytes 9-9/10"},
        // Not a single satisfiable byte range: ignored, as S3 does.
        Case{"bytes=5-2", 200, "0123456789", ""}, Case{"bytes=0-1,3-4", 200, "0123456789", ""},
        Case{"bytes=abc", 200, "0123456789", ""}, Case{"bytes=1-2x", 200, "0123456789", ""},
        Case{"items=0-1", 200, "0123456789", ""}, Case{"bytes=-", 200, "0123456789", ""},
        Case{"bytes=99999999999999999999-", 200, "0123456789", ""}}) {
    Response r = Do("GET", "/images/r", "", {{"Range", c.range}});
    EXPECT_EQ(r.status, c.status) << c.range;
    EXPECT_EQ(r.body, c.body) << c.range;
    EXPECT_EQ(r.Header("Content-Range"), c.content_range) << c.range;
  }
  // Past the end, and a suffix of no bytes, are 416 InvalidRange (S3 answers "bytes=-0" so).
  for (const char* range : {"bytes=10-", "bytes=-0", "bytes=-00"}) {
    Response unsatisfiable = Do("GET", "/images/r", "", {{"Range", range}});
    EXPECT_EQ(unsatisfiable.status, 416) << range;
    EXPECT_EQ(unsatisfiable.Code(), "InvalidRange") << range;
    EXPECT_EQ(Do("HEAD", "/images/r", "", {{"Range", range}}).status, 416) << range;
  }
  Response head = Do("HEAD", "/images/r", "", {{"Range", "bytes=2-5"}});
  EXPECT_EQ(head.status, 206);
  EXPECT_EQ(head.Header("Content-Range"), "bytes 2-5/10");
  EXPECT_TRUE(head.body.empty());
}

TEST_F(S3HandlerTest, ConditionalGets) {
  Response put = Do("PUT", "/images/c", "conditional");
  const std::string etag = put.Header("ETag");
  EXPECT_EQ(etag, QuoteEtag(Md5Hex("conditional")));
  EXPECT_EQ(Do("GET", "/images/c", "", {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(Do("GET", "/images/c", "", {{"If-Match", etag}}).status, 200);
  EXPECT_EQ(Do("GET", "/images/c", "", {{"If-Match", "\"other\""}}).Code(), "PreconditionFailed");
  EXPECT_EQ(Do("HEAD", "/images/c", "", {{"If-Match", "\"other\""}}).status, 412);
}

// ---- listing ---------------------------------------------------------------------------

TEST_F(S3HandlerTest, ListingEscapesAndUrlEncodesKeys) {
  const std::vector<std::string> keys = {"dir/a&b<c>.txt", "dir/sub/x y+z%.txt", "dir/ü\n.txt",
                                         "top.txt"};
  for (const auto& key : keys) {
    ASSERT_EQ(Do("PUT", "/images/" + aws::UriEncode(key, false), "v").status, 200) << key;
  }
  Response plain = Do("GET", "/images?list-type=2&prefix=dir%2F");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(ListedKeys(plain),
            (std::vector<std::string>{"dir/a&b<c>.txt", "dir/sub/x y+z%.txt", "dir/ü\n.txt"}));

  Response url = Do("GET", "/images?list-type=2&encoding-type=url&delimiter=%2F&prefix=dir%2F");
  ASSERT_EQ(url.status, 200) << url.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(url.body.data(), url.body.size()));
  pugi::xml_node root = doc.child("ListBucketResult");
  EXPECT_STREQ(root.child_value("EncodingType"), "url");
  EXPECT_STREQ(root.child_value("Prefix"), "dir/");
  EXPECT_STREQ(root.child_value("Delimiter"), "/");
  EXPECT_STREQ(root.child_value("KeyCount"), "3");
  std::vector<std::string> listed;
  for (pugi::xml_node c : root.children("Contents")) listed.push_back(c.child_value("Key"));
  EXPECT_EQ(listed, (std::vector<std::string>{"dir/a%26b%3Cc%3E.txt", "dir/%C3%BC%0A.txt"}));
  EXPECT_STREQ(root.child("CommonPrefixes").child_value("Prefix"), "dir/sub/");

  // ListObjects (V1) keeps its Prefix as sent; V2 encodes it.
  for (const auto& [query, prefix] :
       {std::pair{"/images?encoding-type=url&prefix=%0A", "\n"},
        std::pair{"/images?list-type=2&encoding-type=url&prefix=%0A", "%0A"}}) {
    Response v1_or_v2 = Do("GET", query);
    ASSERT_EQ(v1_or_v2.status, 200) << v1_or_v2.body;
    pugi::xml_document page;
    ASSERT_TRUE(page.load_buffer(v1_or_v2.body.data(), v1_or_v2.body.size()));
    EXPECT_STREQ(page.child("ListBucketResult").child_value("Prefix"), prefix) << query;
  }

  EXPECT_EQ(Do("GET", "/images?list-type=2&encoding-type=xml").Code(), "InvalidArgument");
  EXPECT_EQ(Do("GET", "/images?list-type=2&max-keys=ten").Code(), "InvalidArgument");
  EXPECT_EQ(Do("GET", "/images?list-type=2&max-keys=-1").Code(), "InvalidArgument");
  Response none = Do("GET", "/images?list-type=2&max-keys=0");
  ASSERT_EQ(none.status, 200);
  EXPECT_TRUE(ListedKeys(none).empty());
}

TEST_F(S3HandlerTest, ListingPaginatesWithContinuationTokens) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Do("PUT", "/images/p/" + std::to_string(i), "v").status, 200);
  }
  std::vector<std::string> all;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    std::string target = "/images?list-type=2&max-keys=2";
    if (!token.empty()) target += "&continuation-token=" + aws::UriEncode(token, true);
    Response r = Do("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    for (auto& k : ListedKeys(r)) all.push_back(k);
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    token = doc.child("ListBucketResult").child_value("NextContinuationToken");
    if (std::string(doc.child("ListBucketResult").child_value("IsTruncated")) != "true") break;
    ASSERT_FALSE(token.empty());
  }
  EXPECT_EQ(all, (std::vector<std::string>{"p/0", "p/1", "p/2", "p/3", "p/4"}));
}

// ---- auth and public read --------------------------------------------------------------

TEST_F(S3HandlerTest, AuthFailuresStoreNothing) {
  Request wrong;
  wrong.method = "PUT";
  wrong.target = "/images/auth";
  wrong.body = "x";
  wrong.secret = "not-the-secret";
  Response r = Send(wrong);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.Code(), "SignatureDoesNotMatch");
  wrong.secret = kSecret;
  wrong.access_key = "UNKNOWN";
  EXPECT_EQ(Send(wrong).Code(), "InvalidAccessKeyId");
  EXPECT_EQ(Anonymous("PUT", "/images/auth", "x").Code(), "AccessDenied");
  Request v2;
  v2.method = "PUT";
  v2.target = "/images/auth";
  v2.body = "x";
  v2.sign = false;
  v2.headers = {{"Authorization", "AWS key:sig"}};  // SigV2 without a date
  EXPECT_EQ(Send(v2).Code(), "AccessDenied");
  EXPECT_EQ(Stored("images", "auth"), "<absent>");
}

TEST_F(S3HandlerTest, BodyMustMatchTheSignedPayloadHash) {
  Request req;
  req.method = "PUT";
  req.target = "/images/tampered";
  req.body = "original";
  HttpRequestHead head = Head(req);
  head.content_length = 8;
  HttpReply early;
  std::unique_ptr<HttpExchange> exchange = handler_->Begin(head, &early);
  ASSERT_NE(exchange, nullptr) << early.body;
  ASSERT_TRUE(exchange->OnBody("tampered").ok());
  HttpReply reply = exchange->Finish(Status::Ok());
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("XAmzContentSHA256Mismatch"), std::string::npos) << reply.body;
  EXPECT_EQ(Stored("images", "tampered"), "<absent>");
}

TEST_F(S3HandlerTest, SignaturesOutsideTheSkewWindowAreRefused) {
  Request req;
  req.target = "/images?list-type=2";
  Response ok = Send(req);
  EXPECT_EQ(ok.status, 200);
  // Signed now, received 16 minutes later.
  HttpRequestHead head = Head(req);
  clock_.AdvanceSeconds(16 * 60);
  HttpReply early;
  EXPECT_EQ(handler_->Begin(head, &early), nullptr);
  EXPECT_NE(early.body.find("RequestTimeTooSkewed"), std::string::npos) << early.body;
}

TEST_F(S3HandlerTest, PublicReadIsOffByDefault) {
  ASSERT_EQ(Do("PUT", "/images/public/p", "public").status, 200);
  EXPECT_EQ(Anonymous("GET", "/images/public/p").Code(), "AccessDenied");
  Response head = Anonymous("HEAD", "/images/public/p");
  EXPECT_EQ(head.status, 403);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(S3HandlerTest, PublicReadPrefixAllowsAnonymousGetAndHeadOnly) {
  options_.public_read_prefixes = {"images/public/"};
  Restart();
  ASSERT_EQ(Do("PUT", "/images/public/p", "public").status, 200);
  ASSERT_EQ(Do("PUT", "/images/private", "private").status, 200);
  ASSERT_EQ(Do("PUT", "/other/public/p", "other bucket").status, 200);

  Response get = Anonymous("GET", "/images/public/p");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "public");
  Response head = Anonymous("HEAD", "/images/public/p");
  EXPECT_EQ(head.status, 200);
  Request vhost;
  vhost.host = "images.localhost:9000";
  vhost.target = "/public/p";
  vhost.sign = false;
  EXPECT_EQ(Send(vhost).body, "public");
  EXPECT_EQ(Anonymous("GET", "/images/public/missing").Code(), "NoSuchKey");

  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/images/private"},
           {"GET", "/images/publicity"},
           {"GET", "/other/public/p"},
           {"PUT", "/images/public/new"},
           {"DELETE", "/images/public/p"},
           {"POST", "/images/public/m?uploads"},
           {"GET", "/images?list-type=2&prefix=public%2F"},
           {"GET", "/images/public/p?acl"},
           {"GET", "/"}}) {
    Response r = Anonymous(method, target, method == "PUT" ? "anonymous" : "");
    EXPECT_EQ(r.status, 403) << method << " " << target;
    EXPECT_EQ(r.Code(), "AccessDenied") << method << " " << target;
  }
  EXPECT_EQ(Stored("images", "public/new"), "<absent>");
  EXPECT_EQ(Stored("images", "public/p"), "public");
  // Anonymous reads cannot override the reply's headers (signed ones can).
  Response override = Anonymous("GET", "/images/public/p?response-content-type=text%2Fhtml");
  EXPECT_EQ(override.status, 400);
  EXPECT_EQ(override.Code(), "InvalidRequest");
  Response signed_override = Do("GET", "/images/public/p?response-content-type=text%2Fplain");
  EXPECT_EQ(signed_override.status, 200);
  EXPECT_EQ(signed_override.Header("Content-Type"), "text/plain");
  // Dot segments do not climb out of the public prefix.
  EXPECT_EQ(Anonymous("GET", "/images/public/../private").Code(), "NoSuchKey");
}

TEST_F(S3HandlerTest, PublicReadPrefixesNeverSpanBuckets) {
  // "bucket" alone makes the whole bucket public, and only that bucket.
  options_.public_read_prefixes = {"images"};
  Restart();
  ASSERT_EQ(Do("PUT", "/images-private", "").status, 200);
  ASSERT_EQ(Do("PUT", "/images/any/key", "public").status, 200);
  ASSERT_EQ(Do("PUT", "/images-private/secret", "secret").status, 200);
  EXPECT_EQ(Anonymous("GET", "/images/any/key").body, "public");
  EXPECT_EQ(Anonymous("GET", "/images-private/secret").Code(), "AccessDenied");

  options_.public_read_prefixes = {"images/pub"};
  Restart();
  ASSERT_EQ(Do("PUT", "/images/pub-x", "pub").status, 200);
  EXPECT_EQ(Anonymous("GET", "/images/pub-x").body, "pub");
  EXPECT_EQ(Anonymous("GET", "/images-private/secret").Code(), "AccessDenied");
  EXPECT_EQ(Anonymous("GET", "/images/any/key").Code(), "AccessDenied");
}

// ---- limits ----------------------------------------------------------------------------

TEST_F(S3HandlerTest, PutSizeLimit) {
  EXPECT_EQ(Do("PUT", "/images/exact", std::string(1000, 'e')).status, 200);
  Response over = Do("PUT", "/images/over", std::string(1001, 'o'));
  EXPECT_EQ(over.status, 400);
  EXPECT_EQ(over.Code(), "EntityTooLarge");
  // Without a declared length the limit trips while the body arrives.
  Request chunked;
  chunked.method = "PUT";
  chunked.target = "/images/chunked";
  chunked.body = std::string(1001, 'c');
  chunked.declare_length = false;
  chunked.piece = 100;
  EXPECT_EQ(Send(chunked).Code(), "EntityTooLarge");
  // The decoded length of an aws-chunked body is what counts.
  EXPECT_EQ(Do("PUT", "/images/decoded", "x", {{"x-amz-decoded-content-length", "1001"}}).Code(),
            "EntityTooLarge");
  EXPECT_EQ(Stored("images", "over"), "<absent>");
  EXPECT_EQ(Stored("images", "chunked"), "<absent>");
  EXPECT_EQ(Stored("images", "decoded"), "<absent>");
  EXPECT_EQ(Stored("images", "exact"), std::string(1000, 'e'));
}

TEST_F(S3HandlerTest, PutWithoutLengthIsRefused) {
  Request req;
  req.method = "PUT";
  req.target = "/images/nolength";
  HttpRequestHead head = Head(req);
  HttpReply early;
  EXPECT_EQ(handler_->Begin(head, &early), nullptr);
  EXPECT_EQ(early.status, 411);
}

// ---- multipart -------------------------------------------------------------------------

TEST_F(S3HandlerTest, MultipartUploadRules) {
  Response created = Do("POST", "/images/mp?uploads");
  ASSERT_EQ(created.status, 200) << created.body;
  pugi::xml_document doc;
  doc.load_buffer(created.body.data(), created.body.size());
  const std::string id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  ASSERT_EQ(id.size(), 32u);
  const std::string q = "?uploadId=" + id;

  EXPECT_EQ(Do("PUT", "/images/mp" + q + "&partNumber=0", "x").Code(), "InvalidArgument");
  EXPECT_EQ(Do("PUT", "/images/mp" + q + "&partNumber=10001", "x").Code(), "InvalidArgument");
  EXPECT_EQ(Do("PUT", "/images/mp" + q + "&partNumber=abc", "x").Code(), "InvalidArgument");
  // The upload belongs to one key.
  EXPECT_EQ(Do("PUT", "/images/elsewhere" + q + "&partNumber=1", "x").Code(), "NoSuchUpload");
  EXPECT_EQ(Do("PUT", "/images/mp?uploadId=..%2F..%2Fx&partNumber=1", "x").Code(), "NoSuchUpload");
  EXPECT_EQ(Do("PUT", "/images/mp" + q + "&partNumber=1", std::string(1001, 'p')).Code(),
            "EntityTooLarge");

  Response p1 = Do("PUT", "/images/mp" + q + "&partNumber=1", "part1");
  Response p2 = Do("PUT", "/images/mp" + q + "&partNumber=2", "p2");
  Response p3 = Do("PUT", "/images/mp" + q + "&partNumber=3", "part-3");
  ASSERT_EQ(p1.status, 200);
  EXPECT_EQ(p1.Header("ETag"), QuoteEtag(Md5Hex("part1")));
  auto complete = [&](const std::vector<std::pair<int, std::string>>& parts) {
    std::string xml = "<CompleteMultipartUpload>";
    for (const auto& [n, etag] : parts) {
      xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + etag +
             "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    return Do("POST", "/images/mp" + q, xml);
  };
  EXPECT_EQ(complete({{1, p1.Header("ETag")}, {2, "\"0000\""}}).Code(), "InvalidPart");
  EXPECT_EQ(complete({{3, p3.Header("ETag")}, {1, p1.Header("ETag")}}).Code(), "InvalidPartOrder");
  // Part 2 is below the minimum (5 bytes here) and not last.
  EXPECT_EQ(
      complete({{1, p1.Header("ETag")}, {2, p2.Header("ETag")}, {3, p3.Header("ETag")}}).Code(),
      "EntityTooSmall");
  EXPECT_EQ(Do("POST", "/images/mp" + q, "<not xml").Code(), "MalformedXML");
  EXPECT_EQ(Do("POST", "/images/mp" + q, "<CompleteMultipartUpload/>").Code(), "MalformedXML");
  EXPECT_EQ(Stored("images", "mp"), "<absent>");

  Response done = complete({{1, p1.Header("ETag")}, {3, p3.Header("ETag")}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(Stored("images", "mp"), "part1part-3");
  // Completed: the upload id is gone.
  EXPECT_EQ(Do("GET", "/images/mp" + q).Code(), "NoSuchUpload");
  EXPECT_EQ(Do("DELETE", "/images/mp" + q).Code(), "NoSuchUpload");
}

// UploadPartCopy: a part from another object's bytes or a range of them, the copy-source
// conditions checked against the version copied, S3's errors for malformed or outside ranges.
TEST_F(S3HandlerTest, UploadPartCopyTakesASourceOrARangeOfIt) {
  ASSERT_EQ(Do("PUT", "/images/src", "0123456789").status, 200);
  const std::string src_etag = QuoteEtag(Md5Hex("0123456789"));
  Response created = Do("POST", "/images/dst?uploads");
  pugi::xml_document doc;
  doc.load_buffer(created.body.data(), created.body.size());
  const std::string q =
      "?uploadId=" +
      std::string(doc.child("InitiateMultipartUploadResult").child_value("UploadId"));
  auto copy = [&](int part, HeaderList extra) {
    extra.emplace_back("x-amz-copy-source", "/images/src");
    return Do("PUT", "/images/dst" + q + "&partNumber=" + std::to_string(part), "", extra);
  };
  Response whole = copy(1, {});
  ASSERT_EQ(whole.status, 200) << whole.body;
  pugi::xml_document result;
  result.load_buffer(whole.body.data(), whole.body.size());
  const std::string etag1 = result.child("CopyPartResult").child_value("ETag");
  EXPECT_EQ(etag1, src_etag);
  EXPECT_FALSE(std::string(result.child("CopyPartResult").child_value("LastModified")).empty());

  Response ranged = copy(2, {{"x-amz-copy-source-range", "bytes=2-4"}});
  ASSERT_EQ(ranged.status, 200) << ranged.body;
  result.load_buffer(ranged.body.data(), ranged.body.size());
  const std::string etag2 = result.child("CopyPartResult").child_value("ETag");
  EXPECT_EQ(etag2, QuoteEtag(Md5Hex("234")));

  for (const char* bad : {"bytes=4-2", "bytes=-3", "bytes=2-", "2-4", "bytes=a-b"}) {
    Response r = copy(3, {{"x-amz-copy-source-range", bad}});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.Code(), "InvalidArgument") << bad;
  }
  for (const char* outside : {"bytes=5-10", "bytes=10-12"}) {
    Response r = copy(3, {{"x-amz-copy-source-range", outside}});
    EXPECT_EQ(r.Code(), "InvalidArgument") << outside;
    EXPECT_EQ(r.ErrorElement("Message"),
              "Range specified is not valid for source object of size: 10")
        << outside;
  }
  EXPECT_EQ(copy(3, {{"x-amz-copy-source-if-match", "\"other\""}}).Code(), "PreconditionFailed");
  EXPECT_EQ(copy(3, {{"x-amz-copy-source-if-none-match", src_etag}}).Code(), "PreconditionFailed");
  EXPECT_EQ(
      copy(3, {{"x-amz-copy-source-if-modified-since", "Sat, 01 Jan 2050 00:00:00 GMT"}}).Code(),
      "PreconditionFailed");
  EXPECT_EQ(
      copy(3, {{"x-amz-copy-source-if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT"}}).Code(),
      "PreconditionFailed");
  // A holding if-match outweighs a failing if-unmodified-since, as on S3.
  EXPECT_EQ(copy(3, {{"x-amz-copy-source-if-match", src_etag},
                     {"x-amz-copy-source-if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT"}})
                .status,
            200);
  EXPECT_EQ(copy(4, {}).status, 200);
  {
    HeaderList missing = {{"x-amz-copy-source", "/images/nothing"}};
    EXPECT_EQ(Do("PUT", "/images/dst" + q + "&partNumber=5", "", missing).Code(), "NoSuchKey");
  }
  EXPECT_EQ(Do("PUT", "/images/elsewhere" + q + "&partNumber=1", "",
               {{"x-amz-copy-source", "/images/src"}})
                .Code(),
            "NoSuchUpload");

  std::string xml = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + etag1 +
                    "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" + etag2 +
                    "</ETag></Part></CompleteMultipartUpload>";
  ASSERT_EQ(Do("POST", "/images/dst" + q, xml).status, 200);
  EXPECT_EQ(Stored("images", "dst"), "0123456789234");
}

// The standard headers S3 stores come back on GET and HEAD (response-* overrides win), are
// kept by a multipart upload and by CopyObject's COPY directive, replaced by REPLACE.
TEST_F(S3HandlerTest, StandardHeadersAreStoredAndReturned) {
  const HeaderList sent = {{"Cache-Control", "max-age=60"},
                           {"Content-Disposition", "attachment; filename=\"a.txt\""},
                           {"Content-Encoding", "gzip"},
                           {"Content-Language", "fr"},
                           {"Expires", "Thu, 01 Dec 2094 16:00:00 GMT"}};
  auto expect_sent = [&](const Response& r, const std::string& what) {
    for (const auto& [name, value] : sent) EXPECT_EQ(r.Header(name), value) << what << " " << name;
  };
  ASSERT_EQ(Do("PUT", "/images/h", "body", sent).status, 200);
  expect_sent(Do("GET", "/images/h"), "GET");
  expect_sent(Do("HEAD", "/images/h"), "HEAD");
  Response overridden = Do("GET", "/images/h?response-cache-control=no-cache&response-expires=0");
  EXPECT_EQ(overridden.Header("Cache-Control"), "no-cache");
  EXPECT_EQ(overridden.Header("Expires"), "0");

  Response created = Do("POST", "/images/hm?uploads", "", sent);
  pugi::xml_document doc;
  doc.load_buffer(created.body.data(), created.body.size());
  const std::string q =
      "?uploadId=" +
      std::string(doc.child("InitiateMultipartUploadResult").child_value("UploadId"));
  Response part = Do("PUT", "/images/hm" + q + "&partNumber=1", "only part");
  ASSERT_EQ(Do("POST", "/images/hm" + q,
               "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                   part.Header("ETag") + "</ETag></Part></CompleteMultipartUpload>")
                .status,
            200);
  expect_sent(Do("HEAD", "/images/hm"), "multipart");

  ASSERT_EQ(Do("PUT", "/images/hc", "", {{"x-amz-copy-source", "/images/h"}}).status, 200);
  expect_sent(Do("HEAD", "/images/hc"), "copy");
  ASSERT_EQ(Do("PUT", "/images/hr", "",
               {{"x-amz-copy-source", "/images/h"},
                {"x-amz-metadata-directive", "REPLACE"},
                {"Cache-Control", "no-store"}})
                .status,
            200);
  Response replaced = Do("HEAD", "/images/hr");
  EXPECT_EQ(replaced.Header("Cache-Control"), "no-store");
  EXPECT_EQ(replaced.Header("Content-Language"), "");
}

// A 304 says which object it is: ETag and Last-Modified, and the caching headers stored.
TEST_F(S3HandlerTest, NotModifiedCarriesTheEtag) {
  ASSERT_EQ(Do("PUT", "/images/n", "same", {{"Cache-Control", "max-age=5"}}).status, 200);
  const std::string etag = QuoteEtag(Md5Hex("same"));
  for (const char* method : {"GET", "HEAD"}) {
    Response r = Do(method, "/images/n", "", {{"If-None-Match", etag}});
    EXPECT_EQ(r.status, 304) << method;
    EXPECT_EQ(r.Header("ETag"), etag) << method;
    EXPECT_FALSE(r.Header("Last-Modified").empty()) << method;
    EXPECT_EQ(r.Header("Cache-Control"), "max-age=5") << method;
    Response since =
        Do(method, "/images/n", "", {{"If-Modified-Since", "Sat, 01 Jan 2095 00:00:00 GMT"}});
    EXPECT_EQ(since.status, 304) << method;
    EXPECT_EQ(since.Header("ETag"), etag) << method;
  }
}

// Non-ASCII metadata: UTF-8 bytes (what boto3 sends) and RFC 2047 (what S3 decodes) are
// stored as text; returned as ISO-8859-1 bytes when every character fits, else RFC 2047.
TEST_F(S3HandlerTest, NonAsciiMetadataComesBackAsTheTextSent) {
  ASSERT_EQ(Do("PUT", "/images/u", "x",
               {{"x-amz-meta-latin", "Hello World\xC3\xA9"},
                {"x-amz-meta-han", "\xE4\xB8\xAD"},
                {"x-amz-meta-encoded", "=?UTF-8?B?w6k=?="},
                {"x-amz-meta-q", "=?ISO-8859-1?Q?caf=E9_au_lait?="},
                {"x-amz-meta-plain", "=?not encoded"}})
                .status,
            200);
  Result<ObjectInfo> info = store_.Head("images", "u");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->metadata.at("latin"), "Hello World\xC3\xA9");
  EXPECT_EQ(info->metadata.at("han"), "\xE4\xB8\xAD");
  EXPECT_EQ(info->metadata.at("encoded"), "\xC3\xA9");
  EXPECT_EQ(info->metadata.at("q"), "caf\xC3\xA9 au lait");
  EXPECT_EQ(info->metadata.at("plain"), "=?not encoded");
  Response got = Do("GET", "/images/u");
  EXPECT_EQ(got.Header("x-amz-meta-latin"), "Hello World\xE9");
  EXPECT_EQ(got.Header("x-amz-meta-han"), "=?UTF-8?B?5Lit?=");
  EXPECT_EQ(got.Header("x-amz-meta-encoded"), "\xE9");
  EXPECT_EQ(got.Header("x-amz-meta-plain"), "=?not encoded");
}

// ---- operations and errors -------------------------------------------------------------

TEST_F(S3HandlerTest, ErrorsAreS3XmlWithTheRequestIdAndResource) {
  Response r = Do("GET", "/images/no/such%20key");
  EXPECT_EQ(r.status, 404);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(r.body.data(), r.body.size())) << r.body;
  EXPECT_STREQ(doc.child("Error").child_value("Code"), "NoSuchKey");
  EXPECT_STREQ(doc.child("Error").child_value("Resource"), "/images/no/such key");
  EXPECT_EQ(doc.child("Error").child_value("RequestId"), r.Header("x-amz-request-id"));
  EXPECT_EQ(r.Header("Content-Type"), "application/xml");
  Response again = Do("GET", "/images/no/such%20key");
  EXPECT_NE(again.Header("x-amz-request-id"), r.Header("x-amz-request-id"));
  Response head = Do("HEAD", "/images/no/such%20key");
  EXPECT_EQ(head.status, 404);
  EXPECT_TRUE(head.head);
}

TEST_F(S3HandlerTest, MethodsAndSubresources) {
  EXPECT_EQ(Do("PATCH", "/images/k").Code(), "MethodNotAllowed");
  EXPECT_EQ(Do("POST", "/").Code(), "MethodNotAllowed");
  EXPECT_EQ(Do("GET", "/images?replication").Code(), "NotImplemented");
  EXPECT_EQ(Do("GET", "/images/k?torrent").Code(), "NotImplemented");
  EXPECT_EQ(Do("POST", "/images/k?restore", "x").Code(), "NotImplemented");
  // Object lock calls on a bucket without object lock: InvalidRequest, as S3 answers.
  EXPECT_EQ(Do("PUT", "/images/k?retention", "x").Code(), "InvalidRequest");
  EXPECT_EQ(Stored("images", "k"), "<absent>");
  EXPECT_EQ(Do("GET", "/images?location").status, 200);
  // Operational endpoints need no signature, on path style only.
  Request health;
  health.target = "/healthz";
  health.sign = false;
  Response h = Send(health);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
  health.host = "images.localhost:9000";
  EXPECT_EQ(Send(health).Code(), "AccessDenied");
}

// Every request is counted under the operation the router named, refused ones included;
// the operational endpoints are not counted.
TEST_F(S3HandlerTest, RequestsAreCountedByTheirOperation) {
  MetricsRegistry registry;
  handler_ = std::make_unique<S3Handler>(options_, backend_.get(), &clock_, &registry);
  EXPECT_EQ(Do("PUT", "/images/a.txt", "abc").status, 200);
  EXPECT_EQ(Do("GET", "/images/a.txt").status, 200);
  EXPECT_EQ(Do("GET", "/images?list-type=2").status, 200);
  EXPECT_EQ(Do("GET", "/images/a.txt?torrent").status, 501);
  EXPECT_EQ(Do("PATCH", "/images/a.txt").status, 405);
  EXPECT_EQ(Send({.target = "/images/a.txt", .sign = false}).status, 403);
  Response metrics = Send({.target = "/metrics", .sign = false});
  ASSERT_EQ(metrics.status, 200);
  const std::string& text = metrics.body;
  for (const char* line :
       {"thumbflow_s3_requests_total{operation=\"PutObject\",status=\"200\"} 1\n",
        "thumbflow_s3_requests_total{operation=\"GetObject\",status=\"200\"} 1\n",
        "thumbflow_s3_requests_total{operation=\"GetObject\",status=\"403\"} 1\n",
        "thumbflow_s3_requests_total{operation=\"ListObjectsV2\",status=\"200\"} 1\n",
        "thumbflow_s3_requests_total{operation=\"GetObjectTorrent\",status=\"501\"} 1\n",
        "thumbflow_s3_requests_total{operation=\"MethodNotAllowed\",status=\"405\"} 1\n",
        "thumbflow_s3_received_bytes_total{operation=\"PutObject\"} 3\n",
        "thumbflow_s3_sent_bytes_total{operation=\"ListObjectsV2\"} "}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  EXPECT_EQ(text.find("operation=\"metrics\""), std::string::npos) << text;
  EXPECT_EQ(text.find("thumbflow_s3_sent_bytes_total{operation=\"PutObject\"}"), std::string::npos);
  handler_.reset();
}

TEST_F(S3HandlerTest, DeleteObjectsChecksEveryKey) {
  ASSERT_EQ(Do("PUT", "/images/d1", "1").status, 200);
  ASSERT_EQ(Do("PUT", "/images/d2", "2").status, 200);
  std::string xml =
      "<Delete><Object><Key>d1</Key></Object><Object><Key>d2</Key></Object>"
      "<Object><Key>" +
      std::string(1100, 'k') + "</Key></Object></Delete>";
  Response r = Do("POST", "/images?delete", xml);
  ASSERT_EQ(r.status, 200) << r.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(r.body.data(), r.body.size()));
  int deleted = 0, errors = 0;
  for (pugi::xml_node n : doc.child("DeleteResult").children()) {
    if (std::string(n.name()) == "Deleted") ++deleted;
    if (std::string(n.name()) == "Error") ++errors;
  }
  EXPECT_EQ(deleted, 2);
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(Stored("images", "d1"), "<absent>");
  EXPECT_EQ(Do("POST", "/images?delete", "<Delete></Delete>").Code(), "MalformedXML");
}

// Calls that stay unsupported are refused with S3's name for them, and store nothing.
TEST_F(S3HandlerTest, NotImplementedNamesTheOperation) {
  ASSERT_EQ(Do("PUT", "/images/k", "v").status, 200);
  struct Case {
    const char* method;
    const char* target;
    const char* operation;
  };
  for (const Case& c : {Case{"PUT", "/images?replication", "PutBucketReplication"},
                        Case{"GET", "/images?lifecycle", "GetBucketLifecycleConfiguration"},
                        Case{"DELETE", "/images?website", "DeleteBucketWebsite"},
                        Case{"PUT", "/images?website", "PutBucketWebsite"},
                        Case{"GET", "/images?logging", "GetBucketLogging"},
                        Case{"PUT", "/images?accelerate", "PutBucketAccelerateConfiguration"},
                        Case{"PUT", "/images/k?versionId=3HL4kqtJ", "PutObject"}}) {
    Response r = Do(c.method, c.target, std::string(c.method) == "PUT" ? "<x/>" : "");
    EXPECT_EQ(r.status, 501) << c.target;
    EXPECT_EQ(r.Code(), "NotImplemented") << c.target;
    EXPECT_EQ(r.ErrorElement("Message"), std::string("thumbflow does not implement ") +
                                             c.operation + " (" + c.method + " " + c.target + ").");
  }
  EXPECT_EQ(Stored("images", "k"), "v");
}

// ---- several users ([[server.users]]) and bucket owners ------------------------------------

class S3UsersTest : public S3HandlerTest {
 protected:
  void SetUp() override {
    S3HandlerTest::SetUp();
    options_.users = {{"alice", "AKALICE", "alice-secret"}, {"bob", "AKBOB", "bob-secret"}};
    options_.public_read_prefixes = {"images/public/"};
    Restart();
  }

  Response As(const std::string& user, std::string method, std::string target,
              std::string body = "", HeaderList headers = {}) {
    Request req = Make(std::move(method), std::move(target), std::move(body));
    req.headers = std::move(headers);
    if (user == "alice") req.access_key = "AKALICE", req.secret = "alice-secret";
    if (user == "bob") req.access_key = "AKBOB", req.secret = "bob-secret";
    return Send(std::move(req));
  }

  static std::string OwnerOf(const Response& r, const char* root) {
    pugi::xml_document doc;
    if (!doc.load_buffer(r.body.data(), r.body.size())) return "<no xml>";
    return std::string(doc.child(root).child("Owner").child_value("ID")) + "/" +
           doc.child(root).child("Owner").child_value("DisplayName");
  }

  static std::vector<std::string> BucketNames(const Response& r) {
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_buffer(r.body.data(), r.body.size())) << r.body;
    std::vector<std::string> names;
    for (pugi::xml_node b : doc.child("ListAllMyBucketsResult").child("Buckets").children()) {
      names.push_back(b.child_value("Name"));
    }
    return names;
  }
};

TEST_F(S3UsersTest, EachUserSignsWithItsOwnKeyAndSeesOnlyItsOwnBuckets) {
  ASSERT_EQ(As("alice", "PUT", "/alices").status, 200);
  ASSERT_EQ(As("bob", "PUT", "/bobs").status, 200);
  Response first = As("thumbflow", "GET", "/");
  EXPECT_EQ(BucketNames(first), (std::vector<std::string>{"images", "other"}));
  EXPECT_EQ(OwnerOf(first, "ListAllMyBucketsResult"), "thumbflow/thumbflow");
  Response alice = As("alice", "GET", "/");
  EXPECT_EQ(BucketNames(alice), (std::vector<std::string>{"alices"}));
  EXPECT_EQ(OwnerOf(alice, "ListAllMyBucketsResult"), "alice/alice");
  EXPECT_EQ(BucketNames(As("bob", "GET", "/")), (std::vector<std::string>{"bobs"}));
  // A user's key with another's secret is no signature at all.
  Request forged = Make("GET", "/", "");
  forged.access_key = "AKALICE";
  forged.secret = "bob-secret";
  EXPECT_EQ(Send(forged).Code(), "SignatureDoesNotMatch");
}

TEST_F(S3UsersTest, AnotherUsersBucketIsAccessDeniedAndNothingChanges) {
  ASSERT_EQ(As("alice", "PUT", "/alices").status, 200);
  ASSERT_EQ(As("alice", "PUT", "/alices/k", "alice's").status, 200);
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/alices/k"},
                                                        {"HEAD", "/alices/k"},
                                                        {"PUT", "/alices/k"},
                                                        {"DELETE", "/alices/k"},
                                                        {"GET", "/alices?list-type=2"},
                                                        {"HEAD", "/alices"},
                                                        {"DELETE", "/alices"},
                                                        {"GET", "/alices?acl"},
                                                        {"GET", "/alices/k?tagging"},
                                                        {"POST", "/alices/k?uploads"},
                                                        {"GET", "/images/private.txt"}}) {
    const std::string& user = target.starts_with("/images") ? "bob" : "thumbflow";
    Response r = As(user, method, target, method == "PUT" ? "overwritten" : "");
    EXPECT_EQ(r.status, 403) << user << " " << method << " " << target;
    if (method != "HEAD") {
      EXPECT_EQ(r.Code(), "AccessDenied") << method << " " << target;
    }
  }
  EXPECT_EQ(Stored("alices", "k"), "alice's");
  EXPECT_EQ(As("alice", "GET", "/alices/k").body, "alice's");
  // A missing bucket is NoSuchBucket to everyone.
  EXPECT_EQ(As("bob", "GET", "/nobody/k").Code(), "NoSuchBucket");
}

TEST_F(S3UsersTest, PublicReadPrefixesAreReadableByEveryUserAndCopyReadsWithTheCallersRights) {
  ASSERT_EQ(Do("PUT", "/images/public/p.txt", "public").status, 200);
  ASSERT_EQ(Do("PUT", "/images/private.txt", "private").status, 200);
  EXPECT_EQ(As("bob", "GET", "/images/public/p.txt").body, "public");
  EXPECT_EQ(As("bob", "HEAD", "/images/public/p.txt").status, 200);
  EXPECT_EQ(As("bob", "GET", "/images?list-type=2&prefix=public/").Code(), "AccessDenied");
  EXPECT_EQ(As("bob", "PUT", "/images/public/p.txt", "x").Code(), "AccessDenied");
  ASSERT_EQ(As("bob", "PUT", "/bobs").status, 200);
  EXPECT_EQ(
      As("bob", "PUT", "/bobs/copy", "", {{"x-amz-copy-source", "/images/public/p.txt"}}).status,
      200);
  EXPECT_EQ(Stored("bobs", "copy"), "public");
  EXPECT_EQ(
      As("bob", "PUT", "/bobs/stolen", "", {{"x-amz-copy-source", "/images/private.txt"}}).Code(),
      "AccessDenied");
  EXPECT_EQ(Stored("bobs", "stolen"), "<absent>");
  // UploadPartCopy reads its source with the same rights.
  Response created = As("bob", "POST", "/bobs/mp?uploads");
  ASSERT_EQ(created.status, 200) << created.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(created.body.data(), created.body.size()));
  const std::string part = std::string("/bobs/mp?partNumber=1&uploadId=") +
                           doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  EXPECT_EQ(As("bob", "PUT", part, "", {{"x-amz-copy-source", "/images/private.txt"}}).Code(),
            "AccessDenied");
  EXPECT_EQ(As("bob", "PUT", part, "", {{"x-amz-copy-source", "/images/public/p.txt"}}).status,
            200);
  // The owner copies out of its own bucket into another's: denied at the destination.
  EXPECT_EQ(Do("PUT", "/bobs/pushed", "", {{"x-amz-copy-source", "/images/private.txt"}}).Code(),
            "AccessDenied");
}

// A name is the first creator's: another user gets BucketAlreadyExists; the owner creating it
// again gets 200 in us-east-1, as S3 answers there.
TEST_F(S3UsersTest, CreateBucketOfATakenName) {
  ASSERT_EQ(As("alice", "PUT", "/alices").status, 200);
  Response taken = As("bob", "PUT", "/alices");
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(taken.Code(), "BucketAlreadyExists");
  EXPECT_EQ(As("alice", "PUT", "/images").Code(), "BucketAlreadyExists");
  EXPECT_EQ(As("alice", "PUT", "/alices").status, 200);
  EXPECT_EQ(As("thumbflow", "PUT", "/images").status, 200);
  Result<BucketInfo> info = backend_->GetBucket("alices");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->owner, "alice");
  Result<BucketInfo> made = backend_->GetBucket("images");
  EXPECT_EQ(made->owner, "") << "the first user's buckets are recorded without a name";
}

TEST_F(S3UsersTest, AclsAndListingsNameTheRealOwner) {
  ASSERT_EQ(As("alice", "PUT", "/alices").status, 200);
  ASSERT_EQ(As("alice", "PUT", "/alices/k", "v").status, 200);
  EXPECT_EQ(OwnerOf(As("alice", "GET", "/alices?acl"), "AccessControlPolicy"), "alice/alice");
  Response acl = As("alice", "GET", "/alices/k?acl");
  EXPECT_EQ(OwnerOf(acl, "AccessControlPolicy"), "alice/alice");
  EXPECT_NE(acl.body.find("<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                          "xsi:type=\"CanonicalUser\"><ID>alice</ID><DisplayName>alice"
                          "</DisplayName></Grantee><Permission>FULL_CONTROL</Permission>"),
            std::string::npos)
      << acl.body;
  std::string v1 = As("alice", "GET", "/alices").body;
  EXPECT_NE(v1.find("<Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner>"),
            std::string::npos)
      << v1;
  std::string v2 = As("alice", "GET", "/alices?list-type=2").body;
  EXPECT_EQ(v2.find("<Owner>"), std::string::npos) << "V2 names owners only on fetch-owner";
  std::string fetched = As("alice", "GET", "/alices?list-type=2&fetch-owner=true").body;
  EXPECT_NE(fetched.find("<Owner><ID>alice</ID>"), std::string::npos) << fetched;
}

TEST_F(S3UsersTest, BucketNamesAreValidatedAsS3Does) {
  for (const char* name : {"foo-.bar", "foo.-bar", "xn--abc", "sthree-abc", "abc-s3alias",
                           "abc--ol-s3", "192.168.1.2", "ab", "Abc", "a..b"}) {
    Response r = As("alice", "PUT", std::string("/") + name);
    EXPECT_EQ(r.status, 400) << name;
    EXPECT_EQ(r.Code(), "InvalidBucketName") << name;
  }
  EXPECT_EQ(BucketNames(As("alice", "GET", "/")), std::vector<std::string>{});
}

// ---- object tagging -------------------------------------------------------------------------

namespace {

std::string TaggingBody(const std::vector<std::pair<std::string, std::string>>& tags) {
  std::string xml = "<Tagging><TagSet>";
  for (const auto& [k, v] : tags) xml += "<Tag><Key>" + k + "</Key><Value>" + v + "</Value></Tag>";
  return xml + "</TagSet></Tagging>";
}

std::vector<std::pair<std::string, std::string>> TagsOf(const Response& r) {
  pugi::xml_document doc;
  EXPECT_TRUE(doc.load_buffer(r.body.data(), r.body.size())) << r.body;
  std::vector<std::pair<std::string, std::string>> out;
  for (pugi::xml_node t : doc.child("Tagging").child("TagSet").children("Tag")) {
    out.emplace_back(t.child_value("Key"), t.child_value("Value"));
  }
  return out;
}

using Tags = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_F(S3HandlerTest, TaggingOnPutIsStoredAndReturned) {
  ASSERT_EQ(
      Do("PUT", "/images/t", "v", {{"x-amz-tagging", "colour=blue&note=two+words%2B1&e="}}).status,
      200);
  EXPECT_EQ(TagsOf(Do("GET", "/images/t?tagging")),
            (Tags{{"colour", "blue"}, {"e", ""}, {"note", "two words+1"}}));
  EXPECT_EQ(Do("HEAD", "/images/t").Header("x-amz-tagging-count"), "3");
  EXPECT_EQ(Do("GET", "/images/t").Header("x-amz-tagging-count"), "3");
  ASSERT_EQ(Do("PUT", "/images/plain", "v").status, 200);
  EXPECT_EQ(Do("GET", "/images/plain").Header("x-amz-tagging-count"), "");
  EXPECT_EQ(TagsOf(Do("GET", "/images/plain?tagging")), Tags{});
}

TEST_F(S3HandlerTest, PutAndDeleteObjectTaggingReplaceTheTagsOnly) {
  ASSERT_EQ(Do("PUT", "/images/t", "bytes", {{"x-amz-tagging", "a=1"}}).status, 200);
  Response put = Do("PUT", "/images/t?tagging", TaggingBody({{"k", "v"}, {"k2", "v2"}}));
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(TagsOf(Do("GET", "/images/t?tagging")), (Tags{{"k", "v"}, {"k2", "v2"}}));
  EXPECT_EQ(Stored("images", "t"), "bytes");
  EXPECT_EQ(Do("DELETE", "/images/t?tagging").status, 204);
  EXPECT_EQ(TagsOf(Do("GET", "/images/t?tagging")), Tags{});
  EXPECT_EQ(Do("GET", "/images/absent?tagging").Code(), "NoSuchKey");
  EXPECT_EQ(Do("PUT", "/images/absent?tagging", TaggingBody({{"k", "v"}})).Code(), "NoSuchKey");
  EXPECT_EQ(Do("PUT", "/images/t?tagging", "<Tagging>").Code(), "MalformedXML");
}

// S3's limits, each refused with InvalidTag and nothing stored or changed.
TEST_F(S3HandlerTest, TagsBreakingS3sLimitsAreRefusedAndChangeNothing) {
  ASSERT_EQ(Do("PUT", "/images/t", "v", {{"x-amz-tagging", "keep=1"}}).status, 200);
  Tags eleven;
  for (int i = 0; i < 11; ++i) eleven.emplace_back("k" + std::to_string(i), "v");
  Tags ten(eleven.begin(), eleven.begin() + 10);
  // More than 10: BadRequest, as AWS answers; every other limit: InvalidTag.
  Response too_many = Do("PUT", "/images/t?tagging", TaggingBody(eleven));
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(too_many.Code(), "BadRequest");
  const std::vector<Tags> bad = {
      {{std::string(129, 'k'), "v"}},
      {{"k", std::string(257, 'v')}},
      {{"k", "1"}, {"k", "2"}},
      {{"aws:system", "v"}},
      {{"", "v"}},
      {{"semi;colon", "v"}},
  };
  for (const Tags& tags : bad) {
    Response r = Do("PUT", "/images/t?tagging", TaggingBody(tags));
    EXPECT_EQ(r.status, 400) << TaggingBody(tags);
    EXPECT_EQ(r.Code(), "InvalidTag") << TaggingBody(tags);
  }
  EXPECT_EQ(TagsOf(Do("GET", "/images/t?tagging")), (Tags{{"keep", "1"}}));
  EXPECT_EQ(Do("PUT", "/images/t?tagging", TaggingBody(ten)).status, 200);
  // Characters, not bytes: 128 two-byte characters make a valid key.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\xc3\xa9";
  EXPECT_EQ(Do("PUT", "/images/t?tagging", TaggingBody({{wide, std::string(256, 'v')}})).status,
            200);
  Response dup = Do("PUT", "/images/new", "v", {{"x-amz-tagging", "a=1&a=2"}});
  EXPECT_EQ(dup.Code(), "InvalidTag");
  EXPECT_EQ(Stored("images", "new"), "<absent>");
  EXPECT_EQ(Do("PUT", "/images/new", "v", {{"x-amz-tagging", "a=%zz"}}).Code(), "InvalidArgument");
  std::string many;
  for (int i = 0; i < 11; ++i) many += "k" + std::to_string(i) + "=v&";
  EXPECT_EQ(Do("POST", "/images/new?uploads", "", {{"x-amz-tagging", many}}).Code(), "BadRequest");
}

TEST_F(S3HandlerTest, CopyKeepsOrReplacesTagsByTheTaggingDirective) {
  ASSERT_EQ(Do("PUT", "/images/src", "v", {{"x-amz-tagging", "a=1"}, {"x-amz-meta-m", "x"}}).status,
            200);
  ASSERT_EQ(Do("PUT", "/images/kept", "", {{"x-amz-copy-source", "/images/src"}}).status, 200);
  EXPECT_EQ(TagsOf(Do("GET", "/images/kept?tagging")), (Tags{{"a", "1"}}));
  ASSERT_EQ(Do("PUT", "/images/replaced", "",
               {{"x-amz-copy-source", "/images/src"},
                {"x-amz-tagging-directive", "REPLACE"},
                {"x-amz-tagging", "b=2"}})
                .status,
            200);
  EXPECT_EQ(TagsOf(Do("GET", "/images/replaced?tagging")), (Tags{{"b", "2"}}));
  EXPECT_EQ(Do("HEAD", "/images/replaced").Header("x-amz-meta-m"), "x") << "metadata copied";
  ASSERT_EQ(Do("PUT", "/images/meta", "",
               {{"x-amz-copy-source", "/images/src"},
                {"x-amz-metadata-directive", "REPLACE"},
                {"x-amz-tagging", "ignored=1"}})
                .status,
            200);
  EXPECT_EQ(TagsOf(Do("GET", "/images/meta?tagging")), (Tags{{"a", "1"}})) << "tags copied";
  EXPECT_EQ(Do("HEAD", "/images/meta").Header("x-amz-meta-m"), "");
  EXPECT_EQ(Do("PUT", "/images/bad", "",
               {{"x-amz-copy-source", "/images/src"}, {"x-amz-tagging-directive", "MOVE"}})
                .Code(),
            "InvalidArgument");
}

TEST_F(S3HandlerTest, MultipartUploadKeepsItsTagging) {
  Response created = Do("POST", "/images/mp?uploads", "", {{"x-amz-tagging", "stage=raw"}});
  ASSERT_EQ(created.status, 200) << created.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(created.body.data(), created.body.size()));
  std::string id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  Response part = Do("PUT", "/images/mp?partNumber=1&uploadId=" + id, "only part");
  ASSERT_EQ(part.status, 200);
  Response done = Do("POST", "/images/mp?uploadId=" + id,
                     "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                         part.Header("ETag") + "</ETag></Part></CompleteMultipartUpload>");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(TagsOf(Do("GET", "/images/mp?tagging")), (Tags{{"stage", "raw"}}));
}

TEST_F(S3HandlerTest, AclsAreTheOwnersFullControl) {
  ASSERT_EQ(Do("PUT", "/images/k", "v").status, 200);
  for (const char* target : {"/images?acl", "/images/k?acl"}) {
    Response r = Do("GET", target);
    ASSERT_EQ(r.status, 200) << target;
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_buffer(r.body.data(), r.body.size())) << r.body;
    pugi::xml_node policy = doc.child("AccessControlPolicy");
    EXPECT_STREQ(policy.child("Owner").child_value("ID"), "thumbflow");
    pugi::xml_node grant = policy.child("AccessControlList").child("Grant");
    EXPECT_STREQ(grant.child("Grantee").attribute("xsi:type").value(), "CanonicalUser");
    EXPECT_STREQ(grant.child("Grantee").child_value("ID"), "thumbflow");
    EXPECT_STREQ(grant.child_value("Permission"), "FULL_CONTROL");
  }
  EXPECT_EQ(Do("GET", "/images/absent?acl").Code(), "NoSuchKey");
  EXPECT_EQ(Do("GET", "/nobucket?acl").Code(), "NoSuchBucket");
}

TEST_F(S3HandlerTest, ListObjectVersionsListsEveryObjectOnceAsVersionNull) {
  for (const char* key : {"a", "b/1", "b/2", "c"})
    ASSERT_EQ(Do("PUT", "/images/" + std::string(key), key).status, 200);
  auto page = [&](const std::string& query) {
    Response r = Do("GET", "/images?versions" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    auto doc = std::make_shared<pugi::xml_document>();
    EXPECT_TRUE(doc->load_buffer(r.body.data(), r.body.size())) << r.body;
    return doc;
  };
  auto all = page("");
  pugi::xml_node result = all->child("ListVersionsResult");
  std::vector<std::string> keys;
  for (pugi::xml_node v : result.children("Version")) {
    keys.push_back(v.child_value("Key"));
    EXPECT_STREQ(v.child_value("VersionId"), "null");
    EXPECT_STREQ(v.child_value("IsLatest"), "true");
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b/1", "b/2", "c"}));
  EXPECT_STREQ(result.child_value("IsTruncated"), "false");

  auto first = page("&delimiter=/&max-keys=2");
  result = first->child("ListVersionsResult");
  EXPECT_STREQ(result.child_value("IsTruncated"), "true");
  EXPECT_STREQ(result.child("Version").child_value("Key"), "a");
  EXPECT_STREQ(result.child("CommonPrefixes").child_value("Prefix"), "b/");
  EXPECT_STREQ(result.child_value("NextKeyMarker"), "b/");
  EXPECT_FALSE(result.child("NextVersionIdMarker"));
  auto second = page("&delimiter=/&max-keys=2&key-marker=b/");
  result = second->child("ListVersionsResult");
  EXPECT_STREQ(result.child_value("IsTruncated"), "false");
  EXPECT_STREQ(result.child_value("KeyMarker"), "b/");
  EXPECT_STREQ(result.child("Version").child_value("Key"), "c");

  auto prefixed = page("&prefix=b/&max-keys=1");
  result = prefixed->child("ListVersionsResult");
  EXPECT_STREQ(result.child_value("NextKeyMarker"), "b/1");
  EXPECT_STREQ(result.child_value("NextVersionIdMarker"), "null");
  auto after = page("&prefix=b/&key-marker=b/1&version-id-marker=null");
  EXPECT_STREQ(after->child("ListVersionsResult").child("Version").child_value("Key"), "b/2");

  EXPECT_EQ(Do("GET", "/images?versions&version-id-marker=null").Code(), "InvalidArgument");
  EXPECT_EQ(Do("GET", "/images?versions&key-marker=a&version-id-marker=xyz").Code(),
            "InvalidArgument");
  // Version "null" is the object itself.
  EXPECT_EQ(Do("GET", "/images/a?versionId=null").body, "a");
  EXPECT_EQ(Do("DELETE", "/images/a?versionId=null").status, 204);
  EXPECT_EQ(Stored("images", "a"), "<absent>");
}

// A key of whitespace only is deleted under its own name, not trimmed to "" (invalid).
TEST_F(S3HandlerTest, DeleteObjectsKeepsWhitespaceKeys) {
  ASSERT_EQ(Do("PUT", "/images/%20", "space").status, 200);
  Response r = Do("POST", "/images?delete", "<Delete><Object><Key> </Key></Object></Delete>");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<Deleted><Key> </Key></Deleted>"), std::string::npos) << r.body;
  EXPECT_EQ(Stored("images", " "), "<absent>");
}

}  // namespace
}  // namespace thumbflow::server

namespace thumbflow::server {
namespace {

// ---- what a man in the middle may change -----------------------------------------------

TEST_F(S3HandlerTest, UnsignedAmzHeadersAreRefusedBeforeAnythingRuns) {
  ASSERT_EQ(Do("PUT", "/other/secret", "secret bytes").status, 200);
  Request empty_put = Make("PUT", "/images/innocent", "");
  HttpRequestHead head = Head(empty_put);
  head.content_length = 0;
  // Signed as an empty PUT; the copy source added afterwards would make it a CopyObject.
  head.headers.emplace_back("x-amz-copy-source", "/other/secret");
  Response copy = SendHead(head, "");
  EXPECT_EQ(copy.status, 403);
  EXPECT_EQ(copy.Code(), "AccessDenied");
  EXPECT_EQ(copy.ErrorElement("Message"),
            "There were headers present in the request which were not signed");
  EXPECT_EQ(copy.ErrorElement("HeadersNotSigned"), "x-amz-copy-source");
  EXPECT_EQ(Stored("images", "innocent"), "<absent>");

  head = Head(Make("PUT", "/images/meta", "m"));
  head.content_length = 1;
  head.headers.emplace_back("X-Amz-Meta-Owner", "mallory");
  Response meta = SendHead(head, "m");
  EXPECT_EQ(meta.Code(), "AccessDenied");
  EXPECT_EQ(meta.ErrorElement("HeadersNotSigned"), "x-amz-meta-owner");
  EXPECT_EQ(Stored("images", "meta"), "<absent>");

  // Signed, the same headers are honoured.
  ASSERT_EQ(Do("PUT", "/images/meta", "m", {{"x-amz-meta-owner", "alice"}}).status, 200);
  EXPECT_EQ(Do("HEAD", "/images/meta").Header("x-amz-meta-owner"), "alice");
}

// Signs `head` in place (SigV4, the test key) with `payload_hash` as x-amz-content-sha256,
// whatever the body: for requests whose declared digest is the point of the test.
bool SignWithPayloadHash(HttpRequestHead& head, const std::string& method, const std::string& path,
                         aws::QueryParams query, const std::string& payload_hash, int64_t now_ms) {
  aws::SignableRequest signable;
  signable.method = method;
  signable.path = path;
  signable.query = std::move(query);
  signable.headers.assign(head.headers.begin(), head.headers.end());
  signable.payload_hash = payload_hash;
  aws::Credentials credentials{kAccessKey, kSecret, "", std::nullopt, "test"};
  aws::Signer signer;
  if (!signer.Sign(signable, credentials, aws::S3SigningParams("us-east-1", now_ms)).ok()) {
    return false;
  }
  head.headers.assign(signable.headers.begin(), signable.headers.end());
  return true;
}

TEST_F(S3HandlerTest, ContentSha256MustBeADigestOrANamedValue) {
  Request req = Make("PUT", "/images/nothex", "body");
  req.sign = false;
  HttpRequestHead head = Head(req);
  // Signed correctly, but with a value that is neither a digest nor a named one.
  ASSERT_TRUE(SignWithPayloadHash(head, "PUT", "/images/nothex", {}, "nothex", clock_.NowMillis()));
  head.content_length = 4;
  Response r = SendHead(head, "body");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Code(), "InvalidArgument");
  EXPECT_EQ(r.ErrorElement("ArgumentName"), "x-amz-content-sha256");
  EXPECT_EQ(r.ErrorElement("ArgumentValue"), "nothex");
  EXPECT_EQ(Stored("images", "nothex"), "<absent>");
}

TEST_F(S3HandlerTest, ADigestOfABodyThatIsNotThereIsAMismatch) {
  Request req = Make("GET", "/images?list-type=2", "");
  req.sign = false;
  HttpRequestHead head = Head(req);
  ASSERT_TRUE(SignWithPayloadHash(head, "GET", "/images", {{"list-type", "2"}},
                                  Sha256Hex("a body never sent"), clock_.NowMillis()));
  EXPECT_EQ(SendHead(head, "").Code(), "XAmzContentSHA256Mismatch");
}

TEST_F(S3HandlerTest, ScopeRegionMustBeTheEndpoints) {
  options_.region = "eu-west-1";
  Restart();
  Response r = Do("GET", "/images?list-type=2");  // the test client signs for us-east-1
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Code(), "AuthorizationHeaderMalformed");
  EXPECT_EQ(r.ErrorElement("Message"),
            "The authorization header is malformed; the region 'us-east-1' is wrong; expecting "
            "'eu-west-1'");
  EXPECT_EQ(r.ErrorElement("Region"), "eu-west-1");
}

TEST_F(S3HandlerTest, PresignedUrlsCarrySignedAmzParametersAsHeaders) {
  aws::Credentials credentials{kAccessKey, kSecret, "", std::nullopt, "test"};
  auto url = aws::PresignUrl("PUT", std::string("http://") + kHost, "/images/hoisted",
                             {{"x-amz-meta-origin", "presigned"}}, credentials,
                             aws::S3SigningParams("us-east-1", clock_.NowMillis()), 600);
  ASSERT_TRUE(url.ok());
  HttpRequestHead head;
  head.method = "PUT";
  head.target = url->substr(std::string("http://").size() + std::string(kHost).size());
  head.headers = {{"Host", kHost}};
  head.content_length = 2;
  ASSERT_EQ(SendHead(head, "hi").status, 200);
  EXPECT_EQ(Do("HEAD", "/images/hoisted").Header("x-amz-meta-origin"), "presigned");
  // A header the URL did not sign is refused.
  head.headers.emplace_back("x-amz-meta-extra", "1");
  EXPECT_EQ(SendHead(head, "hi").Code(), "AccessDenied");
}

// ---- Signature Version 2 ----------------------------------------------------------------

// `target` signed with SigV2 in the header form (Date now) or, with `expires_s`, the query
// form.
HttpRequestHead SigV2Head(const std::string& method, const std::string& target, HeaderList headers,
                          int64_t now_ms, std::optional<int64_t> expires_s) {
  HttpRequestHead head;
  head.method = method;
  head.headers = std::move(headers);
  head.headers.emplace_back("Host", kHost);
  if (!expires_s) head.headers.emplace_back("Date", HttpDate(now_ms));
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  aws::HttpHeaders signed_headers(head.headers.begin(), head.headers.end());
  std::string expires = expires_s ? std::to_string(*expires_s) : "";
  std::string sts = aws::SigV2StringToSign(
      method, signed_headers, aws::SigV2CanonicalizedResource("", path, query),
      expires_s ? std::optional<std::string_view>(expires) : std::nullopt);
  std::string signature = aws::SigV2Signature(kSecret, sts);
  if (expires_s) {
    head.target = target + (query.empty() ? "?" : "&") + "AWSAccessKeyId=" + kAccessKey +
                  "&Expires=" + expires + "&Signature=" + aws::UriEncode(signature, true);
  } else {
    head.target = target;
    head.headers.emplace_back("Authorization", std::string("AWS ") + kAccessKey + ":" + signature);
  }
  return head;
}

TEST_F(S3HandlerTest, SigV2HeaderAndQueryAuthentication) {
  HttpRequestHead put =
      SigV2Head("PUT", "/images/v2/a%20b", {{"Content-Type", "text/plain"}, {"x-amz-meta-v", "2"}},
                clock_.NowMillis(), std::nullopt);
  put.content_length = 5;
  Response stored = SendHead(put, "hello");
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(Stored("images", "v2/a b"), "hello");
  EXPECT_EQ(Do("HEAD", "/images/v2/a%20b").Header("x-amz-meta-v"), "2");

  const int64_t expires = clock_.NowMillis() / 1000 + 60;
  HttpRequestHead get = SigV2Head("GET", "/images/v2/a%20b", {}, clock_.NowMillis(), expires);
  Response got = SendHead(get, "");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "hello");
  // The URL names its key; another one is a signature mismatch.
  HttpRequestHead other = get;
  other.target.replace(other.target.find("a%20b"), 5, "other");
  Response mismatch = SendHead(other, "");
  EXPECT_EQ(mismatch.status, 403);
  EXPECT_EQ(mismatch.Code(), "SignatureDoesNotMatch");
  EXPECT_EQ(mismatch.ErrorElement("StringToSign"),
            "GET\n\n\n" + std::to_string(expires) + "\n/images/v2/other");
  clock_.AdvanceSeconds(61);
  Response expired = SendHead(get, "");
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(expired.Code(), "AccessDenied");
  EXPECT_EQ(expired.ErrorElement("Message"), "Request has expired");

  // A header added to a SigV2 request is part of what it signs.
  HttpRequestHead added =
      SigV2Head("PUT", "/images/v2/added", {}, clock_.NowMillis(), std::nullopt);
  added.content_length = 1;
  added.headers.emplace_back("x-amz-copy-source", "/images/v2/a%20b");
  EXPECT_EQ(SendHead(added, "x").Code(), "SignatureDoesNotMatch");
  EXPECT_EQ(Stored("images", "v2/added"), "<absent>");
}

TEST_F(S3HandlerTest, SigV2OnlyWhereS3StillAcceptsIt) {
  options_.region = "eu-central-1";
  Restart();
  HttpRequestHead get =
      SigV2Head("GET", "/images?list-type=2", {}, clock_.NowMillis(), std::nullopt);
  Response r = SendHead(get, "");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Code(), "InvalidRequest");
  EXPECT_EQ(r.ErrorElement("Message"),
            "The authorization mechanism you have provided is not supported. Please use "
            "AWS4-HMAC-SHA256.");
}

// ---- server-side encryption is never silently ignored -----------------------------------

TEST_F(S3HandlerTest, ServerSideEncryptionHeadersAreRefusedByName) {
  ASSERT_EQ(Do("PUT", "/images/plain", "plain").status, 200);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"x-amz-server-side-encryption-customer-algorithm", "AES256"},
      {"x-amz-server-side-encryption-customer-key", "a2V5"},
      {"x-amz-server-side-encryption", "aws:kms"},
      {"x-amz-server-side-encryption-aws-kms-key-id", "alias/k"},
      {"x-amz-server-side-encryption-context", "e30="},
      {"x-amz-server-side-encryption-bucket-key-enabled", "true"},
      {"x-amz-server-side-encryption", "AES256"},
  };
  for (const auto& header : refused) {
    for (const auto& [method, target] :
         std::vector<std::pair<std::string, std::string>>{{"PUT", "/images/sse"},
                                                          {"POST", "/images/sse?uploads"},
                                                          {"GET", "/images/plain"},
                                                          {"HEAD", "/images/plain"}}) {
      Response r = Do(method, target, method == "PUT" ? "secret" : "", {header});
      EXPECT_EQ(r.status, 501) << method << " " << header.first;
      if (method == "HEAD") continue;
      EXPECT_EQ(r.Code(), "NotImplemented");
      EXPECT_EQ(r.ErrorElement("Header"), header.first);
      EXPECT_NE(r.ErrorElement("Message").find(header.first), std::string::npos);
    }
  }
  Response copy = Do("PUT", "/images/sse", "",
                     {{"x-amz-copy-source", "/images/plain"},
                      {"x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256"}});
  EXPECT_EQ(copy.status, 501);
  Response unknown = Do("PUT", "/images/sse", "x", {{"x-amz-server-side-encryption", "ROT13"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.Code(), "InvalidArgument");
  EXPECT_EQ(Stored("images", "sse"), "<absent>");
  // No reply ever claims encryption at rest.
  EXPECT_EQ(Do("GET", "/images/plain").Header("x-amz-server-side-encryption"), "");
}

}  // namespace
}  // namespace thumbflow::server

namespace thumbflow::server {
namespace {

// ---- access control lists (s3_acl.h) --------------------------------------------------------

class S3AclTest : public S3UsersTest {
 protected:
  void SetUp() override {
    S3UsersTest::SetUp();
    options_.users[0].email = "alice@example.com";
    Restart();
    ASSERT_EQ(As("alice", "PUT", "/alices").status, 200);
    ASSERT_EQ(As("alice", "PUT", "/alices/k", "alice's").status, 200);
  }

  Response Unsigned(std::string method, std::string target, std::string body = "",
                    HeaderList headers = {}) {
    Request req = Make(std::move(method), std::move(target), std::move(body));
    req.headers = std::move(headers);
    req.sign = false;
    return Send(std::move(req));
  }

  // The grants of an AccessControlPolicy reply: "ID or URI=PERMISSION", in order.
  static std::vector<std::string> Grants(const Response& r) {
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_buffer(r.body.data(), r.body.size())) << r.body;
    std::vector<std::string> out;
    for (pugi::xml_node g :
         doc.child("AccessControlPolicy").child("AccessControlList").children("Grant")) {
      pugi::xml_node grantee = g.child("Grantee");
      std::string type = grantee.attribute("xsi:type").value();
      std::string who = type == "Group" ? grantee.child_value("URI") : grantee.child_value("ID");
      out.push_back(type + ":" + who + "=" + g.child_value("Permission"));
    }
    return out;
  }

  static std::string Policy(const std::string& owner, const std::string& grants) {
    return "<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>" +
           owner + "</ID></Owner><AccessControlList>" + grants +
           "</AccessControlList></AccessControlPolicy>";
  }
  static std::string UserGrant(const std::string& id, const std::string& permission) {
    return "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
           "xsi:type=\"CanonicalUser\"><ID>" +
           id + "</ID></Grantee><Permission>" + permission + "</Permission></Grant>";
  }
};

const std::string kAll = "Group:http://acs.amazonaws.com/groups/global/AllUsers";
const std::string kAuthenticated =
    "Group:http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

TEST_F(S3AclTest, AnonymousIsStillDeniedWithoutAGrant) {
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/alices/k"},
                                                        {"HEAD", "/alices/k"},
                                                        {"PUT", "/alices/new"},
                                                        {"DELETE", "/alices/k"},
                                                        {"GET", "/alices?list-type=2"},
                                                        {"GET", "/alices?acl"},
                                                        {"PUT", "/alices/k?acl"},
                                                        {"GET", "/"},
                                                        {"PUT", "/anonymous-bucket"},
                                                        {"GET", "/nobody/k"}}) {
    Response r = Unsigned(method, target, method == "PUT" ? "x" : "");
    EXPECT_EQ(r.status, 403) << method << " " << target;
    if (method != "HEAD") {
      EXPECT_EQ(r.Code(), "AccessDenied") << method << " " << target;
    }
  }
  EXPECT_EQ(Stored("alices", "k"), "alice's");
  EXPECT_EQ(Stored("alices", "new"), "<absent>");
}

TEST_F(S3AclTest, AnotherUserIsDeniedWithoutAGrant) {
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/alices/k"},
                                                        {"PUT", "/alices/k"},
                                                        {"GET", "/alices?list-type=2"},
                                                        {"GET", "/alices?acl"},
                                                        {"PUT", "/alices?acl"},
                                                        {"GET", "/alices/k?acl"},
                                                        {"PUT", "/alices/k?acl"}}) {
    Response r = As("bob", method, target, "", {{"x-amz-acl", "public-read"}});
    EXPECT_EQ(r.Code(), "AccessDenied") << method << " " << target;
  }
  EXPECT_EQ(Grants(As("alice", "GET", "/alices?acl")),
            std::vector<std::string>{"CanonicalUser:alice=FULL_CONTROL"});
  EXPECT_EQ(Stored("alices", "k"), "alice's");
}

TEST_F(S3AclTest, AllUsersReadLetsAnUnsignedGetThroughButNotAPut) {
  ASSERT_EQ(As("alice", "PUT", "/alices/pub", "public", {{"x-amz-acl", "public-read"}}).status,
            200);
  EXPECT_EQ(Unsigned("GET", "/alices/pub").body, "public");
  EXPECT_EQ(Unsigned("HEAD", "/alices/pub").status, 200);
  EXPECT_EQ(As("bob", "GET", "/alices/pub").body, "public");
  EXPECT_EQ(Unsigned("PUT", "/alices/pub", "overwritten").Code(), "AccessDenied");
  EXPECT_EQ(Unsigned("DELETE", "/alices/pub").Code(), "AccessDenied");
  EXPECT_EQ(Unsigned("GET", "/alices?list-type=2").Code(), "AccessDenied");
  EXPECT_EQ(Unsigned("GET", "/alices/k").Code(), "AccessDenied");
  EXPECT_EQ(Unsigned("GET", "/alices/pub?acl").Code(), "AccessDenied");
  // An anonymous link cannot serve a public object under another Content-Type.
  EXPECT_EQ(Unsigned("GET", "/alices/pub?response-content-type=text%2Fhtml").Code(),
            "InvalidRequest");
  EXPECT_EQ(Stored("alices", "pub"), "public");
  // A missing key is NoSuchKey only to those who may list the bucket.
  EXPECT_EQ(Unsigned("GET", "/alices/absent").Code(), "AccessDenied");
  EXPECT_EQ(As("alice", "GET", "/alices/absent").Code(), "NoSuchKey");
}

TEST_F(S3AclTest, ABadSignatureIsRefusedEvenWhereAnonymousWouldPass) {
  ASSERT_EQ(As("alice", "PUT", "/alices?acl", "", {{"x-amz-acl", "public-read-write"}}).status,
            200);
  Request forged = Make("PUT", "/alices/forged", "x");
  forged.access_key = "AKBOB";
  forged.secret = "wrong";
  EXPECT_EQ(Send(forged).Code(), "SignatureDoesNotMatch");
  Request unknown = Make("GET", "/alices?list-type=2", "");
  unknown.access_key = "AKNOBODY";
  EXPECT_EQ(Send(unknown).Code(), "InvalidAccessKeyId");
  // A presigned-looking query without a valid signature is not anonymous either.
  EXPECT_EQ(Unsigned("GET", "/alices/k?X-Amz-Signature=00").status, 400);
  EXPECT_EQ(Stored("alices", "forged"), "<absent>");
}

TEST_F(S3AclTest, APublicReadWriteBucketTakesAnonymousListsAndWritesOwnedByItsOwner) {
  ASSERT_EQ(As("alice", "PUT", "/alices?acl", "", {{"x-amz-acl", "public-read-write"}}).status,
            200);
  EXPECT_EQ(Grants(As("alice", "GET", "/alices?acl")),
            (std::vector<std::string>{kAll + "=READ", kAll + "=WRITE",
                                      "CanonicalUser:alice=FULL_CONTROL"}));
  EXPECT_EQ(Unsigned("GET", "/alices?list-type=2").status, 200);
  EXPECT_EQ(Unsigned("PUT", "/alices/anon", "anon").status, 200);
  EXPECT_EQ(Stored("alices", "anon"), "anon");
  EXPECT_EQ(OwnerOf(As("alice", "GET", "/alices/anon?acl"), "AccessControlPolicy"), "alice/alice");
  // Writing objects is not deleting the bucket nor changing its configuration.
  EXPECT_EQ(Unsigned("DELETE", "/alices").Code(), "AccessDenied");
  EXPECT_EQ(As("bob", "DELETE", "/alices").Code(), "AccessDenied");
  EXPECT_EQ(As("bob", "GET", "/alices?cors").Code(), "AccessDenied");
  // bob's object in alice's bucket is bob's: alice lists it but may not read it.
  ASSERT_EQ(As("bob", "PUT", "/alices/bobs", "bob's").status, 200);
  EXPECT_EQ(OwnerOf(As("bob", "GET", "/alices/bobs?acl"), "AccessControlPolicy"), "bob/bob");
  EXPECT_EQ(As("alice", "GET", "/alices/bobs").Code(), "AccessDenied");
  EXPECT_EQ(As("alice", "DELETE", "/alices/bobs").status, 204);
}

TEST_F(S3AclTest, CannedAclsAreTheGrantsGetAclReturns) {
  ASSERT_EQ(As("alice", "PUT", "/alices?acl", "", {{"x-amz-acl", "public-read-write"}}).status,
            200);
  struct Case {
    std::string canned;
    std::vector<std::string> grants;
  };
  for (const Case& c :
       {Case{"private", {"CanonicalUser:bob=FULL_CONTROL"}},
        Case{"public-read", {kAll + "=READ", "CanonicalUser:bob=FULL_CONTROL"}},
        Case{"public-read-write",
             {kAll + "=READ", kAll + "=WRITE", "CanonicalUser:bob=FULL_CONTROL"}},
        Case{"authenticated-read", {kAuthenticated + "=READ", "CanonicalUser:bob=FULL_CONTROL"}},
        Case{"bucket-owner-read", {"CanonicalUser:bob=FULL_CONTROL", "CanonicalUser:alice=READ"}},
        Case{"bucket-owner-full-control",
             {"CanonicalUser:bob=FULL_CONTROL", "CanonicalUser:alice=FULL_CONTROL"}}}) {
    ASSERT_EQ(As("bob", "PUT", "/alices/c", "v", {{"x-amz-acl", c.canned}}).status, 200);
    EXPECT_EQ(Grants(As("bob", "GET", "/alices/c?acl")), c.grants) << c.canned;
  }
  // authenticated-read: any signed user, never anonymous.
  ASSERT_EQ(As("alice", "PUT", "/alices/auth", "v", {{"x-amz-acl", "authenticated-read"}}).status,
            200);
  EXPECT_EQ(As("bob", "GET", "/alices/auth").body, "v");
  EXPECT_EQ(Unsigned("GET", "/alices/auth").Code(), "AccessDenied");
  Response bad = As("alice", "PUT", "/alices/x", "v", {{"x-amz-acl", "public-everything"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Code(), "InvalidArgument");
  EXPECT_EQ(Stored("alices", "x"), "<absent>");
}

TEST_F(S3AclTest, GrantHeadersResolveUsersGroupsAndEmails) {
  Response put = As("alice", "PUT", "/alices/g", "v",
                    {{"x-amz-grant-read", "id=\"bob\", emailAddress=\"alice@example.com\""},
                     {"x-amz-grant-full-control", "id=alice"},
                     {"x-amz-grant-read-acp",
                      "uri=\"http://acs.amazonaws.com/groups/global/AuthenticatedUsers\""}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(
      Grants(As("alice", "GET", "/alices/g?acl")),
      (std::vector<std::string>{"CanonicalUser:bob=READ", "CanonicalUser:alice=READ",
                                kAuthenticated + "=READ_ACP", "CanonicalUser:alice=FULL_CONTROL"}));
  EXPECT_EQ(As("bob", "GET", "/alices/g").body, "v");
  EXPECT_EQ(As("bob", "GET", "/alices/g?acl").status, 200);
  EXPECT_EQ(As("bob", "PUT", "/alices/g?acl", "", {{"x-amz-acl", "private"}}).Code(),
            "AccessDenied");
  Response nobody = As("alice", "PUT", "/alices/n", "v", {{"x-amz-grant-read", "id=\"carol\""}});
  EXPECT_EQ(nobody.status, 400);
  EXPECT_EQ(nobody.Code(), "InvalidArgument");
  Response email =
      As("alice", "PUT", "/alices/n", "v", {{"x-amz-grant-read", "emailAddress=\"no@x.org\""}});
  EXPECT_EQ(email.status, 400);
  EXPECT_EQ(email.Code(), "UnresolvableGrantByEmailAddress");
  Response both = As("alice", "PUT", "/alices/n", "v",
                     {{"x-amz-acl", "private"}, {"x-amz-grant-read", "id=\"bob\""}});
  EXPECT_EQ(both.Code(), "InvalidRequest");
  EXPECT_EQ(As("alice", "PUT", "/alices/n", "v", {{"x-amz-grant-read", "bob"}}).Code(),
            "InvalidArgument");
  EXPECT_EQ(Stored("alices", "n"), "<absent>");
}

TEST_F(S3AclTest, PutBucketAclWithADocumentGrantsListingAndWriting) {
  EXPECT_EQ(As("bob", "GET", "/alices?list-type=2").Code(), "AccessDenied");
  Response put = As("alice", "PUT", "/alices?acl",
                    Policy("alice", UserGrant("alice", "FULL_CONTROL") + UserGrant("bob", "READ")));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(As("bob", "GET", "/alices?list-type=2").status, 200);
  EXPECT_EQ(As("bob", "PUT", "/alices/b", "x").Code(), "AccessDenied");
  ASSERT_EQ(As("alice", "PUT", "/alices?acl", Policy("alice", UserGrant("bob", "WRITE"))).status,
            200);
  EXPECT_EQ(As("bob", "PUT", "/alices/b", "x").status, 200);
  EXPECT_EQ(As("bob", "GET", "/alices?list-type=2").Code(), "AccessDenied");
  // The owner granted itself nothing, yet may always read and write the bucket's ACL.
  EXPECT_EQ(As("alice", "GET", "/alices?list-type=2").Code(), "AccessDenied");
  EXPECT_EQ(Grants(As("alice", "GET", "/alices?acl")),
            std::vector<std::string>{"CanonicalUser:bob=WRITE"});
  EXPECT_EQ(As("alice", "PUT", "/alices?acl", "", {{"x-amz-acl", "private"}}).status, 200);
  EXPECT_EQ(As("alice", "GET", "/alices?list-type=2").status, 200);

  struct Bad {
    std::string body;
    HeaderList headers;
    int status;
    std::string code;
  };
  for (const Bad& bad :
       {Bad{"<AccessControlPolicy><Owner>", {}, 400, "MalformedACLError"},
        Bad{Policy("alice", "<Grant><Permission>READ</Permission></Grant>"),
            {},
            400,
            "MalformedACLError"},
        Bad{Policy("alice", UserGrant("bob", "READ_ALL")), {}, 400, "MalformedACLError"},
        Bad{"<Other/>", {}, 400, "MalformedACLError"},
        Bad{Policy("alice", UserGrant("carol", "READ")), {}, 400, "InvalidArgument"},
        Bad{Policy("bob", UserGrant("bob", "FULL_CONTROL")), {}, 403, "AccessDenied"},
        Bad{Policy("alice", UserGrant("bob", "READ")),
            {{"x-amz-acl", "private"}},
            400,
            "UnexpectedContent"},
        Bad{"", {}, 400, "MissingSecurityHeader"}}) {
    Response r = As("alice", "PUT", "/alices?acl", bad.body, bad.headers);
    EXPECT_EQ(r.status, bad.status) << bad.body;
    EXPECT_EQ(r.Code(), bad.code) << bad.body;
  }
  EXPECT_EQ(Grants(As("alice", "GET", "/alices?acl")),
            std::vector<std::string>{"CanonicalUser:alice=FULL_CONTROL"});
}

TEST_F(S3AclTest, ObjectAclsNeedReadAcpAndWriteAcp) {
  ASSERT_EQ(As("alice", "PUT", "/alices/k?acl", "", {{"x-amz-grant-read-acp", "id=bob"}}).status,
            200);
  EXPECT_EQ(Grants(As("bob", "GET", "/alices/k?acl")),
            std::vector<std::string>{"CanonicalUser:bob=READ_ACP"});
  EXPECT_EQ(As("bob", "GET", "/alices/k").Code(), "AccessDenied");
  EXPECT_EQ(As("bob", "PUT", "/alices/k?acl", "", {{"x-amz-grant-read", "id=bob"}}).Code(),
            "AccessDenied");
  ASSERT_EQ(As("alice", "PUT", "/alices/k?acl", "", {{"x-amz-grant-write-acp", "id=bob"}}).status,
            200);
  EXPECT_EQ(As("bob", "PUT", "/alices/k?acl", "", {{"x-amz-grant-read", "id=bob"}}).status, 200);
  EXPECT_EQ(As("bob", "GET", "/alices/k").body, "alice's");
  // The object stays alice's; its bytes and metadata are untouched.
  EXPECT_EQ(OwnerOf(As("alice", "GET", "/alices/k?acl"), "AccessControlPolicy"), "alice/alice");
  EXPECT_EQ(Stored("alices", "k"), "alice's");
  EXPECT_EQ(As("alice", "PUT", "/alices/absent?acl", "", {{"x-amz-acl", "private"}}).Code(),
            "NoSuchKey");
}

TEST_F(S3AclTest, CopiesAndMultipartUploadsGetTheAclTheirRequestAsks) {
  ASSERT_EQ(As("alice", "PUT", "/alices/src", "bytes", {{"x-amz-acl", "public-read"}}).status, 200);
  ASSERT_EQ(As("alice", "PUT", "/alices/copy", "", {{"x-amz-copy-source", "/alices/src"}}).status,
            200);
  EXPECT_EQ(Grants(As("alice", "GET", "/alices/copy?acl")),
            std::vector<std::string>{"CanonicalUser:alice=FULL_CONTROL"});
  ASSERT_EQ(As("alice", "PUT", "/alices/copy2", "",
               {{"x-amz-copy-source", "/alices/src"}, {"x-amz-acl", "authenticated-read"}})
                .status,
            200);
  EXPECT_EQ(
      Grants(As("alice", "GET", "/alices/copy2?acl")),
      (std::vector<std::string>{kAuthenticated + "=READ", "CanonicalUser:alice=FULL_CONTROL"}));
  // bob reads the public source into his own bucket; the copy is his and private.
  ASSERT_EQ(As("bob", "PUT", "/bobs").status, 200);
  ASSERT_EQ(As("bob", "PUT", "/bobs/c", "", {{"x-amz-copy-source", "/alices/src"}}).status, 200);
  EXPECT_EQ(Stored("bobs", "c"), "bytes");
  EXPECT_EQ(As("bob", "PUT", "/bobs/d", "", {{"x-amz-copy-source", "/alices/k"}}).Code(),
            "AccessDenied");

  Response created = As("alice", "POST", "/alices/mp?uploads", "", {{"x-amz-acl", "public-read"}});
  ASSERT_EQ(created.status, 200) << created.body;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(created.body.data(), created.body.size()));
  const std::string id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  Response part = As("alice", "PUT", "/alices/mp?partNumber=1&uploadId=" + id, "part");
  ASSERT_EQ(part.status, 200);
  Response done = As("alice", "POST", "/alices/mp?uploadId=" + id,
                     "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                         part.Header("ETag") + "</ETag></Part></CompleteMultipartUpload>");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(Unsigned("GET", "/alices/mp").body, "part");
}

TEST_F(S3AclTest, FullControlIsNotOwnership) {
  ASSERT_EQ(As("alice", "PUT", "/alices?acl", "", {{"x-amz-grant-full-control", "id=bob"}}).status,
            200);
  EXPECT_EQ(As("bob", "GET", "/alices?list-type=2").status, 200);
  EXPECT_EQ(As("bob", "PUT", "/alices/b", "x").status, 200);
  EXPECT_EQ(As("bob", "GET", "/alices?acl").status, 200);
  EXPECT_EQ(As("bob", "DELETE", "/alices/b").status, 204);
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"DELETE", "/alices"},
                                                        {"GET", "/alices?cors"},
                                                        {"GET", "/alices?location"},
                                                        {"PUT", "/alices/k?tagging"}}) {
    EXPECT_EQ(As("bob", method, target).Code(), "AccessDenied") << method << " " << target;
  }
  EXPECT_EQ(BucketNames(As("bob", "GET", "/")), std::vector<std::string>{});
}

// Grants are kept by the store: a restarted endpoint over the same local store answers them.
TEST_F(S3AclTest, AclsSurviveARestartOfALocalStore) {
  LocalStoreOptions store_options;
  store_options.staging_dir = dir_.path() + "/staging";
  std::filesystem::create_directories(dir_.path() + "/staging");
  std::unique_ptr<LocalObjectStore> local;
  auto open = [&] {
    handler_.reset();
    local.reset();
    auto opened = LocalObjectStore::Open(dir_.path() + "/data", store_options, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    local = std::move(*opened);
    handler_ = std::make_unique<S3Handler>(options_, local.get(), &clock_, nullptr);
  };
  open();
  ASSERT_EQ(As("alice", "PUT", "/saved", "", {{"x-amz-acl", "public-read"}}).status, 200);
  ASSERT_EQ(As("alice", "PUT", "/saved/o", "v", {{"x-amz-grant-read", "id=bob"}}).status, 200);
  ASSERT_TRUE(local->Put("saved", "thumb.jpg", "t").ok());  // as the pipeline writes
  open();
  EXPECT_EQ(Unsigned("GET", "/saved?list-type=2").status, 200);
  EXPECT_EQ(As("bob", "GET", "/saved/o").body, "v");
  EXPECT_EQ(Grants(As("alice", "GET", "/saved/o?acl")),
            std::vector<std::string>{"CanonicalUser:bob=READ"});
  // What the store writes itself belongs to the bucket's owner.
  EXPECT_EQ(Grants(As("alice", "GET", "/saved/thumb.jpg?acl")),
            std::vector<std::string>{"CanonicalUser:alice=FULL_CONTROL"});
  EXPECT_EQ(As("alice", "GET", "/saved/thumb.jpg").body, "t");
  handler_.reset();
}

// ---- versioning (over the local store, which keeps versions) -------------------------------

class S3VersioningTest : public S3HandlerTest {
 protected:
  void SetUp() override {
    S3HandlerTest::SetUp();
    LocalStoreOptions store_options;
    store_options.staging_dir = dir_.path() + "/staging";
    std::filesystem::create_directories(store_options.staging_dir);
    auto opened = LocalObjectStore::Open(dir_.path() + "/data", store_options, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    local_ = std::move(*opened);
    handler_ = std::make_unique<S3Handler>(options_, local_.get(), &clock_, nullptr);
  }
  void TearDown() override { handler_.reset(); }

  // The <Version> and <DeleteMarker> entries of ListObjectVersions: "key@id", "+" for a
  // delete marker, "*" for the latest.
  std::vector<std::string> Versions(const std::string& query = "") {
    Response r = Do("GET", "/images?versions" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_buffer(r.body.data(), r.body.size())) << r.body;
    std::vector<std::string> out;
    for (pugi::xml_node v : doc.child("ListVersionsResult").children()) {
      const std::string name = v.name();
      if (name != "Version" && name != "DeleteMarker") continue;
      out.push_back(std::string(v.child_value("Key")) + "@" + v.child_value("VersionId") +
                    (name == "DeleteMarker" ? "+" : "") +
                    (std::string_view(v.child_value("IsLatest")) == "true" ? "*" : ""));
    }
    return out;
  }

  // Versioning enabled on "images" and key "k" put twice, "one" then "two": their ids.
  std::pair<std::string, std::string> TwoVersions() {
    EXPECT_EQ(Do("PUT", "/images?versioning",
                 "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
                  .status,
              200);
    return {Do("PUT", "/images/k", "one").Header("x-amz-version-id"),
            Do("PUT", "/images/k", "two").Header("x-amz-version-id")};
  }

  std::unique_ptr<LocalObjectStore> local_;
};

TEST_F(S3VersioningTest, VersionsDeleteMarkersAndTheNullVersion) {
  // Never configured: an empty configuration, no version ids.
  Response config = Do("GET", "/images?versioning");
  EXPECT_EQ(config.status, 200);
  EXPECT_EQ(config.body.find("<Status>"), std::string::npos) << config.body;
  Response plain = Do("PUT", "/images/k", "plain");
  EXPECT_EQ(plain.Header("x-amz-version-id"), "");
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@null*"}));

  const std::string enable =
      "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
  ASSERT_EQ(Do("PUT", "/images?versioning", enable).status, 200);
  EXPECT_NE(Do("GET", "/images?versioning").body.find("<Status>Enabled</Status>"),
            std::string::npos);
  Response v1 = Do("PUT", "/images/k", "one");
  const std::string id1 = v1.Header("x-amz-version-id");
  ASSERT_EQ(id1.size(), 32u);
  Response got = Do("GET", "/images/k");
  EXPECT_EQ(got.body, "one");
  EXPECT_EQ(got.Header("x-amz-version-id"), id1);
  EXPECT_EQ(Do("GET", "/images/k?versionId=null").body, "plain");
  EXPECT_EQ(Do("HEAD", "/images/k?versionId=null").Header("x-amz-version-id"), "null");

  // A delete marker: 404 with x-amz-delete-marker; 405 when asked for by id.
  Response deleted = Do("DELETE", "/images/k");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.Header("x-amz-delete-marker"), "true");
  const std::string marker = deleted.Header("x-amz-version-id");
  ASSERT_EQ(marker.size(), 32u);
  Response hidden = Do("GET", "/images/k");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(hidden.Code(), "NoSuchKey");
  EXPECT_EQ(hidden.Header("x-amz-delete-marker"), "true");
  EXPECT_EQ(hidden.Header("x-amz-version-id"), marker);
  Response by_id = Do("GET", "/images/k?versionId=" + marker);
  EXPECT_EQ(by_id.status, 405);
  EXPECT_EQ(by_id.Code(), "MethodNotAllowed");
  EXPECT_EQ(by_id.Header("x-amz-delete-marker"), "true");
  EXPECT_EQ(Do("HEAD", "/images/k?versionId=" + marker).status, 405);
  EXPECT_EQ(Do("GET", "/images/k?versionId=00000000000000000000000000000000").Code(),
            "NoSuchVersion");
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@" + marker + "+*", "k@" + id1, "k@null"}));
  EXPECT_EQ(ListedKeys(Do("GET", "/images?list-type=2")), std::vector<std::string>{});

  // Removing the marker by id brings the object back.
  Response unmarked = Do("DELETE", "/images/k?versionId=" + marker);
  EXPECT_EQ(unmarked.status, 204);
  EXPECT_EQ(unmarked.Header("x-amz-delete-marker"), "true");
  EXPECT_EQ(unmarked.Header("x-amz-version-id"), marker);
  EXPECT_EQ(Do("GET", "/images/k").body, "one");

  // Copy from a version; the copy is a new version with its own id.
  Response copied =
      Do("PUT", "/images/copy", "", {{"x-amz-copy-source", "/images/k?versionId=null"}});
  EXPECT_EQ(copied.status, 200) << copied.body;
  EXPECT_EQ(copied.Header("x-amz-copy-source-version-id"), "null");
  EXPECT_EQ(copied.Header("x-amz-version-id").size(), 32u);
  EXPECT_EQ(Do("GET", "/images/copy").body, "plain");

  // Suspended: new writes replace the "null" version.
  const std::string suspend =
      "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
  ASSERT_EQ(Do("PUT", "/images?versioning", suspend).status, 200);
  // As S3: a write to a suspended bucket answers no version id; reads name "null".
  EXPECT_EQ(Do("PUT", "/images/k", "suspended").Header("x-amz-version-id"), "");
  EXPECT_EQ(Do("HEAD", "/images/k").Header("x-amz-version-id"), "null");
  EXPECT_EQ(Versions("&prefix=k"), (std::vector<std::string>{"k@null*", "k@" + id1}));
  EXPECT_EQ(Do("GET", "/images/k?versionId=null").body, "suspended");

  // DeleteObjects with VersionId, and one that makes a marker.
  Response batch = Do("POST", "/images?delete",
                      "<Delete><Object><Key>k</Key><VersionId>" + id1 +
                          "</VersionId></Object><Object><Key>copy</Key></Object></Delete>");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_NE(batch.body.find("<VersionId>" + id1 + "</VersionId>"), std::string::npos);
  EXPECT_NE(batch.body.find("<DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>null"),
            std::string::npos)
      << batch.body;
  EXPECT_EQ(Versions("&prefix=k"), (std::vector<std::string>{"k@null*"}));

  EXPECT_EQ(Do("PUT", "/images?versioning", "<VersioningConfiguration/>").Code(),
            "IllegalVersioningConfigurationException");
  EXPECT_EQ(Do("PUT", "/images?versioning", "not xml").Code(), "MalformedXML");
  EXPECT_EQ(Do("PUT", "/images?versioning",
               "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete>"
               "</VersioningConfiguration>")
                .Code(),
            "NotImplemented");
  // Versions keep the bucket from being deleted.
  EXPECT_EQ(Do("DELETE", "/images").Code(), "BucketNotEmpty");
}

TEST_F(S3VersioningTest, ListObjectVersionsPagesThroughVersions) {
  ASSERT_EQ(Do("PUT", "/images?versioning",
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
                .status,
            200);
  std::vector<std::string> expected;
  for (const std::string key : {"a", "b"}) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      ids.insert(ids.begin(), Do("PUT", "/images/" + key, key).Header("x-amz-version-id"));
    }
    for (size_t i = 0; i < ids.size(); ++i) expected.push_back(key + "@" + ids[i] + (i ? "" : "*"));
  }
  EXPECT_EQ(Versions(), expected);
  std::vector<std::string> paged;
  std::string query = "&max-keys=2";
  for (int page = 0; page < 10; ++page) {
    Response r = Do("GET", "/images?versions" + query);
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_buffer(r.body.data(), r.body.size()));
    pugi::xml_node result = doc.child("ListVersionsResult");
    for (pugi::xml_node v : result.children("Version")) {
      paged.push_back(std::string(v.child_value("Key")) + "@" + v.child_value("VersionId") +
                      (std::string_view(v.child_value("IsLatest")) == "true" ? "*" : ""));
    }
    if (std::string_view(result.child_value("IsTruncated")) != "true") break;
    query = std::string("&max-keys=2&key-marker=") + result.child_value("NextKeyMarker") +
            "&version-id-marker=" + result.child_value("NextVersionIdMarker");
  }
  EXPECT_EQ(paged, expected);
  EXPECT_EQ(Do("GET", "/images?versions&key-marker=a&version-id-marker=nope").Code(),
            "InvalidArgument");
}

TEST_F(S3VersioningTest, AclsAndTagsBelongToEachVersion) {
  const auto [v1, v2] = TwoVersions();
  Response acl = Do("PUT", "/images/k?acl&versionId=" + v1, "", {{"x-amz-acl", "public-read"}});
  ASSERT_EQ(acl.status, 200) << acl.body;
  EXPECT_EQ(acl.Header("x-amz-version-id"), v1);
  EXPECT_NE(Do("GET", "/images/k?acl&versionId=" + v1).body.find("AllUsers"), std::string::npos);
  EXPECT_EQ(Do("GET", "/images/k?acl").body.find("AllUsers"), std::string::npos);
  const std::string tagging =
      "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
  ASSERT_EQ(Do("PUT", "/images/k?tagging&versionId=" + v1, tagging).status, 200);
  EXPECT_NE(Do("GET", "/images/k?tagging&versionId=" + v1).body.find("<Key>a</Key>"),
            std::string::npos);
  EXPECT_EQ(Do("GET", "/images/k?tagging&versionId=" + v2).body.find("<Key>a</Key>"),
            std::string::npos);
  EXPECT_EQ(Do("DELETE", "/images/k?tagging&versionId=" + v1).status, 204);
  EXPECT_EQ(Do("GET", "/images/k?tagging&versionId=" + v1).body.find("<Key>a</Key>"),
            std::string::npos);
  EXPECT_EQ(Do("GET", "/images/k?acl&versionId=00000000000000000000000000000000").Code(),
            "NoSuchVersion");
}

// A request naming a version: that version's ACL and the Version actions of the bucket's
// policy decide (s3_auth.h); a versionId this server cannot have issued is 400.
TEST_F(S3VersioningTest, VersionRequestsAreAuthorizedAsTheVersionActions) {
  const auto [v1, v2] = TwoVersions();
  ASSERT_EQ(Do("PUT", "/images/k?acl", "", {{"x-amz-acl", "public-read"}}).status, 200);  // v2
  auto anonymous = [&](const std::string& target) {
    Request req = Make("GET", target, "");
    req.sign = false;
    return Send(std::move(req));
  };
  EXPECT_EQ(anonymous("/images/k").body, "two");
  EXPECT_EQ(anonymous("/images/k?versionId=" + v2).body, "two");
  EXPECT_EQ(anonymous("/images/k?versionId=" + v1).status, 403);  // v1's ACL is private
  auto put_policy = [&](const std::string& action, const std::string& condition) {
    const std::string document =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":")" +
        action + R"(","Resource":"arn:aws:s3:::images/*")" + condition + "}]}";
    Response put = Do("PUT", "/images?policy", document);
    ASSERT_EQ(put.status, 204) << put.body;
  };
  put_policy("s3:GetObject", "");
  EXPECT_EQ(anonymous("/images/k?versionId=" + v1).status, 403);
  put_policy("s3:GetObjectVersion",
             R"(,"Condition":{"StringEquals":{"s3:versionid":")" + v1 + R"("}})");
  EXPECT_EQ(anonymous("/images/k?versionId=" + v1).body, "one");
  ASSERT_EQ(Do("PUT", "/images/k?acl", "", {{"x-amz-acl", "private"}}).status, 200);
  EXPECT_EQ(anonymous("/images/k?versionId=" + v2).status, 403);
  EXPECT_EQ(anonymous("/images/k").status, 403);

  Response malformed = Do("GET", "/images/k?versionId=" + v1 + "0");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.Code(), "InvalidArgument");
  EXPECT_EQ(malformed.ErrorElement("Message"), "Invalid version id specified");
  EXPECT_EQ(malformed.ErrorElement("ArgumentName"), "versionId");
  EXPECT_EQ(Do("DELETE", "/images/k?versionId=").ErrorElement("Message"),
            "Version id cannot be the empty string");
  EXPECT_EQ(Do("GET", "/images/k?versionId=00000000000000000000000000000000").Code(),
            "NoSuchVersion");
  EXPECT_EQ(Do("GET", "/images/k?versionId=null").status, 404);  // no null version here
}

}  // namespace
}  // namespace thumbflow::server
