#include "server/s3_object_lock.h"

#include <pugixml.hpp>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "core/civil_time.h"
#include "core/digest.h"
#include "core/disk.h"
#include "core/strings.h"
#include "server/s3_policy.h"
#include "server/s3_request.h"

namespace thumbflow::server {
namespace {

Status Malformed(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "MalformedXML");
}

Status Invalid(std::string_view code, std::string message) {
  return S3Status(StatusCode::kInvalidArgument, code, std::move(message));
}

bool IsMode(std::string_view mode) { return mode == kLockGovernance || mode == kLockCompliance; }

// A decimal integer (negative ones too: S3 calls them an invalid period, not malformed).
int PositiveInt(std::string_view text, bool* malformed) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    *malformed = true;
    return 0;
  }
  return value;
}

std::string Ns() { return std::string(" xmlns=\"") + kS3XmlNamespace + "\""; }

}  // namespace

Result<ObjectLockConfiguration> ParseObjectLockConfigurationXml(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return Malformed("the body is not XML");
  pugi::xml_node root = doc.child("ObjectLockConfiguration");
  if (!root) return Malformed("the root element is not ObjectLockConfiguration");
  // S3 accepts only Enabled: object lock cannot be turned off.
  if (std::string_view(root.child_value("ObjectLockEnabled")) != "Enabled") {
    return Malformed("ObjectLockEnabled must be Enabled");
  }
  ObjectLockConfiguration configuration;
  pugi::xml_node rule = root.child("Rule");
  if (!rule) return configuration;
  pugi::xml_node retention = rule.child("DefaultRetention");
  if (!retention) return Malformed("Rule needs a DefaultRetention");
  ObjectLockRule parsed;
  parsed.mode = retention.child_value("Mode");
  if (!IsMode(parsed.mode)) return Malformed("Mode must be GOVERNANCE or COMPLIANCE");
  pugi::xml_node days = retention.child("Days");
  pugi::xml_node years = retention.child("Years");
  if (static_cast<bool>(days) == static_cast<bool>(years)) {
    return Malformed("DefaultRetention takes exactly one of Days and Years");
  }
  bool malformed = false;
  int value = PositiveInt(days ? days.child_value() : years.child_value(), &malformed);
  if (malformed) return Malformed("Days and Years are integers");
  if (value <= 0) {
    return Invalid("InvalidRetentionPeriod", "Default retention period must be a positive value.");
  }
  // S3's limits: 36500 days or 100 years.
  if ((days && value > 36500) || (years && value > 100)) {
    return Invalid("InvalidRetentionPeriod",
                   "Default retention period is too large. It must not exceed 100 years.");
  }
  (days ? parsed.days : parsed.years) = value;
  configuration.rule = parsed;
  return configuration;
}

std::string ObjectLockConfigurationXml(const ObjectLockConfiguration& configuration) {
  std::string xml =
      "<ObjectLockConfiguration" + Ns() + "><ObjectLockEnabled>Enabled</ObjectLockEnabled>";
  if (const auto& rule = configuration.rule) {
    xml += "<Rule><DefaultRetention><Mode>" + rule->mode + "</Mode>";
    xml += rule->days > 0 ? "<Days>" + std::to_string(rule->days) + "</Days>"
                          : "<Years>" + std::to_string(rule->years) + "</Years>";
    xml += "</DefaultRetention></Rule>";
  }
  return xml + "</ObjectLockConfiguration>";
}

Result<std::optional<ObjectLockConfiguration>> BucketConfiguration(const BucketInfo& bucket) {
  if (bucket.object_lock.empty()) return std::optional<ObjectLockConfiguration>();
  Result<ObjectLockConfiguration> parsed = ParseObjectLockConfigurationXml(bucket.object_lock);
  if (!parsed.ok()) {
    return InternalError("the stored object lock configuration of bucket " + bucket.name +
                         " does not parse: " + parsed.status().message());
  }
  return std::optional<ObjectLockConfiguration>(*parsed);
}

Result<VersionLock> ParseRetentionXml(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return Malformed("the body is not XML");
  pugi::xml_node root = doc.child("Retention");
  if (!root) return Malformed("the root element is not Retention");
  VersionLock lock;
  pugi::xml_node mode = root.child("Mode");
  pugi::xml_node until = root.child("RetainUntilDate");
  if (!mode && !until) return lock;  // removes the retention (GOVERNANCE with bypass only)
  if (!mode || !until) return Malformed("Retention takes both Mode and RetainUntilDate");
  lock.mode = mode.child_value();
  if (!IsMode(lock.mode)) return Malformed("Mode must be GOVERNANCE or COMPLIANCE");
  Result<int64_t> date = ParseIso8601Millis(until.child_value());
  if (!date.ok()) return Malformed("RetainUntilDate is not an ISO 8601 date");
  lock.retain_until_ms = *date;
  return lock;
}

std::string RetentionXml(const VersionLock& lock) {
  return "<Retention" + Ns() + "><Mode>" + lock.mode + "</Mode><RetainUntilDate>" +
         FormatIso8601Millis(lock.retain_until_ms) + "</RetainUntilDate></Retention>";
}

Result<bool> ParseLegalHoldXml(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return Malformed("the body is not XML");
  std::string_view status = doc.child("LegalHold").child_value("Status");
  if (status != "ON" && status != "OFF") return Malformed("Status must be ON or OFF");
  return status == "ON";
}

std::string LegalHoldXml(bool on) {
  return "<LegalHold" + Ns() + "><Status>" + (on ? "ON" : "OFF") + "</Status></LegalHold>";
}

Result<std::optional<VersionLock>> LockFromHeaders(
    const HttpRequestHead& head, const std::optional<ObjectLockConfiguration>& configuration,
    int64_t now_ms) {
  const std::string* mode = head.Header("x-amz-object-lock-mode");
  const std::string* until = head.Header("x-amz-object-lock-retain-until-date");
  const std::string* hold = head.Header("x-amz-object-lock-legal-hold");
  if (!mode && !until && !hold) {
    if (!configuration || !configuration->rule) return std::optional<VersionLock>();
    const ObjectLockRule& rule = *configuration->rule;
    VersionLock lock;
    lock.mode = rule.mode;
    constexpr int64_t kDayMs = 86400000;
    if (rule.days > 0) {
      lock.retain_until_ms = now_ms + rule.days * kDayMs;
    } else {
      // Years are calendar years: the same date and time `years` later.
      CivilTime t = CivilFromMillis(now_ms);
      lock.retain_until_ms =
          UtcMillis(static_cast<int>(t.year) + rule.years, static_cast<int>(t.month),
                    static_cast<int>(t.day), t.hour, t.minute, t.second) +
          t.millis;
    }
    return std::optional<VersionLock>(lock);
  }
  if (!configuration) {
    return Invalid("InvalidRequest", "Bucket is missing Object Lock Configuration");
  }
  if (static_cast<bool>(mode) != static_cast<bool>(until)) {
    return Invalid("InvalidArgument",
                   "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
                   "supplied");
  }
  VersionLock lock;
  if (mode) {
    if (!IsMode(*mode)) return Invalid("InvalidArgument", "Unknown wormMode directive.");
    Result<int64_t> date = ParseIso8601Millis(*until);
    if (!date.ok()) {
      return Invalid("InvalidArgument",
                     "The retain until date must be provided in ISO 8601 format");
    }
    if (*date <= now_ms) {
      return Invalid("InvalidArgument", "The retain until date must be in the future!");
    }
    lock.mode = *mode;
    lock.retain_until_ms = *date;
  } else if (configuration->rule) {
    // A legal hold alone: the bucket's default retention still applies.
    Result<std::optional<VersionLock>> by_default = LockFromHeaders({}, configuration, now_ms);
    if (by_default.ok() && *by_default) lock = **by_default;
  }
  if (hold) {
    if (*hold != "ON" && *hold != "OFF") {
      return Invalid("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'");
    }
    lock.legal_hold = *hold == "ON";
    lock.legal_hold_set = true;
  }
  return std::optional<VersionLock>(lock);
}

bool HasLockHeaders(const HttpRequestHead& head) {
  return head.Header("x-amz-object-lock-mode") ||
         head.Header("x-amz-object-lock-retain-until-date") ||
         head.Header("x-amz-object-lock-legal-hold");
}

void AddLockHeaders(HeaderList& headers, const VersionLock& lock) {
  if (lock.has_retention()) {
    headers.emplace_back("x-amz-object-lock-mode", lock.mode);
    headers.emplace_back("x-amz-object-lock-retain-until-date",
                         FormatIso8601Millis(lock.retain_until_ms));
  }
  if (lock.legal_hold_set) {
    headers.emplace_back("x-amz-object-lock-legal-hold", lock.legal_hold ? "ON" : "OFF");
  }
}

// ---- ObjectLockStore ----------------------------------------------------------------------

std::string ObjectLockStore::BucketDir(const BucketInfo& bucket) const {
  return root_ + "/" + bucket.name + "@" +
         std::to_string(bucket.created_ms);  // '@' never in a name
}

std::string ObjectLockStore::UploadPath(const BucketInfo& bucket,
                                        const std::string& upload_id) const {
  return BucketDir(bucket) + "/uploads/" + Sha256Hex(upload_id);
}

// A lock file: "<mode or ->\n<retain_until_ms>\n<legal hold: 0 never put, 1 ON, 2 OFF>\n".
Result<std::optional<VersionLock>> ObjectLockStore::ReadLock(const std::string& path) {
  ASSIGN_OR_RETURN(std::optional<std::string> text, ReadFileIfPresent(path));
  if (!text) return std::optional<VersionLock>();
  char mode[16] = {0};
  long long until = 0;
  int hold = 0;
  if (std::sscanf(text->c_str(), "%15[A-Z-]\n%lld\n%d", mode, &until, &hold) != 3) {
    return InternalError("the object lock file " + path + " does not parse");
  }
  VersionLock lock;
  lock.mode = std::string(mode) == "-" ? "" : mode;
  lock.retain_until_ms = until;
  lock.legal_hold = hold == 1;
  lock.legal_hold_set = hold != 0;
  return std::optional<VersionLock>(lock);
}

Status ObjectLockStore::WriteLock(const std::string& folder, const std::string& path,
                                  const VersionLock& lock) {
  std::string text = (lock.has_retention() ? lock.mode : std::string("-")) + "\n" +
                     std::to_string(lock.retain_until_ms) + "\n" +
                     (!lock.legal_hold_set ? "0"
                      : lock.legal_hold    ? "1"
                                           : "2") +
                     "\n";
  return ReplaceFileDurably(folder, path, text);
}

namespace {

Status RemoveFile(const std::string& path) {
  if (::remove(path.c_str()) != 0 && errno != ENOENT) return FileError(errno, "remove", path);
  return Status::Ok();
}

}  // namespace

Result<std::optional<VersionLock>> ObjectLockStore::GetUpload(const BucketInfo& bucket,
                                                              const std::string& upload_id) const {
  return ReadLock(UploadPath(bucket, upload_id));
}

Status ObjectLockStore::PutUpload(const BucketInfo& bucket, const std::string& upload_id,
                                  const std::optional<VersionLock>& lock) {
  const std::string path = UploadPath(bucket, upload_id);
  if (!lock) return RemoveFile(path);
  return WriteLock(BucketDir(bucket) + "/uploads", path, *lock);
}

Status ObjectLockStore::DeleteAll(const std::string& bucket) {
  std::error_code ec;
  std::filesystem::directory_iterator it(root_, ec);
  if (ec) {
    return ec == std::errc::no_such_file_or_directory ? Status::Ok()
                                                      : FileError(ec.value(), "list", root_);
  }
  const std::string prefix = bucket + "@";
  for (const auto& entry : it) {
    if (!entry.path().filename().string().starts_with(prefix)) continue;
    std::filesystem::remove_all(entry.path(), ec);
    if (ec) return FileError(ec.value(), "remove", entry.path().string());
  }
  return Status::Ok();
}

Status ObjectLockStore::MoveIntoStore(StreamingObjectStore& store) {
  std::error_code ec;
  std::filesystem::directory_iterator it(root_, ec);
  if (ec) {
    return ec == std::errc::no_such_file_or_directory ? Status::Ok()
                                                      : FileError(ec.value(), "list", root_);
  }
  std::vector<std::string> folders;
  for (const auto& entry : it) {
    if (entry.is_directory()) folders.push_back(entry.path().filename().string());
  }
  for (const std::string& folder : folders) {
    Status moved = MoveBucketIntoStore(store, folder);
    if (!moved.ok()) {
      return moved.WithContext("move the object locks of " + root_ + "/" + folder +
                               " into the store");
    }
  }
  return Status::Ok();
}

Status ObjectLockStore::MoveBucketIntoStore(StreamingObjectStore& store,
                                            const std::string& folder) {
  const std::string dir = root_ + "/" + folder;
  const std::string configuration_path = dir + "/configuration.xml";
  const std::string versions_dir = dir + "/versions";
  // The bucket the folder is of, when it still exists (not deleted and made again since).
  std::optional<BucketInfo> bucket;
  const size_t at = folder.rfind('@');
  if (at != std::string::npos) {
    Result<BucketInfo> info = store.GetBucket(folder.substr(0, at));
    if (!info.ok() && info.status().code() != StatusCode::kNotFound) return info.status();
    if (info.ok() && folder.substr(at + 1) == std::to_string(info->created_ms)) bucket = *info;
  }
  if (bucket) {
    ASSIGN_OR_RETURN(std::optional<std::string> text, ReadFileIfPresent(configuration_path));
    if (text) {
      Result<ObjectLockConfiguration> parsed = ParseObjectLockConfigurationXml(*text);
      if (!parsed.ok()) {
        return InternalError(configuration_path + " does not parse: " + parsed.status().message());
      }
      RETURN_IF_ERROR(store.PutBucketObjectLock(bucket->name, ObjectLockConfigurationXml(*parsed)));
    }
    // The files name a version by the SHA-256 of its key: every version of the bucket is
    // looked for.
    std::error_code ec;
    if (std::filesystem::is_directory(versions_dir, ec)) {
      ListVersionsOptions options;
      while (true) {
        ASSIGN_OR_RETURN(ListVersionsResult page, store.ListVersions(bucket->name, options));
        for (const ObjectInfo& version : page.versions) {
          if (version.delete_marker) continue;
          const std::string path =
              versions_dir + "/" + Sha256Hex(version.key) + "." + version.version_id;
          ASSIGN_OR_RETURN(std::optional<VersionLock> lock, ReadLock(path));
          if (!lock) continue;
          Result<ObjectInfo> set = store.UpdateVersionLock(
              bucket->name, version.key, version.version_id, [&](ObjectLock& stored) {
                stored = *lock;
                return Status::Ok();
              });
          // Deleted meanwhile (no request runs yet: only by another process): nothing to lock.
          if (!set.ok() && set.status().code() != StatusCode::kNotFound) return set.status();
        }
        if (!page.truncated) break;
        options.key_marker = page.next_key_marker;
        options.version_id_marker = page.next_version_id_marker;
      }
    }
  }
  // Everything is in the store (or of no bucket or version any more): the files go, the
  // configuration last, so that a crash before it leaves the folder to be moved again.
  std::error_code ec;
  std::filesystem::remove_all(versions_dir, ec);
  if (ec) return FileError(ec.value(), "remove", versions_dir);
  RETURN_IF_ERROR(RemoveFile(configuration_path));
  // The folder stays while it holds upload locks.
  std::filesystem::remove(dir, ec);
  return Status::Ok();
}

}  // namespace thumbflow::server
