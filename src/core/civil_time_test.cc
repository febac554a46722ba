#include "core/civil_time.h"

#include <gtest/gtest.h>

#include <ctime>

namespace thumbflow {
namespace {

int64_t TimegmMillis(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

TEST(CivilTimeTest, AgreesWithTimegmAcrossLeapYearsAndRollovers) {
  EXPECT_EQ(UtcMillis(1970, 1, 1, 0, 0, 0), 0);
  EXPECT_EQ(UtcMillis(2013, 5, 24, 0, 0, 0), 1'369'353'600'000);
  for (int year : {1969, 1999, 2000, 2024, 2100}) {
    for (int month = 1; month <= 12; ++month) {
      for (int day : {1, 28, 29, 31}) {  // 31 of a 30-day month rolls over like timegm
        EXPECT_EQ(UtcMillis(year, month, day, 23, 59, 60),
                  TimegmMillis(year, month, day, 23, 59, 60))
            << year << "-" << month << "-" << day;
      }
    }
  }
}

TEST(CivilTimeTest, CivilFromDaysInvertsDaysFromCivil) {
  for (int64_t days : {-719468, -1, 0, 59, 11'016, 20'000, 2'932'896}) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, &y, &m, &d);
    EXPECT_EQ(DaysFromCivil(y, m, d), days);
  }
}

// What S3 clients send in If-Modified-Since / If-Unmodified-Since and what S3 answers in
// Last-Modified: botocore, the AWS CLI, the Java and Go SDKs write the IMF-fixdate.
TEST(HttpDateTest, ParsesTheImfFixdateOfRfc1123) {
  const int64_t rfc_example = UtcMillis(1994, 11, 6, 8, 49, 37);
  EXPECT_EQ(*ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), rfc_example);
  EXPECT_EQ(*ParseHttpDate("Wed, 21 Oct 2015 07:28:00 GMT"), UtcMillis(2015, 10, 21, 7, 28, 0));
  EXPECT_EQ(*ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(*ParseHttpDate("Tue, 29 Feb 2028 23:59:59 GMT"), UtcMillis(2028, 2, 29, 23, 59, 59));
  // Leniency real clients need: case, a one-digit day, UTC spelled otherwise, +0000 / -0000
  // (Python's email.utils.formatdate), surrounding spaces.
  EXPECT_EQ(*ParseHttpDate("sun, 06 nov 1994 08:49:37 gmt"), rfc_example);
  EXPECT_EQ(*ParseHttpDate("Sun, 6 Nov 1994 08:49:37 GMT"), rfc_example);
  EXPECT_EQ(*ParseHttpDate("Sun, 06 Nov 1994 08:49:37 UTC"), rfc_example);
  EXPECT_EQ(*ParseHttpDate("Sun, 06 Nov 1994 08:49:37 +0000"), rfc_example);
  EXPECT_EQ(*ParseHttpDate("Sun, 06 Nov 1994 08:49:37 -0000"), rfc_example);
  EXPECT_EQ(*ParseHttpDate(" Sun, 06 Nov 1994 08:49:37 GMT "), rfc_example);
}

TEST(HttpDateTest, ParsesTheObsoleteFormsRfc9110RequiresRecipientsToAccept) {
  const int64_t rfc_example = UtcMillis(1994, 11, 6, 8, 49, 37);
  EXPECT_EQ(*ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), rfc_example);
  EXPECT_EQ(*ParseHttpDate("Thursday, 01-Jan-26 00:00:00 GMT"), UtcMillis(2026, 1, 1, 0, 0, 0));
  EXPECT_EQ(*ParseHttpDate("Sun Nov  6 08:49:37 1994"), rfc_example);
  EXPECT_EQ(*ParseHttpDate("Sun Nov 16 08:49:37 1994"), UtcMillis(1994, 11, 16, 8, 49, 37));
}

TEST(HttpDateTest, RefusesWhatIsNotAnHttpDate) {
  for (const char* text : {
           "", "not a date",
           "Sun, 06 Nov 1994 08:49:37",         // no zone
           "Sun, 06 Nov 1994 08:49:37 PST",     // not UTC
           "Sun, 06 Nov 1994 08:49:37 +0100",   // not UTC
           "Sun, 06 Nov 1994 08:49:37 GMT x",   // trailing text
           "Sun, 31 Nov 1994 08:49:37 GMT",     // no 31 November
           "Tue, 29 Feb 2027 08:49:37 GMT",     // not a leap year
           "Sun, 06 Nov 1994 24:00:00 GMT",     // hour out of range
           "Sun, 06 Foo 1994 08:49:37 GMT",     // no such month
           "Xyz, 06 Nov 1994 08:49:37 GMT",     // no such day
           "Sunday, 06 Nov 1994 08:49:37 GMT",  // long day name with the fixdate layout
           "1994-11-06T08:49:37Z",              // ISO 8601 is not an HTTP date
           "Sun, 06 Nov 94 08:49:37 GMT",       // two-digit year with the fixdate layout
       }) {
    Result<int64_t> parsed = ParseHttpDate(text);
    EXPECT_FALSE(parsed.ok()) << text;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(HttpDateTest, FormatsTheImfFixdateAndRoundTrips) {
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(UtcMillis(2026, 11, 27, 7, 18, 42) + 123),
            "Fri, 27 Nov 2026 07:18:42 GMT");
  EXPECT_EQ(FormatHttpDate(UtcMillis(1994, 11, 6, 8, 49, 37)), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(-1000), "Wed, 31 Dec 1969 23:59:59 GMT");
  for (int64_t ms = -86'400'000LL * 400; ms < 86'400'000LL * 40'000;
       ms += 86'400'000LL * 37 + 4321) {
    EXPECT_EQ(*ParseHttpDate(FormatHttpDate(ms)), ms - ((ms % 1000) + 1000) % 1000) << ms;
  }
}

}  // namespace
TEST(Iso8601Test, ParsesTheFormsInUse) {
  EXPECT_EQ(*ParseIso8601Millis("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(*ParseIso8601Millis("2014-10-13T15:57:02.089Z"), 1'413'215'822'089);
  EXPECT_EQ(*ParseIso8601Millis("2014-10-13T15:57:02.089999"), 1'413'215'822'089);
  EXPECT_EQ(*ParseIso8601Millis("2014-10-13T15:57:02Z"), 1'413'215'822'000);
  EXPECT_EQ(*ParseIso8601Millis("2014-10-13T17:57:02.5+02:00"), 1'413'215'822'500);
  EXPECT_EQ(*ParseIso8601Millis("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_FALSE(ParseIso8601Millis("2014-10-13").ok());
  EXPECT_FALSE(ParseIso8601Millis("2014-10-13T15:57:02ZZ").ok());
}

}  // namespace thumbflow
