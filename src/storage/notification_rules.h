// Notification rules: which stored objects put an S3 event on which queue, as an S3 bucket
// notification configuration would (filter by bucket, key prefix and key suffix).
//
// Header-only and free of third-party includes, because both the config layer (which
// reads the rules and refuses recursive-trigger configs) and the local store (which applies
// them inside its write transaction) use it, and config does not link the storage library
// (both link core, for EndsWithIgnoreCase).
// Pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/strings.h"

namespace thumbflow {

struct NotificationRule {
  std::string id = "thumbflow";  // written as s3.configurationId in the event
  std::string bucket = "images";
  std::string prefix = "uploads/";
  // Case-insensitive key endings; empty: any key. An object matches when its key ends
  // with one of them.
  std::vector<std::string> suffixes = {".jpg",  ".jpeg", ".png", ".webp", ".gif", ".avif",
                                       ".heic", ".heif", ".tif", ".tiff", ".jxl", ".svg"};
  std::string queue = "thumbnails";
  // S3 event types, as in a bucket notification configuration: "s3:ObjectCreated:*",
  // "s3:ObjectCreated:Put", "s3:ObjectCreated:CompleteMultipartUpload",
  // "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", ...
  std::vector<std::string> events = {"s3:ObjectCreated:*"};
};

// The event types a rule may name.
inline const std::vector<std::string>& KnownNotificationEvents() {
  static const std::vector<std::string> events = {
      "s3:ObjectCreated:*",
      "s3:ObjectCreated:Put",
      "s3:ObjectCreated:Post",
      "s3:ObjectCreated:Copy",
      "s3:ObjectCreated:CompleteMultipartUpload",
      "s3:ObjectRemoved:*",
      "s3:ObjectRemoved:Delete",
  };
  return events;
}

// True when `rule` selects an event named `event_name` as S3 writes it in the message
// ("ObjectCreated:Put", no "s3:" prefix).
inline bool RuleSelectsEvent(const NotificationRule& rule, std::string_view event_name) {
  for (const std::string& pattern : rule.events) {
    std::string_view p = pattern;
    if (p.substr(0, 3) == "s3:") p.remove_prefix(3);
    if (!p.empty() && p.back() == '*') {
      if (event_name.substr(0, p.size() - 1) == p.substr(0, p.size() - 1)) return true;
    } else if (p == event_name) {
      return true;
    }
  }
  return false;
}

inline bool RuleMatchesKey(const NotificationRule& rule, std::string_view key) {
  if (key.substr(0, rule.prefix.size()) != rule.prefix) return false;
  if (rule.suffixes.empty()) return true;
  return std::any_of(rule.suffixes.begin(), rule.suffixes.end(),
                     [&](const std::string& s) { return EndsWithIgnoreCase(key, s); });
}

// The queues (each once, in rule order) that an event about bucket/key is sent to.
inline std::vector<std::string> MatchingQueues(const std::vector<NotificationRule>& rules,
                                               std::string_view bucket, std::string_view key,
                                               std::string_view event_name) {
  std::vector<std::string> queues;
  for (const NotificationRule& rule : rules) {
    if (rule.bucket != bucket || !RuleMatchesKey(rule, key) ||
        !RuleSelectsEvent(rule, event_name)) {
      continue;
    }
    if (std::find(queues.begin(), queues.end(), rule.queue) == queues.end()) {
      queues.push_back(rule.queue);
    }
  }
  return queues;
}

// True when some key that starts with `output_prefix` could match `rule`'s prefix filter,
// i.e. one prefix is a prefix of the other. Suffixes are not considered: thumbnails carry
// image extensions, which is exactly what upload rules filter for.
inline bool RulePrefixOverlaps(const NotificationRule& rule, std::string_view output_prefix) {
  std::string_view rule_prefix = rule.prefix;
  size_t n = std::min(rule_prefix.size(), output_prefix.size());
  return rule_prefix.substr(0, n) == output_prefix.substr(0, n);
}

}  // namespace thumbflow
