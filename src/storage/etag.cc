#include "storage/etag.h"

#include <cctype>
#include <optional>

#include "core/strings.h"

namespace thumbflow {
std::string SinglePartEtag(std::string_view bytes) { return QuoteEtag(Md5Hex(bytes)); }

std::string QuoteEtag(std::string_view hex) { return "\"" + std::string(hex) + "\""; }

std::string UnquoteEtag(std::string_view etag) {
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

Result<std::string> MultipartEtag(const std::vector<std::string>& part_etags) {
  if (part_etags.empty()) return InvalidArgumentError("multipart ETag of zero parts");
  std::string binary;
  binary.reserve(part_etags.size() * 16);
  for (size_t i = 0; i < part_etags.size(); ++i) {
    std::string hex = UnquoteEtag(part_etags[i]);
    std::optional<std::string> md5 = hex.size() == 32 ? HexDecode(hex) : std::nullopt;
    if (!md5) {
      return InvalidArgumentError("part " + std::to_string(i + 1) +
                                  " ETag is not an MD5: " + part_etags[i]);
    }
    binary += *md5;
  }
  return QuoteEtag(Md5Hex(binary) + "-" + std::to_string(part_etags.size()));
}

bool EtagConditionMatches(std::string_view condition, std::string_view etag) {
  std::string want = UnquoteEtag(etag);
  size_t start = 0;
  while (start <= condition.size()) {
    size_t end = condition.find(',', start);
    if (end == std::string_view::npos) end = condition.size();
    std::string_view item = condition.substr(start, end - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (item == "*") return true;
    if (!item.empty() && UnquoteEtag(item) == want) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace thumbflow
