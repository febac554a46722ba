#include "pipeline/worker_pool.h"

#include <cerrno>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "aws/sqs_queue.h"
#include "aws/testing/scripted_http_client.h"
#include "config/config.h"
#include "core/disk.h"
#include "core/metrics.h"
#include "image/testing/fake_thumbnailer.h"
#include "pipeline/pipeline_test_util.h"
#include "queue/memory_queue.h"
#include "storage/memory_store.h"

namespace thumbflow::pipeline {
namespace {

using testing::CreatedRecord;
using testing::FaultyStore;
using thumbflow::testing::FakeThumbnailer;

constexpr char kBucket[] = "images";

// Waits for a condition that the pool brings about on its own threads. The bound only
// keeps a broken build from hanging; no test asserts on how long anything takes.
template <typename Predicate>
bool WaitUntil(Predicate predicate) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

class WorkerPoolTest : public ::testing::Test {
 protected:
  WorkerPoolTest() : memory_({kBucket}, &clock_), store_(memory_) {
    QueueOptions queue_options;
    queue_options.visibility_timeout_s = 60;
    queue_options.max_receive_count = 3;
    queue_ = MemoryQueue::Create(queue_options, clock_).value();
    options_.workers = 2;
    options_.visibility_timeout_s = 60;
    options_.receive_wait_s = 1;
    options_.grace_period = std::chrono::seconds(60);
    options_.retry = {/*base_s=*/2, /*max_s=*/60, /*jitter=*/0};
    options_.random_seed = 7;
    options_.queue_stats_interval = std::chrono::milliseconds(0);
  }

  ~WorkerPoolTest() override {
    thumbnailer_.OpenGate();
    if (pool_) pool_->Shutdown(std::chrono::milliseconds(0));
  }

  void StartPool() {
    Config config;
    Logger log([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      log_lines_.emplace_back(line);
    });
    pool_ = std::make_unique<WorkerPool>(*queue_, store_, thumbnailer_,
                                         RecordProcessorOptionsFromConfig(config), options_, clock_,
                                         &registry_, log);
    pool_->SetMessageObserver([this](const Message& m, const MessageResult& r) {
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back({m, r});
    });
    ASSERT_TRUE(pool_->Start().ok());
  }

  size_t Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_.size();
  }

  std::string PutSource(const std::string& key, const std::string& bytes) {
    auto info = memory_.Put(kBucket, key, bytes);
    EXPECT_TRUE(info.ok());
    return info->etag.substr(1, info->etag.size() - 2);
  }

  std::string Send(const std::vector<S3EventRecord>& records) {
    return SendBody(BuildS3Event(records));
  }
  std::string SendBody(const std::string& body) {
    auto id = queue_->Send({body, {}, 0});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  QueueStats Stats() { return queue_->Stats().value(); }

  ManualClock clock_;
  MemoryObjectStore memory_;
  FaultyStore store_;
  FakeThumbnailer thumbnailer_;
  std::unique_ptr<MemoryQueue> queue_;
  MetricsRegistry registry_;
  WorkerPoolOptions options_;
  std::unique_ptr<WorkerPool> pool_;
  std::mutex mu_;
  std::vector<std::pair<Message, MessageResult>> finished_;
  std::vector<std::string> log_lines_;

  // Log lines whose "msg" starts with `prefix`.
  int LogLinesStartingWith(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const std::string& line : log_lines_) {
      if (line.find("\"msg\":\"" + prefix) != std::string::npos) ++n;
    }
    return n;
  }
};

TEST_F(WorkerPoolTest, EveryRecordOfEveryMessageIsProcessed) {
  int n = 0;
  for (int m = 0; m < 6; ++m) {
    std::vector<S3EventRecord> records;
    for (int r = 0; r <= m % 3; ++r) {
      std::string key = "uploads/m" + std::to_string(m) + "/r" + std::to_string(r) + ".jpg";
      PutSource(key, key);
      records.push_back(CreatedRecord(kBucket, key));
      ++n;
    }
    Send(records);
  }
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 6; }));
  pool_->Shutdown();
  EXPECT_EQ(thumbnailer_.calls(), n);
  EXPECT_EQ(pool_->counters().deleted, 6);
  for (int m = 0; m < 6; ++m) {
    for (int r = 0; r <= m % 3; ++r) {
      std::string key = "m" + std::to_string(m) + "/r" + std::to_string(r) + ".jpg";
      EXPECT_TRUE(memory_.Head(kBucket, "thumbnails/large/" + key).ok()) << key;
    }
  }
  QueueStats stats = Stats();
  EXPECT_EQ(stats.visible + stats.in_flight + stats.delayed + stats.dlq, 0);
  std::string metrics = registry_.RenderText();
  EXPECT_NE(metrics.find("thumbflow_pipeline_messages_total{action=\"delete\"} 6"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("thumbflow_pipeline_in_flight 0"), std::string::npos) << metrics;
}

TEST_F(WorkerPoolTest, TransientFailureBacksOffThenSucceeds) {
  PutSource("uploads/x.jpg", "x");
  std::atomic<int> failures_left{1};
  store_.get_fault = [&](const std::string&) {
    return failures_left.fetch_sub(1) > 0 ? UnavailableError("connection reset") : Status::Ok();
  };
  Send({CreatedRecord(kBucket, "uploads/x.jpg")});
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 1; }));
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(finished_[0].second.action, MessageAction::kRetry);
    EXPECT_EQ(finished_[0].second.reason, Reason::kUnavailable);
  }
  // Back-off of the first receive: base 2 s, no jitter. Invisible until then.
  QueueStats stats = Stats();
  EXPECT_EQ(stats.visible, 0);
  EXPECT_EQ(stats.in_flight, 1);
  clock_.AdvanceMillis(1999);
  EXPECT_EQ(Stats().visible, 0);
  clock_.AdvanceMillis(1);
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 2; }));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(finished_[1].first.receive_count, 2);
  EXPECT_EQ(finished_[1].second.action, MessageAction::kDelete);
  EXPECT_TRUE(memory_.Head(kBucket, "thumbnails/small/x.jpg").ok());
}

TEST_F(WorkerPoolTest, RepeatedTransientFailureEndsInTheDlqAfterMaxReceives) {
  PutSource("uploads/x.jpg", "x");
  store_.get_fault = [](const std::string&) { return UnavailableError("down"); };
  Send({CreatedRecord(kBucket, "uploads/x.jpg")});
  StartPool();
  for (int delivery = 1; delivery <= 3; ++delivery) {
    ASSERT_TRUE(WaitUntil([&] { return Finished() == static_cast<size_t>(delivery); }));
    clock_.AdvanceSeconds(3600);
  }
  ASSERT_TRUE(WaitUntil([&] { return Stats().dlq == 1; }));
  auto dead = queue_->ListDeadLetters(10).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "max-receives");
}

// A full disk fails every output write: the messages are held and retried here (the
// queue never counts another receive for them), receiving pauses, readiness says why, and
// once space is back every image gets its thumbnails with nothing dead-lettered.
TEST_F(WorkerPoolTest, AFullDiskHoldsMessagesUntilSpaceIsBackAndDeadLettersNothing) {
  options_.tick = std::chrono::hours(1);  // the test drives heartbeats and retries
  std::atomic<bool> full{true};
  store_.put_fault = [&](const std::string&) {
    return full.load() ? FileError(ENOSPC, "write", "upload of bucket images") : Status::Ok();
  };
  for (const char* key : {"uploads/a.jpg", "uploads/b.jpg", "uploads/c.jpg"}) {
    PutSource(key, key);
    Send({CreatedRecord(kBucket, key)});
  }
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return pool_->counters().held_back == 3; }));
  Status ready = pool_->Readiness();
  EXPECT_EQ(ready.code(), StatusCode::kUnavailable);
  EXPECT_NE(ready.message().find("no-space"), std::string::npos) << ready.message();
  EXPECT_NE(ready.message().find("No space left on device"), std::string::npos);
  // Far past max_receive_count x the visibility timeout: the heartbeat keeps the held
  // messages invisible, and each in-process retry fails again.
  for (int round = 1; round <= 8; ++round) {
    clock_.AdvanceSeconds(30);
    EXPECT_EQ(pool_->HeartbeatOnce(), 3) << round;
    ASSERT_EQ(pool_->RetryHeldOnce(), 3) << "back-off is capped at 30 s";
    ASSERT_TRUE(WaitUntil([&] { return pool_->counters().held_back == 3 + 3 * round; })) << round;
  }
  QueueStats stats = Stats();
  EXPECT_EQ(stats.dlq, 0);
  EXPECT_EQ(stats.in_flight, 3);
  EXPECT_EQ(stats.visible, 0);
  EXPECT_EQ(pool_->counters().received, 3) << "no message was received a second time";
  EXPECT_EQ(pool_->counters().retried + pool_->counters().dead_lettered, 0);
  EXPECT_EQ(Finished(), 0u);
  EXPECT_EQ(LogLinesStartingWith("paused"), 1) << "one loud line, not one per message";

  full = false;
  clock_.AdvanceSeconds(30);
  pool_->RetryHeldOnce();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 3; }));
  EXPECT_TRUE(pool_->Readiness().ok());
  EXPECT_EQ(pool_->counters().deleted, 3);
  EXPECT_EQ(LogLinesStartingWith("resumed"), 1);
  for (const char* name : {"a.jpg", "b.jpg", "c.jpg"}) {
    for (const char* size : {"small", "medium", "large"}) {
      EXPECT_TRUE(memory_.Head(kBucket, std::string("thumbnails/") + size + "/" + name).ok())
          << size << "/" << name;
    }
  }
  stats = Stats();
  EXPECT_EQ(stats.visible + stats.in_flight + stats.delayed + stats.dlq, 0);
}

TEST_F(WorkerPoolTest, AMisconfiguredStoreIsNotReadyAndABadKeyIsStillDeadLettered) {
  options_.tick = std::chrono::hours(1);
  std::atomic<bool> misconfigured{true};
  store_.get_fault = [&](const std::string& key) -> Status {
    if (key == "uploads/refused.jpg") {
      return InvalidArgumentError("HTTP 400 KeyTooLongError").WithReason(Reason::kInvalidKey);
    }
    return misconfigured.load()
               ? Status(StatusCode::kFailedPrecondition,
                        "misconfigured: HTTP 400 AuthorizationHeaderMalformed: the region "
                        "'us-east-1' is wrong; expecting 'eu-west-1'",
                        "AuthorizationHeaderMalformed")
               : Status::Ok();
  };
  PutSource("uploads/x.jpg", "x");
  Send({CreatedRecord(kBucket, "uploads/x.jpg")});
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return pool_->counters().held_back == 1; }));
  Status ready = pool_->Readiness();
  EXPECT_FALSE(ready.ok());
  EXPECT_NE(ready.message().find("misconfigured"), std::string::npos) << ready.message();
  EXPECT_NE(ready.message().find("expecting 'eu-west-1'"), std::string::npos);
  EXPECT_EQ(Stats().dlq, 0);

  // Fixed: the held message is written, receiving resumes, and a key the store refuses is
  // the object's own fault: dead-lettered at once.
  misconfigured = false;
  PutSource("uploads/refused.jpg", "r");
  Send({CreatedRecord(kBucket, "uploads/refused.jpg")});
  clock_.AdvanceSeconds(30);
  pool_->RetryHeldOnce();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 2; }));
  EXPECT_TRUE(pool_->Readiness().ok());
  EXPECT_TRUE(memory_.Head(kBucket, "thumbnails/small/x.jpg").ok());
  auto dead = queue_->ListDeadLetters(10).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "invalid-key");
}

TEST_F(WorkerPoolTest, ShutdownReturnsHeldMessagesToTheQueueAtOnce) {
  options_.tick = std::chrono::hours(1);
  store_.put_fault = [](const std::string&) { return NoSpaceError("disk full"); };
  PutSource("uploads/x.jpg", "x");
  Send({CreatedRecord(kBucket, "uploads/x.jpg")});
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return pool_->counters().held_back == 1; }));
  pool_->Shutdown(std::chrono::seconds(60));  // returns without waiting for the held one
  QueueStats stats = Stats();
  EXPECT_EQ(stats.visible, 1);
  EXPECT_EQ(stats.dlq, 0);
}

TEST_F(WorkerPoolTest, PermanentFailureGoesToTheDlqWithItsReason) {
  PutSource("uploads/broken.jpg", "fail:truncated");
  std::string body = BuildS3Event({CreatedRecord(kBucket, "uploads/broken.jpg")});
  SendBody(body);
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 1; }));
  auto dead = queue_->ListDeadLetters(10).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "truncated");
  EXPECT_EQ(dead[0].body, body) << "a dead letter keeps the original body";
  EXPECT_EQ(dead[0].receive_count, 1) << "permanent failures waste no retries";
  EXPECT_FALSE(memory_.Head(kBucket, "thumbnails/small/broken.jpg").ok());
}

TEST_F(WorkerPoolTest, MalformedBodyGoesToTheDlq) {
  SendBody("{\"hello\": 1}");
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 1; }));
  auto dead = queue_->ListDeadLetters(10).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "not-an-event");
}

TEST_F(WorkerPoolTest, GoneSourceAndTestEventAreAcknowledged) {
  Send({CreatedRecord(kBucket, "uploads/deleted-before-processing.jpg")});
  SendBody(BuildS3TestEvent(kBucket, clock_.NowMillis()));
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 2; }));
  pool_->Shutdown();
  EXPECT_EQ(pool_->counters().deleted, 2);
  QueueStats stats = Stats();
  EXPECT_EQ(stats.dlq, 0);
  EXPECT_EQ(stats.visible + stats.in_flight, 0);
  EXPECT_NE(registry_.RenderText().find(
                "thumbflow_pipeline_records_failed_total{reason=\"source-missing\"} 1"),
            std::string::npos);
}

TEST_F(WorkerPoolTest, DuplicateDeliveryIsProcessedOnce) {
  std::string etag = PutSource("uploads/x.jpg", "x");
  std::string body = BuildS3Event({CreatedRecord(kBucket, "uploads/x.jpg", etag)});
  SendBody(body);
  SendBody(body);
  options_.workers = 1;  // one after the other, so the second sees the first's outputs
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 2; }));
  EXPECT_EQ(thumbnailer_.calls(), 1);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_TRUE(finished_[1].second.records.at(0).duplicate);
  EXPECT_EQ(finished_[1].second.action, MessageAction::kDelete);
}

TEST_F(WorkerPoolTest, MultiRecordMessageWithOneRejectIsDeadLetteredAfterTheOthers) {
  PutSource("uploads/a.jpg", "a");
  PutSource("uploads/bad.jpg", "fail:not-an-image");
  PutSource("uploads/c.jpg", "c");
  Send({CreatedRecord(kBucket, "uploads/a.jpg"), CreatedRecord(kBucket, "uploads/bad.jpg"),
        CreatedRecord(kBucket, "uploads/c.jpg")});
  StartPool();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 1; }));
  EXPECT_TRUE(memory_.Head(kBucket, "thumbnails/large/a.jpg").ok());
  EXPECT_TRUE(memory_.Head(kBucket, "thumbnails/large/c.jpg").ok());
  auto dead = queue_->ListDeadLetters(10).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "not-an-image");
}

TEST_F(WorkerPoolTest, ShutdownMakesUnfinishedMessagesVisibleAtOnce) {
  for (int i = 0; i < 4; ++i) {
    std::string key = "uploads/s" + std::to_string(i) + ".jpg";
    PutSource(key, "x");
    Send({CreatedRecord(kBucket, key)});
  }
  options_.workers = 1;
  options_.max_in_flight = 3;
  thumbnailer_.CloseGate();
  StartPool();
  thumbnailer_.WaitForEntered(1);
  ASSERT_TRUE(WaitUntil([&] { return Stats().in_flight == 3; }));
  // No grace: the running job is given back too, without waiting for it.
  std::thread shutdown([&] { pool_->Shutdown(std::chrono::milliseconds(0)); });
  bool all_visible = WaitUntil([&] { return Stats().visible == 4; });
  thumbnailer_.OpenGate();
  shutdown.join();
  ASSERT_TRUE(all_visible) << "in_flight=" << Stats().in_flight;
  EXPECT_EQ(pool_->counters().deleted, 0);
  EXPECT_EQ(pool_->counters().released, 3);
  EXPECT_EQ(thumbnailer_.calls(), 1);
  // The abandoned job stopped before writing; it will be redone by the next delivery.
  EXPECT_FALSE(memory_.Head(kBucket, "thumbnails/small/s0.jpg").ok());
  EXPECT_EQ(Stats().visible, 4);
}

TEST_F(WorkerPoolTest, ShutdownLetsRunningJobsFinishWithinTheGracePeriod) {
  PutSource("uploads/x.jpg", "x");
  PutSource("uploads/y.jpg", "y");
  Send({CreatedRecord(kBucket, "uploads/x.jpg")});
  Send({CreatedRecord(kBucket, "uploads/y.jpg")});
  options_.workers = 1;
  options_.max_in_flight = 2;
  thumbnailer_.CloseGate();
  StartPool();
  thumbnailer_.WaitForEntered(1);
  ASSERT_TRUE(WaitUntil([&] { return Stats().in_flight == 2; }));
  std::thread shutdown([&] { pool_->Shutdown(std::chrono::seconds(60)); });
  // The message that was received but not started goes back at once ...
  ASSERT_TRUE(WaitUntil([&] { return Stats().visible == 1; }));
  // ... while the running one is finished and acknowledged.
  thumbnailer_.OpenGate();
  shutdown.join();
  EXPECT_EQ(pool_->counters().deleted, 1);
  EXPECT_EQ(pool_->counters().released, 1);
  QueueStats stats = Stats();
  EXPECT_EQ(stats.visible, 1);
  EXPECT_EQ(stats.in_flight, 0);
  EXPECT_EQ(thumbnailer_.calls(), 1);
}

TEST_F(WorkerPoolTest, HeartbeatExtendsTheVisibilityOfLongJobs) {
  PutSource("uploads/slow.jpg", "x");
  Send({CreatedRecord(kBucket, "uploads/slow.jpg")});
  options_.workers = 1;
  options_.visibility_timeout_s = 10;
  options_.tick = std::chrono::hours(1);  // only the test's HeartbeatOnce() calls count
  thumbnailer_.CloseGate();
  StartPool();
  thumbnailer_.WaitForEntered(1);
  clock_.AdvanceSeconds(4);
  EXPECT_EQ(pool_->HeartbeatOnce(), 0) << "not due before half the timeout";
  clock_.AdvanceSeconds(1);
  EXPECT_EQ(pool_->HeartbeatOnce(), 1);
  clock_.AdvanceSeconds(9);  // 14 s after the receive: past the original 10 s timeout
  QueueStats stats = Stats();
  EXPECT_EQ(stats.visible, 0) << "the job's message must not be redelivered while it runs";
  EXPECT_EQ(stats.in_flight, 1);
  clock_.AdvanceSeconds(1);
  EXPECT_EQ(pool_->HeartbeatOnce(), 1);
  thumbnailer_.OpenGate();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 1; }));
  EXPECT_EQ(pool_->counters().deleted, 1);
  EXPECT_EQ(pool_->counters().heartbeats, 2);
  EXPECT_NE(registry_.RenderText().find("thumbflow_pipeline_heartbeats_total 2"),
            std::string::npos);
}

TEST_F(WorkerPoolTest, NeverHoldsMoreThanMaxInFlight) {
  for (int i = 0; i < 8; ++i) {
    std::string key = "uploads/f" + std::to_string(i) + ".jpg";
    PutSource(key, "x");
    Send({CreatedRecord(kBucket, key)});
  }
  options_.workers = 1;
  options_.max_in_flight = 2;
  thumbnailer_.CloseGate();
  StartPool();
  thumbnailer_.WaitForEntered(1);
  ASSERT_TRUE(WaitUntil([&] { return pool_->counters().received == 2; }));
  EXPECT_EQ(Stats().in_flight, 2);
  EXPECT_EQ(Stats().visible, 6);
  thumbnailer_.OpenGate();
  ASSERT_TRUE(WaitUntil([&] { return Finished() == 8; }));
  EXPECT_EQ(pool_->counters().received, 8);
}

TEST_F(WorkerPoolTest, RunReturnsAfterRequestStop) {
  Config config;
  config.pipeline.workers = 1;
  config.queue.receive_wait_s = 1;
  config.pipeline.grace_period_s = 5;
  WorkerPool pool(*queue_, store_, thumbnailer_, config, clock_, nullptr, Logger{});
  PutSource("uploads/x.jpg", "x");
  Send({CreatedRecord(kBucket, "uploads/x.jpg")});
  std::thread stopper([&] {
    WaitUntil([&] { return pool.counters().deleted == 1; });
    pool.RequestStop();
  });
  EXPECT_TRUE(pool.Run().ok());
  stopper.join();
  EXPECT_EQ(pool.counters().deleted, 1);
}

// SQS answers a long poll as soon as it has picked messages, and makes them invisible for
// the visibility timeout. A stop that comes while such an answer is arriving must not cost
// that timeout: the HTTP client delivers an answer that has begun (http_client.h) and the
// pool gives its messages back at once, counted as released. Here the scripted SQS asks the
// pool to stop from inside ReceiveMessage, waits until the pool has set the receive's abort
// flag, and only then answers with two messages.
TEST_F(WorkerPoolTest, AStopWhileAnSqsAnswerArrivesReleasesItsMessagesAtOnce) {
  using nlohmann::json;
  auto http = std::make_shared<aws::testing::ScriptedHttpClient>();
  std::unique_ptr<WorkerPool> pool;
  std::atomic<int> receives{0};
  http->respond = [&](const aws::HttpRequest& request) -> Result<aws::HttpResponse> {
    const std::string target = *aws::FindHeader(request.headers, "X-Amz-Target");
    json body = json::parse(request.body);
    json answer = json::object();
    if (target == "AmazonSQS.GetQueueAttributes") {
      answer = {{"Attributes", json::object()}};
    } else if (target == "AmazonSQS.ReceiveMessage" && receives++ == 0) {
      pool->RequestStop();
      EXPECT_TRUE(WaitUntil([&] { return request.abort != nullptr && request.abort->load(); }));
      answer["Messages"] = json::array();
      for (const char* n : {"1", "2"}) {
        answer["Messages"].push_back({{"MessageId", std::string("m-") + n},
                                      {"ReceiptHandle", std::string("r-") + n},
                                      {"Body", BuildS3Event({CreatedRecord(kBucket, "a.jpg")})},
                                      {"Attributes", {{"ApproximateReceiveCount", "1"}}}});
      }
    } else if (target == "AmazonSQS.ChangeMessageVisibilityBatch") {
      answer["Successful"] = json::array();
      for (const json& entry : body["Entries"])
        answer["Successful"].push_back({{"Id", entry["Id"]}});
    }
    return aws::testing::Reply(200, answer.dump());
  };
  aws::Credentials credentials;
  credentials.access_key_id = "AKIDEXAMPLE";
  credentials.secret_access_key = "secret";
  aws::SqsQueueOptions sqs_options;
  sqs_options.queue = "http://127.0.0.1:4566/123456789012/thumbnails";
  auto queue =
      aws::NewSqsQueue(sqs_options, http, aws::NewStaticCredentialsProvider(credentials), &clock_);
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  options_.receive_wait_s = 20;
  pool = std::make_unique<WorkerPool>(**queue, store_, thumbnailer_,
                                      RecordProcessorOptionsFromConfig(Config{}), options_, clock_,
                                      &registry_, Logger{});
  ASSERT_TRUE(pool->Run().ok());

  EXPECT_EQ(pool->counters().received, 0);
  EXPECT_EQ(pool->counters().deleted, 0);
  EXPECT_EQ(pool->counters().released, 2);
  std::vector<json> releases;
  for (const aws::HttpRequest& request : http->requests()) {
    const std::string target = *aws::FindHeader(request.headers, "X-Amz-Target");
    EXPECT_NE(target, "AmazonSQS.DeleteMessage");
    EXPECT_NE(target, "AmazonSQS.DeleteMessageBatch");
    if (target == "AmazonSQS.ChangeMessageVisibilityBatch") {
      releases.push_back(json::parse(request.body)["Entries"]);
    }
  }
  ASSERT_EQ(releases.size(), 1u) << "one batched release";
  ASSERT_EQ(releases[0].size(), 2u);
  EXPECT_EQ(releases[0][0]["ReceiptHandle"], "r-1");
  EXPECT_EQ(releases[0][0]["VisibilityTimeout"], 0);
  EXPECT_EQ(releases[0][1]["ReceiptHandle"], "r-2");
  EXPECT_EQ(releases[0][1]["VisibilityTimeout"], 0);
}

TEST(WorkerPoolOptionsTest, FromConfig) {
  auto parsed = ParseConfig(
      "[pipeline]\nworkers = 3\ngrace_period = 2.5\nretry_base = 1\n"
      "[queue]\nvisibility_timeout_s = 90\nreceive_wait_s = 5\n",
      "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  WorkerPoolOptions options = WorkerPoolOptionsFromConfig(*parsed);
  EXPECT_EQ(options.workers, 3);
  EXPECT_EQ(options.grace_period, std::chrono::milliseconds(2500));
  EXPECT_EQ(options.retry.base_s, 1);
  EXPECT_EQ(options.visibility_timeout_s, 90);
  EXPECT_EQ(options.receive_wait_s, 5);
  Config config;
  config.pipeline.workers = 0;
  config.pipeline.visibility_timeout_s = 30;
  EXPECT_GE(WorkerPoolOptionsFromConfig(config).workers, 1);
  EXPECT_EQ(WorkerPoolOptionsFromConfig(config).visibility_timeout_s, 30);
}

TEST(PipelineConfigTest, FieldsAndErrors) {
  auto parsed = ParseConfig(
      "[output]\nprefix = \"thumbs/\"\nbucket = \"out\"\nupload_prefix = \"in/\"\n"
      "[pipeline]\nsuffixes = [\".png\"]\nmax_in_flight = 4\n",
      "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->pipeline.output_prefix, "thumbs/");
  EXPECT_EQ(parsed->pipeline.output_bucket, "out");
  EXPECT_EQ(parsed->pipeline.upload_prefix, "in/");
  EXPECT_EQ(parsed->pipeline.suffixes, std::vector<std::string>{".png"});
  EXPECT_EQ(parsed->pipeline.max_in_flight, 4);
  for (const char* bad : {"[output]\nprefix = \"thumbs\"\n", "[pipeline]\nworkers = -1\n",
                          "[pipeline]\nbogus = 1\n", "[pipeline]\nretry_jitter = 2\n",
                          "[pipeline]\nvisibility_timeout = 10\nheartbeat = 10\n"}) {
    auto r = ParseConfig(bad, "test");
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = ParseConfig("[pipeline]\nworkers = -1\n", "test");
  EXPECT_NE(r.status().message().find("pipeline.workers"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace thumbflow::pipeline
