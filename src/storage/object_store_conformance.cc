#include "storage/object_store_conformance.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "core/clock.h"
#include "core/testing/temp_dir.h"
#include "storage/etag.h"
#include "storage/testing/streaming_adapter.h"

namespace thumbflow {

std::string ObjectStoreFactoryName(const ::testing::TestParamInfo<ObjectStoreFactory>& info) {
  return info.param.name;
}

void PrintTo(const ObjectStoreFactory& factory, std::ostream* os) { *os << factory.name; }

void ObjectStoreConformanceTest::SetUp() {
  Result<ObjectStoreUnderTest> made = GetParam().make();
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  under_test_ = std::move(made).value();
  if (!under_test_.skip_reason.empty()) GTEST_SKIP() << under_test_.skip_reason;
  streaming_ = under_test_.streaming;
  if (streaming_ == nullptr) {
    struct Adapter {
      testing::TempDir staging;
      SystemClock clock;
      std::unique_ptr<testing::StreamingAdapter> adapter;
    };
    auto keep = std::make_shared<Adapter>();
    ASSERT_FALSE(keep->staging.path().empty());
    keep->adapter = std::make_unique<testing::StreamingAdapter>(
        under_test_.store.get(), keep->staging.path(), std::vector<std::string>{bucket()},
        under_test_.create_bucket, &keep->clock);
    streaming_ = keep->adapter.get();
    adapter_keepalive_ = keep;
    under_test_.capabilities.multipart_etag = false;
  }
}

void ObjectStoreConformanceTest::TearDown() {
  adapter_keepalive_.reset();
  streaming_ = nullptr;
  under_test_.store.reset();
  under_test_.keepalive.reset();
}

namespace {

// Keys that break naive URL, path and XML handling.
const std::vector<std::string>& AwkwardKeys() {
  static const std::vector<std::string> keys = {
      "plain.txt",
      "with space.jpg",
      "plus+sign+.png",
      "per%cent%2F%20.gif",
      "uploads/ünïcödé/日本語の写真.jpg",
      "deep/a/b/c/d/e.txt",
      "trailing-slash/",
      "emoji 😀 face.png",
      "amp&eq=q?hash#.txt",
      "xml<tag>&'quote\".txt",
      "tilde~star*paren(1).txt",
      "  leading and trailing spaces  ",
  };
  return keys;
}

std::string AllByteValues() {
  std::string bytes;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
  }
  return bytes;
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
  return bytes;
}

std::vector<std::string> Keys(const ListResult& page) {
  std::vector<std::string> keys;
  for (const auto& o : page.objects) keys.push_back(o.key);
  return keys;
}

#define ASSERT_OK(expr)                                           \
  do {                                                            \
    const auto& tf_s_ = (expr);                                   \
    ASSERT_TRUE(tf_s_.ok()) << #expr << ": " << tf_s_.ToString(); \
  } while (0)

#define ASSERT_OK_RESULT(expr)                                             \
  do {                                                                     \
    const auto& tf_r_ = (expr);                                            \
    ASSERT_TRUE(tf_r_.ok()) << #expr << ": " << tf_r_.status().ToString(); \
  } while (0)

TEST_P(ObjectStoreConformanceTest, AwkwardKeysRoundTripByteExact) {
  const std::string binary = AllByteValues();
  for (const std::string& key : AwkwardKeys()) {
    SCOPED_TRACE(key);
    auto put = store().Put(bucket(), key, binary);
    ASSERT_OK_RESULT(put);
    EXPECT_EQ(put->etag, SinglePartEtag(binary));
    EXPECT_EQ(put->size, static_cast<int64_t>(binary.size()));
    auto got = store().Get(bucket(), key);
    ASSERT_OK_RESULT(got);
    EXPECT_EQ(Sha256Hex(got->bytes), Sha256Hex(binary));
    EXPECT_EQ(got->info.etag, SinglePartEtag(binary));
    EXPECT_EQ(got->info.size, static_cast<int64_t>(binary.size()));
  }
  // Every key comes back from a listing exactly as written.
  auto listed = store().List(bucket(), {});
  ASSERT_OK_RESULT(listed);
  std::vector<std::string> expected = AwkwardKeys();
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Keys(*listed), expected);
}

TEST_P(ObjectStoreConformanceTest, LargeAndEmptyObjectsRoundTrip) {
  const std::string large = RandomBytes(3 * 1024 * 1024 + 17, 7);
  ASSERT_OK_RESULT(store().Put(bucket(), "large.bin", large));
  ASSERT_OK_RESULT(store().Put(bucket(), "empty.bin", ""));
  auto got = store().Get(bucket(), "large.bin");
  ASSERT_OK_RESULT(got);
  EXPECT_EQ(got->bytes.size(), large.size());
  EXPECT_EQ(Sha256Hex(got->bytes), Sha256Hex(large));
  EXPECT_EQ(got->info.etag, QuoteEtag(Md5Hex(large)));
  auto empty = store().Get(bucket(), "empty.bin");
  ASSERT_OK_RESULT(empty);
  EXPECT_EQ(empty->bytes, "");
  EXPECT_EQ(empty->info.size, 0);
  EXPECT_EQ(empty->info.etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
}

TEST_P(ObjectStoreConformanceTest, HeadAndGetReturnContentTypeAndMetadata) {
  PutOptions options;
  options.content_type = "image/jpeg";
  options.metadata = {{"source-etag", "\"abc\""}, {"size", "small"}};
  auto put = store().Put(bucket(), "thumbs/x.jpg", "jpeg bytes", options);
  ASSERT_OK_RESULT(put);
  auto head = store().Head(bucket(), "thumbs/x.jpg");
  ASSERT_OK_RESULT(head);
  EXPECT_EQ(head->key, "thumbs/x.jpg");
  EXPECT_EQ(head->size, 10);
  EXPECT_EQ(head->etag, SinglePartEtag("jpeg bytes"));
  EXPECT_EQ(head->content_type, "image/jpeg");
  EXPECT_EQ(head->metadata, options.metadata);
  EXPECT_GT(head->last_modified_ms, 0);
  auto got = store().Get(bucket(), "thumbs/x.jpg");
  ASSERT_OK_RESULT(got);
  EXPECT_EQ(got->info.content_type, "image/jpeg");
  EXPECT_EQ(got->info.metadata, options.metadata);
}

// Cache-Control, Content-Disposition, Content-Encoding, Content-Language and Expires are
// stored as given and returned under S3's spelling; other names are not stored.
TEST_P(ObjectStoreConformanceTest, StandardHeadersAreStoredAndReturned) {
  PutOptions options;
  options.headers = {{"cache-control", "max-age=60"},
                     {"Content-Disposition", "attachment; filename=\"a b.txt\""},
                     {"Content-Encoding", "identity"},
                     {"Content-Language", "fr-CA"},
                     {"Expires", "Thu, 01 Dec 2094 16:00:00 GMT"},
                     {"X-Not-Stored", "1"}};
  ASSERT_OK_RESULT(store().Put(bucket(), "with-headers", "x", options));
  const Metadata expected = {{"Cache-Control", "max-age=60"},
                             {"Content-Disposition", "attachment; filename=\"a b.txt\""},
                             {"Content-Encoding", "identity"},
                             {"Content-Language", "fr-CA"},
                             {"Expires", "Thu, 01 Dec 2094 16:00:00 GMT"}};
  auto head = store().Head(bucket(), "with-headers");
  ASSERT_OK_RESULT(head);
  EXPECT_EQ(head->headers, expected);
  auto kept = streaming().Copy(bucket(), "with-headers", bucket(), "kept-headers", nullptr);
  ASSERT_OK_RESULT(kept);
  auto kept_head = store().Head(bucket(), "kept-headers");
  ASSERT_OK_RESULT(kept_head);
  EXPECT_EQ(kept_head->headers, expected);
  ASSERT_OK_RESULT(store().Put(bucket(), "with-headers", "y"));
  head = store().Head(bucket(), "with-headers");
  ASSERT_OK_RESULT(head);
  EXPECT_TRUE(head->headers.empty());
}

TEST_P(ObjectStoreConformanceTest, MetadataNamesAreLowerCased) {
  PutOptions options;
  options.metadata = {{"Source-ETag", "v1"}};
  ASSERT_OK_RESULT(store().Put(bucket(), "m", "x", options));
  auto head = store().Head(bucket(), "m");
  ASSERT_OK_RESULT(head);
  EXPECT_EQ(head->metadata, (Metadata{{"source-etag", "v1"}}));
}

TEST_P(ObjectStoreConformanceTest, ContentTypeDefaultsAsS3Does) {
  ASSERT_OK_RESULT(store().Put(bucket(), "no-type", "x"));
  auto head = store().Head(bucket(), "no-type");
  ASSERT_OK_RESULT(head);
  EXPECT_EQ(head->content_type, "binary/octet-stream");
}

TEST_P(ObjectStoreConformanceTest, OverwriteReplacesWholeObject) {
  PutOptions first;
  first.content_type = "text/plain";
  first.metadata = {{"a", "1"}};
  ASSERT_OK_RESULT(store().Put(bucket(), "k", "first version, longer", first));
  PutOptions second;
  second.content_type = "image/png";
  ASSERT_OK_RESULT(store().Put(bucket(), "k", "second", second));
  auto got = store().Get(bucket(), "k");
  ASSERT_OK_RESULT(got);
  EXPECT_EQ(got->bytes, "second");
  EXPECT_EQ(got->info.etag, SinglePartEtag("second"));
  EXPECT_EQ(got->info.content_type, "image/png");
  EXPECT_TRUE(got->info.metadata.empty());
  auto listed = store().List(bucket(), {});
  ASSERT_OK_RESULT(listed);
  ASSERT_EQ(listed->objects.size(), 1u);
  EXPECT_EQ(listed->objects[0].size, 6);
}

TEST_P(ObjectStoreConformanceTest, MissingKeysAndBucketsAreNotFound) {
  EXPECT_EQ(store().Get(bucket(), "absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().Head(bucket(), "absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().Get(missing_bucket(), "k").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().Head(missing_bucket(), "k").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().Put(missing_bucket(), "k", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().List(missing_bucket(), {}).status().code(), StatusCode::kNotFound);
}

TEST_P(ObjectStoreConformanceTest, DeleteRemovesAndDeletingMissingKeySucceeds) {
  ASSERT_OK_RESULT(store().Put(bucket(), "doomed", "x"));
  ASSERT_OK(store().Delete(bucket(), "doomed"));
  EXPECT_EQ(store().Get(bucket(), "doomed").status().code(), StatusCode::kNotFound);
  Status again = store().Delete(bucket(), "doomed");
  EXPECT_TRUE(again.ok()) << again.ToString();
  Status never = store().Delete(bucket(), "never/existed");
  EXPECT_TRUE(never.ok()) << never.ToString();
  auto listed = store().List(bucket(), {});
  ASSERT_OK_RESULT(listed);
  EXPECT_TRUE(listed->objects.empty());
}

TEST_P(ObjectStoreConformanceTest, RangesSelectBytesAsHttpDoes) {
  const std::string bytes = "0123456789abcdefghij";  // 20 bytes
  ASSERT_OK_RESULT(store().Put(bucket(), "r", bytes));
  auto get = [&](ByteRange range) {
    GetOptions options;
    options.range = range;
    return store().Get(bucket(), "r", options);
  };
  auto middle = get({.first = 3, .last = 7});
  ASSERT_OK_RESULT(middle);
  EXPECT_EQ(middle->bytes, "34567");
  EXPECT_EQ(middle->info.size, 20);  // describes the whole object
  EXPECT_EQ(middle->info.etag, SinglePartEtag(bytes));

  auto open = get({.first = 15});
  ASSERT_OK_RESULT(open);
  EXPECT_EQ(open->bytes, "fghij");

  auto clamped = get({.first = 18, .last = 500});
  ASSERT_OK_RESULT(clamped);
  EXPECT_EQ(clamped->bytes, "ij");

  auto single = get({.first = 0, .last = 0});
  ASSERT_OK_RESULT(single);
  EXPECT_EQ(single->bytes, "0");
}

TEST_P(ObjectStoreConformanceTest, SuffixRanges) {
  const std::string bytes = "0123456789abcdefghij";
  ASSERT_OK_RESULT(store().Put(bucket(), "r", bytes));
  auto get = [&](ByteRange range) {
    GetOptions options;
    options.range = range;
    return store().Get(bucket(), "r", options);
  };
  auto suffix = get({.suffix_length = 4});
  ASSERT_OK_RESULT(suffix);
  EXPECT_EQ(suffix->bytes, "ghij");

  auto long_suffix = get({.suffix_length = 100});
  ASSERT_OK_RESULT(long_suffix);
  EXPECT_EQ(long_suffix->bytes, bytes);
}

TEST_P(ObjectStoreConformanceTest, RangePastTheEndIsInvalidRange) {
  ASSERT_OK_RESULT(store().Put(bucket(), "r", "0123456789"));
  GetOptions options;
  options.range = ByteRange{.first = 10};
  auto past_end = store().Get(bucket(), "r", options);
  ASSERT_FALSE(past_end.ok());
  EXPECT_EQ(past_end.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(past_end.status().reason(), Reason::kInvalidRange);
}

TEST_P(ObjectStoreConformanceTest, ConditionalGets) {
  ASSERT_OK_RESULT(store().Put(bucket(), "c", "conditional"));
  const std::string etag = SinglePartEtag("conditional");
  const std::string other = SinglePartEtag("something else");
  auto get = [&](std::string if_match, std::string if_none_match) {
    GetOptions options;
    options.if_match = std::move(if_match);
    options.if_none_match = std::move(if_none_match);
    return store().Get(bucket(), "c", options);
  };
  auto matched = get(etag, "");
  ASSERT_OK_RESULT(matched);
  EXPECT_EQ(matched->bytes, "conditional");

  auto unquoted = get(etag.substr(1, etag.size() - 2), "");
  EXPECT_TRUE(unquoted.ok()) << unquoted.status().ToString();

  auto mismatched = get(other, "");
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), StatusCode::kFailedPrecondition);

  auto not_modified = get("", etag);
  ASSERT_FALSE(not_modified.ok());
  EXPECT_EQ(not_modified.status().code(), StatusCode::kFailedPrecondition);

  auto modified = get("", other);
  ASSERT_OK_RESULT(modified);
  EXPECT_EQ(modified->bytes, "conditional");

  // A condition on a missing key is still NotFound.
  GetOptions options;
  options.if_match = etag;
  EXPECT_EQ(store().Get(bucket(), "absent", options).status().code(), StatusCode::kNotFound);
}

// The S3 endpoint answers 412 or 304 from these reasons.
TEST_P(ObjectStoreConformanceTest, FailedConditionsCarryTheirReason) {
  ASSERT_OK_RESULT(store().Put(bucket(), "c", "conditional"));
  GetOptions if_match;
  if_match.if_match = SinglePartEtag("other");
  EXPECT_EQ(store().Get(bucket(), "c", if_match).status().reason(), Reason::kPreconditionFailed);
  GetOptions if_none_match;
  if_none_match.if_none_match = SinglePartEtag("conditional");
  EXPECT_EQ(store().Get(bucket(), "c", if_none_match).status().reason(), Reason::kNotModified);
}

TEST_P(ObjectStoreConformanceTest, IfMatchStarMatchesAnyObject) {
  if (!capabilities().if_match_star) GTEST_SKIP() << "this store answers 412 to If-Match: *";
  ASSERT_OK_RESULT(store().Put(bucket(), "c", "conditional"));
  GetOptions options;
  options.if_match = "*";
  auto got = store().Get(bucket(), "c", options);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
}

TEST_P(ObjectStoreConformanceTest, ListIsInByteOrder) {
  // Upper case sorts before lower case, ASCII before multi-byte UTF-8, shorter before longer.
  const std::vector<std::string> keys = {"b", "a", "B", "é", "a/b", "a-b", "ab", "~", "日", "a b"};
  for (const auto& key : keys) ASSERT_OK_RESULT(store().Put(bucket(), key, key));
  auto listed = store().List(bucket(), {});
  ASSERT_OK_RESULT(listed);
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());  // std::string compares bytes as unsigned
  EXPECT_EQ(Keys(*listed), expected);
  EXPECT_FALSE(listed->truncated);
  for (const auto& o : listed->objects) {
    EXPECT_EQ(o.size, static_cast<int64_t>(o.key.size()));
    EXPECT_EQ(o.etag, SinglePartEtag(o.key));
    EXPECT_GT(o.last_modified_ms, 0);
  }
}

TEST_P(ObjectStoreConformanceTest, ListEmptyBucket) {
  auto listed = store().List(bucket(), {});
  ASSERT_OK_RESULT(listed);
  EXPECT_TRUE(listed->objects.empty());
  EXPECT_TRUE(listed->common_prefixes.empty());
  EXPECT_FALSE(listed->truncated);
}

TEST_P(ObjectStoreConformanceTest, ListPaginatesWithContinuationTokens) {
  std::vector<std::string> keys;
  for (int i = 0; i < 23; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "page/%03d", i);
    keys.push_back(name);
    ASSERT_OK_RESULT(store().Put(bucket(), name, "x"));
  }
  ASSERT_OK_RESULT(store().Put(bucket(), "other/zzz", "x"));
  std::vector<std::string> seen;
  ListOptions options;
  options.prefix = "page/";
  options.max_keys = 5;
  int pages = 0;
  while (true) {
    auto page = store().List(bucket(), options);
    ASSERT_OK_RESULT(page);
    ++pages;
    ASSERT_LE(page->objects.size(), 5u);
    for (const auto& o : page->objects) seen.push_back(o.key);
    if (!page->truncated) break;
    ASSERT_FALSE(page->next_continuation_token.empty());
    options.continuation_token = page->next_continuation_token;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(seen, keys);
}

TEST_P(ObjectStoreConformanceTest, ListExactlyOnePageIsNotTruncated) {
  for (const char* key : {"p/1", "p/2", "p/3"}) ASSERT_OK_RESULT(store().Put(bucket(), key, "x"));
  ListOptions options;
  options.max_keys = 3;
  auto page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(page->objects.size(), 3u);
  EXPECT_FALSE(page->truncated);
}

TEST_P(ObjectStoreConformanceTest, ListStartAfter) {
  for (const char* key : {"s/a", "s/b", "s/c", "s/d"}) {
    ASSERT_OK_RESULT(store().Put(bucket(), key, "x"));
  }
  ListOptions options;
  options.start_after = "s/b";
  auto page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"s/c", "s/d"}));
  options.start_after = "s/bb";
  page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"s/c", "s/d"}));
  options.start_after = "a";  // before the prefix-less range: everything
  page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(page->objects.size(), 4u);
}

TEST_P(ObjectStoreConformanceTest, ListDelimiterRollsUpCommonPrefixes) {
  for (const char* key :
       {"uploads/a.jpg", "uploads/b.jpg", "uploads/2024/x.jpg", "uploads/2024/y/z.jpg",
        "uploads/2025/q.jpg", "thumbnails/small/a.jpg", "root.txt"}) {
    ASSERT_OK_RESULT(store().Put(bucket(), key, "x"));
  }
  ListOptions top;
  top.delimiter = "/";
  auto root = store().List(bucket(), top);
  ASSERT_OK_RESULT(root);
  EXPECT_EQ(Keys(*root), (std::vector<std::string>{"root.txt"}));
  EXPECT_EQ(root->common_prefixes, (std::vector<std::string>{"thumbnails/", "uploads/"}));

  ListOptions uploads;
  uploads.prefix = "uploads/";
  uploads.delimiter = "/";
  auto level = store().List(bucket(), uploads);
  ASSERT_OK_RESULT(level);
  EXPECT_EQ(Keys(*level), (std::vector<std::string>{"uploads/a.jpg", "uploads/b.jpg"}));
  EXPECT_EQ(level->common_prefixes, (std::vector<std::string>{"uploads/2024/", "uploads/2025/"}));

  // Pages of one entry each walk objects and common prefixes alike, each exactly once.
  uploads.max_keys = 1;
  std::vector<std::string> walked;
  for (int i = 0; i < 10; ++i) {
    auto page = store().List(bucket(), uploads);
    ASSERT_OK_RESULT(page);
    ASSERT_EQ(page->objects.size() + page->common_prefixes.size(), 1u);
    for (const auto& o : page->objects) walked.push_back(o.key);
    for (const auto& p : page->common_prefixes) walked.push_back(p);
    if (!page->truncated) break;
    uploads.continuation_token = page->next_continuation_token;
  }
  EXPECT_EQ(walked, (std::vector<std::string>{"uploads/2024/", "uploads/2025/", "uploads/a.jpg",
                                              "uploads/b.jpg"}));

  // A prefix that is not a folder boundary.
  ListOptions partial;
  partial.prefix = "uploads/20";
  partial.delimiter = "/";
  auto years = store().List(bucket(), partial);
  ASSERT_OK_RESULT(years);
  EXPECT_TRUE(years->objects.empty());
  EXPECT_EQ(years->common_prefixes, (std::vector<std::string>{"uploads/2024/", "uploads/2025/"}));
}

TEST_P(ObjectStoreConformanceTest, ListMultiCharacterDelimiter) {
  for (const char* key : {"a--b--c", "a--d", "e"})
    ASSERT_OK_RESULT(store().Put(bucket(), key, "x"));
  ListOptions options;
  options.delimiter = "--";
  auto page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"e"}));
  EXPECT_EQ(page->common_prefixes, (std::vector<std::string>{"a--"}));
}

TEST_P(ObjectStoreConformanceTest, ListPrefixWithAwkwardCharacters) {
  for (const auto& key : AwkwardKeys()) ASSERT_OK_RESULT(store().Put(bucket(), key, "x"));
  ListOptions options;
  options.prefix = "uploads/ünïcödé/";
  auto page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"uploads/ünïcödé/日本語の写真.jpg"}));
  options.prefix = "per%";
  page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"per%cent%2F%20.gif"}));
  options.prefix = "plus+";
  page = store().List(bucket(), options);
  ASSERT_OK_RESULT(page);
  EXPECT_EQ(Keys(*page), (std::vector<std::string>{"plus+sign+.png"}));
}

// --- The streaming side of the port (storage/streaming_object_store.h) ---

// Reads `source` to the end in pieces of `piece` bytes.
Result<std::string> ReadAll(ByteSource& source, size_t piece) {
  std::string out;
  std::string buffer(piece, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), buffer.size()));
    if (n == 0) return out;
    out.append(buffer.data(), n);
  }
}

TEST_P(ObjectStoreConformanceTest, StreamedUploadCommitsAndStreamsBack) {
  const std::string bytes = RandomBytes(3 * 1024 * 1024 + 5, 11);
  auto upload = streaming().NewUpload(bucket());
  ASSERT_OK_RESULT(upload);
  for (size_t at = 0; at < bytes.size(); at += 65536) {
    ASSERT_OK((*upload)->Write(std::string_view(bytes).substr(at, 65536)));
  }
  ASSERT_OK((*upload)->Write(""));
  EXPECT_EQ((*upload)->Md5Hex(), Md5Hex(bytes));
  PutOptions options;
  options.content_type = "image/png";
  options.metadata = {{"Source", "stream"}};
  auto info = (*upload)->Commit("uploads/streamed.png", options);
  ASSERT_OK_RESULT(info);
  EXPECT_EQ(info->etag, SinglePartEtag(bytes));
  EXPECT_EQ(info->size, static_cast<int64_t>(bytes.size()));

  auto reader = streaming().OpenObject(bucket(), "uploads/streamed.png", {});
  ASSERT_OK_RESULT(reader);
  EXPECT_FALSE(reader->partial);
  EXPECT_EQ(reader->offset, 0);
  EXPECT_EQ(reader->length, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(reader->info.size, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(reader->info.etag, SinglePartEtag(bytes));
  EXPECT_EQ(reader->info.content_type, "image/png");
  EXPECT_EQ(reader->info.metadata, (Metadata{{"source", "stream"}}));
  auto streamed = ReadAll(*reader->source, 100'003);
  ASSERT_OK_RESULT(streamed);
  EXPECT_EQ(Sha256Hex(*streamed), Sha256Hex(bytes));
  auto got = store().Get(bucket(), "uploads/streamed.png");
  ASSERT_OK_RESULT(got);
  EXPECT_EQ(Sha256Hex(got->bytes), Sha256Hex(bytes));
}

// S3 Object Lock: the lock a write is given is committed with the object, by a put and by a
// streamed upload, and read back by Head, Get and OpenObject; a write without one has none.
TEST_P(ObjectStoreConformanceTest, TheObjectLockIsCommittedWithTheObject) {
  if (!capabilities().object_lock) GTEST_SKIP() << "this store does not keep object locks";
  PutOptions options;
  options.lock.mode = kLockCompliance;
  options.lock.retain_until_ms = 4'000'000'000'000;
  options.lock.legal_hold = options.lock.legal_hold_set = true;
  auto put = store().Put(bucket(), "locked/put", "bytes", options);
  ASSERT_OK_RESULT(put);
  EXPECT_EQ(put->lock, options.lock);
  auto head = store().Head(bucket(), "locked/put");
  ASSERT_OK_RESULT(head);
  EXPECT_EQ(head->lock, options.lock);
  auto got = store().Get(bucket(), "locked/put");
  ASSERT_OK_RESULT(got);
  EXPECT_EQ(got->info.lock, options.lock);

  auto upload = streaming().NewUpload(bucket());
  ASSERT_OK_RESULT(upload);
  ASSERT_OK((*upload)->Write("streamed"));
  options.lock.legal_hold = false;  // OFF, as put
  ASSERT_OK_RESULT((*upload)->Commit("locked/streamed", options));
  auto reader = streaming().OpenObject(bucket(), "locked/streamed", {});
  ASSERT_OK_RESULT(reader);
  EXPECT_EQ(reader->info.lock, options.lock);

  ASSERT_OK_RESULT(store().Put(bucket(), "locked/put", "unlocked"));
  head = store().Head(bucket(), "locked/put");
  ASSERT_OK_RESULT(head);
  EXPECT_TRUE(head->lock.empty());
}

TEST_P(ObjectStoreConformanceTest, StreamedUploadWithoutContentTypeDefaultsAsS3Does) {
  auto upload = streaming().NewUpload(bucket());
  ASSERT_OK_RESULT(upload);
  ASSERT_OK((*upload)->Write("x"));
  ASSERT_OK_RESULT((*upload)->Commit("no-type", {}));
  auto head = store().Head(bucket(), "no-type");
  ASSERT_OK_RESULT(head);
  EXPECT_EQ(head->content_type, kDefaultContentType);
}

TEST_P(ObjectStoreConformanceTest, AbandonedUploadIsNeverVisible) {
  {
    auto upload = streaming().NewUpload(bucket());
    ASSERT_OK_RESULT(upload);
    ASSERT_OK((*upload)->Write("never committed"));
  }
  auto listed = store().List(bucket(), {});
  ASSERT_OK_RESULT(listed);
  EXPECT_TRUE(listed->objects.empty());
}

TEST_P(ObjectStoreConformanceTest, StreamsToAndFromMissingBucketsAreNotFound) {
  auto upload = streaming().NewUpload(missing_bucket());
  EXPECT_EQ(upload.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(upload.status().reason(), Reason::kNoSuchBucket);
  auto reader = streaming().OpenObject(missing_bucket(), "k", {});
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(streaming().OpenObject(bucket(), "absent", {}).status().code(), StatusCode::kNotFound);
}

TEST_P(ObjectStoreConformanceTest, OpenObjectStreamsTheSelectedRange) {
  const std::string bytes = "0123456789abcdefghij";
  ASSERT_OK_RESULT(store().Put(bucket(), "r", bytes));
  struct Case {
    ByteRange range;
    int64_t offset;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{.first = 2, .last = 8}, 2, "2345678"}, {{.first = 15}, 15, "fghij"},
      {{.first = 18, .last = 1000}, 18, "ij"}, {{.suffix_length = 4}, 16, "ghij"},
      {{.suffix_length = 100}, 0, bytes},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expected);
    GetOptions options;
    options.range = c.range;
    auto reader = streaming().OpenObject(bucket(), "r", options);
    ASSERT_OK_RESULT(reader);
    EXPECT_TRUE(reader->partial);
    EXPECT_EQ(reader->offset, c.offset);
    EXPECT_EQ(reader->length, static_cast<int64_t>(c.expected.size()));
    EXPECT_EQ(reader->info.size, static_cast<int64_t>(bytes.size()));
    auto streamed = ReadAll(*reader->source, 3);
    ASSERT_OK_RESULT(streamed);
    EXPECT_EQ(*streamed, c.expected);
  }
  GetOptions past_end;
  past_end.range = ByteRange{.first = 20};
  auto refused = streaming().OpenObject(bucket(), "r", past_end);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().reason(), Reason::kInvalidRange);
}

TEST_P(ObjectStoreConformanceTest, OpenObjectChecksConditions) {
  ASSERT_OK_RESULT(store().Put(bucket(), "c", "conditional"));
  GetOptions if_match;
  if_match.if_match = SinglePartEtag("conditional");
  auto matched = streaming().OpenObject(bucket(), "c", if_match);
  ASSERT_OK_RESULT(matched);
  auto streamed = ReadAll(*matched->source, 4);
  ASSERT_OK_RESULT(streamed);
  EXPECT_EQ(*streamed, "conditional");
  if_match.if_match = SinglePartEtag("other");
  EXPECT_EQ(streaming().OpenObject(bucket(), "c", if_match).status().reason(),
            Reason::kPreconditionFailed);
  GetOptions if_none_match;
  if_none_match.if_none_match = SinglePartEtag("conditional");
  EXPECT_EQ(streaming().OpenObject(bucket(), "c", if_none_match).status().reason(),
            Reason::kNotModified);
}

TEST_P(ObjectStoreConformanceTest, CopyKeepsOrReplacesTypeAndMetadata) {
  PutOptions original;
  original.content_type = "image/gif";
  original.metadata = {{"a", "1"}};
  ASSERT_OK_RESULT(store().Put(bucket(), "src.gif", "gif bytes", original));

  auto kept = streaming().Copy(bucket(), "src.gif", bucket(), "kept.gif", nullptr);
  ASSERT_OK_RESULT(kept);
  EXPECT_EQ(kept->etag, SinglePartEtag("gif bytes"));
  auto kept_head = store().Head(bucket(), "kept.gif");
  ASSERT_OK_RESULT(kept_head);
  EXPECT_EQ(kept_head->content_type, "image/gif");
  EXPECT_EQ(kept_head->metadata, original.metadata);

  PutOptions replaced;
  replaced.content_type = "text/plain";
  replaced.metadata = {{"b", "2"}};
  ASSERT_OK_RESULT(streaming().Copy(bucket(), "src.gif", bucket(), "replaced.txt", &replaced));
  auto replaced_got = store().Get(bucket(), "replaced.txt");
  ASSERT_OK_RESULT(replaced_got);
  EXPECT_EQ(replaced_got->bytes, "gif bytes");
  EXPECT_EQ(replaced_got->info.content_type, "text/plain");
  EXPECT_EQ(replaced_got->info.metadata, replaced.metadata);

  EXPECT_EQ(streaming().Copy(bucket(), "absent", bucket(), "x", nullptr).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(streaming().Copy(bucket(), "src.gif", missing_bucket(), "x", nullptr).status().code(),
            StatusCode::kNotFound);
}

TEST_P(ObjectStoreConformanceTest, CompleteMultipartConcatenatesStagedParts) {
  const std::string staging = streaming().StagingDir();
  std::error_code ec;
  std::filesystem::create_directories(staging, ec);
  ASSERT_FALSE(ec) << staging << ": " << ec.message();
  const std::vector<std::string> parts = {RandomBytes(5 * 1024 * 1024, 3), "the last part"};
  std::vector<std::string> paths, etags;
  for (size_t i = 0; i < parts.size(); ++i) {
    paths.push_back(staging + "/conformance-part-" + std::to_string(i));
    std::ofstream(paths.back(), std::ios::binary) << parts[i];
    etags.push_back(SinglePartEtag(parts[i]));
  }
  PutOptions options;
  options.content_type = "image/tiff";
  auto info = streaming().CompleteMultipart(bucket(), "uploads/scan.tiff", paths, etags, options);
  ASSERT_OK_RESULT(info);
  if (capabilities().multipart_etag) {
    auto expected = MultipartEtag(etags);
    ASSERT_OK_RESULT(expected);
    EXPECT_EQ(info->etag, *expected);
  }
  auto got = store().Get(bucket(), "uploads/scan.tiff");
  ASSERT_OK_RESULT(got);
  EXPECT_EQ(Sha256Hex(got->bytes), Sha256Hex(parts[0] + parts[1]));
  EXPECT_EQ(got->info.content_type, "image/tiff");
  for (const auto& path : paths) {
    EXPECT_TRUE(std::filesystem::exists(path)) << path << ": parts are the caller's";
    std::filesystem::remove(path, ec);
  }
}

TEST_P(ObjectStoreConformanceTest, BucketsAreCreatedListedAndDeletedWhenEmpty) {
  static std::mt19937_64 rng(std::random_device{}());
  const std::string second = "conformance-second-" + std::to_string(rng() % 1'000'000'000);
  ASSERT_OK(streaming().HeadBucket(bucket()));
  EXPECT_EQ(streaming().HeadBucket(second).code(), StatusCode::kNotFound);
  ASSERT_OK(streaming().CreateBucket(second, "alice"));
  EXPECT_EQ(streaming().CreateBucket(second, "bob").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(streaming().CreateBucket("Bad_Name", "").code(), StatusCode::kInvalidArgument);
  ASSERT_OK(streaming().HeadBucket(second));
  Result<BucketInfo> info = streaming().GetBucket(second);
  ASSERT_OK_RESULT(info);
  EXPECT_EQ(info->owner, "alice") << "the first creator keeps the bucket";
  EXPECT_EQ(streaming().GetBucket(second + "-absent").status().reason(), Reason::kNoSuchBucket);
  auto buckets = streaming().ListBuckets();
  ASSERT_OK_RESULT(buckets);
  std::vector<std::string> names;
  for (const auto& b : *buckets) names.push_back(b.name);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_NE(std::find(names.begin(), names.end(), second), names.end());
  for (const auto& b : *buckets) {
    if (b.name == second) {
      EXPECT_EQ(b.owner, "alice");
    }
  }

  ASSERT_OK_RESULT(streaming().Put(second, "k", "v"));
  Status not_empty = streaming().DeleteBucket(second);
  EXPECT_EQ(not_empty.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(not_empty.reason(), Reason::kBucketNotEmpty);
  ASSERT_OK(streaming().Delete(second, "k"));
  ASSERT_OK(streaming().DeleteBucket(second));
  EXPECT_EQ(streaming().HeadBucket(second).code(), StatusCode::kNotFound);
  EXPECT_EQ(streaming().DeleteBucket(second).code(), StatusCode::kNotFound);
}

// A bucket whose versioning was never configured: each object is its one version "null",
// listed once; the markers page through it. Reads and deletes know only that version.
TEST_P(ObjectStoreConformanceTest, UnversionedBucketsListEachObjectAsTheNullVersion) {
  for (const std::string key : {"v/a", "v/b", "v/c/d", "v/e"}) {
    ASSERT_OK_RESULT(streaming().Put(bucket(), key, key));
  }
  ListVersionsOptions options;
  options.prefix = "v/";
  options.delimiter = "/";
  options.max_keys = 2;
  std::vector<std::string> listed;
  for (int page = 0; page < 10; ++page) {
    Result<ListVersionsResult> result = streaming().ListVersions(bucket(), options);
    ASSERT_OK_RESULT(result);
    for (const ObjectInfo& v : result->versions) {
      EXPECT_EQ(v.version_id, "null");
      EXPECT_TRUE(v.is_latest);
      EXPECT_FALSE(v.delete_marker);
      listed.push_back(v.key);
    }
    for (const std::string& p : result->common_prefixes) listed.push_back(p);
    if (!result->truncated) break;
    options.key_marker = result->next_key_marker;
    options.version_id_marker = result->next_version_id_marker;
  }
  std::sort(listed.begin(), listed.end());  // a page lists its versions, then its prefixes
  EXPECT_EQ(listed, (std::vector<std::string>{"v/a", "v/b", "v/c/", "v/e"}));
  GetOptions null_version;
  null_version.version_id = "null";
  Result<ObjectData> got = streaming().Get(bucket(), "v/a", null_version);
  ASSERT_OK_RESULT(got);
  EXPECT_EQ(got->bytes, "v/a");
  null_version.version_id = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(streaming().Get(bucket(), "v/a", null_version).status().code(), StatusCode::kNotFound);
  Result<DeletedVersion> deleted = streaming().DeleteVersion(bucket(), "v/a", "null", {});
  ASSERT_OK_RESULT(deleted);
  EXPECT_FALSE(deleted->delete_marker);
  EXPECT_EQ(streaming().Head(bucket(), "v/a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(streaming().ListVersions(missing_bucket(), {}).status().reason(),
            Reason::kNoSuchBucket);
}

}  // namespace
}  // namespace thumbflow
