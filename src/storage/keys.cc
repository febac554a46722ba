#include "storage/keys.h"

#include <cctype>

namespace thumbflow {
namespace {

// A short, printable excerpt of a key for error messages.
std::string Excerpt(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, 64)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (key.size() > 64) out += "...";
  return out;
}

Status KeyRefused(std::string message) {
  return InvalidArgumentError(std::move(message)).WithReason(Reason::kInvalidKey);
}

}  // namespace

Status ValidateObjectKey(std::string_view key) {
  if (key.empty()) return KeyRefused("object key is empty");
  if (key.size() > kMaxKeyBytes) {
    return KeyRefused("object key is longer than 1024 bytes (" + std::to_string(key.size()) +
                      "): " + Excerpt(key));
  }
  if (key.find('\0') != std::string_view::npos) {
    return KeyRefused("object key contains a NUL byte: " + Excerpt(key));
  }
  if (!IsValidUtf8(key)) return KeyRefused("object key is not UTF-8: " + Excerpt(key));
  return Status::Ok();
}

Status ValidatePipelineKey(std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  if (key.front() == '/') return KeyRefused("key starts with '/': " + Excerpt(key));
  if (key.find('\\') != std::string_view::npos) {
    return KeyRefused("key contains a backslash: " + Excerpt(key));
  }
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    std::string_view segment =
        key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment == "..") return KeyRefused("key has a '..' segment: " + Excerpt(key));
    if (segment == ".") return KeyRefused("key has a '.' segment: " + Excerpt(key));
    if (segment.empty()) return KeyRefused("key has an empty segment: " + Excerpt(key));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::Ok();
}

Status ValidateBucketName(std::string_view bucket) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("bucket name \"" + Excerpt(bucket) + "\" " + why);
  };
  if (bucket.size() < 3 || bucket.size() > 63) return bad("must be 3 to 63 characters long");
  for (char c : bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-')) {
      return bad("may hold only lower-case letters, digits, '.' and '-'");
    }
  }
  auto alnum = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c));
  };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return bad("must start and end with a letter or digit");
  }
  for (std::string_view pair : {"..", ".-", "-."}) {
    if (bucket.find(pair) != std::string_view::npos) {
      return bad("must not contain \"" + std::string(pair) + "\"");
    }
  }
  // Names S3 keeps for its own features (access point aliases, Object Lambda, ...).
  for (std::string_view prefix : {"xn--", "sthree-", "amzn-s3-demo-"}) {
    if (bucket.starts_with(prefix))
      return bad("must not start with \"" + std::string(prefix) + "\"");
  }
  for (std::string_view suffix : {"-s3alias", "--ol-s3", "--x-s3", "--table-s3"}) {
    if (bucket.ends_with(suffix)) return bad("must not end with \"" + std::string(suffix) + "\"");
  }
  int dots = 0;
  bool digits_and_dots = true;
  for (char c : bucket) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      digits_and_dots = false;
    }
  }
  if (digits_and_dots && dots == 3) return bad("must not look like an IP address");
  return Status::Ok();
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xFF) s.pop_back();
  if (s.empty()) return s;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

}  // namespace thumbflow
