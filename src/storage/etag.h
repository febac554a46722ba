// ETags as S3 computes them, and the MD5 that underlies them.
//
// Single-part objects: the quoted lower-case hex MD5 of the bytes ("\"9e10...\"").
// Multipart completions: the quoted hex MD5 of the concatenated binary MD5s of the parts,
// then "-" and the part count ("\"a1b2...-3\"").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"  // Md5Hasher, Md5Hex, Sha256Hex
#include "core/result.h"

namespace thumbflow {

// "\"<md5 hex>\"" of `bytes`.
std::string SinglePartEtag(std::string_view bytes);
// Quotes a hex digest: "abc" -> "\"abc\"".
std::string QuoteEtag(std::string_view hex);
// Removes surrounding quotes (and a weak "W/" marker) if present.
std::string UnquoteEtag(std::string_view etag);

// The ETag S3 gives a multipart upload completed from parts with these ETags (each the
// quoted or unquoted MD5 hex of that part), in part order. InvalidArgument when a part ETag
// is not 32 hex digits or the list is empty.
Result<std::string> MultipartEtag(const std::vector<std::string>& part_etags);

// HTTP conditional-header matching: `condition` is "*" or a comma-separated list of
// (possibly quoted) ETags; "*" matches any existing object.
bool EtagConditionMatches(std::string_view condition, std::string_view etag);

}  // namespace thumbflow
