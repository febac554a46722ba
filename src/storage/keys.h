// Object key and bucket name rules shared by the store, the S3 endpoint and the pipeline.
//
// Every function is pure and thread-safe; a refusal is an InvalidArgument whose message says
// which rule the key broke (never echoing more than a short prefix of the key). Key refusals
// carry the reason Reason::kInvalidKey: the port's word for "this key, not the store's set-up,
// is the problem" (storage/object_store.h).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/utf8.h"

namespace thumbflow {

inline constexpr size_t kMaxKeyBytes = 1024;

// A key any client may store: 1..1024 bytes of UTF-8 without NUL. This is S3's rule (plus
// NUL, which S3 refuses in practice); keys never become file paths in the local store, so
// "../x" or "/x" are legal object keys here, as they are on S3.
Status ValidateObjectKey(std::string_view key);

// A key that thumbflow itself derives (thumbnail outputs, keys taken from events): the
// object-key rules plus no leading '/', no empty, "." or ".." path segment, and no
// backslash, so the key is also a safe relative path wherever it is written.
Status ValidatePipelineKey(std::string_view key);

// S3 bucket naming rules: 3..63 characters of lower-case letters, digits, '.' and '-',
// starting and ending with a letter or digit, no "..", ".-" or "-.", not shaped like an IPv4
// address, none of S3's reserved prefixes ("xn--", "sthree-", "amzn-s3-demo-") and suffixes
// ("-s3alias", "--ol-s3", "--x-s3", "--table-s3").
Status ValidateBucketName(std::string_view bucket);

// The smallest string greater than every string that starts with `prefix`; empty when there
// is none (prefix empty or all 0xFF bytes). Used to skip past a listed common prefix.
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace thumbflow
