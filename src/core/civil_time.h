// Calendar arithmetic in UTC, independent of the process time zone and of timegm: the
// proleptic Gregorian calendar (Howard Hinnant's days-from-civil algorithms).
#pragma once

#include <cstdint>

namespace thumbflow {

// Days since 1970-01-01; month 1-12, a day past the month's end rolls into the next month.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
// The inverse: the date `days` after 1970-01-01.
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);
// Milliseconds since the epoch of a UTC date and time (second 60 rolls into the next minute).
int64_t UtcMillis(int year, int month, int day, int hour, int minute, int second);

}  // namespace thumbflow
