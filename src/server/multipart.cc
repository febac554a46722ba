#include "server/multipart.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/disk.h"
#include "core/random.h"
#include "core/strings.h"
#include "storage/etag.h"

namespace thumbflow::server {
namespace fs = std::filesystem;
namespace {

Status IoError(const std::string& what, const std::string& path) {
  return FileError(errno, what, path);
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return IoError("open", path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return FileError(err, "fsync", path);
  return Status::Ok();
}

// A part's flexible checksum is kept beside it in "<part file name>.checksum" ("ALGORITHM
// value"), written before the part is renamed into place; none when the file is absent.
ObjectChecksum ReadPartChecksum(const std::string& part_path) {
  std::ifstream in(part_path + ".checksum", std::ios::binary);
  ObjectChecksum checksum;
  if (!(in >> checksum.algorithm >> checksum.value)) return ObjectChecksum{};
  return checksum;
}

// Parts are named "part-<5 digits>.<md5 hex>": the name carries the ETag, so a part and its
// ETag appear together with one rename.
std::map<int, PartInfo> ScanParts(const std::string& dir) {
  std::map<int, PartInfo> parts;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() != 5 + 5 + 1 + 32 || name.compare(0, 5, "part-") != 0) continue;
    int number = std::atoi(name.substr(5, 5).c_str());
    std::string md5 = name.substr(11);
    if (number < 1 || !IsLowerHex(md5)) continue;
    PartInfo info;
    info.part_number = number;
    info.etag = QuoteEtag(md5);
    info.size = static_cast<int64_t>(entry.file_size(ec));
    auto mtime = entry.last_write_time(ec);
    info.last_modified_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                                .count();
    info.checksum = ReadPartChecksum(entry.path().string());
    parts[number] = info;
  }
  return parts;
}

}  // namespace

MultipartUploads::MultipartUploads(std::string root, const Clock* clock)
    : root_(std::move(root)), clock_(clock) {}

Result<std::string> MultipartUploads::UploadDir(const std::string& upload_id) const {
  if (upload_id.size() != 32 || !IsLowerHex(upload_id)) {
    return Status(StatusCode::kNotFound, "no upload " + upload_id.substr(0, 40),
                  Reason::kNoSuchUpload);
  }
  std::string dir = root_ + "/" + upload_id;
  if (!fs::exists(dir + "/upload.json")) {
    return Status(StatusCode::kNotFound, "no upload " + upload_id, Reason::kNoSuchUpload);
  }
  return dir;
}

Result<std::string> MultipartUploads::Create(const std::string& bucket, const std::string& key,
                                             const PutOptions& options,
                                             const std::string& initiator) {
  std::string id = RandomHex(16);
  std::string dir = root_ + "/" + id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError("create " + dir + ": " + ec.message());
  nlohmann::json doc = {{"bucket", bucket},
                        {"key", key},
                        {"content_type", options.content_type},
                        {"metadata", options.metadata},
                        {"headers", options.headers},
                        {"tags", options.tags},
                        {"acl", options.acl},
                        {"initiated_ms", clock_->NowMillis()},
                        {"initiator", initiator},
                        {"checksum_algorithm", options.checksum.algorithm},
                        {"checksum_type", options.checksum.type}};
  std::string tmp = dir + "/upload.json.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << doc.dump();
    if (!out) return InternalError("write " + tmp);
  }
  RETURN_IF_ERROR(FsyncPath(tmp, false));
  fs::rename(tmp, dir + "/upload.json", ec);
  if (ec) return InternalError("rename " + tmp + ": " + ec.message());
  RETURN_IF_ERROR(FsyncPath(dir, true));
  return id;
}

namespace {

// The string members of the object doc[name], if it is one.
void ReadStringMap(const nlohmann::json& doc, const char* name,
                   std::map<std::string, std::string>* out) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_object()) return;
  for (auto& [k, v] : it->items()) {
    if (v.is_string()) (*out)[k] = v.get<std::string>();
  }
}

}  // namespace

Result<UploadInfo> MultipartUploads::Get(const std::string& upload_id) const {
  ASSIGN_OR_RETURN(std::string dir, UploadDir(upload_id));
  std::ifstream in(dir + "/upload.json", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InternalError("upload " + upload_id + ": unreadable upload.json");
  }
  UploadInfo info;
  info.upload_id = upload_id;
  info.bucket = doc.value("bucket", "");
  info.key = doc.value("key", "");
  info.options.content_type = doc.value("content_type", "");
  ReadStringMap(doc, "metadata", &info.options.metadata);
  ReadStringMap(doc, "headers", &info.options.headers);
  ReadStringMap(doc, "tags", &info.options.tags);
  if (doc.contains("acl") && doc["acl"].is_string())
    info.options.acl = doc["acl"].get<std::string>();
  info.initiated_ms = doc.value("initiated_ms", int64_t{0});
  info.initiator = doc.value("initiator", "");
  info.options.checksum.algorithm = doc.value("checksum_algorithm", "");
  info.options.checksum.type = doc.value("checksum_type", "");
  return info;
}

Result<PartInfo> MultipartUploads::AddPart(const std::string& upload_id, int part_number,
                                           const StagedFile& file, const ObjectChecksum& checksum) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::string dir, UploadDir(upload_id));
  std::string md5 = UnquoteEtag(file.etag);
  char name[64];
  std::snprintf(name, sizeof(name), "part-%05d.", part_number);
  std::string target = dir + "/" + name + md5;
  std::map<int, PartInfo> existing = ScanParts(dir);
  std::error_code ec;
  // The checksum first: the part, once renamed, is never seen without it.
  const std::string checksum_path = target + ".checksum";
  if (checksum.empty()) {
    fs::remove(checksum_path, ec);
  } else {
    const std::string tmp = checksum_path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << checksum.algorithm << ' ' << checksum.value << '\n';
      if (!out) return InternalError("write " + tmp);
    }
    fs::rename(tmp, checksum_path, ec);
    if (ec) return InternalError("rename " + tmp + ": " + ec.message());
  }
  fs::rename(file.path, target, ec);
  if (ec) return InternalError("rename part to " + target + ": " + ec.message());
  auto old = existing.find(part_number);
  if (old != existing.end() && old->second.etag != file.etag) {
    const std::string old_path = dir + "/" + name + UnquoteEtag(old->second.etag);
    fs::remove(old_path, ec);
    fs::remove(old_path + ".checksum", ec);
  }
  RETURN_IF_ERROR(FsyncPath(dir, true));
  PartInfo info;
  info.part_number = part_number;
  info.etag = file.etag;
  info.size = file.size;
  info.last_modified_ms = clock_->NowMillis();
  info.checksum = checksum;
  return info;
}

Result<std::vector<UploadInfo>> MultipartUploads::List(const std::string& bucket) const {
  std::vector<UploadInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    Result<UploadInfo> info = Get(entry.path().filename().string());
    if (info.ok() && info->bucket == bucket) out.push_back(std::move(*info));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return InternalError("list " + root_ + ": " + ec.message());
  }
  std::sort(out.begin(), out.end(), [](const UploadInfo& a, const UploadInfo& b) {
    return std::tie(a.key, a.initiated_ms, a.upload_id) <
           std::tie(b.key, b.initiated_ms, b.upload_id);
  });
  return out;
}

Result<std::vector<PartInfo>> MultipartUploads::ListParts(const std::string& upload_id) const {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::string dir, UploadDir(upload_id));
  std::vector<PartInfo> out;
  for (auto& [n, info] : ScanParts(dir)) out.push_back(info);
  return out;
}

Result<MultipartUploads::ResolvedParts> MultipartUploads::Resolve(
    const std::string& upload_id, const std::vector<std::pair<int, std::string>>& parts,
    int64_t min_part_bytes) const {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::string dir, UploadDir(upload_id));
  if (parts.empty()) {
    return Status(StatusCode::kInvalidArgument, "no parts given", "MalformedXML");
  }
  std::map<int, PartInfo> have = ScanParts(dir);
  ResolvedParts out;
  int previous = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& [number, etag] = parts[i];
    if (number <= previous) {
      return Status(StatusCode::kInvalidArgument, "parts are not in ascending order",
                    "InvalidPartOrder");
    }
    previous = number;
    auto it = have.find(number);
    if (it == have.end() || UnquoteEtag(it->second.etag) != UnquoteEtag(etag)) {
      return Status(StatusCode::kInvalidArgument,
                    "part " + std::to_string(number) + " was not uploaded with that ETag",
                    "InvalidPart");
    }
    if (i + 1 < parts.size() && it->second.size < min_part_bytes) {
      return Status(StatusCode::kInvalidArgument,
                    "part " + std::to_string(number) + " is smaller than the minimum part size",
                    "EntityTooSmall");
    }
    char name[64];
    std::snprintf(name, sizeof(name), "/part-%05d.", number);
    out.paths.push_back(dir + name + UnquoteEtag(it->second.etag));
    out.etags.push_back(it->second.etag);
    out.checksums.push_back(it->second.checksum);
  }
  return out;
}

Status MultipartUploads::Remove(const std::string& upload_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::string dir, UploadDir(upload_id));
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return InternalError("remove " + dir + ": " + ec.message());
  return Status::Ok();
}

Result<int> MultipartUploads::SweepAbandoned(int64_t max_age_ms, bool if_due) {
  if (max_age_ms <= 0) return 0;
  std::lock_guard lock(mu_);
  const int64_t now = clock_->NowMillis();
  const int64_t interval = std::min<int64_t>(max_age_ms / 10, int64_t{3600} * 1000);
  if (if_due && now - last_sweep_ms_ < interval) return 0;
  last_sweep_ms_ = now;
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string id = entry.path().filename().string();
    if (id.size() != 32 || !IsLowerHex(id)) continue;
    std::ifstream in(entry.path() / "upload.json", std::ios::binary);
    if (!in) continue;  // completed (completed.json) or being created
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (!doc.is_object()) continue;
    const int64_t initiated = doc.value("initiated_ms", now);
    if (now - initiated <= max_age_ms) continue;
    std::error_code removing;
    fs::remove_all(entry.path(), removing);
    if (!removing) ++removed;
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return InternalError("sweep " + root_ + ": " + ec.message());
  }
  return removed;
}

namespace {

constexpr int64_t kCompletedRecordMs = 24 * 3600 * 1000;

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

}  // namespace

Status MultipartUploads::MarkCompleted(const std::string& upload_id, const std::string& etag,
                                       const ObjectChecksum& checksum) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::string dir, UploadDir(upload_id));
  nlohmann::json doc = ReadJson(dir + "/upload.json");
  if (doc.is_discarded() || !doc.is_object()) {
    return InternalError("upload " + upload_id + ": unreadable upload.json");
  }
  doc["etag"] = etag;
  doc["checksum_value"] = checksum.value;
  if (!checksum.empty()) {
    doc["checksum_algorithm"] = checksum.algorithm;
    doc["checksum_type"] = checksum.type;
  }
  doc["completed_ms"] = clock_->NowMillis();
  std::string tmp = dir + "/completed.json.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << doc.dump();
    if (!out) return InternalError("write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, dir + "/completed.json", ec);
  if (ec) return InternalError("rename " + tmp + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename() != "completed.json") fs::remove(entry.path(), ec);
  }
  // Sweep the records of uploads completed more than a day ago (no retry comes that late).
  const int64_t now = clock_->NowMillis();
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    std::string record = entry.path().string() + "/completed.json";
    if (!fs::exists(record)) continue;
    nlohmann::json old = ReadJson(record);
    if (old.is_object() && now - old.value("completed_ms", now) > kCompletedRecordMs) {
      fs::remove_all(entry.path(), ec);
    }
  }
  return Status::Ok();
}

Result<std::string> MultipartUploads::CompletedEtag(const std::string& upload_id,
                                                    const std::string& bucket,
                                                    const std::string& key,
                                                    ObjectChecksum* checksum) const {
  Status missing(StatusCode::kNotFound, "no upload " + upload_id.substr(0, 40),
                 Reason::kNoSuchUpload);
  if (upload_id.size() != 32 || !IsLowerHex(upload_id)) return missing;
  nlohmann::json doc = ReadJson(root_ + "/" + upload_id + "/completed.json");
  if (doc.is_discarded() || !doc.is_object() || doc.value("bucket", "") != bucket ||
      doc.value("key", "") != key || !doc.contains("etag")) {
    return missing;
  }
  if (checksum && !doc.value("checksum_value", "").empty()) {
    *checksum = ObjectChecksum{doc.value("checksum_algorithm", ""), doc.value("checksum_value", ""),
                               doc.value("checksum_type", "")};
  }
  return doc.value("etag", "");
}

}  // namespace thumbflow::server
