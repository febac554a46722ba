#include "dashboard/sessions.h"

#include <gtest/gtest.h>

namespace thumbflow::dashboard {
namespace {

TEST(SessionsTest, TheTokenOpensOneSessionOnce) {
  ManualClock clock;
  Sessions sessions(clock, {});
  std::string token = sessions.login_token();
  ASSERT_EQ(token.size(), 48u);
  EXPECT_FALSE(sessions.OpenWithToken(token + "x"));
  EXPECT_FALSE(sessions.OpenWithToken(""));
  std::optional<std::string> session = sessions.OpenWithToken(token);
  ASSERT_TRUE(session);
  EXPECT_TRUE(sessions.Check(*session));
  EXPECT_FALSE(sessions.OpenWithToken(token));  // spent
  EXPECT_EQ(sessions.login_token(), "");
  EXPECT_FALSE(sessions.Check(""));
  EXPECT_FALSE(sessions.Check(*session + "0"));
}

TEST(SessionsTest, AKeyPairOpensASession) {
  ManualClock clock;
  Sessions sessions(clock, {{"AKIDONE", "secret-one"}, {"AKIDTWO", "secret-two"}, {"", ""}});
  EXPECT_TRUE(sessions.OpenWithKeys("AKIDTWO", "secret-two"));
  EXPECT_FALSE(sessions.OpenWithKeys("AKIDTWO", "secret-one"));
  EXPECT_FALSE(sessions.OpenWithKeys("AKIDONE", "secret-on"));
  EXPECT_FALSE(sessions.OpenWithKeys("", ""));  // an empty pair is never a key
}

TEST(SessionsTest, IdleSessionsExpireAndUseExtendsThem) {
  ManualClock clock;
  Sessions sessions(clock, {{"AKID", "secret"}}, /*idle_ttl_ms=*/60'000);
  std::string a = *sessions.OpenWithKeys("AKID", "secret");
  std::string b = *sessions.OpenWithKeys("AKID", "secret");
  EXPECT_NE(a, b);
  clock.AdvanceSeconds(50);
  EXPECT_TRUE(sessions.Check(a));
  clock.AdvanceSeconds(50);
  EXPECT_TRUE(sessions.Check(a));   // used 50 s ago
  EXPECT_FALSE(sessions.Check(b));  // idle for 100 s
  sessions.Close(a);
  EXPECT_FALSE(sessions.Check(a));
}

TEST(SessionsTest, SecretEqualsComparesWholeValues) {
  EXPECT_TRUE(SecretEquals("abc", "abc"));
  EXPECT_FALSE(SecretEquals("abc", "abd"));
  EXPECT_FALSE(SecretEquals("abc", "abcd"));
  EXPECT_TRUE(SecretEquals("", ""));
}

}  // namespace
}  // namespace thumbflow::dashboard
