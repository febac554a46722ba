// UTF-8 validation shared by everything that accepts text from outside (object keys, queue
// bodies and attributes, keys decoded from events).
#pragma once

#include <cstddef>
#include <string_view>

namespace thumbflow {

// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequence.
bool IsValidUtf8(std::string_view text);

// Bytes of the well-formed UTF-8 sequence that starts at text[i] (1 to 4), 0 when the bytes
// there are not one (or i is past the end).
size_t Utf8SequenceLength(std::string_view text, size_t i);

}  // namespace thumbflow
