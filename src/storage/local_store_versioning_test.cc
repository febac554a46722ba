// S3 versioning in LocalObjectStore: versions, delete markers, the "null" version of a
// suspended bucket, ListVersions paging, and data folders of earlier thumbflow versions.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "core/testing/temp_dir.h"
#include "sqlite/database.h"
#include "storage/local_store.h"

namespace thumbflow {
namespace {

using thumbflow::testing::TempDir;

// Object files under DIR/objects (not the lock file).
size_t ObjectFileCount(const std::string& dir) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir + "/objects")) {
    if (entry.is_regular_file() && entry.path().filename() != ".lock") ++count;
  }
  return count;
}

class LocalStoreVersioningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto store = LocalObjectStore::Open(dir_.path(), LocalStoreOptions{}, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  // Puts `body` under `key` of "images" and returns the new version's id.
  std::string Put(const std::string& key, const std::string& body) {
    clock_.AdvanceMillis(1000);
    auto put = store_->Put("images", key, body);
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    return put.ok() ? put->version_id : "";
  }

  std::string Body(const std::string& key, const std::string& version_id = "") {
    GetOptions options;
    options.version_id = version_id;
    auto got = store_->Get("images", key, options);
    if (!got.ok()) return "<" + std::string(StatusCodeName(got.status().code())) + ">";
    return got->bytes;
  }

  // "key@version" (a marker: "key@version:marker"), newest first per key, "*" for the latest.
  std::vector<std::string> Versions(const ListVersionsOptions& options = {}) {
    auto listed = store_->ListVersions("images", options);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    std::vector<std::string> out;
    if (!listed.ok()) return out;
    for (const ObjectInfo& v : listed->versions) {
      out.push_back(v.key + "@" + v.version_id + (v.delete_marker ? ":marker" : "") +
                    (v.is_latest ? "*" : ""));
    }
    return out;
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<LocalObjectStore> store_;
};

TEST_F(LocalStoreVersioningTest, UnversionedBucketsKeepOneVersionWithoutAnId) {
  EXPECT_EQ(Put("a", "1"), "");
  EXPECT_EQ(Put("a", "2"), "");
  EXPECT_EQ(ObjectFileCount(dir_.path()), 1u);
  auto bucket = store_->GetBucket("images");
  ASSERT_TRUE(bucket.ok());
  EXPECT_EQ(bucket->versioning, "");
  EXPECT_EQ(Versions(), (std::vector<std::string>{"a@null*"}));
  EXPECT_EQ(Body("a", "null"), "2");
  EXPECT_EQ(Body("a", "0123456789abcdef0123456789abcdef"), "<NotFound>");
  auto deleted = store_->DeleteVersion("images", "a", "", {});
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->delete_marker);
  EXPECT_EQ(ObjectFileCount(dir_.path()), 0u);
  EXPECT_TRUE(Versions().empty());
}

TEST_F(LocalStoreVersioningTest, EnabledKeepsEveryVersion) {
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  const std::string v1 = Put("k", "one");
  const std::string v2 = Put("k", "two");
  const std::string v3 = Put("k", "three");
  ASSERT_EQ(v1.size(), 32u);
  EXPECT_NE(v1, v2);
  EXPECT_EQ(Body("k"), "three");
  EXPECT_EQ(Body("k", v1), "one");
  EXPECT_EQ(Body("k", v2), "two");
  EXPECT_EQ(ObjectFileCount(dir_.path()), 3u);
  auto head = store_->Head("images", "k");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->version_id, v3);
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@" + v3 + "*", "k@" + v2, "k@" + v1}));
  // Plain listings show the latest only.
  auto listed = store_->List("images", {});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->objects.size(), 1u);
  EXPECT_EQ(listed->objects[0].size, 5);
}

TEST_F(LocalStoreVersioningTest, DeleteMarkersHideAndRemovingThemRestores) {
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  const std::string v1 = Put("k", "one");
  auto deleted = store_->DeleteVersion("images", "k", "", {});
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_TRUE(deleted->delete_marker);
  const std::string marker = deleted->version_id;
  ASSERT_EQ(marker.size(), 32u);
  EXPECT_EQ(Body("k"), "<NotFound>");
  EXPECT_EQ(Body("k", marker), "<NotFound>");
  EXPECT_EQ(Body("k", v1), "one");
  EXPECT_EQ(store_->Head("images", "k").status().code(), StatusCode::kNotFound);
  auto latest = store_->HeadVersion("images", "k", "");
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(latest->delete_marker);
  EXPECT_EQ(latest->version_id, marker);
  auto by_id = store_->HeadVersion("images", "k", marker);
  ASSERT_TRUE(by_id.ok());
  EXPECT_TRUE(by_id->delete_marker);
  EXPECT_TRUE(by_id->is_latest);
  auto listed = store_->List("images", {});
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->objects.empty());
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@" + marker + ":marker*", "k@" + v1}));
  // A second delete stacks a second marker.
  auto again = store_->DeleteVersion("images", "k", "", {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Versions().size(), 3u);
  // Removing the markers by id makes the object the latest again.
  ASSERT_TRUE(store_->DeleteVersion("images", "k", again->version_id, {}).ok());
  auto removed = store_->DeleteVersion("images", "k", marker, {});
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->delete_marker);
  EXPECT_EQ(Body("k"), "one");
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@" + v1 + "*"}));
  // A version that does not exist: nothing to do, as on S3.
  EXPECT_TRUE(store_->DeleteVersion("images", "k", marker, {}).ok());
}

TEST_F(LocalStoreVersioningTest, DeletingTheLatestVersionPromotesThePrevious) {
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  const std::string v1 = Put("k", "one");
  const std::string v2 = Put("k", "two");
  const std::string v3 = Put("k", "three");
  ASSERT_TRUE(store_->DeleteVersion("images", "k", v3, {}).ok());
  EXPECT_EQ(Body("k"), "two");
  ASSERT_TRUE(store_->DeleteVersion("images", "k", v1, {}).ok());
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@" + v2 + "*"}));
  EXPECT_EQ(ObjectFileCount(dir_.path()), 1u);
  // If-Match holds against the version named.
  WriteCondition stale;
  stale.if_match = "\"00000000000000000000000000000000\"";
  EXPECT_EQ(store_->DeleteVersion("images", "k", v2, stale).status().reason(),
            Reason::kPreconditionFailed);
  WriteCondition wrong_size;
  wrong_size.if_match_size = 99;
  EXPECT_EQ(store_->DeleteVersion("images", "k", v2, wrong_size).status().reason(),
            Reason::kPreconditionFailed);
  ASSERT_TRUE(store_->DeleteVersion("images", "k", v2, {}).ok());
  EXPECT_TRUE(Versions().empty());
  // A conditional delete of no object makes no delete marker; of a missing version, nothing.
  auto none = store_->DeleteVersion("images", "k", "", stale);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->delete_marker);
  EXPECT_TRUE(store_->DeleteVersion("images", "k", v2, stale).ok());
  EXPECT_TRUE(Versions().empty());
  EXPECT_EQ(ObjectFileCount(dir_.path()), 0u);
  // With every version gone the bucket is empty and can be deleted.
  ASSERT_TRUE(store_->CreateBucket("gone", "").ok());
  ASSERT_TRUE(store_->PutBucketVersioning("gone", kVersioningEnabled).ok());
  ASSERT_TRUE(store_->Put("gone", "x", "x").ok());
  ASSERT_TRUE(store_->Delete("gone", "x").ok());  // a delete marker; the version stays
  EXPECT_EQ(store_->DeleteBucket("gone").reason(), Reason::kBucketNotEmpty);
}

TEST_F(LocalStoreVersioningTest, DeletingAnOlderVersionKeepsTheLatest) {
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  const std::string v1 = Put("k", "one");
  const std::string v2 = Put("k", "two");
  const std::string v3 = Put("k", "three");
  ASSERT_TRUE(store_->DeleteVersion("images", "k", v1, {}).ok());
  ASSERT_TRUE(store_->DeleteVersion("images", "k", v2, {}).ok());
  EXPECT_EQ(Body("k"), "three");
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@" + v3 + "*"}));
  // Between two markers an object version removed: the marker stays the latest.
  const std::string v4 = Put("k", "four");
  auto marker = store_->DeleteVersion("images", "k", "", {});
  ASSERT_TRUE(marker.ok());
  ASSERT_TRUE(store_->DeleteVersion("images", "k", v4, {}).ok());
  EXPECT_EQ(Body("k"), "<NotFound>");
  EXPECT_EQ(Versions(),
            (std::vector<std::string>{"k@" + marker->version_id + ":marker*", "k@" + v3}));
}

TEST_F(LocalStoreVersioningTest, SuspendedReplacesTheNullVersion) {
  Put("k", "plain");  // before versioning: the "null" version
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  const std::string v1 = Put("k", "versioned");
  EXPECT_EQ(Body("k", "null"), "plain");
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningSuspended).ok());
  EXPECT_EQ(Put("k", "suspended"), "");  // as S3: no version id for a suspended bucket's write
  EXPECT_EQ(Body("k", "null"), "suspended");
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@null*", "k@" + v1}));
  EXPECT_EQ(ObjectFileCount(dir_.path()), 2u);  // "plain" is gone for good
  EXPECT_EQ(Put("k", "again"), "");
  EXPECT_EQ(ObjectFileCount(dir_.path()), 2u);
  // A delete makes a "null" delete marker, which replaces the "null" object.
  auto deleted = store_->DeleteVersion("images", "k", "", {});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->version_id, "null");
  EXPECT_TRUE(deleted->delete_marker);
  EXPECT_EQ(Versions(), (std::vector<std::string>{"k@null:marker*", "k@" + v1}));
  EXPECT_EQ(ObjectFileCount(dir_.path()), 1u);
  EXPECT_EQ(Body("k"), "<NotFound>");
  ASSERT_TRUE(store_->DeleteVersion("images", "k", "null", {}).ok());
  EXPECT_EQ(Body("k"), "versioned");
}

TEST_F(LocalStoreVersioningTest, CopyReadsTheVersionAsked) {
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  const std::string v1 = Put("src", "one");
  Put("src", "two");
  auto copied = store_->CopyVersion("images", "src", v1, "images", "dst", nullptr);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->version_id.size(), 32u);
  EXPECT_EQ(Body("dst"), "one");
  EXPECT_EQ(store_->CopyVersion("images", "src", "null", "images", "x", nullptr).status().code(),
            StatusCode::kNotFound);
}

TEST_F(LocalStoreVersioningTest, ListVersionsPagesByKeyAndVersion) {
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  std::vector<std::string> expected;
  for (const std::string key : {"a", "b/1", "b/2", "c"}) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.insert(ids.begin(), Put(key, key + std::to_string(i)));
    for (size_t i = 0; i < ids.size(); ++i) expected.push_back(key + "@" + ids[i] + (i ? "" : "*"));
  }
  EXPECT_EQ(Versions(), expected);
  // One entry a page, following the markers, lists the same.
  std::vector<std::string> paged;
  ListVersionsOptions options;
  options.max_keys = 1;
  for (int page = 0; page < 20; ++page) {
    auto listed = store_->ListVersions("images", options);
    ASSERT_TRUE(listed.ok());
    for (const ObjectInfo& v : listed->versions) {
      paged.push_back(v.key + "@" + v.version_id + (v.is_latest ? "*" : ""));
    }
    if (!listed->truncated) break;
    options.key_marker = listed->next_key_marker;
    options.version_id_marker = listed->next_version_id_marker;
  }
  EXPECT_EQ(paged, expected);
  // A delimiter rolls b/ into one common prefix; a prefix narrows.
  ListVersionsOptions grouped;
  grouped.delimiter = "/";
  auto listed = store_->ListVersions("images", grouped);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->versions.size(), 6u);
  EXPECT_EQ(listed->common_prefixes, (std::vector<std::string>{"b/"}));
  grouped.max_keys = 4;
  listed = store_->ListVersions("images", grouped);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->truncated);
  EXPECT_EQ(listed->next_key_marker, "b/");
  EXPECT_EQ(listed->next_version_id_marker, "");
  grouped.key_marker = "b/";
  listed = store_->ListVersions("images", grouped);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->versions.size(), 3u);
  EXPECT_EQ(listed->versions[0].key, "c");
  ListVersionsOptions prefixed;
  prefixed.prefix = "b/2";
  EXPECT_EQ(Versions(prefixed),
            std::vector<std::string>(expected.begin() + 6, expected.begin() + 9));
  // A client emptying the bucket page by page deletes the marker's version before asking for
  // the next page: the listing goes on after that key.
  ListVersionsOptions after_deleted;
  after_deleted.key_marker = "a";
  after_deleted.version_id_marker = expected[0].substr(2, 32);
  ASSERT_TRUE(store_->DeleteVersion("images", "a", after_deleted.version_id_marker, {}).ok());
  auto rest = store_->ListVersions("images", after_deleted);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  ASSERT_FALSE(rest->versions.empty());
  EXPECT_EQ(rest->versions[0].key, "b/1");
  after_deleted.version_id_marker = "not-a-version";
  EXPECT_EQ(store_->ListVersions("images", after_deleted).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(LocalStoreVersioningTest, NoncurrentVersionsSurviveReopenAndTheSweep) {
  ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  const std::string v1 = Put("k", "one");
  Put("k", "two");
  ASSERT_TRUE(store_->Delete("images", "k").ok());
  Reopen();  // the only store on the folder: it sweeps
  EXPECT_EQ(Body("k", v1), "one");
  EXPECT_EQ(ObjectFileCount(dir_.path()), 2u);
  auto bucket = store_->GetBucket("images");
  ASSERT_TRUE(bucket.ok());
  EXPECT_EQ(bucket->versioning, kVersioningEnabled);
}

// A data folder written by thumbflow before versioning (the store schema's first four
// migrations, frozen here as they were) opens, keeps its objects as "null" versions, and
// takes versioning.
TEST(LocalStoreMigrationTest, FoldersOfEarlierVersionsOpenAndTakeVersioning) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string blob = "0123456789abcdef0123456789abcdef";
  {
    auto db = sqlite::Database::Open(dir.path() + "/thumbflow.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    const std::vector<std::string> earlier = {
        "CREATE TABLE store_buckets(name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL) "
        "WITHOUT ROWID;"
        "CREATE TABLE store_objects(bucket TEXT NOT NULL, key TEXT NOT NULL, blob TEXT NOT NULL,"
        " size INTEGER NOT NULL, etag TEXT NOT NULL, content_type TEXT NOT NULL,"
        " metadata TEXT NOT NULL, last_modified_ms INTEGER NOT NULL,"
        " PRIMARY KEY(bucket, key)) WITHOUT ROWID;"
        "CREATE TABLE store_counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;",
        "ALTER TABLE store_objects ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';",
        "ALTER TABLE store_buckets ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE store_objects ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';",
        "ALTER TABLE store_buckets ADD COLUMN acl TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE store_objects ADD COLUMN acl TEXT NOT NULL DEFAULT '';",
    };
    Status written = (*db)->Write([&](sqlite::Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.EnsureSchema("storage", earlier));
      ASSIGN_OR_RETURN(sqlite::Statement * bucket,
                       tx.Prepare("INSERT INTO store_buckets(name, created_ms, owner) "
                                  "VALUES('images', 1, '')"));
      RETURN_IF_ERROR(bucket->Run());
      ASSIGN_OR_RETURN(
          sqlite::Statement * object,
          tx.Prepare("INSERT INTO store_objects(bucket, key, blob, size, etag, content_type, "
                     "metadata, last_modified_ms, tags) VALUES('images', 'uploads/old.jpg', ?1, "
                     "3, '\"etag\"', 'image/jpeg', '{\"a\":\"b\"}', 2000, '{\"t\":\"v\"}')"));
      object->Bind(1, blob);
      return object->Run();
    });
    ASSERT_TRUE(written.ok()) << written.ToString();
    std::filesystem::create_directories(dir.path() + "/objects/01");
    std::ofstream(dir.path() + "/objects/01/" + blob) << "old";
  }
  ManualClock clock{1'700'000'000'000};
  auto opened = LocalObjectStore::Open(dir.path(), LocalStoreOptions{}, clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  LocalObjectStore& store = **opened;
  auto got = store.Get("images", "uploads/old.jpg");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->bytes, "old");
  EXPECT_EQ(got->info.content_type, "image/jpeg");
  EXPECT_EQ(got->info.metadata, (Metadata{{"a", "b"}}));
  EXPECT_EQ(got->info.tags, (TagSet{{"t", "v"}}));
  EXPECT_EQ(got->info.version_id, "");   // the bucket is unversioned
  EXPECT_TRUE(got->info.parts.empty());  // written before parts were kept
  EXPECT_TRUE(got->info.checksum.empty());
  EXPECT_TRUE(got->info.lock.empty());  // written before object lock was kept
  auto versions = store.ListVersions("images", {});
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->versions.size(), 1u);
  EXPECT_EQ(versions->versions[0].version_id, "null");
  // Versioning on: the old object is the "null" version, kept under a new one.
  ASSERT_TRUE(store.PutBucketVersioning("images", kVersioningEnabled).ok());
  auto put = store.Put("images", "uploads/old.jpg", "new");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  GetOptions null_version;
  null_version.version_id = "null";
  auto old = store.Get("images", "uploads/old.jpg", null_version);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->bytes, "old");
  auto latest = store.Get("images", "uploads/old.jpg");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->bytes, "new");
  EXPECT_EQ(latest->info.version_id, put->version_id);
  // A version with parts and a checksum keeps them once it is noncurrent.
  PutOptions with_parts;
  with_parts.parts = {ObjectPart{1, 3, "p"}};
  with_parts.checksum = ObjectChecksum{"CRC32C", "v==-1", "COMPOSITE"};
  with_parts.lock.mode = kLockCompliance;
  with_parts.lock.retain_until_ms = 1'800'000'000'000;
  auto parted = store.Put("images", "uploads/old.jpg", "mpu", with_parts);
  ASSERT_TRUE(parted.ok());
  ASSERT_TRUE(store.Put("images", "uploads/old.jpg", "newest").ok());
  GetOptions parted_version;
  parted_version.version_id = parted->version_id;
  auto noncurrent = store.Get("images", "uploads/old.jpg", parted_version);
  ASSERT_TRUE(noncurrent.ok()) << noncurrent.status().ToString();
  EXPECT_EQ(noncurrent->info.parts, with_parts.parts);
  EXPECT_EQ(noncurrent->info.checksum, with_parts.checksum);
  EXPECT_EQ(noncurrent->info.lock, with_parts.lock);
}

}  // namespace
}  // namespace thumbflow
