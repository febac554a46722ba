#include "core/civil_time.h"

#include <array>
#include <cstdio>

namespace thumbflow {
namespace {

constexpr std::array<std::string_view, 7> kDayNames = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDayNames = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// A left-to-right reader of one date; every method consumes on success only.
class DateReader {
 public:
  explicit DateReader(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  bool Char(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void Spaces() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  // min_digits..max_digits decimal digits.
  bool Number(size_t min_digits, size_t max_digits, int* out) {
    size_t end = pos_;
    int value = 0;
    while (end < text_.size() && end - pos_ < max_digits && text_[end] >= '0' &&
           text_[end] <= '9') {
      value = value * 10 + (text_[end] - '0');
      ++end;
    }
    if (end - pos_ < min_digits) return false;
    pos_ = end;
    *out = value;
    return true;
  }
  std::string_view Word() {
    size_t end = pos_;
    while (end < text_.size() &&
           ((text_[end] >= 'A' && text_[end] <= 'Z') || (text_[end] >= 'a' && text_[end] <= 'z'))) {
      ++end;
    }
    std::string_view word = text_.substr(pos_, end - pos_);
    pos_ = end;
    return word;
  }
  // "Jan".."Dec" -> 1..12.
  bool Month(int* out) {
    size_t start = pos_;
    std::string_view word = Word();
    for (size_t i = 0; i < kMonthNames.size(); ++i) {
      if (EqualsIgnoreCase(word, kMonthNames[i])) {
        *out = static_cast<int>(i) + 1;
        return true;
      }
    }
    pos_ = start;
    return false;
  }
  // HH:MM:SS
  bool Time(int* hour, int* minute, int* second) {
    return Number(2, 2, hour) && Char(':') && Number(2, 2, minute) && Char(':') &&
           Number(2, 2, second);
  }
  // The zone of the fixdate and RFC 850 forms: only UTC spellings.
  bool UtcZone() {
    size_t start = pos_;
    std::string_view word = Word();
    if (EqualsIgnoreCase(word, "GMT") || EqualsIgnoreCase(word, "UT") ||
        EqualsIgnoreCase(word, "UTC") || EqualsIgnoreCase(word, "Z")) {
      return true;
    }
    pos_ = start;
    int offset = 0;
    if ((Char('+') || Char('-')) && Number(4, 4, &offset) && offset == 0) return true;
    pos_ = start;
    return false;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

bool IsDayName(std::string_view word, bool long_form) {
  for (size_t i = 0; i < kDayNames.size(); ++i) {
    if (EqualsIgnoreCase(word, long_form ? kLongDayNames[i] : kDayNames[i])) return true;
  }
  return false;
}

bool ValidFields(int year, int month, int day, int hour, int minute, int second) {
  static constexpr std::array<int, 12> kDaysInMonth = {31, 29, 31, 30, 31, 30,
                                                       31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1]) {
    return false;
  }
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return false;
  return hour <= 23 && minute <= 59 && second <= 60;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t UtcMillis(int year, int month, int day, int hour, int minute, int second) {
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * 60'000 + int64_t{second} * 1000;
}

Result<int64_t> ParseHttpDate(std::string_view text) {
  auto bad = [&] {
    return InvalidArgumentError("not an HTTP date: \"" + std::string(text.substr(0, 64)) + "\"");
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  DateReader r(text);
  r.Spaces();
  std::string_view weekday = r.Word();
  bool parsed = false;
  if (r.Char(',')) {
    r.Spaces();
    DateReader fixdate = r;
    if (IsDayName(weekday, false) && fixdate.Number(1, 2, &day) && fixdate.Char(' ') &&
        fixdate.Month(&month) && fixdate.Char(' ') && fixdate.Number(4, 4, &year) &&
        fixdate.Char(' ') && fixdate.Time(&hour, &minute, &second) && fixdate.Char(' ') &&
        fixdate.UtcZone()) {
      r = fixdate;
      parsed = true;
    } else if (IsDayName(weekday, true) && r.Number(2, 2, &day) && r.Char('-') && r.Month(&month) &&
               r.Char('-') && r.Number(2, 2, &year) && r.Char(' ') &&
               r.Time(&hour, &minute, &second) && r.Char(' ') && r.UtcZone()) {
      year += year < 70 ? 2000 : 1900;
      parsed = true;
    }
  } else if (IsDayName(weekday, false) && r.Char(' ') && r.Month(&month) && r.Char(' ')) {
    r.Spaces();  // asctime pads a one-digit day with a space
    parsed = r.Number(1, 2, &day) && r.Char(' ') && r.Time(&hour, &minute, &second) &&
             r.Char(' ') && r.Number(4, 4, &year);
  }
  r.Spaces();
  if (!parsed || !r.AtEnd() || !ValidFields(year, month, day, hour, minute, second)) return bad();
  return UtcMillis(year, month, day, hour, minute, second);
}

CivilTime CivilFromMillis(int64_t epoch_ms) {
  int64_t days = epoch_ms / 86'400'000;
  int64_t rem = epoch_ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  CivilTime t;
  CivilFromDays(days, &t.year, &t.month, &t.day);
  t.millis = static_cast<int>(rem % 1000);
  t.second = static_cast<int>(rem / 1000 % 60);
  t.minute = static_cast<int>(rem / 60'000 % 60);
  t.hour = static_cast<int>(rem / 3'600'000);
  t.weekday = static_cast<int>(((days % 7) + 7 + 4) % 7);
  return t;
}

std::string FormatHttpDate(int64_t epoch_ms) {
  const CivilTime t = CivilFromMillis(epoch_ms);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s, %02u %s %04lld %02d:%02d:%02d GMT",
                kDayNames[static_cast<size_t>(t.weekday)].data(), t.day,
                kMonthNames[t.month - 1].data(), static_cast<long long>(t.year), t.hour, t.minute,
                t.second);
  return buf;
}

std::string FormatIso8601Millis(int64_t epoch_ms) {
  const CivilTime t = CivilFromMillis(epoch_ms);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(t.year), t.month, t.day, t.hour, t.minute, t.second,
                t.millis);
  return buf;
}

namespace {

bool ParseDigits(std::string_view text, size_t pos, size_t count, int* out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

}  // namespace

Result<int64_t> ParseIso8601Millis(std::string_view text) {
  auto bad = [&] { return InvalidArgumentError("invalid time \"" + std::string(text) + "\""); };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ParseDigits(text, 0, 4, &year) || text.size() < 19 || text[4] != '-' ||
      !ParseDigits(text, 5, 2, &month) || text[7] != '-' || !ParseDigits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !ParseDigits(text, 11, 2, &hour) ||
      text[13] != ':' || !ParseDigits(text, 14, 2, &minute) || text[16] != ':' ||
      !ParseDigits(text, 17, 2, &second)) {
    return bad();
  }
  static constexpr std::array<int, 12> kDaysInMonth = {31, 29, 31, 30, 31, 30,
                                                       31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int oh = 0, om = 0;
      if (!ParseDigits(text, pos + 1, 2, &oh) || pos + 6 != text.size() || text[pos + 3] != ':' ||
          !ParseDigits(text, pos + 4, 2, &om) || oh > 23 || om > 59) {
        return bad();
      }
      offset_minutes = (oh * 60 + om) * (text[pos] == '+' ? 1 : -1);
      pos = text.size();
    } else {
      return bad();
    }
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

}  // namespace thumbflow
