#include "storage/s3_semantics.h"

#include <algorithm>
#include <optional>

#include "core/civil_time.h"
#include "core/strings.h"

#include "storage/etag.h"
#include "storage/keys.h"

namespace thumbflow {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Continuation tokens are "k" + last key or "p" + last common prefix, hex-encoded so they
// are plain ASCII in URLs and XML.
std::string EncodeToken(char kind, const std::string& marker) {
  return std::string(1, kind) + HexEncode(marker);
}

bool DecodeToken(const std::string& token, char* kind, std::string* marker) {
  if (token.empty() || (token[0] != 'k' && token[0] != 'p')) return false;
  std::optional<std::string> decoded = HexDecode(std::string_view(token).substr(1));
  if (!decoded) return false;
  *kind = token[0];
  *marker = std::move(*decoded);
  return true;
}

}  // namespace

Status CheckGetConditions(const ObjectInfo& info, const GetOptions& options) {
  if (!options.if_match.empty() && !EtagConditionMatches(options.if_match, info.etag)) {
    return FailedPreconditionError("If-Match " + options.if_match + " does not match " + info.etag)
        .WithReason(Reason::kPreconditionFailed);
  }
  if (!options.if_none_match.empty() && EtagConditionMatches(options.if_none_match, info.etag)) {
    return FailedPreconditionError("If-None-Match " + options.if_none_match + " matches " +
                                   info.etag)
        .WithReason(Reason::kNotModified);
  }
  return Status::Ok();
}

Status CheckWriteCondition(const WriteCondition& condition, const std::string* current_etag,
                           std::string_view what) {
  if (!condition.if_none_match.empty() && current_etag != nullptr &&
      EtagConditionMatches(condition.if_none_match, *current_etag)) {
    return FailedPreconditionError(std::string(what) + ": If-None-Match " +
                                   condition.if_none_match + " and the object has " + *current_etag)
        .WithReason(Reason::kPreconditionFailed);
  }
  if (condition.if_match.empty()) return Status::Ok();
  if (current_etag == nullptr) {
    return NotFoundError(std::string(what) + ": If-Match " + condition.if_match +
                         " and there is no such key");
  }
  if (!EtagConditionMatches(condition.if_match, *current_etag)) {
    return FailedPreconditionError(std::string(what) + ": If-Match " + condition.if_match +
                                   " does not match " + *current_etag)
        .WithReason(Reason::kPreconditionFailed);
  }
  return Status::Ok();
}

Status CheckDeleteCondition(const WriteCondition& condition, const DeleteTarget* current,
                            std::string_view what) {
  if (current == nullptr) return Status::Ok();
  RETURN_IF_ERROR(CheckWriteCondition(condition, &current->etag, what));
  auto failed = [&](const std::string& detail) {
    return FailedPreconditionError(std::string(what) + ": " + detail)
        .WithReason(Reason::kPreconditionFailed);
  };
  if (condition.if_match_size && *condition.if_match_size != current->size) {
    return failed("size " + std::to_string(*condition.if_match_size) + " does not match " +
                  std::to_string(current->size));
  }
  // Last-Modified is an HTTP date: whole seconds.
  if (condition.if_match_last_modified_ms && FloorDiv(*condition.if_match_last_modified_ms, 1000) !=
                                                 FloorDiv(current->last_modified_ms, 1000)) {
    return failed("Last-Modified " + FormatHttpDate(*condition.if_match_last_modified_ms) +
                  " does not match " + FormatHttpDate(current->last_modified_ms));
  }
  return Status::Ok();
}

Status ResolveRange(int64_t size, const ByteRange& range, int64_t* offset, int64_t* length) {
  auto invalid = [&]() {
    return InvalidArgumentError("range not satisfiable for an object of " + std::to_string(size) +
                                " bytes")
        .WithReason(Reason::kInvalidRange);
  };
  if (range.suffix_length) {
    if (*range.suffix_length <= 0 || size == 0) return invalid();
    *length = std::min(*range.suffix_length, size);
    *offset = size - *length;
    return Status::Ok();
  }
  if (range.first < 0 || range.first >= size) return invalid();
  if (range.last && *range.last < range.first) return invalid();
  int64_t last = range.last ? std::min(*range.last, size - 1) : size - 1;
  *offset = range.first;
  *length = last - range.first + 1;
  return Status::Ok();
}

Status ResolvePart(const ObjectInfo& info, int part_number, int64_t* offset, int64_t* length) {
  if (info.parts.empty() && part_number == 1) {
    *offset = 0;
    *length = info.size;
    return Status::Ok();
  }
  int64_t start = 0;
  for (const ObjectPart& part : info.parts) {
    if (part.part_number == part_number) {
      *offset = start;
      *length = part.size;
      return Status::Ok();
    }
    start += part.size;
  }
  return InvalidArgumentError("part " + std::to_string(part_number) + " of an object of " +
                              std::to_string(std::max<size_t>(info.parts.size(), 1)) + " parts")
      .WithReason(Reason::kInvalidPartNumber);
}

Status ResolveSlice(const ObjectInfo& info, const GetOptions& options, int64_t* offset,
                    int64_t* length, bool* partial) {
  *offset = 0;
  *length = info.size;
  *partial = false;
  if (options.part_number > 0) {
    *partial = true;
    return ResolvePart(info, options.part_number, offset, length);
  }
  if (!options.range) return Status::Ok();
  *partial = true;
  return ResolveRange(info.size, *options.range, offset, length);
}

Metadata NormalizeMetadata(const Metadata& metadata) {
  Metadata out;
  for (const auto& [name, value] : metadata) {
    out[ToLowerAscii(name)] = value;
  }
  return out;
}

Result<ListResult> ListWithScan(const ListOptions& options, const KeyScan& scan) {
  ListResult result;
  const std::string& prefix = options.prefix;
  const std::string& delimiter = options.delimiter;
  const int max_keys = std::clamp(options.max_keys, 0, 1000);

  std::string from;
  bool inclusive = false;
  if (!options.continuation_token.empty()) {
    char kind;
    std::string marker;
    if (!DecodeToken(options.continuation_token, &kind, &marker)) {
      return InvalidArgumentError("the continuation token is not valid");
    }
    if (kind == 'p') {
      from = PrefixSuccessor(marker);
      inclusive = true;
      if (from.empty()) return result;  // nothing can follow
    } else {
      from = marker;
    }
  } else {
    from = options.start_after;
  }
  if (from < prefix) {
    from = prefix;
    inclusive = true;
  }
  if (max_keys == 0) return result;

  int count = 0;
  char last_kind = 'k';
  std::string last_marker;
  constexpr int kBatch = 256;
  while (true) {
    // One more than still fits, so a full page can tell whether anything follows it.
    const int limit = std::min(kBatch, max_keys - count + 1);
    ASSIGN_OR_RETURN(std::vector<ObjectInfo> batch, scan(from, inclusive, prefix, limit));
    bool rescan = false;
    for (ObjectInfo& object : batch) {
      if (count == max_keys) {
        result.truncated = true;
        result.next_continuation_token = EncodeToken(last_kind, last_marker);
        return result;
      }
      ++count;
      size_t pos =
          delimiter.empty() ? std::string::npos : object.key.find(delimiter, prefix.size());
      if (pos != std::string::npos) {
        std::string common = object.key.substr(0, pos + delimiter.size());
        last_kind = 'p';
        last_marker = common;
        result.common_prefixes.push_back(common);
        // Every other key under this common prefix is rolled into it: skip past them all.
        from = PrefixSuccessor(common);
        inclusive = true;
        if (from.empty()) return result;
        rescan = true;
        break;
      }
      last_kind = 'k';
      last_marker = object.key;
      from = object.key;
      inclusive = false;
      object.content_type.clear();
      object.metadata.clear();
      result.objects.push_back(std::move(object));
    }
    if (!rescan && static_cast<int>(batch.size()) < limit) return result;
  }
}

}  // namespace thumbflow
