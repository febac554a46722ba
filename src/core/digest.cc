#include "core/digest.h"

#include <openssl/evp.h>

#include "core/strings.h"

namespace thumbflow {
namespace {

const EVP_MD* Md(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kMd5:
      return EVP_md5();
    case DigestAlgorithm::kSha1:
      return EVP_sha1();
    case DigestAlgorithm::kSha256:
      return EVP_sha256();
  }
  return EVP_sha256();
}

}  // namespace

std::string Digest(DigestAlgorithm algorithm, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out, &size, Md(algorithm), nullptr);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string DigestHex(DigestAlgorithm algorithm, std::string_view data) {
  return HexEncode(Digest(algorithm, data));
}

struct DigestHasher::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string digest;  // set once finished
  ~State() { EVP_MD_CTX_free(ctx); }
};

DigestHasher::DigestHasher(DigestAlgorithm algorithm) : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->ctx, Md(algorithm), nullptr);
}
DigestHasher::~DigestHasher() = default;
DigestHasher::DigestHasher(DigestHasher&&) noexcept = default;
DigestHasher& DigestHasher::operator=(DigestHasher&&) noexcept = default;

void DigestHasher::Update(std::string_view data) {
  if (!state_->digest.empty()) return;
  EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

std::string DigestHasher::Finish() {
  if (state_->digest.empty()) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(state_->ctx, out, &size);
    state_->digest.assign(reinterpret_cast<const char*>(out), size);
  }
  return state_->digest;
}

std::string DigestHasher::FinishHex() { return HexEncode(Finish()); }

}  // namespace thumbflow
