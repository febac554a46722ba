// ByteSource: a sequential reader of bytes, the streaming side of the storage port
// (storage/streaming_object_store.h) and what an HTTP reply streams its body from.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/result.h"

namespace thumbflow {

// Not thread-safe: one reader.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to `capacity` bytes; returns 0 only at the end.
  virtual Result<size_t> Read(char* buffer, size_t capacity) = 0;
};

// A ByteSource over bytes held in memory.
std::unique_ptr<ByteSource> StringSource(std::string bytes);

}  // namespace thumbflow
