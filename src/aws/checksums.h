// Hashes, MACs and checksums used by SigV4 and S3: SHA-256 (signatures, payload hashes),
// HMAC-SHA256 (signing keys), MD5 (Content-MD5, single-part ETags), SHA-1, CRC32 and CRC32C
// (S3 flexible checksums, sent as x-amz-checksum-* headers or aws-chunked trailers).
// OpenSSL and zlib do the work where they can; CRC32C is computed here.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "core/result.h"

namespace thumbflow::aws {

// Raw digests (binary strings); their hex forms are core/digest.h's Sha256Hex and Md5Hex.
std::string Sha256(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Md5(std::string_view data);
std::string Sha1(std::string_view data);
std::string HmacSha1(std::string_view key, std::string_view data);  // S3 SigV2
// `previous` chains calls over consecutive pieces: Crc32(b, Crc32(a)) == Crc32(a + b).
uint32_t Crc32(std::string_view data, uint32_t previous = 0);
uint32_t Crc32c(std::string_view data, uint32_t previous = 0);
// CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5), S3's CRC64NVME; chains the same way.
uint64_t Crc64Nvme(std::string_view data, uint64_t previous = 0);

// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);
// InvalidArgument on characters outside the alphabet or bad padding.
Result<std::string> Base64Decode(std::string_view text);

// base64(md5(data)): the Content-MD5 header value.
std::string ContentMd5(std::string_view data);

// ---- S3 flexible checksums -------------------------------------------------------------

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kSha1, kSha256, kCrc64Nvme };

inline constexpr ChecksumAlgorithm kChecksumAlgorithms[] = {
    ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kSha1,
    ChecksumAlgorithm::kSha256, ChecksumAlgorithm::kCrc64Nvme};

// "CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME" (case-insensitive); InvalidArgument
// otherwise.
Result<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name);
std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm);  // "CRC32", ...
// Bytes of the algorithm's digest (4 for CRC32, 8 for CRC64NVME, 20 for SHA1, 32 for SHA256).
size_t ChecksumDigestBytes(ChecksumAlgorithm algorithm);
// "x-amz-checksum-crc32", ...; the header (or trailer) that carries the value.
std::string_view ChecksumHeaderName(ChecksumAlgorithm algorithm);
// The inverse of ChecksumHeaderName; nullopt for any other name.
std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromHeader(std::string_view header_name);

// Incremental checksum whose value is base64 of the big-endian digest, as S3 wants it in
// x-amz-checksum-*. One instance is not thread-safe; use one per stream.
class Checksummer {
 public:
  virtual ~Checksummer() = default;
  virtual void Update(std::string_view data) = 0;
  // Value of everything passed so far; may be called once.
  virtual std::string FinishBase64() = 0;
};
std::unique_ptr<Checksummer> NewChecksummer(ChecksumAlgorithm algorithm);

// One-shot form of the above.
std::string ChecksumBase64(ChecksumAlgorithm algorithm, std::string_view data);

}  // namespace thumbflow::aws
