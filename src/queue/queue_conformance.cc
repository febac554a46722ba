#include "queue/queue_conformance.h"

#include <cctype>
#include <cstdlib>
#include <set>
#include <thread>

namespace thumbflow {

void PrintTo(const QueueConformanceParam& param, std::ostream* os) { *os << param.name; }

std::string QueueConformanceParamName(const ::testing::TestParamInfo<QueueConformanceParam>& info) {
  return info.param.name;
}

Queue* QueueConformanceTest::Make(QueueOptions options) {
  if (options.name == QueueOptions{}.name) {
    // A fresh queue per test (SQS keeps queues around; names must not collide).
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string name = "conf-";
    for (char c : test.substr(0, test.find('/'))) {
      if (std::isalnum(static_cast<unsigned char>(c))) name += c;
    }
    name = name.substr(0, 60) + "-" + std::to_string(std::rand() % 1000000);
    options.name = name;
  }
  under_test_ = GetParam().factory(options);
  if (!under_test_.queue) {
    ADD_FAILURE() << "factory failed: " << under_test_.error;
    return nullptr;
  }
  return under_test_.queue.get();
}

bool QueueConformanceTest::RequireClock() { return under_test_.clock != nullptr; }

void QueueConformanceTest::Advance(int64_t seconds) {
  ASSERT_NE(under_test_.clock, nullptr);
  under_test_.clock->AdvanceSeconds(seconds);
}

namespace {

SendRequest Body(std::string body, int delay = 0) {
  SendRequest r;
  r.body = std::move(body);
  r.delay_seconds = delay;
  return r;
}

ReceiveOptions Max(int n, std::optional<int> visibility = std::nullopt, int wait = 0) {
  ReceiveOptions o;
  o.max_messages = n;
  o.visibility_timeout_s = visibility;
  o.wait_seconds = wait;
  return o;
}

// One receive that must hand out exactly one message.
Message ReceiveOne(Queue& q, std::optional<int> visibility = std::nullopt) {
  auto got = q.Receive(Max(1, visibility, 1));
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok() || got->size() != 1) {
    ADD_FAILURE() << "expected exactly one message, got " << (got.ok() ? got->size() : 0);
    return {};
  }
  return (*got)[0];
}

size_t CountReceivable(Queue& q) {
  auto got = q.Receive(Max(10, 0, 0));  // visibility 0: does not hide them
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  return got.ok() ? got->size() : 0;
}

#define SKIP_WITHOUT_CLOCK()                                                             \
  if (!RequireClock()) {                                                                 \
    GTEST_SKIP() << "this adapter's clock cannot be moved; the case needs time to pass"; \
  }

TEST_P(QueueConformanceTest, SendReceiveDelete) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  SendRequest r = Body("{\"Records\":[]}");
  r.attributes["origin"] = "test";
  auto id = q->Send(r);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_FALSE(id->empty());
  Message m = ReceiveOne(*q);
  EXPECT_EQ(m.id, *id);
  EXPECT_EQ(m.body, r.body);
  EXPECT_EQ(m.attributes.at("origin"), "test");
  EXPECT_EQ(m.receive_count, 1);
  EXPECT_GT(m.sent_ms, 0);
  EXPECT_GE(m.first_receive_ms, m.sent_ms);
  EXPECT_FALSE(m.receipt.empty());
  ASSERT_TRUE(q->Delete(m.receipt).ok());
  auto again = q->Receive(Max(10));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible + stats->in_flight + stats->delayed + stats->dlq, 0);
  // Deleting a message that is already gone is not an error.
  EXPECT_TRUE(q->Delete(m.receipt).ok());
}

TEST_P(QueueConformanceTest, VisibilityZeroHandsEachMessageOutOncePerReceive) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Send(Body("a")).ok());
  ASSERT_TRUE(q->Send(Body("b")).ok());
  // Fewer visible messages than asked for, and they stay visible: each comes once, with
  // one receive counted (a second hand-out in the same call would also burn its receives).
  auto got = q->Receive(Max(10, 0, 0));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_NE((*got)[0].id, (*got)[1].id);
  EXPECT_EQ((*got)[0].receive_count, 1);
  EXPECT_EQ((*got)[1].receive_count, 1);
}

TEST_P(QueueConformanceTest, VisibilityTimeoutExpires) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  SKIP_WITHOUT_CLOCK();
  ASSERT_TRUE(q->Send(Body("v")).ok());
  Message first = ReceiveOne(*q);  // default visibility: 60 s
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->in_flight, 1);
  Advance(59);
  EXPECT_EQ(CountReceivable(*q), 0u);
  Advance(2);
  Message second = ReceiveOne(*q);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.receive_count, 2);
  EXPECT_NE(second.receipt, first.receipt);
  EXPECT_EQ(second.first_receive_ms, first.first_receive_ms);
  ASSERT_TRUE(q->Delete(second.receipt).ok());
  // A per-call visibility overrides the default.
  ASSERT_TRUE(q->Send(Body("w")).ok());
  Message short_lived = ReceiveOne(*q, 5);
  Advance(4);
  EXPECT_EQ(CountReceivable(*q), 0u);
  Advance(2);
  EXPECT_EQ(ReceiveOne(*q).id, short_lived.id);
}

TEST_P(QueueConformanceTest, ChangeVisibilityZeroMakesVisibleAtOnce) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Send(Body("c")).ok());
  Message m = ReceiveOne(*q);
  auto none = q->Receive(Max(1));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(q->ChangeVisibility(m.receipt, 0).ok());
  Message again = ReceiveOne(*q);
  EXPECT_EQ(again.id, m.id);
  EXPECT_EQ(again.receive_count, 2);
  EXPECT_EQ(q->ChangeVisibility(again.receipt, 43201).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q->ChangeVisibility("not-a-receipt", 10).code(), StatusCode::kInvalidArgument);
}

TEST_P(QueueConformanceTest, ReceiveCountBeyondMaxGoesToDlq) {
  QueueOptions options;
  options.max_receive_count = 3;
  Queue* q = Make(options);
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Send(Body("poison")).ok());
  for (int i = 1; i <= 3; ++i) {
    Message m = ReceiveOne(*q);
    EXPECT_EQ(m.receive_count, i);
    ASSERT_TRUE(q->Fail(m, Failure{"unavailable", false, 0}).ok());  // transient, retry now
  }
  auto fourth = q->Receive(Max(10, std::nullopt, 1));
  ASSERT_TRUE(fourth.ok());
  EXPECT_TRUE(fourth->empty());
  auto dead = q->ListDeadLetters(10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].body, "poison");
  EXPECT_EQ((*dead)[0].receive_count, 3);
  EXPECT_FALSE((*dead)[0].reason.empty());
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->dlq, 1);
  EXPECT_EQ(stats->visible, 0);
}

TEST_P(QueueConformanceTest, PermanentFailDeadLettersAtOnceWithReason) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  const std::string body = "{\"Records\":[{\"s3\":{\"object\":{\"key\":\"uploads/a+b.jpg\"}}}]}";
  SendRequest r = Body(body);
  r.attributes["kind"] = "s3-event";
  ASSERT_TRUE(q->Send(r).ok());
  Message m = ReceiveOne(*q);
  ASSERT_TRUE(q->Fail(m, Failure{"truncated", true, 0}).ok());
  auto dead = q->ListDeadLetters(10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].id, m.id);
  EXPECT_EQ((*dead)[0].body, body);  // unchanged
  EXPECT_EQ((*dead)[0].reason, "truncated");
  EXPECT_EQ((*dead)[0].attributes.at("kind"), "s3-event");
  EXPECT_EQ(CountReceivable(*q), 0u);
  // The receipt is dead now: a second Fail cannot act on it.
  EXPECT_FALSE(q->Fail(m, Failure{"truncated", true, 0}).ok());
}

TEST_P(QueueConformanceTest, TransientFailRetriesAfterBackOff) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  SKIP_WITHOUT_CLOCK();
  ASSERT_TRUE(q->Send(Body("t")).ok());
  Message m = ReceiveOne(*q);
  ASSERT_TRUE(q->Fail(m, Failure{"unavailable", false, 30}).ok());
  Advance(29);
  EXPECT_EQ(CountReceivable(*q), 0u);
  Advance(2);
  Message again = ReceiveOne(*q);
  EXPECT_EQ(again.id, m.id);
  EXPECT_EQ(again.receive_count, 2);
}

TEST_P(QueueConformanceTest, StaleReceiptCannotTouchNewerDelivery) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Send(Body("s")).ok());
  Message first = ReceiveOne(*q);
  ASSERT_TRUE(q->ChangeVisibility(first.receipt, 0).ok());
  Message second = ReceiveOne(*q);
  ASSERT_EQ(second.id, first.id);
  // The stale receipt neither deletes nor extends nor fails the newer delivery.
  EXPECT_TRUE(q->Delete(first.receipt).ok());
  EXPECT_FALSE(q->ChangeVisibility(first.receipt, 0).ok());
  EXPECT_FALSE(q->Fail(first, Failure{"corrupt", true, 0}).ok());
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->in_flight, 1);
  EXPECT_EQ(stats->dlq, 0);
  ASSERT_TRUE(q->Delete(second.receipt).ok());
  stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->in_flight + stats->visible, 0);
}

TEST_P(QueueConformanceTest, RedriveByIdAndAll) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Send(Body("one")).ok());
  ASSERT_TRUE(q->Send(Body("two")).ok());
  std::vector<Message> got;
  for (int i = 0; i < 2; ++i) got.push_back(ReceiveOne(*q));
  for (auto& m : got) ASSERT_TRUE(q->Fail(m, Failure{"corrupt", true, 0}).ok());
  ASSERT_EQ(q->ListDeadLetters(10)->size(), 2u);

  auto moved = q->Redrive({got[0].id});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, 1);
  Message back = ReceiveOne(*q);
  EXPECT_EQ(back.body, got[0].body);  // exactly what was sent
  EXPECT_EQ(back.receive_count, 1);   // the count starts again
  ASSERT_TRUE(q->Delete(back.receipt).ok());

  auto unknown = q->Redrive({"no-such-id"});
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(*unknown, 0);
  auto all = q->Redrive({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 1);
  EXPECT_TRUE(q->ListDeadLetters(10)->empty());
  EXPECT_EQ(ReceiveOne(*q).body, got[1].body);
}

TEST_P(QueueConformanceTest, RetentionExpiresMessagesAndDeadLetters) {
  QueueOptions options;
  options.retention_s = 3600;
  options.dlq_retention_s = 7200;
  Queue* q = Make(options);
  ASSERT_NE(q, nullptr);
  SKIP_WITHOUT_CLOCK();
  ASSERT_TRUE(q->Send(Body("old")).ok());
  ASSERT_TRUE(q->Send(Body("dead")).ok());
  Message m = ReceiveOne(*q, 0);
  ASSERT_TRUE(q->Fail(m, Failure{"corrupt", true, 0}).ok());
  Advance(3599);
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible, 1);
  EXPECT_EQ(stats->oldest_age_s, 3599);
  Advance(2);
  EXPECT_EQ(CountReceivable(*q), 0u);
  stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible, 0);
  EXPECT_EQ(stats->oldest_age_s, 0);
  EXPECT_EQ(stats->dlq, 1);
  Advance(7200 - 3601 + 1);
  EXPECT_TRUE(q->ListDeadLetters(10)->empty());
  EXPECT_EQ(q->Stats()->dlq, 0);
}

TEST_P(QueueConformanceTest, DelayedMessagesComeDue) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->Send(Body("x", 901)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q->Send(Body("x", -1)).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(q->Send(Body("later", 10)).ok());
  auto got = q->Receive(Max(10));
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->delayed, 1);
  EXPECT_EQ(stats->visible, 0);
  SKIP_WITHOUT_CLOCK();
  Advance(9);
  EXPECT_EQ(CountReceivable(*q), 0u);
  Advance(2);
  EXPECT_EQ(ReceiveOne(*q).body, "later");
}

TEST_P(QueueConformanceTest, LongPollWakesWhenAMessageArrives) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  Result<std::vector<Message>> got = std::vector<Message>{};
  std::thread receiver([&] { got = q->Receive(Max(1, std::nullopt, 20)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(q->Send(Body("wake")).ok());
  receiver.join();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, "wake");
  EXPECT_EQ(q->Receive(Max(1, std::nullopt, 21)).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(QueueConformanceTest, BatchesHaveLimitsAndPerEntryResults) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->SendBatch({}).status().code(), StatusCode::kInvalidArgument);
  std::vector<SendRequest> eleven(11, Body("b"));
  EXPECT_EQ(q->SendBatch(eleven).status().code(), StatusCode::kInvalidArgument);
  std::vector<SendRequest> ten(10, Body("b"));
  ten[4] = Body("bad \xff utf-8");
  auto sent = q->SendBatch(ten);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_EQ(sent->size(), 10u);
  std::set<std::string> ids;
  for (size_t i = 0; i < 10; ++i) {
    if (i == 4) {
      EXPECT_EQ((*sent)[i].status().code(), StatusCode::kInvalidArgument);
    } else {
      ASSERT_TRUE((*sent)[i].ok());
      ids.insert(*(*sent)[i]);
    }
  }
  EXPECT_EQ(ids.size(), 9u);
  EXPECT_EQ(q->Receive(Max(11)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q->Receive(Max(0)).status().code(), StatusCode::kInvalidArgument);
  auto got = q->Receive(Max(10, std::nullopt, 1));
  ASSERT_TRUE(got.ok());
  std::vector<Message> all = *got;
  while (all.size() < 9) {  // SQS may hand out fewer per call
    auto more = q->Receive(Max(10, std::nullopt, 1));
    ASSERT_TRUE(more.ok());
    if (more->empty()) break;
    all.insert(all.end(), more->begin(), more->end());
  }
  ASSERT_EQ(all.size(), 9u);
  std::vector<std::pair<std::string, int>> extend;
  std::vector<std::string> receipts;
  for (const auto& m : all) {
    extend.emplace_back(m.receipt, 120);
    receipts.push_back(m.receipt);
  }
  extend.emplace_back("garbage", 120);
  auto extended = q->ChangeVisibilityBatch(extend);
  ASSERT_TRUE(extended.ok());
  ASSERT_EQ(extended->size(), 10u);
  for (size_t i = 0; i < 9; ++i) EXPECT_TRUE((*extended)[i].ok()) << (*extended)[i].ToString();
  EXPECT_FALSE((*extended)[9].ok());
  auto deleted = q->DeleteBatch(receipts);
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->size(), 9u);
  for (const auto& s : *deleted) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(q->Stats()->in_flight, 0);
}

TEST_P(QueueConformanceTest, BodySizeLimit) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  EXPECT_TRUE(q->Send(Body(std::string(256 * 1024, 'a'))).ok());
  auto too_big = q->Send(Body(std::string(256 * 1024 + 1, 'a')));
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q->Send(Body("")).status().code(), StatusCode::kInvalidArgument);
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible, 1);
  Message m = ReceiveOne(*q);
  EXPECT_EQ(m.body.size(), 256u * 1024u);

  QueueOptions small;
  small.name = std::string("conf-small-") + std::to_string(std::rand() % 1000000);
  small.max_body_bytes = 1024;
  Queue* s = Make(small);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->Send(Body(std::string(1024, 'b'))).ok());
  EXPECT_EQ(s->Send(Body(std::string(1025, 'b'))).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(QueueConformanceTest, BodiesMustBeUtf8) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  for (const std::string& bad :
       {std::string("\xc3\x28"), std::string("a\xff"), std::string("\xed\xa0\x80"),
        std::string("\xc0\xaf"), std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82")}) {
    auto r = q->Send(Body(bad));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(q->Stats()->visible, 0);
  const std::string good = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80";
  ASSERT_TRUE(q->Send(Body(good)).ok());
  EXPECT_EQ(ReceiveOne(*q).body, good);
}

TEST_P(QueueConformanceTest, PurgeEmptiesQueueAndDlqSeparately) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q->Send(Body("p" + std::to_string(i))).ok());
  Message m = ReceiveOne(*q);
  ASSERT_TRUE(q->Fail(m, Failure{"corrupt", true, 0}).ok());
  ASSERT_TRUE(q->Purge().ok());
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible + stats->in_flight + stats->delayed, 0);
  EXPECT_EQ(stats->dlq, 1);
  ASSERT_TRUE(q->PurgeDeadLetters().ok());
  EXPECT_EQ(q->Stats()->dlq, 0);
}

TEST_P(QueueConformanceTest, StatsCountEachState) {
  Queue* q = Make();
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Send(Body("in-flight")).ok());
  ReceiveOne(*q);
  ASSERT_TRUE(q->Send(Body("visible")).ok());
  ASSERT_TRUE(q->Send(Body("delayed", 600)).ok());
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->visible, 1);
  EXPECT_EQ(stats->in_flight, 1);
  EXPECT_EQ(stats->delayed, 1);
  EXPECT_EQ(stats->dlq, 0);
  SKIP_WITHOUT_CLOCK();
  Advance(30);
  EXPECT_EQ(q->Stats()->oldest_age_s, 30);
}

}  // namespace
}  // namespace thumbflow
