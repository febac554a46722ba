#include "aws/checksums.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "core/strings.h"

namespace thumbflow::aws {
namespace {

// Reflected CRC32C (Castagnoli, polynomial 0x82F63B78), slicing-by-one table. zlib and
// OpenSSL have no CRC32C; its speed only matters for trailers on uploads.
constexpr std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = MakeCrc32cTable();

// Reflected CRC-64/NVME, slicing-by-one as CRC32C above.
constexpr std::array<uint64_t, 256> MakeCrc64NvmeTable() {
  std::array<uint64_t, 256> table{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ull : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint64_t, 256> kCrc64NvmeTable = MakeCrc64NvmeTable();

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
  return out;
}

class Crc64NvmeChecksummer final : public Checksummer {
 public:
  void Update(std::string_view data) override { crc_ = Crc64Nvme(data, crc_); }
  std::string FinishBase64() override { return Base64Encode(BigEndian64(crc_)); }

 private:
  uint64_t crc_ = 0;
};

std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
  return out;
}

class Crc32Checksummer final : public Checksummer {
 public:
  explicit Crc32Checksummer(bool castagnoli) : castagnoli_(castagnoli) {}
  void Update(std::string_view data) override {
    crc_ = castagnoli_ ? Crc32c(data, crc_) : Crc32(data, crc_);
  }
  std::string FinishBase64() override { return Base64Encode(BigEndian32(crc_)); }

 private:
  bool castagnoli_;
  uint32_t crc_ = 0;
};

class DigestChecksummer final : public Checksummer {
 public:
  explicit DigestChecksummer(DigestAlgorithm algorithm) : hasher_(algorithm) {}
  void Update(std::string_view data) override { hasher_.Update(data); }
  std::string FinishBase64() override { return Base64Encode(hasher_.Finish()); }

 private:
  DigestHasher hasher_;
};

}  // namespace

std::string Sha256(std::string_view data) { return Digest(DigestAlgorithm::kSha256, data); }
std::string Md5(std::string_view data) { return Digest(DigestAlgorithm::kMd5, data); }
std::string Sha1(std::string_view data) { return Digest(DigestAlgorithm::kSha1, data); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HmacSha1(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

uint32_t Crc32(std::string_view data, uint32_t previous) {
  uLong crc = previous;
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  size_t left = data.size();
  while (left > 0) {  // zlib takes uInt lengths
    uInt n = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

uint32_t Crc32c(std::string_view data, uint32_t previous) {
  uint32_t crc = ~previous;
  for (unsigned char byte : data) crc = kCrc32cTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint64_t Crc64Nvme(std::string_view data, uint64_t previous) {
  uint64_t crc = ~previous;
  for (unsigned char byte : data) crc = kCrc64NvmeTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return InvalidArgumentError("base64: length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      int d = value(c);
      if (d < 0 || pad > 0) return InvalidArgumentError("base64: invalid character");
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>(v >> 8);
    if (pad < 1) out += static_cast<char>(v);
  }
  return out;
}

std::string ContentMd5(std::string_view data) { return Base64Encode(Md5(data)); }

Result<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name) {
  for (ChecksumAlgorithm a : kChecksumAlgorithms) {
    if (EqualsIgnoreCase(name, ChecksumAlgorithmName(a))) return a;
  }
  return InvalidArgumentError("unknown checksum algorithm \"" + std::string(name) + "\"");
}

std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      return "CRC32";
    case ChecksumAlgorithm::kCrc32c:
      return "CRC32C";
    case ChecksumAlgorithm::kSha1:
      return "SHA1";
    case ChecksumAlgorithm::kSha256:
      return "SHA256";
    case ChecksumAlgorithm::kCrc64Nvme:
      return "CRC64NVME";
  }
  return "";
}

size_t ChecksumDigestBytes(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
    case ChecksumAlgorithm::kCrc32c:
      return 4;
    case ChecksumAlgorithm::kCrc64Nvme:
      return 8;
    case ChecksumAlgorithm::kSha1:
      return 20;
    case ChecksumAlgorithm::kSha256:
      return 32;
  }
  return 0;
}

std::string_view ChecksumHeaderName(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      return "x-amz-checksum-crc32";
    case ChecksumAlgorithm::kCrc32c:
      return "x-amz-checksum-crc32c";
    case ChecksumAlgorithm::kSha1:
      return "x-amz-checksum-sha1";
    case ChecksumAlgorithm::kSha256:
      return "x-amz-checksum-sha256";
    case ChecksumAlgorithm::kCrc64Nvme:
      return "x-amz-checksum-crc64nvme";
  }
  return "";
}

std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromHeader(std::string_view header_name) {
  for (ChecksumAlgorithm a : kChecksumAlgorithms) {
    if (EqualsIgnoreCase(header_name, ChecksumHeaderName(a))) return a;
  }
  return std::nullopt;
}

std::unique_ptr<Checksummer> NewChecksummer(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      return std::make_unique<Crc32Checksummer>(false);
    case ChecksumAlgorithm::kCrc32c:
      return std::make_unique<Crc32Checksummer>(true);
    case ChecksumAlgorithm::kSha1:
      return std::make_unique<DigestChecksummer>(DigestAlgorithm::kSha1);
    case ChecksumAlgorithm::kSha256:
      return std::make_unique<DigestChecksummer>(DigestAlgorithm::kSha256);
    case ChecksumAlgorithm::kCrc64Nvme:
      return std::make_unique<Crc64NvmeChecksummer>();
  }
  return nullptr;
}

std::string ChecksumBase64(ChecksumAlgorithm algorithm, std::string_view data) {
  auto c = NewChecksummer(algorithm);
  c->Update(data);
  return c->FinishBase64();
}

}  // namespace thumbflow::aws
