#include "storage/streaming_object_store.h"

#include <algorithm>

#include "core/strings.h"

namespace thumbflow {

bool IsWellFormedVersionId(std::string_view version_id) {
  return version_id == "null" || (version_id.size() == 32 && IsLowerHex(version_id));
}

// Every object once, as its version "null" (the latest): List with the key marker as its
// start. A version-id marker can only be "null", the key's only version: the same start.
Result<ListVersionsResult> StreamingObjectStore::ListVersions(const std::string& bucket,
                                                              const ListVersionsOptions& options) {
  ListVersionsResult result;
  if (!options.version_id_marker.empty() && options.version_id_marker != "null") {
    return InvalidArgumentError("version-id-marker " + options.version_id_marker +
                                " is no version of " + options.key_marker);
  }
  if (options.max_keys <= 0) {
    RETURN_IF_ERROR(HeadBucket(bucket));
    return result;
  }
  ListOptions list;
  list.prefix = options.prefix;
  list.delimiter = options.delimiter;
  list.max_keys = options.max_keys;
  list.start_after = options.key_marker;
  // A marker that is a common prefix skips the whole prefix (no valid UTF-8 key holds the
  // byte 0xFF, so marker + 0xFF sorts after every key under it).
  if (!options.key_marker.empty() && !options.delimiter.empty() &&
      options.key_marker.ends_with(options.delimiter)) {
    list.start_after = options.key_marker + "\xff";
  }
  ASSIGN_OR_RETURN(ListResult listed, List(bucket, list));
  for (ObjectInfo& object : listed.objects) {
    object.version_id = "null";
    object.is_latest = true;
    result.versions.push_back(std::move(object));
  }
  result.common_prefixes = std::move(listed.common_prefixes);
  result.truncated = listed.truncated;
  if (result.truncated) {
    const std::string last_key = result.versions.empty() ? "" : result.versions.back().key;
    const std::string last_prefix =
        result.common_prefixes.empty() ? "" : result.common_prefixes.back();
    result.next_key_marker = std::max(last_key, last_prefix);
    if (!last_key.empty() && last_key == result.next_key_marker) {
      result.next_version_id_marker = "null";
    }
  }
  return result;
}

}  // namespace thumbflow
