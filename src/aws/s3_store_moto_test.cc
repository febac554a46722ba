// The S3 store against moto_server: byte-exact round trips with awkward keys, ranges,
// conditions, metadata, listing with pagination, deletes, and error mapping.
#include <gtest/gtest.h>

#include "aws/aws_settings.h"
#include "aws/checksums.h"
#include "aws/s3_store.h"
#include "aws/testing/moto_server.h"

namespace thumbflow::aws {
namespace {

using testing::MotoServer;

class S3StoreMotoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { moto_ = MotoServer::StartOrSkip().release(); }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }

  void SetUp() override {
    if (moto_ == nullptr) GTEST_SKIP() << MotoServer::SkipReason();
    ASSERT_TRUE(moto_->Reset());
    http_ = NewDefaultHttpClient();
    S3StoreOptions options;
    options.endpoint = moto_->endpoint();
    auto store = NewS3Store(options, http_,
                            NewStaticCredentialsProvider(MotoServer::TestCredentials()), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->CreateBucket("images").ok());
  }

  static MotoServer* moto_;
  SystemClock clock_;
  std::shared_ptr<HttpClient> http_;
  std::unique_ptr<S3Store> store_;
};

MotoServer* S3StoreMotoTest::moto_ = nullptr;

std::string Bytes(size_t n, int seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + seed * 7) & 0xFF);
  return out;
}

TEST_F(S3StoreMotoTest, RoundTripsAwkwardKeysByteExact) {
  const std::vector<std::string> keys = {"uploads/plain.jpg",          "uploads/with space.jpg",
                                         "uploads/plus+sign.png",      "uploads/100%.gif",
                                         "uploads/ünïcødé/日本.webp",  "uploads/a/b/c/deep.tiff",
                                         "uploads/odd~!*'()$&,;=@.bin"};
  for (size_t i = 0; i < keys.size(); ++i) {
    SCOPED_TRACE(keys[i]);
    std::string bytes = Bytes(1000 + i * 777, static_cast<int>(i));
    PutOptions put;
    put.content_type = "image/jpeg";
    put.metadata = {{"source-etag", "abc"}, {"Mixed-Case", "v"}};
    auto info = store_->Put("images", keys[i], bytes, put);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->etag, "\"" + Md5Hex(bytes) + "\"");
    auto got = store_->Get("images", keys[i]);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(Sha256Hex(got->bytes), Sha256Hex(bytes));
    EXPECT_EQ(got->info.content_type, "image/jpeg");
    EXPECT_EQ(got->info.metadata["source-etag"], "abc");
    EXPECT_EQ(got->info.metadata["mixed-case"], "v");
    auto head = store_->Head("images", keys[i]);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(head->size, static_cast<int64_t>(bytes.size()));
    EXPECT_EQ(head->etag, info->etag);
    EXPECT_GT(head->last_modified_ms, 0);
  }
  auto listed = store_->List("images", ListOptions{.prefix = "uploads/"});
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> names;
  for (const auto& o : listed->objects) names.push_back(o.key);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(names, sorted);
  for (const auto& key : keys) ASSERT_TRUE(store_->Delete("images", key).ok());
  EXPECT_TRUE(store_->List("images", {})->objects.empty());
}

TEST_F(S3StoreMotoTest, RangesAndConditions) {
  std::string bytes = Bytes(5000, 3);
  auto info = store_->Put("images", "r.bin", bytes);
  ASSERT_TRUE(info.ok());
  auto part = store_->Get("images", "r.bin", GetOptions{.range = ByteRange{10, 19}});
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(part->bytes, bytes.substr(10, 10));
  EXPECT_EQ(part->info.size, 5000);
  auto tail = store_->Get("images", "r.bin", GetOptions{.range = ByteRange{4990, std::nullopt}});
  EXPECT_EQ(tail->bytes, bytes.substr(4990));
  EXPECT_TRUE(store_->Get("images", "r.bin", GetOptions{.if_match = info->etag}).ok());
  EXPECT_EQ(store_->Get("images", "r.bin", GetOptions{.if_match = "\"nope\""}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Get("images", "r.bin", GetOptions{.if_none_match = info->etag}).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(S3StoreMotoTest, ListPaginatesWithDelimiterAndStartAfter) {
  for (int i = 0; i < 25; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "p/%03d.jpg", i);
    ASSERT_TRUE(store_->Put("images", key, "x").ok());
  }
  ASSERT_TRUE(store_->Put("images", "p/sub/a.jpg", "x").ok());
  ASSERT_TRUE(store_->Put("images", "q.jpg", "x").ok());
  std::vector<std::string> all;
  ListOptions options{.prefix = "p/", .max_keys = 10};
  int pages = 0;
  while (true) {
    auto page = store_->List("images", options);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ++pages;
    for (const auto& o : page->objects) all.push_back(o.key);
    if (!page->truncated) break;
    options.continuation_token = page->next_continuation_token;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(all.size(), 26u);
  EXPECT_EQ(all.front(), "p/000.jpg");
  auto delimited = store_->List("images", ListOptions{.prefix = "p/", .delimiter = "/"});
  ASSERT_TRUE(delimited.ok());
  EXPECT_EQ(delimited->objects.size(), 25u);
  EXPECT_EQ(delimited->common_prefixes, std::vector<std::string>{"p/sub/"});
  auto after = store_->List("images", ListOptions{.start_after = "p/sub/a.jpg"});
  ASSERT_EQ(after->objects.size(), 1u);
  EXPECT_EQ(after->objects[0].key, "q.jpg");
}

TEST_F(S3StoreMotoTest, ErrorsAreMapped) {
  auto missing = store_->Get("images", "nope.jpg");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().error_code(), "NoSuchKey");
  EXPECT_EQ(store_->Head("images", "nope.jpg").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("no-bucket", "k").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("images", "nope.jpg").ok());
  EXPECT_EQ(store_->Get("images", "").status().code(), StatusCode::kInvalidArgument);

  S3StoreOptions dead;
  dead.endpoint = "http://127.0.0.1:1";
  auto unreachable =
      NewS3Store(dead, NewCurlHttpClient(),
                 NewStaticCredentialsProvider(MotoServer::TestCredentials()), &clock_);
  ASSERT_TRUE(unreachable.ok());
  auto s = (*unreachable)->Get("images", "a.jpg").status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(s.retryable());
  EXPECT_NE(s.message().find("http://127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace thumbflow::aws
