// Message digests over OpenSSL: MD5 (ETags, Content-MD5), SHA-1 and SHA-256 (S3 checksums,
// SigV4 payload hashes). The one-shot functions are pure and thread-safe; a DigestHasher
// serves one stream.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace thumbflow {

enum class DigestAlgorithm { kMd5, kSha1, kSha256 };

// The raw digest (binary string) and its lower-case hex form.
std::string Digest(DigestAlgorithm algorithm, std::string_view data);
std::string DigestHex(DigestAlgorithm algorithm, std::string_view data);
inline std::string Md5Hex(std::string_view data) { return DigestHex(DigestAlgorithm::kMd5, data); }
inline std::string Sha256Hex(std::string_view data) {
  return DigestHex(DigestAlgorithm::kSha256, data);
}

// Incremental digest of a streamed body. After the first Finish*() the hasher is spent:
// Update does nothing and every Finish*() returns the same digest.
class DigestHasher {
 public:
  explicit DigestHasher(DigestAlgorithm algorithm);
  ~DigestHasher();
  DigestHasher(const DigestHasher&) = delete;
  DigestHasher& operator=(const DigestHasher&) = delete;
  DigestHasher(DigestHasher&&) noexcept;
  DigestHasher& operator=(DigestHasher&&) noexcept;

  void Update(std::string_view data);
  std::string Finish();     // raw digest
  std::string FinishHex();  // lower-case hex

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The two streams the S3 endpoint hashes: MD5 for ETags, SHA-256 for SigV4 payloads.
class Md5Hasher : public DigestHasher {
 public:
  Md5Hasher() : DigestHasher(DigestAlgorithm::kMd5) {}
};
class Sha256Hasher : public DigestHasher {
 public:
  Sha256Hasher() : DigestHasher(DigestAlgorithm::kSha256) {}
};

}  // namespace thumbflow
