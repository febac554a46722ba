#include "server/connection_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace thumbflow::server {
namespace {

using Outcome = ConnectionTable::Outcome;

// Admits connections and records which of them were closed to make room.
class Connections {
 public:
  Connections(int max_total, int max_per_address) : table(max_total, max_per_address) {}

  ConnectionTable::Admission Open(const std::string& address, std::string name) {
    ConnectionTable::Admission a = table.Admit(address, [this, name] { closed.push_back(name); });
    if (a.close_evicted) a.close_evicted();
    return a;
  }

  ConnectionTable table;
  std::vector<std::string> closed;
};

TEST(ConnectionTableTest, BusyConnectionsAreNeverEvictedTheNewOneIsRefused) {
  Connections c(3, 2);
  auto a1 = c.Open("a", "a1");
  auto a2 = c.Open("a", "a2");
  EXPECT_EQ(c.Open("a", "a3").outcome, Outcome::kRefusedAddressFull);
  auto b1 = c.Open("b", "b1");
  EXPECT_EQ(b1.outcome, Outcome::kAdmitted);
  EXPECT_EQ(c.Open("c", "c1").outcome, Outcome::kRefusedServerFull);
  EXPECT_TRUE(c.closed.empty());
  EXPECT_EQ(c.table.total(), 3);
  c.table.Release(a1.id);
  EXPECT_EQ(c.Open("c", "c1").outcome, Outcome::kAdmitted);
  EXPECT_EQ(c.table.count("a"), 1);
  EXPECT_EQ(c.table.evicted(), 0u);
}

TEST(ConnectionTableTest, AtTheAddressCapItsOwnOldestIdleConnectionGivesWay) {
  Connections c(100, 3);
  auto a1 = c.Open("a", "a1");
  auto a2 = c.Open("a", "a2");
  auto a3 = c.Open("a", "a3");
  auto b1 = c.Open("b", "b1");
  c.table.SetIdle(b1.id);  // another address's idle connection is not a candidate
  c.table.SetIdle(a2.id);
  c.table.SetIdle(a1.id);
  auto a4 = c.Open("a", "a4");
  ASSERT_EQ(a4.outcome, Outcome::kAdmitted);
  EXPECT_EQ(c.closed, (std::vector<std::string>{"a2"}));  // idle the longest
  EXPECT_FALSE(c.table.SetBusy(a2.id));                   // it must close, serving nothing
  EXPECT_TRUE(c.table.SetBusy(a1.id));                    // a request arrived: kept
  EXPECT_EQ(c.Open("a", "a5").outcome, Outcome::kRefusedAddressFull);
  EXPECT_EQ(c.table.count("a"), 3);
  c.table.Release(a2.id);  // the evicted connection's own release changes nothing
  EXPECT_EQ(c.table.count("a"), 3);
  EXPECT_EQ(c.table.total(), 4);
  EXPECT_EQ(c.table.evicted(), 1u);
  (void)a3;
}

TEST(ConnectionTableTest, WhenFullTheHeaviestAddressesIdleConnectionGivesWay) {
  Connections c(6, 10);
  std::vector<ConnectionTable::Admission> flood;
  for (int i = 1; i <= 5; ++i) flood.push_back(c.Open("flood", "f" + std::to_string(i)));
  auto c1 = c.Open("client", "c1");
  // The client's idle connection is the oldest, but the flood holds the most connections.
  c.table.SetIdle(c1.id);
  c.table.SetIdle(flood[4].id);
  c.table.SetIdle(flood[3].id);
  ASSERT_EQ(c.Open("client", "c2").outcome, Outcome::kAdmitted);
  EXPECT_EQ(c.closed, (std::vector<std::string>{"f5"}));
  ASSERT_EQ(c.Open("client", "c3").outcome, Outcome::kAdmitted);  // flood 4 > client 2
  EXPECT_EQ(c.closed, (std::vector<std::string>{"f5", "f4"}));
  // Nothing of the flood is idle; the client's own idle connection is all that can give way.
  ASSERT_EQ(c.Open("other", "o1").outcome, Outcome::kAdmitted);
  EXPECT_EQ(c.closed, (std::vector<std::string>{"f5", "f4", "c1"}));
  // Nothing idle left: refused.
  EXPECT_EQ(c.Open("other", "o2").outcome, Outcome::kRefusedServerFull);
  EXPECT_EQ(c.table.total(), 6);
  EXPECT_EQ(c.table.count("flood"), 3);
  EXPECT_EQ(c.table.evicted(), 3u);
}

TEST(ConnectionTableTest, IdleAgainAfterARequestQueuesBehindTheOthers) {
  Connections c(2, 2);
  auto a1 = c.Open("a", "a1");
  auto a2 = c.Open("a", "a2");
  c.table.SetIdle(a1.id);
  c.table.SetIdle(a2.id);
  EXPECT_TRUE(c.table.SetBusy(a1.id));
  c.table.SetIdle(a1.id);  // served one request, waits again: now the newest idle
  ASSERT_EQ(c.Open("a", "a3").outcome, Outcome::kAdmitted);
  EXPECT_EQ(c.closed, (std::vector<std::string>{"a2"}));
}

}  // namespace
}  // namespace thumbflow::server
