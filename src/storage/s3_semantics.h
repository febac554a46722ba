// Helpers that give local adapters (the memory fake, the local folder store) the exact S3
// behaviour of conditional gets, byte ranges and listings, so both answer alike.
// Pure functions; thread-safe as long as the callbacks they are given are.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "storage/object_store.h"

namespace thumbflow {

// OK when If-Match / If-None-Match allow returning `info`; FailedPrecondition with reason
// "precondition-failed" (If-Match) or "not-modified" (If-None-Match) otherwise.
Status CheckGetConditions(const ObjectInfo& info, const GetOptions& options);

// Whether a write or delete with `condition` may replace the object whose ETag is
// `current_etag` (nullptr: no object): OK; FailedPrecondition with reason
// "precondition-failed" when If-None-Match: * finds an object, If-None-Match ETags the
// current one, or If-Match a different ETag;
// NotFound when If-Match finds no object. `what` names the object in the message.
Status CheckWriteCondition(const WriteCondition& condition, const std::string* current_etag,
                           std::string_view what);

// The object a delete's condition is checked against.
struct DeleteTarget {
  std::string etag;
  int64_t size = 0;
  int64_t last_modified_ms = 0;
};
// Whether a delete with `condition` may remove `current`: If-Match as CheckWriteCondition,
// then the size and the Last-Modified second. No object (nullptr) always may be: S3 answers
// 204 to a conditional delete of a missing key. FailedPrecondition with reason
// "precondition-failed" otherwise.
Status CheckDeleteCondition(const WriteCondition& condition, const DeleteTarget* current,
                            std::string_view what);

// The slice [*offset, *offset + *length) of an object of `size` bytes that `range` selects.
// InvalidArgument with reason "invalid-range" when it starts past the end (S3's 416).
Status ResolveRange(int64_t size, const ByteRange& range, int64_t* offset, int64_t* length);

// The slice of `info` that part `part_number` is (GetOptions::part_number): a multipart
// upload's part by its number; an object without parts has one part, the whole object.
// InvalidArgument with reason "invalid-part-number" for a part the object does not have.
Status ResolvePart(const ObjectInfo& info, int part_number, int64_t* offset, int64_t* length);

// The slice `options` selects of `info` (a part, a range, or the whole object), and whether
// it is partial (206): ResolvePart or ResolveRange.
Status ResolveSlice(const ObjectInfo& info, const GetOptions& options, int64_t* offset,
                    int64_t* length, bool* partial);

// Lower-cases user-metadata names as S3 does.
Metadata NormalizeMetadata(const Metadata& metadata);

// Returns up to `limit` objects of the bucket whose keys start with `prefix` and come after
// `from` (inclusive or not) in byte order, in that order.
using KeyScan = std::function<Result<std::vector<ObjectInfo>>(
    const std::string& from, bool inclusive, const std::string& prefix, int limit)>;

// ListObjectsV2 over any ordered key index: prefix, delimiter (common prefixes),
// start-after, max-keys and continuation tokens (opaque to callers).
Result<ListResult> ListWithScan(const ListOptions& options, const KeyScan& scan);

}  // namespace thumbflow
