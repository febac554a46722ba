#include "storage/etag.h"

#include <openssl/evp.h>

#include <cctype>
#include <optional>

#include "core/strings.h"

namespace thumbflow {
namespace {

std::string Hex(const unsigned char* data, size_t size) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(data), size));
}

std::string Digest(const EVP_MD* md, std::string_view bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), out, &size, md, nullptr);
  return Hex(out, size);
}

}  // namespace

struct Md5Hasher::State {
  EVP_MD_CTX* ctx = nullptr;
  std::string digest;  // set once finished
  ~State() { EVP_MD_CTX_free(ctx); }
};

Md5Hasher::Md5Hasher() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(state_->ctx, EVP_md5(), nullptr);
}
Md5Hasher::~Md5Hasher() = default;
Md5Hasher::Md5Hasher(Md5Hasher&&) noexcept = default;
Md5Hasher& Md5Hasher::operator=(Md5Hasher&&) noexcept = default;

void Md5Hasher::Update(std::string_view bytes) {
  if (!state_->digest.empty()) return;
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Md5Hasher::FinishHex() {
  if (state_->digest.empty()) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(state_->ctx, out, &size);
    state_->digest = Hex(out, size);
  }
  return state_->digest;
}

std::string Md5Hex(std::string_view bytes) { return Digest(EVP_md5(), bytes); }
std::string Sha256Hex(std::string_view bytes) { return Digest(EVP_sha256(), bytes); }

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
