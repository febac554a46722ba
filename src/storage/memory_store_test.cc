#include "storage/memory_store.h"

#include <gtest/gtest.h>

#include "storage/object_store_conformance.h"

namespace thumbflow {
namespace {

Result<ObjectStoreUnderTest> MakeMemoryStore() {
  ObjectStoreUnderTest made;
  made.bucket = "conformance";
  auto store = std::make_unique<MemoryObjectStore>(std::vector<std::string>{made.bucket});
  MemoryObjectStore* memory = store.get();
  made.create_bucket = [memory](const std::string& bucket) { return memory->CreateBucket(bucket); };
  made.store = std::move(store);
  return made;
}

INSTANTIATE_TEST_SUITE_P(Memory, ObjectStoreConformanceTest,
                         ::testing::Values(ObjectStoreFactory{"Memory", MakeMemoryStore}),
                         ObjectStoreFactoryName);

TEST(MemoryObjectStoreTest, UsesInjectedClock) {
  ManualClock clock(1'234'000);
  MemoryObjectStore store({"b1b"}, &clock);
  auto put = store.Put("b1b", "k", "x");
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->last_modified_ms, 1'234'000);
}

TEST(MemoryObjectStoreTest, BucketsMustBeCreated) {
  MemoryObjectStore store;
  EXPECT_EQ(store.Put("fresh", "k", "x").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.CreateBucket("fresh").ok());
  EXPECT_EQ(store.CreateBucket("fresh").code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(store.Put("fresh", "k", "x").ok());
}

TEST(MemoryObjectStoreTest, KeepsTheAclItIsGiven) {
  MemoryObjectStore store({"bkt"});
  PutOptions put;
  put.acl = "acl-text";
  ASSERT_TRUE(store.Put("bkt", "k", "x", put).ok());
  EXPECT_EQ(store.Head("bkt", "k")->acl, "acl-text");
  EXPECT_EQ(store.Get("bkt", "k")->info.acl, "acl-text");
  ASSERT_TRUE(store.Put("bkt", "k", "y").ok());
  EXPECT_EQ(store.Head("bkt", "k")->acl, "") << "an overwrite replaces the ACL";
}

TEST(MemoryObjectStoreTest, RefusesInvalidKeys) {
  MemoryObjectStore store({"bkt"});
  EXPECT_EQ(store.Put("bkt", std::string(1025, 'a'), "x").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Put("bkt", "", "x").status().code(), StatusCode::kInvalidArgument);
}

TEST(MemoryObjectStoreTest, BadContinuationTokenIsInvalidArgument) {
  MemoryObjectStore store({"bkt"});
  ListOptions options;
  options.continuation_token = "garbage!";
  EXPECT_EQ(store.List("bkt", options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace thumbflow
