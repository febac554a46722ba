// The ObjectStore conformance suite: one parameterised GoogleTest suite that every adapter
// (the memory fake, the local folder store, S3 on moto_server) must pass, so they all
// behave like S3 for keys, bytes, ETags, ranges, conditions, metadata and listings.
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

namespace thumbflow {

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
  const std::string& bucket() const { return under_test_.bucket; }
  const std::string& missing_bucket() const { return under_test_.missing_bucket; }

 private:
  ObjectStoreUnderTest under_test_;
};

}  // namespace thumbflow
