#include "core/random.h"

#include <sys/random.h>
#include <sys/types.h>

#include "core/strings.h"

namespace thumbflow {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t filled = 0;
  while (filled < bytes) {
    ssize_t n = getrandom(raw.data() + filled, bytes - filled, 0);
    if (n > 0) filled += static_cast<size_t>(n);
  }
  return HexEncode(raw);
}

}  // namespace thumbflow
