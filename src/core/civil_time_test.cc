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

}  // namespace
}  // namespace thumbflow
