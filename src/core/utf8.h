// UTF-8 validation shared by everything that accepts text from outside (object keys, queue
// bodies and attributes, keys decoded from events).
#pragma once

#include <string_view>

namespace thumbflow {

// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequence.
bool IsValidUtf8(std::string_view text);

}  // namespace thumbflow
