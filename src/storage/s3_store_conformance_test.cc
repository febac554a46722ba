// The ObjectStore conformance suite on the S3 adapter (aws::S3Store) against moto_server,
// so the fake, the local store and S3 are held to the same behaviour.
#include <gtest/gtest.h>

#include <random>

#include "aws/http_client.h"
#include "aws/s3_store.h"
#include "aws/testing/moto_server.h"
#include "storage/object_store_conformance.h"

namespace thumbflow {
namespace {

using aws::testing::MotoServer;

// One moto_server for the whole binary (starting one takes seconds); each test gets a fresh
// bucket in it.
struct SharedMoto {
  std::unique_ptr<MotoServer> server;
  std::string skip_reason;
  std::shared_ptr<aws::HttpClient> http;
  std::shared_ptr<aws::CredentialsProvider> credentials;
  SystemClock clock;
};

// Started on first use; destroyed (and the server stopped by PID) when the binary exits.
SharedMoto& Moto() {
  static SharedMoto moto;
  static bool started = false;
  if (!started) {
    started = true;
    moto.server = MotoServer::StartOrSkip();
    if (!moto.server) {
      moto.skip_reason = MotoServer::SkipReason();
      return moto;
    }
    moto.http = std::shared_ptr<aws::HttpClient>(aws::NewCurlHttpClient().release());
    moto.credentials = std::shared_ptr<aws::CredentialsProvider>(
        aws::NewStaticCredentialsProvider(MotoServer::TestCredentials()).release());
  }
  return moto;
}

Result<ObjectStoreUnderTest> MakeS3Store() {
  SharedMoto& moto = Moto();
  ObjectStoreUnderTest made;
  if (!moto.server) {
    made.skip_reason = "moto_server not available: " + moto.skip_reason;
    return made;
  }
  aws::S3StoreOptions options;
  options.endpoint = moto.server->endpoint();
  ASSIGN_OR_RETURN(std::unique_ptr<aws::S3Store> store,
                   aws::NewS3Store(options, moto.http, moto.credentials, &moto.clock));
  static std::mt19937_64 rng(std::random_device{}());
  char name[40];
  std::snprintf(name, sizeof name, "conformance-%016llx", static_cast<unsigned long long>(rng()));
  made.bucket = name;
  RETURN_IF_ERROR(store->CreateBucket(made.bucket));
  aws::S3Store* s3 = store.get();
  made.create_bucket = [s3](const std::string& bucket) { return s3->CreateBucket(bucket); };
  made.capabilities.if_match_star = false;  // moto answers 412 to If-Match: *
  made.capabilities.object_lock = false;    // PutOptions::lock is not sent
  made.store = std::move(store);
  return made;
}

INSTANTIATE_TEST_SUITE_P(S3OnMoto, ObjectStoreConformanceTest,
                         ::testing::Values(ObjectStoreFactory{"S3OnMoto", MakeS3Store}),
                         ObjectStoreFactoryName);

}  // namespace
}  // namespace thumbflow
