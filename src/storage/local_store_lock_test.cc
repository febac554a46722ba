// S3 Object Lock in LocalObjectStore: a version's lock is committed with the version (put,
// copy, multipart completion), changed only by UpdateVersionLock, and a delete of a version
// it protects is refused inside the delete's transaction.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/clock.h"
#include "core/testing/temp_dir.h"
#include "storage/local_store.h"

namespace thumbflow {
namespace {

using thumbflow::testing::TempDir;

constexpr int64_t kHour = 3'600'000;

ObjectLock Retention(const char* mode, int64_t until_ms) {
  ObjectLock lock;
  lock.mode = mode;
  lock.retain_until_ms = until_ms;
  return lock;
}

ObjectLock LegalHold(bool on) {
  ObjectLock lock;
  lock.legal_hold = on;
  lock.legal_hold_set = true;
  return lock;
}

class LocalStoreLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
    ASSERT_TRUE(store_->PutBucketVersioning("images", kVersioningEnabled).ok());
  }

  void Reopen() {
    store_.reset();
    auto store = LocalObjectStore::Open(dir_.path(), LocalStoreOptions{}, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  // Puts `body` under `key` with `lock`; the new version's id.
  std::string Put(const std::string& key, const std::string& body, const ObjectLock& lock) {
    PutOptions options;
    options.lock = lock;
    auto put = store_->Put("images", key, body, options);
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put.ok() ? put->lock : ObjectLock{}, lock);
    return put.ok() ? put->version_id : "";
  }

  ObjectLock LockOf(const std::string& key, const std::string& version_id) {
    auto head = store_->HeadVersion("images", key, version_id);
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    return head.ok() ? head->lock : ObjectLock{};
  }

  Status DeleteVersion(const std::string& key, const std::string& version_id, bool bypass) {
    WriteCondition condition;
    condition.bypass_governance = bypass;
    return store_->DeleteVersion("images", key, version_id, condition).status();
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<LocalObjectStore> store_;
};

TEST_F(LocalStoreLockTest, TheLockIsCommittedWithTheVersionAndKept) {
  const ObjectLock compliance = Retention(kLockCompliance, clock_.NowMillis() + kHour);
  const std::string v1 = Put("k", "one", compliance);
  const std::string v2 = Put("k", "two", LegalHold(true));
  const std::string v3 = Put("k", "three", ObjectLock{});
  // Every read of a version says its lock: the latest, a noncurrent one, a stream.
  EXPECT_EQ(LockOf("k", v1), compliance);
  EXPECT_EQ(LockOf("k", v2), LegalHold(true));
  EXPECT_EQ(LockOf("k", v3), ObjectLock{});
  GetOptions version;
  version.version_id = v1;
  auto got = store_->Get("images", "k", version);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->info.lock, compliance);
  auto opened = store_->OpenObject("images", "k", version);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->info.lock, compliance);
  // Across a reopen.
  Reopen();
  EXPECT_EQ(LockOf("k", v1), compliance);
  EXPECT_EQ(LockOf("k", v2), LegalHold(true));
  // The newest version removed: the one promoted keeps its lock.
  ASSERT_TRUE(DeleteVersion("k", v3, false).ok());
  auto latest = store_->Head("images", "k");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version_id, v2);
  EXPECT_EQ(latest->lock, LegalHold(true));
}

TEST_F(LocalStoreLockTest, CopiesAndCompletionsCommitTheLockTheyAreGiven) {
  const std::string locked = Put("src", "bytes", LegalHold(true));
  // A copy keeps the source's metadata, never its lock: it gets the one it is given.
  auto plain = store_->CopyVersion("images", "src", locked, "images", "dst", nullptr);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(LockOf("dst", plain->version_id), ObjectLock{});
  PutOptions options;
  options.lock = Retention(kLockGovernance, clock_.NowMillis() + kHour);
  auto copied = store_->CopyVersion("images", "src", locked, "images", "dst", &options);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(LockOf("dst", copied->version_id), options.lock);

  const std::string part = store_->StagingDir() + "/part1";
  std::filesystem::create_directories(store_->StagingDir());
  std::ofstream(part) << "part";
  auto completed = store_->CompleteMultipart("images", "mpu", {part},
                                             {"\"0123456789abcdef0123456789abcdef\""}, options);
  ASSERT_TRUE(completed.ok()) << completed.status().ToString();
  EXPECT_EQ(LockOf("mpu", completed->version_id), options.lock);
}

TEST_F(LocalStoreLockTest, DeletesOfProtectedVersionsAreRefusedByTheStore) {
  const int64_t until = clock_.NowMillis() + kHour;
  const std::string held = Put("held", "1", LegalHold(true));
  const std::string governance = Put("gov", "1", Retention(kLockGovernance, until));
  const std::string compliance = Put("comp", "1", Retention(kLockCompliance, until));
  const std::string released = Put("off", "1", LegalHold(false));
  for (const auto& [key, version] : {std::pair{"held", held}, std::pair{"comp", compliance}}) {
    for (bool bypass : {false, true}) {
      Status refused = DeleteVersion(key, version, bypass);
      EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << key;
      EXPECT_EQ(refused.reason(), Reason::kObjectLocked) << refused.ToString();
    }
    EXPECT_EQ(LockOf(key, version).empty(), false);  // still there
  }
  EXPECT_EQ(DeleteVersion("gov", governance, false).reason(), Reason::kObjectLocked);
  EXPECT_TRUE(DeleteVersion("gov", governance, true).ok());
  EXPECT_EQ(store_->HeadVersion("images", "gov", governance).status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(DeleteVersion("off", released, false).ok());
  // A noncurrent version is protected as well; a delete without a version id only adds a
  // marker, which no lock forbids.
  Put("comp", "2", ObjectLock{});
  EXPECT_EQ(DeleteVersion("comp", compliance, true).reason(), Reason::kObjectLocked);
  auto marker = store_->DeleteVersion("images", "comp", "", {});
  ASSERT_TRUE(marker.ok());
  EXPECT_TRUE(marker->delete_marker);
  // Expired at the store's clock: deletable.
  clock_.AdvanceMillis(kHour);
  EXPECT_TRUE(DeleteVersion("comp", compliance, false).ok());
  EXPECT_EQ(DeleteVersion("held", held, true).reason(), Reason::kObjectLocked);
}

TEST_F(LocalStoreLockTest, UpdateVersionLockChangesOneVersionOrNothing) {
  const std::string v1 = Put("k", "one", ObjectLock{});
  const std::string v2 = Put("k", "two", ObjectLock{});
  auto held = store_->UpdateVersionLock("images", "k", v1, [](ObjectLock& lock) {
    lock.legal_hold = lock.legal_hold_set = true;
    return Status::Ok();
  });
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  EXPECT_EQ(held->version_id, v1);
  EXPECT_EQ(held->lock, LegalHold(true));
  EXPECT_EQ(LockOf("k", v1), LegalHold(true));
  EXPECT_EQ(LockOf("k", v2), ObjectLock{});
  // Empty: the latest.
  const ObjectLock retention = Retention(kLockGovernance, clock_.NowMillis() + kHour);
  auto latest = store_->UpdateVersionLock("images", "k", "", [&](ObjectLock& lock) {
    lock.mode = retention.mode;
    lock.retain_until_ms = retention.retain_until_ms;
    return Status::Ok();
  });
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version_id, v2);
  EXPECT_EQ(LockOf("k", v2), retention);
  // The change's error is returned and nothing changes.
  auto refused = store_->UpdateVersionLock("images", "k", v1, [](ObjectLock& lock) {
    lock = ObjectLock{};
    return PermissionDeniedError("no");
  });
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(LockOf("k", v1), LegalHold(true));
  // Missing versions, delete markers and buckets.
  auto none = [](ObjectLock&) { return Status::Ok(); };
  EXPECT_EQ(store_->UpdateVersionLock("images", "k", "0123456789abcdef0123456789abcdef", none)
                .status()
                .code(),
            StatusCode::kNotFound);
  auto marker = store_->DeleteVersion("images", "k", "", {});
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(store_->UpdateVersionLock("images", "k", marker->version_id, none).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->UpdateVersionLock("images", "k", "", none).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->UpdateVersionLock("nope", "k", v1, none).status().reason(),
            Reason::kNoSuchBucket);
}

// A legal hold put while a delete of the same version runs: exactly one wins, and the outcome
// agrees with it (a version whose hold was put is never deleted; a deleted one gets no hold).
TEST_F(LocalStoreLockTest, ALegalHoldAndADeleteOfTheVersionNeverBothSucceed) {
  constexpr int kRounds = 60;
  int held_wins = 0, delete_wins = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = "race/" + std::to_string(round);
    const std::string version = Put(key, "x", ObjectLock{});
    std::atomic<bool> go{false};
    Result<ObjectInfo> hold = NotFoundError("not run");
    Status deleted;
    std::thread holder([&] {
      while (!go.load()) std::this_thread::yield();
      hold = store_->UpdateVersionLock("images", key, version, [](ObjectLock& lock) {
        lock.legal_hold = lock.legal_hold_set = true;
        return Status::Ok();
      });
    });
    std::thread deleter([&] {
      while (!go.load()) std::this_thread::yield();
      deleted = DeleteVersion(key, version, true);
    });
    go.store(true);
    holder.join();
    deleter.join();
    auto head = store_->HeadVersion("images", key, version);
    if (hold.ok()) {
      ++held_wins;
      EXPECT_EQ(deleted.reason(), Reason::kObjectLocked) << deleted.ToString();
      ASSERT_TRUE(head.ok());
      EXPECT_EQ(head->lock, LegalHold(true));
    } else {
      ++delete_wins;
      EXPECT_EQ(hold.status().code(), StatusCode::kNotFound) << hold.status().ToString();
      EXPECT_TRUE(deleted.ok()) << deleted.ToString();
      EXPECT_EQ(head.status().code(), StatusCode::kNotFound);
    }
  }
  std::printf("race: hold first %d, delete first %d\n", held_wins, delete_wins);
  EXPECT_EQ(held_wins + delete_wins, kRounds);
}

}  // namespace
}  // namespace thumbflow
