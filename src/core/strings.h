// ASCII string helpers shared by every layer. HTTP header names, S3 operation names, file
// extensions and signal words are ASCII; these never touch bytes above 0x7F, so UTF-8 text
// passes through unchanged.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace thumbflow {

constexpr char ToLowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// A lower-cased copy; bytes outside A-Z are kept as they are.
std::string ToLowerAscii(std::string_view text);
// Lower-cases `text` in place.
void LowerAsciiInPlace(std::string& text);

// 0-15 for 0-9, a-f, A-F; -1 for anything else.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when `text` is not empty and every character is a hex digit of either case;
// IsLowerHex admits only the lower-case form HexEncode writes (stored digests, upload ids).
bool IsHex(std::string_view text);
bool IsLowerHex(std::string_view text);

// Lower-case hex of every byte: "\x01\xAB" -> "01ab" (digests, ETags, random names).
std::string HexEncode(std::string_view bytes);
// The bytes that pairs of hex digits (either case) stand for; nullopt for an odd length or a
// character that is not a hex digit.
std::optional<std::string> HexDecode(std::string_view hex);

// True when `text` holds `piece` starting at byte `offset` (false when `text` is too short).
// Case-sensitive; at offset 0 it is std::string_view::starts_with, which callers use directly.
constexpr bool StartsWithAt(std::string_view text, size_t offset, std::string_view piece) {
  return text.size() >= offset && text.substr(offset).starts_with(piece);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix);
bool EndsWithIgnoreCase(std::string_view text, std::string_view suffix);

}  // namespace thumbflow
