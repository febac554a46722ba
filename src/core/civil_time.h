// Calendar arithmetic in UTC, independent of the process time zone and of timegm: the
// proleptic Gregorian calendar (Howard Hinnant's days-from-civil algorithms).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace thumbflow {

// Days since 1970-01-01; month 1-12, a day past the month's end rolls into the next month.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
// The inverse: the date `days` after 1970-01-01.
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);
// Milliseconds since the epoch of a UTC date and time (second 60 rolls into the next minute).
int64_t UtcMillis(int year, int month, int day, int hour, int minute, int second);

// The UTC date and time of `epoch_ms` (negative: before 1970), field by field.
struct CivilTime {
  int64_t year = 1970;
  unsigned month = 1;  // 1-12
  unsigned day = 1;    // 1-31
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  int weekday = 4;  // 0 = Sunday; 1970-01-01 was a Thursday
};
CivilTime CivilFromMillis(int64_t epoch_ms);

// Milliseconds since the epoch to "YYYY-MM-DDTHH:MM:SS.mmmZ" (S3 event times, log lines).
std::string FormatIso8601Millis(int64_t epoch_ms);
// ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]" (no zone means UTC; the 'T' may
// be 't' or a space, as RFC 3339 allows) to milliseconds since the epoch; fractions beyond
// milliseconds are truncated. InvalidArgument naming the text when malformed.
Result<int64_t> ParseIso8601Millis(std::string_view text);

// The one HTTP-date parser (Last-Modified, If-Modified-Since, If-Unmodified-Since, Date):
// milliseconds since the epoch. Accepts the three forms RFC 9110 section 5.6.7 says a
// recipient must accept, with the leniency real S3 clients need:
//   IMF-fixdate (RFC 1123)  "Sun, 06 Nov 1994 08:49:37 GMT"  (what every AWS SDK sends)
//   RFC 850                 "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year: 70-99 are 19xx)
//   asctime                 "Sun Nov  6 08:49:37 1994"
// Names of days and months in any letter case; a one-digit day; the zone "GMT", "UT", "UTC",
// "Z", "+0000" or "-0000" (the zero offsets of RFC 5322, written by Python's formatdate and
// some Java clients); other zones, out-of-range fields and trailing text are refused. The
// weekday is checked to be a day name, not checked against the date (clients compute it).
// InvalidArgument naming the text when malformed.
Result<int64_t> ParseHttpDate(std::string_view text);
// IMF-fixdate of `epoch_ms` (the milliseconds are dropped): "Fri, 27 Nov 2026 07:18:42 GMT".
std::string FormatHttpDate(int64_t epoch_ms);

}  // namespace thumbflow
