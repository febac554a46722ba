#include "storage/byte_source.h"

#include <algorithm>
#include <cstring>

namespace thumbflow {
namespace {

class StringByteSource final : public ByteSource {
 public:
  explicit StringByteSource(std::string bytes) : bytes_(std::move(bytes)) {}
  Result<size_t> Read(char* buffer, size_t capacity) override {
    size_t n = std::min(capacity, bytes_.size() - pos_);
    std::memcpy(buffer, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> StringSource(std::string bytes) {
  return std::make_unique<StringByteSource>(std::move(bytes));
}

}  // namespace thumbflow
