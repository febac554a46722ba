#include "server/multipart.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "core/random.h"
#include "core/testing/temp_dir.h"
#include "storage/etag.h"

namespace thumbflow::server {
namespace {

namespace fs = std::filesystem;

class MultipartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    root_ = dir_.path() + "/multipart";
    staging_ = dir_.path() + "/staging";
    fs::create_directories(root_);
    fs::create_directories(staging_);
  }

  // A body as the endpoint stages it: a file in the staging folder with its quoted MD5.
  StagedFile Stage(const std::string& bytes) {
    StagedFile file;
    file.path = staging_ + "/put-" + RandomHex(8);
    std::ofstream(file.path, std::ios::binary) << bytes;
    file.size = static_cast<int64_t>(bytes.size());
    file.etag = QuoteEtag(Md5Hex(bytes));
    return file;
  }

  std::string CreateUpload(MultipartUploads& uploads) {
    PutOptions options;
    options.content_type = "image/jpeg";
    options.metadata["origin"] = "test";
    Result<std::string> id = uploads.Create("images", "uploads/big.jpg", options);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  testing::TempDir dir_;
  std::string root_;
  std::string staging_;
  ManualClock clock_;
};

TEST_F(MultipartTest, CreateRecordsTheTargetAndSurvivesARestart) {
  std::string id;
  {
    MultipartUploads uploads(root_, &clock_);
    id = CreateUpload(uploads);
    ASSERT_TRUE(uploads.AddPart(id, 1, Stage("part one")).ok());
  }
  EXPECT_EQ(id.size(), 32u);
  MultipartUploads reopened(root_, &clock_);
  Result<UploadInfo> info = reopened.Get(id);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->bucket, "images");
  EXPECT_EQ(info->key, "uploads/big.jpg");
  EXPECT_EQ(info->options.content_type, "image/jpeg");
  EXPECT_EQ(info->options.metadata.at("origin"), "test");
  EXPECT_EQ(info->initiated_ms, clock_.NowMillis());
  Result<std::vector<PartInfo>> parts = reopened.ListParts(id);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].etag, QuoteEtag(Md5Hex("part one")));
  EXPECT_EQ((*parts)[0].size, 8);
}

TEST_F(MultipartTest, MalformedOrUnknownIdsNeverTouchTheFilesystem) {
  MultipartUploads uploads(root_, &clock_);
  std::string id = CreateUpload(uploads);
  // A folder beside the uploads that an escaping id would reach.
  fs::create_directories(dir_.path() + "/victim");
  std::ofstream(dir_.path() + "/victim/upload.json") << "{\"bucket\":\"images\",\"key\":\"k\"}";
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad :
       {std::string(), std::string("../victim"), std::string("..%2Fvictim"), std::string("/"),
        std::string(32, 'g'), std::string(31, 'a'), std::string(33, 'a'), std::string(32, 'a'),
        id + "/../" + id, upper == id ? std::string("x") : upper,
        std::string(id.data(), 31) + std::string(1, '\0')}) {
    Result<UploadInfo> got = uploads.Get(bad);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.status().code(), StatusCode::kNotFound) << bad;
    EXPECT_EQ(got.status().reason(), Reason::kNoSuchUpload) << bad;
    StagedFile staged = Stage("x");
    EXPECT_FALSE(uploads.AddPart(bad, 1, staged).ok()) << bad;
    EXPECT_TRUE(fs::exists(staged.path)) << "a refused part stays with the caller";
    EXPECT_FALSE(uploads.ListParts(bad).ok()) << bad;
    EXPECT_FALSE(uploads.Resolve(bad, {{1, staged.etag}}, 0).ok()) << bad;
    EXPECT_FALSE(uploads.Remove(bad).ok()) << bad;
  }
  EXPECT_TRUE(fs::exists(dir_.path() + "/victim/upload.json"));
  EXPECT_TRUE(uploads.Get(id).ok());
}

TEST_F(MultipartTest, PartsAreListedInOrderAndAReuploadReplacesThePart) {
  MultipartUploads uploads(root_, &clock_);
  std::string id = CreateUpload(uploads);
  ASSERT_TRUE(uploads.AddPart(id, 3, Stage("three")).ok());
  ASSERT_TRUE(uploads.AddPart(id, 1, Stage("one")).ok());
  Result<PartInfo> replaced = uploads.AddPart(id, 1, Stage("ONE again"));
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->etag, QuoteEtag(Md5Hex("ONE again")));
  EXPECT_EQ(replaced->size, 9);

  Result<std::vector<PartInfo>> parts = uploads.ListParts(id);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].part_number, 1);
  EXPECT_EQ((*parts)[0].etag, QuoteEtag(Md5Hex("ONE again")));
  EXPECT_EQ((*parts)[1].part_number, 3);
  // The replaced part's bytes are gone from the upload folder.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(root_ + "/" + id)) {
    if (entry.path().filename().string().rfind("part-", 0) == 0) ++files;
  }
  EXPECT_EQ(files, 2);
  // The old ETag no longer completes.
  Result<MultipartUploads::ResolvedParts> old =
      uploads.Resolve(id, {{1, QuoteEtag(Md5Hex("one"))}}, 0);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().error_code(), "InvalidPart");
}

TEST_F(MultipartTest, ResolveChecksOrderETagsAndMinimumSize) {
  MultipartUploads uploads(root_, &clock_);
  std::string id = CreateUpload(uploads);
  const std::string big(100, 'b');
  ASSERT_TRUE(uploads.AddPart(id, 1, Stage(big)).ok());
  ASSERT_TRUE(uploads.AddPart(id, 2, Stage("small")).ok());
  ASSERT_TRUE(uploads.AddPart(id, 5, Stage(big + "5")).ok());
  const std::string e1 = QuoteEtag(Md5Hex(big)), e2 = QuoteEtag(Md5Hex("small")),
                    e5 = QuoteEtag(Md5Hex(big + "5"));

  auto reason = [&](const std::vector<std::pair<int, std::string>>& parts, int64_t min) {
    Result<MultipartUploads::ResolvedParts> r = uploads.Resolve(id, parts, min);
    return r.ok() ? std::string("ok") : r.status().error_code();
  };
  EXPECT_EQ(reason({}, 0), "MalformedXML");
  EXPECT_EQ(reason({{2, e2}, {1, e1}}, 0), "InvalidPartOrder");
  EXPECT_EQ(reason({{1, e1}, {1, e1}}, 0), "InvalidPartOrder");
  EXPECT_EQ(reason({{0, e1}}, 0), "InvalidPartOrder");
  EXPECT_EQ(reason({{1, e2}}, 0), "InvalidPart");
  EXPECT_EQ(reason({{1, e1}, {3, e1}}, 0), "InvalidPart");
  EXPECT_EQ(reason({{1, "\"not-an-etag\""}}, 0), "InvalidPart");
  // Every part but the last must reach the minimum; the last may be small.
  EXPECT_EQ(reason({{1, e1}, {2, e2}, {5, e5}}, 50), "EntityTooSmall");
  EXPECT_EQ(reason({{1, e1}, {2, e2}}, 50), "ok");
  EXPECT_EQ(reason({{1, e1}, {5, e5}}, 100), "ok");
  EXPECT_EQ(reason({{1, e1}, {5, e5}}, 101), "EntityTooSmall");

  // ETags match with or without their quotes; the result keeps the stored quoted form, in the
  // order given, and names files holding each part's bytes.
  Result<MultipartUploads::ResolvedParts> resolved =
      uploads.Resolve(id, {{1, UnquoteEtag(e1)}, {2, e2}, {5, e5}}, 0);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->etags, (std::vector<std::string>{e1, e2, e5}));
  ASSERT_EQ(resolved->paths.size(), 3u);
  EXPECT_EQ(Slurp(resolved->paths[0]), big);
  EXPECT_EQ(Slurp(resolved->paths[1]), "small");
  EXPECT_EQ(Slurp(resolved->paths[2]), big + "5");
  // A subset of the parts may complete the upload.
  EXPECT_EQ(reason({{5, e5}}, 1000), "ok");
}

TEST_F(MultipartTest, RemoveDeletesTheUploadAndItsParts) {
  MultipartUploads uploads(root_, &clock_);
  std::string id = CreateUpload(uploads);
  ASSERT_TRUE(uploads.AddPart(id, 1, Stage("bytes")).ok());
  ASSERT_TRUE(uploads.Remove(id).ok());
  EXPECT_FALSE(fs::exists(root_ + "/" + id));
  EXPECT_EQ(uploads.Get(id).status().reason(), Reason::kNoSuchUpload);
  EXPECT_EQ(uploads.Remove(id).reason(), Reason::kNoSuchUpload);
  StagedFile late = Stage("late");
  EXPECT_FALSE(uploads.AddPart(id, 2, late).ok());
  EXPECT_FALSE(fs::exists(root_ + "/" + id));
}

TEST_F(MultipartTest, ACompletedUploadIsRememberedForADayWithItsEtag) {
  MultipartUploads uploads(root_, &clock_);
  std::string id = CreateUpload(uploads);
  ASSERT_TRUE(uploads.AddPart(id, 1, Stage("bytes")).ok());
  ASSERT_TRUE(uploads.MarkCompleted(id, "\"abc-1\"").ok());
  // No longer an upload: no parts, no second completion of its parts.
  EXPECT_EQ(uploads.Get(id).status().reason(), Reason::kNoSuchUpload);
  EXPECT_EQ(uploads.ListParts(id).status().reason(), Reason::kNoSuchUpload);
  EXPECT_EQ(uploads.MarkCompleted(id, "x").reason(), Reason::kNoSuchUpload);
  Result<std::string> etag = uploads.CompletedEtag(id, "images", "uploads/big.jpg");
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_EQ(*etag, "\"abc-1\"");
  EXPECT_EQ(uploads.CompletedEtag(id, "images", "other").status().reason(), Reason::kNoSuchUpload);
  EXPECT_EQ(uploads.CompletedEtag("../x", "images", "uploads/big.jpg").status().reason(),
            Reason::kNoSuchUpload);
  // A day later the next completion sweeps the record.
  clock_.AdvanceSeconds(25 * 3600);
  std::string next = CreateUpload(uploads);
  ASSERT_TRUE(uploads.MarkCompleted(next, "\"def-1\"").ok());
  EXPECT_FALSE(fs::exists(root_ + "/" + id));
  EXPECT_TRUE(uploads.CompletedEtag(next, "images", "uploads/big.jpg").ok());
}

// CompleteMultipartUpload's composite checksum is made of the checksums UploadPart verified:
// kept beside each part across a restart, replaced with the part, and with a completion.
TEST_F(MultipartTest, PartChecksumsAndTheUploadsAlgorithmAreKept) {
  std::string id;
  {
    MultipartUploads uploads(root_, &clock_);
    PutOptions options;
    options.checksum = ObjectChecksum{"SHA256", "", "COMPOSITE"};
    Result<std::string> created = uploads.Create("images", "uploads/big.jpg", options);
    ASSERT_TRUE(created.ok());
    id = *created;
    ASSERT_TRUE(uploads.AddPart(id, 1, Stage("one"), ObjectChecksum{"SHA256", "c1", ""}).ok());
    ASSERT_TRUE(uploads.AddPart(id, 2, Stage("two"), ObjectChecksum{"SHA256", "c2", ""}).ok());
    ASSERT_TRUE(uploads.AddPart(id, 2, Stage("TWO"), ObjectChecksum{"SHA256", "c2b", ""}).ok());
  }
  MultipartUploads uploads(root_, &clock_);
  Result<UploadInfo> info = uploads.Get(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->options.checksum, (ObjectChecksum{"SHA256", "", "COMPOSITE"}));
  Result<std::vector<PartInfo>> parts = uploads.ListParts(id);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].checksum, (ObjectChecksum{"SHA256", "c1", ""}));
  EXPECT_EQ((*parts)[1].checksum, (ObjectChecksum{"SHA256", "c2b", ""}));
  Result<MultipartUploads::ResolvedParts> resolved =
      uploads.Resolve(id, {{1, QuoteEtag(Md5Hex("one"))}, {2, QuoteEtag(Md5Hex("TWO"))}}, 0);
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(resolved->checksums.size(), 2u);
  EXPECT_EQ(resolved->checksums[1].value, "c2b");
  // A part uploaded again without a checksum has none.
  ASSERT_TRUE(uploads.AddPart(id, 1, Stage("one")).ok());
  EXPECT_TRUE(uploads.ListParts(id)->front().checksum.empty());
  const ObjectChecksum composite{"SHA256", "abc=-2", "COMPOSITE"};
  ASSERT_TRUE(uploads.MarkCompleted(id, "\"e-2\"", composite).ok());
  ObjectChecksum answered;
  ASSERT_TRUE(uploads.CompletedEtag(id, "images", "uploads/big.jpg", &answered).ok());
  EXPECT_EQ(answered, composite);
}

// Uploads never completed are aborted once older than the configured age; completed records
// and younger uploads stay; a due-only sweep waits a tenth of the age between sweeps.
TEST_F(MultipartTest, AbandonedUploadsAreSweptByAge) {
  MultipartUploads uploads(root_, &clock_);
  std::string old_upload = CreateUpload(uploads);
  ASSERT_TRUE(uploads.AddPart(old_upload, 1, Stage("part")).ok());
  std::string done = CreateUpload(uploads);
  ASSERT_TRUE(uploads.MarkCompleted(done, "\"e-1\"").ok());
  clock_.AdvanceSeconds(3600);
  std::string young = CreateUpload(uploads);
  EXPECT_EQ(uploads.SweepAbandoned(0).value_or(-1), 0);  // 0: never
  EXPECT_EQ(uploads.SweepAbandoned(7200 * 1000).value_or(-1), 0);
  clock_.AdvanceSeconds(3601);
  Result<int> swept = uploads.SweepAbandoned(7200 * 1000);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1);
  EXPECT_EQ(uploads.Get(old_upload).status().reason(), Reason::kNoSuchUpload);
  EXPECT_FALSE(fs::exists(root_ + "/" + old_upload));
  EXPECT_TRUE(uploads.Get(young).ok());
  EXPECT_TRUE(uploads.CompletedEtag(done, "images", "uploads/big.jpg").ok());
  // Due-only sweeps run once a tenth of the age has passed since the last one, not sooner.
  clock_.AdvanceSeconds(3601);
  EXPECT_EQ(uploads.SweepAbandoned(7200 * 1000, true).value_or(-1), 1);
  std::string next = CreateUpload(uploads);
  clock_.AdvanceSeconds(7201);
  EXPECT_EQ(uploads.SweepAbandoned(7200 * 1000, true).value_or(-1), 1);
  EXPECT_EQ(uploads.SweepAbandoned(7200 * 1000, true).value_or(-1), 0);
  (void)next;
}

TEST_F(MultipartTest, ListNamesTheUploadsOfABucketInKeyOrder) {
  MultipartUploads uploads(root_, &clock_);
  Result<std::string> z = uploads.Create("images", "z", PutOptions());
  Result<std::string> a = uploads.Create("images", "a", PutOptions());
  Result<std::string> other = uploads.Create("other", "b", PutOptions());
  Result<std::string> done = uploads.Create("images", "done", PutOptions());
  ASSERT_TRUE(z.ok() && a.ok() && other.ok() && done.ok());
  ASSERT_TRUE(uploads.MarkCompleted(*done, "\"e-1\"").ok());  // no longer in progress
  Result<std::vector<UploadInfo>> listed = uploads.List("images");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].upload_id, *a);
  EXPECT_EQ((*listed)[1].upload_id, *z);
  EXPECT_EQ((*listed)[1].key, "z");
}

// The initiator survives a restart (a new MultipartUploads on the same folder); an upload
// created without one (anonymous) has none.
TEST_F(MultipartTest, TheInitiatorIsKeptWithTheUpload) {
  std::string bobs, old;
  {
    MultipartUploads uploads(root_, &clock_);
    bobs = *uploads.Create("images", "b", PutOptions(), "bob");
    old = *uploads.Create("images", "o", PutOptions());
  }
  MultipartUploads reopened(root_, &clock_);
  EXPECT_EQ(reopened.Get(bobs)->initiator, "bob");
  EXPECT_EQ(reopened.Get(old)->initiator, "");
  Result<std::vector<UploadInfo>> listed = reopened.List("images");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].initiator, "bob");
}

TEST_F(MultipartTest, UploadIdsAreUnique) {
  MultipartUploads uploads(root_, &clock_);
  std::string a = CreateUpload(uploads), b = CreateUpload(uploads);
  EXPECT_NE(a, b);
  ASSERT_TRUE(uploads.AddPart(a, 1, Stage("for a")).ok());
  EXPECT_TRUE(uploads.ListParts(b)->empty());
}

}  // namespace
}  // namespace thumbflow::server
