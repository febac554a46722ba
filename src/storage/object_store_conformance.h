// The ObjectStore conformance suite: one parameterised GoogleTest suite that every adapter
// (the memory fake, the local folder store, S3 on moto_server) must pass, so they all
// behave like S3 for keys, bytes, ETags, ranges, conditions, metadata and listings, and for
// the streaming side of the port (storage/streaming_object_store.h): streamed uploads,
// streamed reads, copies, completion from staged files and buckets. A store that does not
// implement the streaming port itself is tested through testing::StreamingAdapter.
//
// Where a store legitimately differs, its factory says so in StoreCapabilities; the tests
// that need a missing capability skip with the reason (never a gtest_filter in CMake).
//
// To run it against an adapter, link tf_storage_conformance and instantiate it in a test
// file with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, ObjectStoreConformanceTest,
//       ::testing::Values(ObjectStoreFactory{"Memory", [] { ... }}),
//       ObjectStoreFactoryName);
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "core/result.h"
#include "storage/object_store.h"
#include "storage/streaming_object_store.h"

namespace thumbflow {

// Where the stores under test differ; each false flag skips the tests that need it.
struct StoreCapabilities {
  // If-Match: * matches any existing object, as on S3 (moto answers 412).
  bool if_match_star = true;
  // CompleteMultipart stores the multipart ETag (MD5 of the part MD5s, "-N"). The streaming
  // adapter stores the concatenation with ObjectStore::Put, so its ETag is the single-part
  // one: the fixture clears this flag when it puts the adapter in.
  bool multipart_etag = true;
  // The store keeps the S3 Object Lock a write is given (PutOptions::lock) with the object
  // (the S3 adapter does not send it).
  bool object_lock = true;
};

// One store under test. `bucket` exists and is empty when the factory returns; `keepalive`
// holds whatever the store needs to outlive (a temporary folder, a server) and is released
// after the store.
struct ObjectStoreUnderTest {
  std::shared_ptr<void> keepalive;
  std::unique_ptr<ObjectStore> store;
  std::string bucket;
  // A bucket name that does not exist in this store.
  std::string missing_bucket = "thumbflow-no-such-bucket";
  // Non-empty: the store cannot be made here (a peer is missing); the test is skipped.
  std::string skip_reason;
  StoreCapabilities capabilities;
  // The streaming port on the same objects, when `store` implements it (LocalObjectStore);
  // points into `store`. Null: the fixture puts a testing::StreamingAdapter over `store`,
  // which knows only `bucket` and creates further buckets with `create_bucket`.
  StreamingObjectStore* streaming = nullptr;
  std::function<Status(const std::string&)> create_bucket;
};

struct ObjectStoreFactory {
  std::string name;  // test-name suffix: letters and digits only
  std::function<Result<ObjectStoreUnderTest>()> make;
};

std::string ObjectStoreFactoryName(const ::testing::TestParamInfo<ObjectStoreFactory>& info);
// Shows the factory by name in test listings.
void PrintTo(const ObjectStoreFactory& factory, std::ostream* os);

class ObjectStoreConformanceTest : public ::testing::TestWithParam<ObjectStoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ObjectStore& store() { return *under_test_.store; }
  StreamingObjectStore& streaming() { return *streaming_; }
  const StoreCapabilities& capabilities() const { return under_test_.capabilities; }
  const std::string& bucket() const { return under_test_.bucket; }
  const std::string& missing_bucket() const { return under_test_.missing_bucket; }

 private:
  ObjectStoreUnderTest under_test_;
  std::shared_ptr<void> adapter_keepalive_;  // the adapter and its staging folder, if any
  StreamingObjectStore* streaming_ = nullptr;
};

}  // namespace thumbflow
