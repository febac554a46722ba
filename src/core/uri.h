// Percent-encoding, once for every place that needs it: SigV4 canonical paths and queries
// (RFC 3986 unreserved set, upper-case hex), S3 XML listings with encoding-type=url, and the
// object keys of S3 event notifications (HTML-form style, as Java's URLEncoder writes them).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace thumbflow {

struct PercentEncoding {
  bool keep_slash = false;  // '/' stays as it is (paths, keys)
  bool form = false;        // HTML-form style: '*' kept, '~' encoded, ' ' written as '+'
};

// Every byte outside A-Z a-z 0-9 - _ . ~ (RFC 3986 unreserved; with `form`, - _ . *) and
// outside a kept '/' becomes %XX, upper-case hex.
std::string PercentEncode(std::string_view text, PercentEncoding how = {});

// Reverses PercentEncode; '+' means a space only when `plus_is_space`. InvalidArgument names
// the offset of a '%' that is not followed by two hex digits. The result is bytes: callers
// that need text check UTF-8 themselves.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space = false);

}  // namespace thumbflow
