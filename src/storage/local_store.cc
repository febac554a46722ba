#include "storage/local_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/disk.h"
#include "core/random.h"
#include "core/strings.h"
#include "sqlite/database.h"
#include "storage/keys.h"
#include "storage/s3_semantics.h"

namespace thumbflow {
namespace {

// Bytes of a streamed upload after which their writeback is started (see LocalUpload).
constexpr int64_t kWritebackBytes = int64_t{1} << 20;

bool IsBlobName(std::string_view name) { return name.size() == 32 && IsLowerHex(name); }

Status WriteAll(int fd, std::string_view bytes, std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FileError(errno, "write", what);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FileError(errno, "open folder", path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return FileError(err, "fsync folder", path);
  return Status::Ok();
}

// User metadata and tags are kept as JSON objects of strings.
std::string EncodeJsonMap(const std::map<std::string, std::string>& map) {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, value] : map) doc[name] = value;
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::map<std::string, std::string> DecodeJsonMap(const std::string& text) {
  std::map<std::string, std::string> out;
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

const std::vector<std::string> kSchema = {
    "CREATE TABLE store_buckets("
    "  name TEXT PRIMARY KEY,"
    "  created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE store_objects("
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  blob TEXT NOT NULL,"  // file name under objects/XX/
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"  // quoted, as S3 writes it
    "  content_type TEXT NOT NULL,"
    "  metadata TEXT NOT NULL,"  // JSON object of user metadata
    "  last_modified_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(bucket, key)) WITHOUT ROWID;"
    "CREATE TABLE store_counters("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL) WITHOUT ROWID;",
    // The standard headers stored with an object (kStoredHeaderNames), a JSON object.
    "ALTER TABLE store_objects ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';",
    // Bucket owners (the S3 endpoint's users; '' the first) and object tags (JSON object).
    "ALTER TABLE store_buckets ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_objects ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';",
    // Access control lists of buckets and objects, as the S3 endpoint encodes them ('': the
    // default, the bucket owner's FULL_CONTROL).
    "ALTER TABLE store_buckets ADD COLUMN acl TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_objects ADD COLUMN acl TEXT NOT NULL DEFAULT '';",
    // S3 versioning. A bucket's versioning ('', 'Enabled', 'Suspended'). store_objects keeps
    // each key's latest version when it is an object (rows written before versioning are the
    // "null" version, seq 0); store_versions every other version and every delete marker.
    // seq orders the versions of a key (newest highest): a key's store_objects row, when it
    // has one, always has the highest seq of the key.
    "ALTER TABLE store_buckets ADD COLUMN versioning TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_objects ADD COLUMN version_id TEXT NOT NULL DEFAULT 'null';"
    "ALTER TABLE store_objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE store_versions("
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  version_id TEXT NOT NULL,"
    "  delete_marker INTEGER NOT NULL,"  // 1: a delete marker (blob '', size 0, etag '')
    "  blob TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  metadata TEXT NOT NULL,"
    "  last_modified_ms INTEGER NOT NULL,"
    "  headers TEXT NOT NULL,"
    "  tags TEXT NOT NULL,"
    "  acl TEXT NOT NULL,"
    "  PRIMARY KEY(bucket, key, seq DESC)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX store_versions_by_id ON store_versions(bucket, key, version_id);",
    // S3 flexible checksums (EncodeChecksum, '' none) and a multipart upload's parts
    // (EncodeParts, '' for other objects) of every version. Rows written before have neither.
    "ALTER TABLE store_objects ADD COLUMN checksum TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_objects ADD COLUMN parts TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_versions ADD COLUMN checksum TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_versions ADD COLUMN parts TEXT NOT NULL DEFAULT '';",
    // S3 Object Lock, committed with the version it protects: each version's retention
    // (lock_mode '' none, else GOVERNANCE or COMPLIANCE, until lock_until_ms) and legal hold
    // (LegalHoldColumn: 0 never put, 1 ON, 2 OFF); each bucket's lock configuration as the S3
    // endpoint encodes it ('' none). Until this migration the endpoint kept them in files
    // (server/s3_object_lock.h moves those in).
    "ALTER TABLE store_objects ADD COLUMN lock_mode TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_objects ADD COLUMN lock_until_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE store_objects ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE store_versions ADD COLUMN lock_mode TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE store_versions ADD COLUMN lock_until_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE store_versions ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE store_buckets ADD COLUMN object_lock TEXT NOT NULL DEFAULT '';",
};

// The columns a version row shares between store_objects and store_versions.
constexpr char kVersionRowColumns[] =
    "bucket, key, seq, version_id, blob, size, etag, content_type, metadata, last_modified_ms, "
    "headers, tags, acl, checksum, parts, lock_mode, lock_until_ms, legal_hold";

constexpr char kObjectColumns[] =
    "o.blob, o.size, o.etag, o.content_type, o.metadata, o.last_modified_ms, o.headers, o.tags, "
    "o.acl, o.checksum, o.parts, o.lock_mode, o.lock_until_ms, o.legal_hold";

// ObjectLock's legal hold in the column legal_hold: 0 never put, 1 ON, 2 OFF.
int64_t LegalHoldColumn(const ObjectLock& lock) {
  return !lock.legal_hold_set ? 0 : lock.legal_hold ? 1 : 2;
}

// The lock columns (lock_mode, lock_until_ms, legal_hold) of `row`, from `first` on.
ObjectLock ReadLockColumns(const sqlite::Statement& row, int first) {
  ObjectLock lock;
  lock.mode = row.ColumnText(first);
  lock.retain_until_ms = row.ColumnInt(first + 1);
  const int64_t hold = row.ColumnInt(first + 2);
  lock.legal_hold = hold == 1;
  lock.legal_hold_set = hold != 0;
  return lock;
}

// ObjectInfo::checksum as a JSON object {"algorithm", "value", "type"}; '' when there is none.
std::string EncodeChecksum(const ObjectChecksum& checksum) {
  if (checksum.empty()) return std::string();
  nlohmann::json doc = {
      {"algorithm", checksum.algorithm}, {"value", checksum.value}, {"type", checksum.type}};
  return doc.dump();
}

ObjectChecksum DecodeChecksum(const std::string& text) {
  ObjectChecksum checksum;
  if (text.empty()) return checksum;
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return checksum;
  checksum.algorithm = doc.value("algorithm", "");
  checksum.value = doc.value("value", "");
  checksum.type = doc.value("type", "");
  return checksum;
}

// ObjectInfo::parts as a JSON array of [part number, size, checksum]; '' when there are none.
std::string EncodeParts(const std::vector<ObjectPart>& parts) {
  if (parts.empty()) return std::string();
  nlohmann::json doc = nlohmann::json::array();
  for (const ObjectPart& part : parts) doc.push_back({part.part_number, part.size, part.checksum});
  return doc.dump();
}

std::vector<ObjectPart> DecodeParts(const std::string& text) {
  std::vector<ObjectPart> parts;
  if (text.empty()) return parts;
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array()) return parts;
  for (const nlohmann::json& entry : doc) {
    if (!entry.is_array() || entry.size() != 3 || !entry[0].is_number_integer() ||
        !entry[1].is_number_integer() || !entry[2].is_string()) {
      return {};  // a damaged list: the object is served whole, as one without parts
    }
    parts.push_back(
        ObjectPart{entry[0].get<int>(), entry[1].get<int64_t>(), entry[2].get<std::string>()});
  }
  return parts;
}

// Within a store transaction: whether `bucket` exists.
Result<bool> BucketExists(sqlite::Transaction& tx, const std::string& bucket) {
  ASSIGN_OR_RETURN(sqlite::Statement * row,
                   tx.Prepare("SELECT 1 FROM store_buckets WHERE name = ?1"));
  row->Bind(1, bucket);
  return row->Step();
}

// Within a store transaction: the bucket's versioning ('' never configured, "Enabled",
// "Suspended"); NotFound (reason "no-such-bucket") when the bucket is missing.
Result<std::string> BucketVersioning(sqlite::Transaction& tx, const std::string& bucket) {
  ASSIGN_OR_RETURN(sqlite::Statement * row,
                   tx.Prepare("SELECT versioning FROM store_buckets WHERE name = ?1"));
  row->Bind(1, bucket);
  ASSIGN_OR_RETURN(bool found, row->Step());
  if (!found) return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
  return row->ColumnText(0);
}

// What a write or delete replaces: the blob file that holds `key` now, its ETag and version.
struct CurrentObject {
  std::string blob;
  std::string etag;
  std::string version_id;
  int64_t size = 0;
  int64_t last_modified_ms = 0;
  ObjectLock lock;

  DeleteTarget target() const { return DeleteTarget{etag, size, last_modified_ms}; }
};

// Within a store transaction: the object under `key` now; nullopt when absent.
Result<std::optional<CurrentObject>> FindCurrent(sqlite::Transaction& tx, const std::string& bucket,
                                                 const std::string& key) {
  ASSIGN_OR_RETURN(sqlite::Statement * row,
                   tx.Prepare("SELECT blob, etag, version_id, size, last_modified_ms, "
                              "lock_mode, lock_until_ms, legal_hold "
                              "FROM store_objects WHERE bucket = ?1 AND key = ?2"));
  row->Bind(1, bucket).Bind(2, key);
  ASSIGN_OR_RETURN(bool found, row->Step());
  if (!found) return std::optional<CurrentObject>();
  return std::optional<CurrentObject>(CurrentObject{row->ColumnText(0), row->ColumnText(1),
                                                    row->ColumnText(2), row->ColumnInt(3),
                                                    row->ColumnInt(4), ReadLockColumns(*row, 5)});
}

// FailedPrecondition (reason "object-locked") while `lock` protects its version from a delete
// at `now_ms`.
Status CheckUnlocked(const ObjectLock& lock, int64_t now_ms, bool bypass_governance,
                     const std::string& what) {
  if (!lock.Protects(now_ms, bypass_governance)) return Status::Ok();
  return FailedPreconditionError(what + ": the version is protected by object lock (" +
                                 (lock.legal_hold ? std::string("a legal hold") : lock.mode) + ")")
      .WithReason(Reason::kObjectLocked);
}

// A new version's id: 32 hex digits (never "null").
std::string NewVersionId() { return RandomHex(16); }  // IsWellFormedVersionId

// Within a store transaction: the seq a new version of `key` takes (above every version's).
Result<int64_t> NextSeq(sqlite::Transaction& tx, const std::string& bucket,
                        const std::string& key) {
  ASSIGN_OR_RETURN(
      sqlite::Statement * row,
      tx.Prepare("SELECT MAX(m) FROM ("
                 "SELECT MAX(seq) AS m FROM store_objects WHERE bucket = ?1 AND key = ?2 "
                 "UNION ALL "
                 "SELECT MAX(seq) FROM store_versions WHERE bucket = ?1 AND key = ?2)"));
  row->Bind(1, bucket).Bind(2, key);
  ASSIGN_OR_RETURN(bool found, row->Step());
  if (!found || row->ColumnIsNull(0)) return int64_t{1};
  return row->ColumnInt(0) + 1;
}

// Within a store transaction: the key's latest version (its store_objects row) becomes a
// noncurrent one, its file kept.
Status MoveCurrentToVersions(sqlite::Transaction& tx, const std::string& bucket,
                             const std::string& key) {
  ASSIGN_OR_RETURN(sqlite::Statement * copy,
                   tx.Prepare(std::string("INSERT INTO store_versions(delete_marker, ") +
                              kVersionRowColumns + ") SELECT 0, " + kVersionRowColumns +
                              " FROM store_objects WHERE bucket = ?1 AND key = ?2"));
  copy->Bind(1, bucket).Bind(2, key);
  RETURN_IF_ERROR(copy->Run());
  ASSIGN_OR_RETURN(sqlite::Statement * remove,
                   tx.Prepare("DELETE FROM store_objects WHERE bucket = ?1 AND key = ?2"));
  remove->Bind(1, bucket).Bind(2, key);
  return remove->Run();
}

// Within a store transaction: removes the noncurrent "null" version of `key`, if any, adding
// its file (a delete marker has none) to `removed_blobs`.
Status RemoveNoncurrentNull(sqlite::Transaction& tx, const std::string& bucket,
                            const std::string& key, std::vector<std::string>* removed_blobs) {
  ASSIGN_OR_RETURN(sqlite::Statement * find,
                   tx.Prepare("SELECT blob FROM store_versions "
                              "WHERE bucket = ?1 AND key = ?2 AND version_id = 'null'"));
  find->Bind(1, bucket).Bind(2, key);
  ASSIGN_OR_RETURN(bool found, find->Step());
  if (!found) return Status::Ok();
  std::string blob = find->ColumnText(0);
  if (IsBlobName(blob)) removed_blobs->push_back(blob);
  ASSIGN_OR_RETURN(sqlite::Statement * remove,
                   tx.Prepare("DELETE FROM store_versions "
                              "WHERE bucket = ?1 AND key = ?2 AND version_id = 'null'"));
  remove->Bind(1, bucket).Bind(2, key);
  return remove->Run();
}

// Within a store transaction, when `key` has no store_objects row (its latest version was
// removed): its newest noncurrent version becomes the latest when it is an object (not when
// it is a delete marker).
Status PromoteNewestVersion(sqlite::Transaction& tx, const std::string& bucket,
                            const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<CurrentObject> current, FindCurrent(tx, bucket, key));
  if (current) return Status::Ok();
  ASSIGN_OR_RETURN(sqlite::Statement * newest,
                   tx.Prepare("SELECT seq, delete_marker FROM store_versions "
                              "WHERE bucket = ?1 AND key = ?2 ORDER BY seq DESC LIMIT 1"));
  newest->Bind(1, bucket).Bind(2, key);
  ASSIGN_OR_RETURN(bool found, newest->Step());
  if (!found || newest->ColumnInt(1) != 0) return Status::Ok();
  const int64_t seq = newest->ColumnInt(0);
  ASSIGN_OR_RETURN(sqlite::Statement * copy,
                   tx.Prepare(std::string("INSERT INTO store_objects(") + kVersionRowColumns +
                              ") SELECT " + kVersionRowColumns +
                              " FROM store_versions WHERE bucket = ?1 AND key = ?2 AND seq = ?3"));
  copy->Bind(1, bucket).Bind(2, key).Bind(3, seq);
  RETURN_IF_ERROR(copy->Run());
  ASSIGN_OR_RETURN(
      sqlite::Statement * remove,
      tx.Prepare("DELETE FROM store_versions WHERE bucket = ?1 AND key = ?2 AND seq = ?3"));
  remove->Bind(1, bucket).Bind(2, key).Bind(3, seq);
  return remove->Run();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// LocalUpload

LocalUpload::LocalUpload(LocalObjectStore* store, std::string bucket, std::string blob,
                         std::string path, int fd, int64_t max_bytes)
    : store_(store),
      bucket_(std::move(bucket)),
      blob_(std::move(blob)),
      path_(std::move(path)),
      fd_(fd),
      max_bytes_(max_bytes) {}

LocalUpload::~LocalUpload() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

Status LocalUpload::Write(std::string_view bytes) {
  if (failed_ || fd_ < 0) return FailedPreconditionError("upload is no longer writable");
  if (size_ + static_cast<int64_t>(bytes.size()) > max_bytes_) {
    failed_ = true;
    return ResourceExhaustedError("object is larger than the " + std::to_string(max_bytes_) +
                                  " bytes the store accepts")
        .WithReason(Reason::kTooLarge);
  }
  Status written = WriteAll(fd_, bytes, "upload of bucket " + bucket_);
  if (!written.ok()) {
    failed_ = true;
    return written;
  }
  md5_.Update(bytes);
  size_ += static_cast<int64_t>(bytes.size());
  if (early_writeback_ && size_ - writeback_started_ >= kWritebackBytes) {
    // Only starts the writeback (no wait); failures surface in the fsync at commit.
    ::sync_file_range(fd_, writeback_started_, size_ - writeback_started_, SYNC_FILE_RANGE_WRITE);
    writeback_started_ = size_;
  }
  return Status::Ok();
}

Status LocalUpload::AppendFile(const std::string& path) {
  if (failed_ || fd_ < 0) return FailedPreconditionError("upload is no longer writable");
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return FileError(errno, "open part", path);
  struct stat st;
  if (::fstat(in, &st) != 0) {
    int err = errno;
    ::close(in);
    return FileError(err, "stat part", path);
  }
  if (size_ + st.st_size > max_bytes_) {
    ::close(in);
    failed_ = true;
    return ResourceExhaustedError("object is larger than the " + std::to_string(max_bytes_) +
                                  " bytes the store accepts")
        .WithReason(Reason::kTooLarge);
  }
  md5_valid_ = false;
  int64_t remaining = st.st_size;
  bool kernel_copy = true;
  std::string buffer;
  Status status;
  while (remaining > 0 && status.ok()) {
    if (kernel_copy) {
      ssize_t n = ::copy_file_range(in, nullptr, fd_, nullptr, static_cast<size_t>(remaining), 0);
      if (n > 0) {
        remaining -= n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        status = FileError(errno, "copy part", path);
        break;
      }
      if (n == 0) {
        status = DataLossError("part " + path + " ended before its size");
        break;
      }
      kernel_copy = false;  // the file system cannot: copy through user space
      buffer.resize(1 << 20);
    }
    ssize_t n = ::read(
        in, buffer.data(),
        static_cast<size_t>(std::min<int64_t>(remaining, static_cast<int64_t>(buffer.size()))));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = n < 0 ? FileError(errno, "read part", path)
                     : DataLossError("part " + path + " ended before its size");
      break;
    }
    status = WriteAll(fd_, std::string_view(buffer.data(), static_cast<size_t>(n)),
                      "upload of bucket " + bucket_);
    remaining -= n;
  }
  ::close(in);
  if (!status.ok()) {
    failed_ = true;
    return status;
  }
  size_ += st.st_size;
  return Status::Ok();
}

std::string LocalUpload::Md5Hex() {
  if (!md5_valid_) return std::string();
  if (md5_hex_.empty()) md5_hex_ = md5_.FinishHex();
  return md5_hex_;
}

Result<ObjectInfo> LocalUpload::Commit(const std::string& key, const PutOptions& options) {
  CommitOptions commit;
  commit.put = options;
  if (options.form_upload) commit.event_name = "ObjectCreated:Post";
  return Commit(key, commit);
}

Result<ObjectInfo> LocalUpload::Commit(const std::string& key, const CommitOptions& options) {
  return store_->CommitUploaded(*this, key, options);
}

// ---------------------------------------------------------------------------------------------
// LocalObjectReader

LocalObjectReader::~LocalObjectReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<size_t> LocalObjectReader::Read(char* buffer, size_t capacity) {
  int64_t left = length_ - position_;
  if (left <= 0 || capacity == 0) return size_t{0};
  size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(capacity)));
  while (true) {
    ssize_t n = ::pread(fd_, buffer, want, offset_ + position_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(errno, "read", info_.key);
    if (n == 0) return DataLossError("read " + info_.key + ": file is shorter than its index row");
    position_ += n;
    return static_cast<size_t>(n);
  }
}

// ---------------------------------------------------------------------------------------------
// LocalObjectStore

struct LocalObjectStore::Row {
  std::string blob;
  ObjectInfo info;
};

LocalObjectStore::LocalObjectStore(std::shared_ptr<sqlite::Database> db, std::string dir,
                                   LocalStoreOptions options, const Clock& clock, int lock_fd)
    : db_(std::move(db)),
      dir_(std::move(dir)),
      objects_dir_(dir_ + "/objects"),
      options_(std::move(options)),
      clock_(clock),
      lock_fd_(lock_fd) {}

LocalObjectStore::~LocalObjectStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Open(const std::string& dir,
                                                                 LocalStoreOptions options,
                                                                 const Clock& clock) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return FileError(ec.value(), "create data folder", dir);
  ASSIGN_OR_RETURN(std::shared_ptr<sqlite::Database> db,
                   sqlite::Database::Open(dir + "/thumbflow.db"));
  return Open(std::move(db), dir, std::move(options), clock);
}

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Open(
    std::shared_ptr<sqlite::Database> db, const std::string& dir, LocalStoreOptions options,
    const Clock& clock) {
  if (!options.default_bucket.empty()) RETURN_IF_ERROR(ValidateBucketName(options.default_bucket));
  if (options.max_object_bytes <= 0) {
    return InvalidArgumentError("max_object_bytes must be positive");
  }
  const std::string objects = dir + "/objects";
  std::error_code ec;
  std::filesystem::create_directories(objects, ec);
  if (ec) return FileError(ec.value(), "create folder", objects);
  const std::string lock_path = objects + "/.lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return FileError(errno, "open", lock_path);
  std::unique_ptr<LocalObjectStore> store(
      new LocalObjectStore(std::move(db), dir, std::move(options), clock, lock_fd));
  RETURN_IF_ERROR(store->Initialize());
  return store;
}

Status LocalObjectStore::Initialize() {
  Status created = db_->Write([&](sqlite::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsureSchema("storage", kSchema));
    if (options_.outbox) RETURN_IF_ERROR(options_.outbox->Prepare(tx));
    if (options_.default_bucket.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(sqlite::Statement * insert,
                     tx.Prepare("INSERT OR IGNORE INTO store_buckets(name, created_ms) "
                                "VALUES(?1, ?2)"));
    insert->Bind(1, options_.default_bucket).Bind(2, clock_.NowMillis());
    return insert->Run();
  });
  if (!created.ok()) return created.WithContext("open store " + dir_);
  // Only a store that has the folder to itself may sweep: another one could be between
  // renaming a file into place and committing its row.
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0) {
    Status swept = SweepOrphans();
    ::flock(lock_fd_, LOCK_SH);
    return swept;
  }
  if (::flock(lock_fd_, LOCK_SH) != 0) return FileError(errno, "lock", objects_dir_);
  return Status::Ok();
}

Status LocalObjectStore::SweepOrphans() {
  std::set<std::string> referenced;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Transaction& tx) -> Status {
    // Noncurrent versions keep their files too.
    ASSIGN_OR_RETURN(sqlite::Statement * select,
                     tx.Prepare("SELECT blob FROM store_objects UNION ALL "
                                "SELECT blob FROM store_versions WHERE delete_marker = 0"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, select->Step());
      if (!row) break;
      referenced.insert(select->ColumnText(0));
    }
    return Status::Ok();
  }));
  std::error_code ec;
  for (std::filesystem::directory_iterator sub(objects_dir_, ec), end; !ec && sub != end;
       sub.increment(ec)) {
    if (!sub->is_directory()) continue;
    std::error_code inner;
    for (std::filesystem::directory_iterator file(sub->path(), inner), fend; !inner && file != fend;
         file.increment(inner)) {
      std::string name = file->path().filename().string();
      if (referenced.count(name) == 0) ::unlink(file->path().c_str());
    }
  }
  return Status::Ok();
}

std::string LocalObjectStore::BlobPath(const std::string& blob) const {
  return objects_dir_ + "/" + blob.substr(0, 2) + "/" + blob;
}

namespace {

// Reads the columns kObjectColumns lists, from `first` on, into `info`; returns the blob.
std::string ReadObjectColumns(const sqlite::Statement& row, int first, ObjectInfo* info) {
  info->size = row.ColumnInt(first + 1);
  info->etag = row.ColumnText(first + 2);
  info->content_type = row.ColumnText(first + 3);
  info->metadata = DecodeJsonMap(row.ColumnText(first + 4));
  info->last_modified_ms = row.ColumnInt(first + 5);
  info->headers = DecodeJsonMap(row.ColumnText(first + 6));
  info->tags = DecodeJsonMap(row.ColumnText(first + 7));
  info->acl = row.ColumnText(first + 8);
  info->checksum = DecodeChecksum(row.ColumnText(first + 9));
  info->parts = DecodeParts(row.ColumnText(first + 10));
  info->lock = ReadLockColumns(row, first + 11);
  return row.ColumnText(first);
}

}  // namespace

Result<LocalObjectStore::Row> LocalObjectStore::FindRow(const std::string& bucket,
                                                        const std::string& key,
                                                        const std::string& version_id,
                                                        bool delete_markers) {
  Row found;
  bool bucket_exists = false;
  bool object_exists = false;
  found.info.key = key;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Transaction& tx) -> Status {
    // The latest version (or the one asked for, when it is the latest).
    ASSIGN_OR_RETURN(
        sqlite::Statement * select,
        tx.Prepare(std::string("SELECT b.name, o.key, b.versioning, o.version_id, ") +
                   kObjectColumns +
                   " FROM store_buckets b LEFT JOIN store_objects o"
                   " ON o.bucket = b.name AND o.key = ?2 AND (?3 = '' OR o.version_id = ?3)"
                   " WHERE b.name = ?1"));
    select->Bind(1, bucket).Bind(2, key).Bind(3, version_id);
    ASSIGN_OR_RETURN(bool row, select->Step());
    if (!row) return Status::Ok();
    bucket_exists = true;
    const bool versioned = !select->ColumnText(2).empty();
    if (!select->ColumnIsNull(1)) {
      object_exists = true;
      found.blob = ReadObjectColumns(*select, 4, &found.info);
      if (versioned) found.info.version_id = select->ColumnText(3);
      return Status::Ok();
    }
    select->Reset();
    if (!versioned || (version_id.empty() && !delete_markers)) return Status::Ok();
    // A noncurrent version, or (no version asked for) the delete marker that is the latest.
    ASSIGN_OR_RETURN(
        sqlite::Statement * version,
        tx.Prepare(std::string("SELECT o.delete_marker, o.version_id, o.seq, ") + kObjectColumns +
                   " FROM store_versions o WHERE o.bucket = ?1 AND o.key = ?2"
                   " AND (?3 = '' OR o.version_id = ?3) ORDER BY o.seq DESC LIMIT 1"));
    version->Bind(1, bucket).Bind(2, key).Bind(3, version_id);
    ASSIGN_OR_RETURN(bool noncurrent, version->Step());
    if (!noncurrent) return Status::Ok();
    const bool marker = version->ColumnInt(0) != 0;
    if (marker && !delete_markers) return Status::Ok();
    if (!marker && version_id.empty()) return Status::Ok();  // never: the latest is a row above
    object_exists = true;
    found.info.delete_marker = marker;
    found.info.version_id = version->ColumnText(1);
    found.blob = ReadObjectColumns(*version, 3, &found.info);
    // Latest when it is the newest version (no store_objects row was found above).
    if (!version_id.empty()) {
      const int64_t seq = version->ColumnInt(2);
      version->Reset();
      ASSIGN_OR_RETURN(sqlite::Statement * newer,
                       tx.Prepare("SELECT 1 FROM store_objects WHERE bucket = ?1 AND key = ?2 "
                                  "UNION ALL SELECT 1 FROM store_versions "
                                  "WHERE bucket = ?1 AND key = ?2 AND seq > ?3"));
      newer->Bind(1, bucket).Bind(2, key).Bind(3, seq);
      ASSIGN_OR_RETURN(bool has_newer, newer->Step());
      found.info.is_latest = !has_newer;
      newer->Reset();
    }
    return Status::Ok();
  }));
  if (!bucket_exists)
    return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
  if (!object_exists) {
    return NotFoundError(
        bucket + "/" + key +
        (version_id.empty() ? ": no such key" : ": no such version " + version_id));
  }
  if (found.info.delete_marker) return found;
  if (!IsBlobName(found.blob)) {
    return DataLossError(bucket + "/" + key + ": index row names no valid file");
  }
  return found;
}

Result<std::unique_ptr<LocalObjectReader>> LocalObjectStore::OpenRow(const std::string& bucket,
                                                                     const std::string& key,
                                                                     const GetOptions& options) {
  // An overwrite or delete may remove the file between reading the row and opening it;
  // the row read again then names the new file (or none).
  for (int attempt = 0; attempt < 8; ++attempt) {
    ASSIGN_OR_RETURN(Row row, FindRow(bucket, key, options.version_id, false));
    RETURN_IF_ERROR(CheckGetConditions(row.info, options));
    int64_t offset = 0, length = 0;
    bool partial = false;
    RETURN_IF_ERROR(ResolveSlice(row.info, options, &offset, &length, &partial));
    int fd = ::open(BlobPath(row.blob).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return FileError(errno, "open", bucket + "/" + key);
    }
    return std::unique_ptr<LocalObjectReader>(
        new LocalObjectReader(std::move(row.info), fd, offset, length));
  }
  return DataLossError(bucket + "/" + key + ": the file of the object is missing");
}

Result<std::unique_ptr<LocalObjectReader>> LocalObjectStore::OpenForRead(
    const std::string& bucket, const std::string& key, const GetOptions& options) {
  auto reader = OpenRow(bucket, key, options);
  if (!reader.ok()) return reader.status().WithContext("get " + bucket + "/" + key);
  return reader;
}

Result<ObjectData> LocalObjectStore::Get(const std::string& bucket, const std::string& key,
                                         const GetOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<LocalObjectReader> reader, OpenForRead(bucket, key, options));
  ObjectData data;
  data.bytes.resize(static_cast<size_t>(reader->length()));
  size_t filled = 0;
  while (filled < data.bytes.size()) {
    ASSIGN_OR_RETURN(size_t n,
                     reader->Read(data.bytes.data() + filled, data.bytes.size() - filled));
    if (n == 0) break;
    filled += n;
  }
  data.info = reader->info();
  return data;
}

Result<ObjectInfo> LocalObjectStore::Head(const std::string& bucket, const std::string& key) {
  auto row = FindRow(bucket, key, "", false);
  if (!row.ok()) return row.status().WithContext("head " + bucket + "/" + key);
  return std::move(row)->info;
}

Result<ObjectInfo> LocalObjectStore::HeadVersion(const std::string& bucket, const std::string& key,
                                                 const std::string& version_id) {
  auto row = FindRow(bucket, key, version_id, true);
  if (!row.ok()) return row.status().WithContext("head " + bucket + "/" + key);
  return std::move(row)->info;
}

Result<ObjectInfo> LocalObjectStore::Put(const std::string& bucket, const std::string& key,
                                         std::string_view bytes, const PutOptions& options) {
  CommitOptions commit;
  commit.put = options;
  return PutWith(bucket, key, bytes, commit);
}

Result<ObjectInfo> LocalObjectStore::PutWith(const std::string& bucket, const std::string& key,
                                             std::string_view bytes, const CommitOptions& options) {
  Status valid = ValidateObjectKey(key);
  if (!valid.ok()) return valid.WithContext("put " + bucket);
  ASSIGN_OR_RETURN(std::unique_ptr<LocalUpload> upload, NewLocalUpload(bucket));
  Status written = upload->Write(bytes);
  if (!written.ok()) return written.WithContext("put " + bucket + "/" + key);
  return CommitUpload(std::move(upload), key, options);
}

Result<std::unique_ptr<ObjectUpload>> LocalObjectStore::NewUpload(const std::string& bucket) {
  ASSIGN_OR_RETURN(std::unique_ptr<LocalUpload> upload, NewLocalUpload(bucket));
  return std::unique_ptr<ObjectUpload>(std::move(upload));
}

Result<std::unique_ptr<LocalUpload>> LocalObjectStore::NewLocalUpload(const std::string& bucket) {
  Status exists = HeadBucket(bucket);
  if (!exists.ok()) return exists.WithContext("upload to " + bucket);
  const std::string blob = RandomHex(16);
  // Written as <blob>.tmp and renamed to <blob> once complete and fsynced: only a whole
  // file ever carries a blob name, even before a row points at it.
  const std::string path = BlobPath(blob) + ".tmp";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {
    // The 256 sub-folders are made on first use (creating them all up front is slow on
    // some file systems). The new folder must be durable before a row can name a file in it.
    const std::string sub = objects_dir_ + "/" + blob.substr(0, 2);
    if (::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST) {
      return FileError(errno, "create folder", sub);
    }
    if (options_.fsync) RETURN_IF_ERROR(SyncDirectory(objects_dir_));
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) return FileError(errno, "create temporary file for", bucket);
  std::unique_ptr<LocalUpload> upload(
      new LocalUpload(this, bucket, blob, path, fd, options_.max_object_bytes));
  upload->early_writeback_ = options_.fsync;
  return upload;
}

Result<ObjectInfo> LocalObjectStore::CommitUpload(std::unique_ptr<LocalUpload> upload,
                                                  const std::string& key,
                                                  const CommitOptions& options) {
  return CommitUploaded(*upload, key, options);
}

Result<ObjectInfo> LocalObjectStore::CommitUploaded(LocalUpload& upload, const std::string& key,
                                                    const CommitOptions& options) {
  const std::string what = upload.bucket() + "/" + key;
  Status valid = ValidateObjectKey(key);
  if (!valid.ok()) return valid.WithContext("put " + upload.bucket());
  if (upload.failed_ || upload.fd_ < 0) {
    return FailedPreconditionError("put " + what + ": the upload failed earlier");
  }
  std::string etag = options.etag;
  if (etag.empty()) {
    std::string md5 = upload.Md5Hex();
    if (md5.empty()) {
      return InvalidArgumentError("put " + what + ": an upload built from files needs an ETag");
    }
    etag = QuoteEtag(md5);
  }
  // Bytes, then their final name in the folder: durable before any row can point at them.
  // On a failure here `upload` still owns the file (under whichever name) and removes it.
  if (options_.fsync && ::fsync(upload.fd_) != 0) return FileError(errno, "fsync", what);
  int fd = upload.fd_;
  upload.fd_ = -1;
  if (::close(fd) != 0) return FileError(errno, "close", what);
  const std::string final_path = BlobPath(upload.blob_);
  if (::rename(upload.path_.c_str(), final_path.c_str()) != 0) {
    return FileError(errno, "rename", what);
  }
  upload.path_ = final_path;
  if (options_.fsync) {
    Status synced = SyncDirectory(objects_dir_ + "/" + upload.blob_.substr(0, 2));
    if (!synced.ok()) return synced.WithContext("put " + what);
  }
  upload.path_.clear();  // CommitRow owns the file now
  return CommitRow(upload.bucket(), key, upload.blob_, upload.size(), etag, options);
}

Result<ObjectInfo> LocalObjectStore::CommitRow(const std::string& bucket, const std::string& key,
                                               const std::string& blob, int64_t size,
                                               const std::string& etag,
                                               const CommitOptions& options) {
  ObjectInfo info;
  info.key = key;
  info.size = size;
  info.etag = etag;
  info.content_type =
      options.put.content_type.empty() ? kDefaultContentType : options.put.content_type;
  info.metadata = NormalizeMetadata(options.put.metadata);
  info.headers = StoredHeaders(options.put.headers);
  info.last_modified_ms = clock_.NowMillis();
  info.tags = options.put.tags;
  info.acl = options.put.acl;
  info.checksum = options.put.checksum;
  info.parts = options.put.parts;
  info.lock = options.put.lock;

  ObjectChange change;
  change.bucket = bucket;
  change.key = key;
  change.event_name = options.event_name;
  change.size = size;
  change.etag = etag;
  change.time_ms = info.last_modified_ms;
  change.principal_id = options.principal_id;
  change.source_ip = options.source_ip;
  change.request_id = options.request_id;

  bool rolled_back = false;
  // The files of versions this write replaces for good (an unversioned bucket's object, the
  // "null" version of a suspended one), removed once the new row is durable.
  std::vector<std::string> old_blobs;
  Status status = db_->Write([&](sqlite::Transaction& tx) -> Status {
    Status inner = [&]() -> Status {
      old_blobs.clear();
      info.version_id.clear();
      ASSIGN_OR_RETURN(std::string versioning, BucketVersioning(tx, bucket));

      ASSIGN_OR_RETURN(std::optional<CurrentObject> current, FindCurrent(tx, bucket, key));
      // Checked here, inside the write transaction: no other writer commits in between.
      RETURN_IF_ERROR(CheckWriteCondition(options.put.condition, current ? &current->etag : nullptr,
                                          "put " + bucket + "/" + key));
      int64_t seq = 0;
      std::string version_id = "null";
      if (versioning.empty()) {
        if (current && current->blob != blob && IsBlobName(current->blob)) {
          old_blobs.push_back(current->blob);
        }
      } else {
        // Enabled: a new version, the old latest kept. Suspended: the new object is the
        // "null" version, replacing the one there was.
        ASSIGN_OR_RETURN(seq, NextSeq(tx, bucket, key));
        if (versioning == kVersioningEnabled) version_id = NewVersionId();
        if (current && (version_id != "null" || current->version_id != "null")) {
          RETURN_IF_ERROR(MoveCurrentToVersions(tx, bucket, key));
        } else if (current && IsBlobName(current->blob)) {
          old_blobs.push_back(current->blob);
        }
        if (version_id == "null")
          RETURN_IF_ERROR(RemoveNoncurrentNull(tx, bucket, key, &old_blobs));
        // As S3 answers: a write to a suspended bucket names no version (reads say "null").
        if (versioning == kVersioningEnabled) info.version_id = version_id;
      }

      ASSIGN_OR_RETURN(
          sqlite::Statement * upsert,
          tx.Prepare("INSERT INTO store_objects(bucket, key, blob, size, etag, content_type, "
                     "metadata, last_modified_ms, headers, tags, acl, version_id, seq, "
                     "checksum, parts, lock_mode, lock_until_ms, legal_hold) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                     "?16, ?17, ?18) "
                     "ON CONFLICT(bucket, key) DO UPDATE SET blob = excluded.blob, "
                     "size = excluded.size, etag = excluded.etag, "
                     "content_type = excluded.content_type, metadata = excluded.metadata, "
                     "last_modified_ms = excluded.last_modified_ms, headers = excluded.headers, "
                     "tags = excluded.tags, acl = excluded.acl, version_id = excluded.version_id, "
                     "seq = excluded.seq, checksum = excluded.checksum, "
                     "parts = excluded.parts, lock_mode = excluded.lock_mode, "
                     "lock_until_ms = excluded.lock_until_ms, legal_hold = excluded.legal_hold"));
      upsert->Bind(1, bucket)
          .Bind(2, key)
          .Bind(3, blob)
          .Bind(4, size)
          .Bind(5, etag)
          .Bind(6, info.content_type)
          .Bind(7, EncodeJsonMap(info.metadata))
          .Bind(8, info.last_modified_ms)
          .Bind(9, EncodeJsonMap(info.headers))
          .Bind(10, EncodeJsonMap(info.tags))
          .Bind(11, info.acl)
          .Bind(12, version_id)
          .Bind(13, seq)
          .Bind(14, EncodeChecksum(info.checksum))
          .Bind(15, EncodeParts(info.parts))
          .Bind(16, info.lock.mode)
          .Bind(17, info.lock.retain_until_ms)
          .Bind(18, LegalHoldColumn(info.lock));
      RETURN_IF_ERROR(upsert->Run());
      return Publish(tx, change);
    }();
    rolled_back = !inner.ok();
    return inner;
  });
  if (!status.ok()) {
    // When our own function failed its savepoint was rolled back, so no row names the file.
    // When the COMMIT failed we cannot be sure, so the file stays for the next sweep.
    if (rolled_back) ::unlink(BlobPath(blob).c_str());
    return status.WithContext("put " + bucket + "/" + key);
  }
  // Readers that already opened the old file keep reading it; new readers see the new row.
  // Removed here, by each writer, rather than in an OnCommit callback: those run one after
  // another on the thread that leads the group commit, which every writer of the batch
  // waits for. A crash before this line leaves an orphan for the sweep.
  for (const std::string& old_blob : old_blobs) ::unlink(BlobPath(old_blob).c_str());
  return info;
}

Status LocalObjectStore::Publish(sqlite::Transaction& tx, const ObjectChange& change) {
  return options_.outbox ? options_.outbox->Publish(tx, change) : Status::Ok();
}

Status LocalObjectStore::Delete(const std::string& bucket, const std::string& key) {
  return DeleteIf(bucket, key, {});
}

Status LocalObjectStore::DeleteIf(const std::string& bucket, const std::string& key,
                                  const WriteCondition& condition) {
  return DeleteVersion(bucket, key, "", condition).status();
}

Result<DeletedVersion> LocalObjectStore::DeleteVersion(const std::string& bucket,
                                                       const std::string& key,
                                                       const std::string& version_id,
                                                       const WriteCondition& condition) {
  const std::string what = "delete " + bucket + "/" + key;
  DeletedVersion deleted;
  Status status = db_->Write([&](sqlite::Transaction& tx) -> Status {
    deleted = DeletedVersion{};
    ASSIGN_OR_RETURN(std::string versioning, BucketVersioning(tx, bucket));
    ASSIGN_OR_RETURN(std::optional<CurrentObject> current, FindCurrent(tx, bucket, key));
    std::vector<std::string> removed_blobs;
    ObjectChange change;
    change.bucket = bucket;
    change.key = key;
    change.event_name = "ObjectRemoved:Delete";
    change.time_ms = clock_.NowMillis();
    auto remove_current = [&]() -> Status {
      ASSIGN_OR_RETURN(sqlite::Statement * remove,
                       tx.Prepare("DELETE FROM store_objects WHERE bucket = ?1 AND key = ?2"));
      remove->Bind(1, bucket).Bind(2, key);
      RETURN_IF_ERROR(remove->Run());
      if (IsBlobName(current->blob)) removed_blobs.push_back(current->blob);
      return Status::Ok();
    };
    if (version_id.empty()) {
      std::optional<DeleteTarget> target;
      if (current) target = current->target();
      RETURN_IF_ERROR(CheckDeleteCondition(condition, target ? &*target : nullptr, what));
      // A conditional delete of no object changes nothing (S3: 204, and no delete marker).
      if (!current && HasCondition(condition)) return Status::Ok();
      if (versioning.empty()) {
        if (!current) return Status::Ok();  // S3: deleting a missing key succeeds
        RETURN_IF_ERROR(remove_current());
      } else {
        // A delete marker becomes the latest version (Suspended: the "null" one).
        ASSIGN_OR_RETURN(int64_t seq, NextSeq(tx, bucket, key));
        deleted.version_id = versioning == kVersioningEnabled ? NewVersionId() : "null";
        deleted.delete_marker = true;
        if (current && (deleted.version_id != "null" || current->version_id != "null")) {
          RETURN_IF_ERROR(MoveCurrentToVersions(tx, bucket, key));
        } else if (current) {
          RETURN_IF_ERROR(remove_current());
        }
        if (deleted.version_id == "null") {
          RETURN_IF_ERROR(RemoveNoncurrentNull(tx, bucket, key, &removed_blobs));
        }
        ASSIGN_OR_RETURN(
            sqlite::Statement * marker,
            tx.Prepare(std::string("INSERT INTO store_versions(delete_marker, ") +
                       kVersionRowColumns +
                       ") VALUES(1, ?1, ?2, ?3, ?4, '', 0, '', '', '{}', ?5, '{}', '{}', '', "
                       "'', '', '', 0, 0)"));
        marker->Bind(1, bucket)
            .Bind(2, key)
            .Bind(3, seq)
            .Bind(4, deleted.version_id)
            .Bind(5, change.time_ms);
        RETURN_IF_ERROR(marker->Run());
        change.event_name = "ObjectRemoved:DeleteMarkerCreated";
      }
    } else {
      // One version, removed for good.
      if (!versioning.empty()) deleted.version_id = version_id;
      const int64_t now_ms = clock_.NowMillis();
      if (current && current->version_id == version_id) {
        RETURN_IF_ERROR(CheckUnlocked(current->lock, now_ms, condition.bypass_governance, what));
        const DeleteTarget target = current->target();
        RETURN_IF_ERROR(CheckDeleteCondition(condition, &target, what));
        RETURN_IF_ERROR(remove_current());
      } else {
        ASSIGN_OR_RETURN(sqlite::Statement * find,
                         tx.Prepare("SELECT delete_marker, blob, etag, size, last_modified_ms, "
                                    "lock_mode, lock_until_ms, legal_hold FROM store_versions "
                                    "WHERE bucket = ?1 AND key = ?2 AND version_id = ?3"));
        find->Bind(1, bucket).Bind(2, key).Bind(3, version_id);
        ASSIGN_OR_RETURN(bool found, find->Step());
        if (!found) return Status::Ok();  // S3: deleting a missing version succeeds
        const bool marker = find->ColumnInt(0) != 0;
        const std::string blob = find->ColumnText(1);
        const DeleteTarget target{find->ColumnText(2), find->ColumnInt(3), find->ColumnInt(4)};
        const ObjectLock lock = ReadLockColumns(*find, 5);
        find->Reset();
        RETURN_IF_ERROR(CheckUnlocked(lock, now_ms, condition.bypass_governance, what));
        // A delete marker is no object: a conditional delete leaves it (S3: 204).
        if (marker && HasCondition(condition)) return Status::Ok();
        RETURN_IF_ERROR(CheckDeleteCondition(condition, marker ? nullptr : &target, what));
        ASSIGN_OR_RETURN(sqlite::Statement * remove,
                         tx.Prepare("DELETE FROM store_versions "
                                    "WHERE bucket = ?1 AND key = ?2 AND version_id = ?3"));
        remove->Bind(1, bucket).Bind(2, key).Bind(3, version_id);
        RETURN_IF_ERROR(remove->Run());
        if (!marker && IsBlobName(blob)) removed_blobs.push_back(blob);
        deleted.delete_marker = marker;
      }
      // The latest version gone: the next newest, when an object, is the latest now.
      if (!versioning.empty()) RETURN_IF_ERROR(PromoteNewestVersion(tx, bucket, key));
    }
    RETURN_IF_ERROR(Publish(tx, change));
    for (const std::string& blob : removed_blobs) {
      std::string path = BlobPath(blob);
      tx.OnCommit([path] { ::unlink(path.c_str()); });
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.WithContext(what);
  return deleted;
}

Result<ListResult> LocalObjectStore::List(const std::string& bucket, const ListOptions& options) {
  Result<ListResult> result =
      NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
  Status status = db_->Read([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(bool bucket_exists, BucketExists(tx, bucket));
    if (!bucket_exists) return Status::Ok();
    KeyScan scan = [&](const std::string& from, bool inclusive, const std::string& prefix,
                       int limit) -> Result<std::vector<ObjectInfo>> {
      const std::string upper = PrefixSuccessor(prefix);
      std::string sql =
          "SELECT key, size, etag, last_modified_ms FROM store_objects WHERE bucket = ?1 AND key ";
      sql += inclusive ? ">= ?2" : "> ?2";
      if (!upper.empty()) sql += " AND key < ?3";
      sql += " ORDER BY key LIMIT ?4";
      ASSIGN_OR_RETURN(sqlite::Statement * select, tx.Prepare(sql));
      select->Bind(1, bucket).Bind(2, from).Bind(4, limit);
      if (!upper.empty()) select->Bind(3, upper);
      std::vector<ObjectInfo> out;
      while (true) {
        ASSIGN_OR_RETURN(bool row, select->Step());
        if (!row) break;
        ObjectInfo info;
        info.key = select->ColumnText(0);
        info.size = select->ColumnInt(1);
        info.etag = select->ColumnText(2);
        info.last_modified_ms = select->ColumnInt(3);
        out.push_back(std::move(info));
      }
      return out;
    };
    result = ListWithScan(options, scan);
    return Status::Ok();
  });
  if (!status.ok()) return status.WithContext("list " + bucket);
  if (!result.ok()) return result.status().WithContext("list " + bucket);
  return result;
}

namespace {

// One entry of a versions listing as read from either table, in listing order (key, then
// newest first).
struct VersionEntry {
  ObjectInfo info;
  int64_t seq = 0;
};

bool ListsBefore(const VersionEntry& a, const VersionEntry& b) {
  return a.info.key != b.info.key ? a.info.key < b.info.key : a.seq > b.seq;
}

// Up to `limit` entries of `table` (store_objects: latest objects; store_versions: the
// rest) after the position (key, seq): key > `key`, or key == `key` and seq < `seq`; below
// `upper` when it is not empty.
Result<std::vector<VersionEntry>> ScanVersions(sqlite::Transaction& tx, bool current_table,
                                               const std::string& bucket, const std::string& key,
                                               int64_t seq, const std::string& upper, int limit) {
  std::string sql =
      current_table
          ? "SELECT key, seq, version_id, 0, size, etag, last_modified_ms FROM store_objects"
          : "SELECT key, seq, version_id, delete_marker, size, etag, last_modified_ms "
            "FROM store_versions";
  sql += " WHERE bucket = ?1 AND key >= ?2 AND (key > ?2 OR seq < ?3)";
  if (!upper.empty()) sql += " AND key < ?4";
  sql += current_table ? " ORDER BY key LIMIT ?5" : " ORDER BY key, seq DESC LIMIT ?5";
  ASSIGN_OR_RETURN(sqlite::Statement * select, tx.Prepare(sql));
  select->Bind(1, bucket).Bind(2, key).Bind(3, seq).Bind(5, limit);
  if (!upper.empty()) select->Bind(4, upper);
  std::vector<VersionEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select->Step());
    if (!row) break;
    VersionEntry& entry = out.emplace_back();
    entry.info.key = select->ColumnText(0);
    entry.seq = select->ColumnInt(1);
    entry.info.version_id = select->ColumnText(2);
    entry.info.delete_marker = select->ColumnInt(3) != 0;
    entry.info.size = select->ColumnInt(4);
    entry.info.etag = select->ColumnText(5);
    entry.info.last_modified_ms = select->ColumnInt(6);
  }
  return out;
}

}  // namespace

Result<ListVersionsResult> LocalObjectStore::ListVersions(const std::string& bucket,
                                                          const ListVersionsOptions& options) {
  constexpr int64_t kBeforeAll = std::numeric_limits<int64_t>::max();  // seq < it: every version
  constexpr int64_t kAfterAll = std::numeric_limits<int64_t>::min();   // seq < it: none
  const std::string& prefix = options.prefix;
  const std::string& delimiter = options.delimiter;
  const int max_keys = std::clamp(options.max_keys, 0, 1000);
  ListVersionsResult result;
  Status status = db_->Read([&](sqlite::Transaction& tx) -> Status {
    result = ListVersionsResult{};
    RETURN_IF_ERROR(BucketVersioning(tx, bucket).status());
    // The position: entries after (key, seq) in listing order.
    std::string key = options.key_marker;
    int64_t seq = kAfterAll;
    // Entries of this key are not its latest (the page starts inside the key).
    std::optional<std::string> previous_key;
    if (!options.key_marker.empty() && !options.version_id_marker.empty()) {
      ASSIGN_OR_RETURN(sqlite::Statement * marker,
                       tx.Prepare("SELECT seq FROM store_objects WHERE bucket = ?1 AND key = ?2 "
                                  "AND version_id = ?3 UNION ALL SELECT seq FROM store_versions "
                                  "WHERE bucket = ?1 AND key = ?2 AND version_id = ?3"));
      marker->Bind(1, bucket).Bind(2, options.key_marker).Bind(3, options.version_id_marker);
      ASSIGN_OR_RETURN(bool found, marker->Step());
      const std::string& id = options.version_id_marker;
      if (found) {
        seq = marker->ColumnInt(0);
        previous_key = options.key_marker;
        marker->Reset();
      } else if (!IsWellFormedVersionId(id)) {
        return InvalidArgumentError("version-id-marker " + id + " is no version id");
      }
      // A version id that is gone (deleted since the page before, as a client that empties a
      // bucket page by page does): the listing goes on after its key.
    } else if (!delimiter.empty() && options.key_marker.starts_with(prefix) &&
               options.key_marker.size() > prefix.size() &&
               options.key_marker.ends_with(delimiter)) {
      // A key marker that is a common prefix skips every key under it.
      key = PrefixSuccessor(options.key_marker);
      seq = kBeforeAll;
      if (key.empty()) return Status::Ok();
    }
    if (key < prefix) {
      key = prefix;
      seq = kBeforeAll;
      previous_key.reset();
    }
    if (max_keys == 0) return Status::Ok();
    const std::string upper = PrefixSuccessor(prefix);
    int count = 0;
    constexpr int kBatch = 256;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<VersionEntry> latest,
                       ScanVersions(tx, true, bucket, key, seq, upper, kBatch));
      ASSIGN_OR_RETURN(std::vector<VersionEntry> older,
                       ScanVersions(tx, false, bucket, key, seq, upper, kBatch));
      const bool more_latest = static_cast<int>(latest.size()) == kBatch;
      const bool more_older = static_cast<int>(older.size()) == kBatch;
      size_t a = 0, b = 0;
      bool rescan = false;
      while (!rescan) {
        // Merge while both lists can tell what comes next; a full list ends the round.
        const bool have_a = a < latest.size(), have_b = b < older.size();
        if ((!have_a && more_latest) || (!have_b && more_older) || (!have_a && !have_b)) break;
        const bool take_a = have_a && (!have_b || ListsBefore(latest[a], older[b]));
        VersionEntry& entry = take_a ? latest[a++] : older[b++];
        if (count == max_keys) {
          result.truncated = true;
          return Status::Ok();
        }
        ++count;
        const size_t pos =
            delimiter.empty() ? std::string::npos : entry.info.key.find(delimiter, prefix.size());
        if (pos != std::string::npos) {
          std::string common = entry.info.key.substr(0, pos + delimiter.size());
          result.common_prefixes.push_back(common);
          result.next_key_marker = common;
          result.next_version_id_marker.clear();
          key = PrefixSuccessor(common);
          seq = kBeforeAll;
          previous_key.reset();
          if (key.empty()) return Status::Ok();
          rescan = true;
          break;
        }
        entry.info.is_latest = previous_key != entry.info.key;
        previous_key = entry.info.key;
        key = entry.info.key;
        seq = entry.seq;
        result.next_key_marker = entry.info.key;
        result.next_version_id_marker = entry.info.version_id;
        result.versions.push_back(std::move(entry.info));
      }
      if (!rescan && !more_latest && !more_older && a == latest.size() && b == older.size()) {
        return Status::Ok();
      }
    }
  });
  if (!status.ok()) return status.WithContext("list versions of " + bucket);
  if (!result.truncated) {
    result.next_key_marker.clear();
    result.next_version_id_marker.clear();
  }
  return result;
}

Status LocalObjectStore::CreateBucket(const std::string& bucket, const std::string& owner) {
  return CreateBucket(bucket, owner, BucketSettings{});
}

Status LocalObjectStore::CreateBucket(const std::string& bucket, const std::string& owner,
                                      const BucketSettings& settings) {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  if (!settings.versioning.empty() && settings.versioning != kVersioningEnabled &&
      settings.versioning != kVersioningSuspended) {
    return InvalidArgumentError("versioning of bucket " + bucket + " must be Enabled or Suspended");
  }
  return db_
      ->Write([&](sqlite::Transaction& tx) -> Status {
        ASSIGN_OR_RETURN(
            sqlite::Statement * insert,
            tx.Prepare("INSERT OR IGNORE INTO store_buckets(name, created_ms, owner, acl, "
                       "versioning, object_lock) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
        insert->Bind(1, bucket)
            .Bind(2, clock_.NowMillis())
            .Bind(3, owner)
            .Bind(4, settings.acl)
            .Bind(5, settings.versioning)
            .Bind(6, settings.object_lock);
        RETURN_IF_ERROR(insert->Run());
        if (tx.Changes() == 0) return AlreadyExistsError("bucket " + bucket + " already exists");
        return Status::Ok();
      })
      .WithContext("create bucket " + bucket);
}

Status LocalObjectStore::DeleteBucket(const std::string& bucket) {
  return db_
      ->Write([&](sqlite::Transaction& tx) -> Status {
        // Noncurrent versions and delete markers keep a bucket from being empty, as on S3.
        ASSIGN_OR_RETURN(sqlite::Statement * any,
                         tx.Prepare("SELECT 1 FROM store_objects WHERE bucket = ?1 UNION ALL "
                                    "SELECT 1 FROM store_versions WHERE bucket = ?1 LIMIT 1"));
        any->Bind(1, bucket);
        ASSIGN_OR_RETURN(bool has_objects, any->Step());
        if (has_objects) {
          return FailedPreconditionError("bucket " + bucket + " is not empty")
              .WithReason(Reason::kBucketNotEmpty);
        }
        ASSIGN_OR_RETURN(sqlite::Statement * remove,
                         tx.Prepare("DELETE FROM store_buckets WHERE name = ?1"));
        remove->Bind(1, bucket);
        RETURN_IF_ERROR(remove->Run());
        if (tx.Changes() == 0)
          return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
        return Status::Ok();
      })
      .WithContext("delete bucket " + bucket);
}

Result<std::vector<BucketInfo>> LocalObjectStore::ListBuckets() {
  std::vector<BucketInfo> buckets;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        sqlite::Statement * select,
        tx.Prepare(
            "SELECT name, created_ms, owner, acl, versioning, object_lock FROM store_buckets "
            "ORDER BY name"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, select->Step());
      if (!row) break;
      buckets.push_back({select->ColumnText(0), select->ColumnInt(1), select->ColumnText(2),
                         select->ColumnText(3), select->ColumnText(4), select->ColumnText(5)});
    }
    return Status::Ok();
  }));
  return buckets;
}

Result<BucketInfo> LocalObjectStore::GetBucket(const std::string& bucket) {
  std::optional<BucketInfo> found;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        sqlite::Statement * select,
        tx.Prepare("SELECT created_ms, owner, acl, versioning, object_lock FROM store_buckets "
                   "WHERE name = ?1"));
    select->Bind(1, bucket);
    ASSIGN_OR_RETURN(bool row, select->Step());
    if (row) {
      found = BucketInfo{bucket,
                         select->ColumnInt(0),
                         select->ColumnText(1),
                         select->ColumnText(2),
                         select->ColumnText(3),
                         select->ColumnText(4)};
    }
    return Status::Ok();
  }));
  if (!found) return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
  return *found;
}

Status LocalObjectStore::PutObjectTags(const std::string& bucket, const std::string& key,
                                       const TagSet& tags) {
  return PutVersionTags(bucket, key, "", tags);
}

Status LocalObjectStore::PutVersionTags(const std::string& bucket, const std::string& key,
                                        const std::string& version_id, const TagSet& tags) {
  return UpdateObject(bucket, key, version_id, "tags", EncodeJsonMap(tags))
      .WithContext("tag " + bucket + "/" + key);
}

Status LocalObjectStore::PutObjectAcl(const std::string& bucket, const std::string& key,
                                      const std::string& acl) {
  return PutVersionAcl(bucket, key, "", acl);
}

Status LocalObjectStore::PutVersionAcl(const std::string& bucket, const std::string& key,
                                       const std::string& version_id, const std::string& acl) {
  return UpdateObject(bucket, key, version_id, "acl", acl)
      .WithContext("set the ACL of " + bucket + "/" + key);
}

Status LocalObjectStore::UpdateObject(const std::string& bucket, const std::string& key,
                                      const std::string& version_id, const char* column,
                                      const std::string& value) {
  return db_->Write([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(bool bucket_exists, BucketExists(tx, bucket));
    if (!bucket_exists)
      return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
    ASSIGN_OR_RETURN(sqlite::Statement * update,
                     tx.Prepare(std::string("UPDATE store_objects SET ") + column +
                                " = ?3 WHERE bucket = ?1 AND key = ?2"
                                " AND (?4 = '' OR version_id = ?4)"));
    update->Bind(1, bucket).Bind(2, key).Bind(3, value).Bind(4, version_id);
    RETURN_IF_ERROR(update->Run());
    if (tx.Changes() == 0 && !version_id.empty()) {
      ASSIGN_OR_RETURN(sqlite::Statement * noncurrent,
                       tx.Prepare(std::string("UPDATE store_versions SET ") + column +
                                  " = ?3 WHERE bucket = ?1 AND key = ?2 AND version_id = ?4"
                                  " AND delete_marker = 0"));
      noncurrent->Bind(1, bucket).Bind(2, key).Bind(3, value).Bind(4, version_id);
      RETURN_IF_ERROR(noncurrent->Run());
    }
    if (tx.Changes() == 0) return NotFoundError(bucket + "/" + key + ": no such key");
    return Status::Ok();
  });
}

Result<ObjectInfo> LocalObjectStore::UpdateVersionLock(const std::string& bucket,
                                                       const std::string& key,
                                                       const std::string& version_id,
                                                       const LockChange& change) {
  ObjectInfo info;
  info.key = key;
  Status refused;  // the change's own error, returned as it is
  Status status = db_->Write([&](sqlite::Transaction& tx) -> Status {
    refused = Status::Ok();
    ASSIGN_OR_RETURN(std::string versioning, BucketVersioning(tx, bucket));
    // The latest version, or the version named when it is the latest; else a noncurrent one.
    const char* table = "store_objects";
    ASSIGN_OR_RETURN(sqlite::Statement * find,
                     tx.Prepare("SELECT version_id, lock_mode, lock_until_ms, legal_hold "
                                "FROM store_objects WHERE bucket = ?1 AND key = ?2 "
                                "AND (?3 = '' OR version_id = ?3)"));
    find->Bind(1, bucket).Bind(2, key).Bind(3, version_id);
    ASSIGN_OR_RETURN(bool found, find->Step());
    if (!found && !version_id.empty()) {
      table = "store_versions";
      ASSIGN_OR_RETURN(find, tx.Prepare("SELECT version_id, lock_mode, lock_until_ms, legal_hold "
                                        "FROM store_versions WHERE bucket = ?1 AND key = ?2 "
                                        "AND version_id = ?3 AND delete_marker = 0"));
      find->Bind(1, bucket).Bind(2, key).Bind(3, version_id);
      ASSIGN_OR_RETURN(found, find->Step());
    }
    if (!found) {
      return NotFoundError(
          bucket + "/" + key +
          (version_id.empty() ? ": no such key" : ": no such version " + version_id));
    }
    const std::string id = find->ColumnText(0);
    info.lock = ReadLockColumns(*find, 1);
    find->Reset();
    info.version_id = versioning.empty() ? "" : id;
    refused = change(info.lock);
    RETURN_IF_ERROR(refused);
    ASSIGN_OR_RETURN(sqlite::Statement * update,
                     tx.Prepare(std::string("UPDATE ") + table +
                                " SET lock_mode = ?4, lock_until_ms = ?5, legal_hold = ?6 "
                                "WHERE bucket = ?1 AND key = ?2 AND version_id = ?3"));
    update->Bind(1, bucket)
        .Bind(2, key)
        .Bind(3, id)
        .Bind(4, info.lock.mode)
        .Bind(5, info.lock.retain_until_ms)
        .Bind(6, LegalHoldColumn(info.lock));
    return update->Run();
  });
  if (!refused.ok()) return refused;
  if (!status.ok()) return status.WithContext("set the object lock of " + bucket + "/" + key);
  return info;
}

namespace {

// Sets one column of a bucket's row; NotFound (no-such-bucket) when there is no such bucket.
// `column` is one of this file's constants, never input.
Status SetBucketColumn(sqlite::Database& db, const std::string& bucket, std::string_view column,
                       const std::string& value) {
  return db.Write([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(
        sqlite::Statement * update,
        tx.Prepare("UPDATE store_buckets SET " + std::string(column) + " = ?2 WHERE name = ?1"));
    update->Bind(1, bucket).Bind(2, value);
    RETURN_IF_ERROR(update->Run());
    if (tx.Changes() == 0)
      return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
    return Status::Ok();
  });
}

}  // namespace

Status LocalObjectStore::PutBucketAcl(const std::string& bucket, const std::string& acl) {
  return SetBucketColumn(*db_, bucket, "acl", acl).WithContext("set the ACL of bucket " + bucket);
}

Status LocalObjectStore::PutBucketObjectLock(const std::string& bucket,
                                             const std::string& configuration) {
  return SetBucketColumn(*db_, bucket, "object_lock", configuration)
      .WithContext("set the object lock configuration of bucket " + bucket);
}

Status LocalObjectStore::PutBucketVersioning(const std::string& bucket, const std::string& status) {
  if (status != kVersioningEnabled && status != kVersioningSuspended) {
    return InvalidArgumentError("versioning of bucket " + bucket + " must be Enabled or Suspended");
  }
  return SetBucketColumn(*db_, bucket, "versioning", status)
      .WithContext("set the versioning of bucket " + bucket);
}

Status LocalObjectStore::HeadBucket(const std::string& bucket) {
  bool exists = false;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(exists, BucketExists(tx, bucket));
    return Status::Ok();
  }));
  if (!exists) return NotFoundError("no such bucket: " + bucket).WithReason(Reason::kNoSuchBucket);
  return Status::Ok();
}

Result<ObjectInfo> LocalObjectStore::CompleteMultipart(const std::string& bucket,
                                                       const std::string& key,
                                                       const std::vector<std::string>& part_paths,
                                                       const std::vector<std::string>& part_etags,
                                                       CommitOptions options) {
  if (part_paths.size() != part_etags.size()) {
    return InvalidArgumentError("complete multipart " + bucket + "/" + key +
                                ": as many part files as part ETags are needed");
  }
  Status valid = ValidateObjectKey(key);
  if (!valid.ok()) return valid.WithContext("complete multipart " + bucket);
  ASSIGN_OR_RETURN(options.etag, MultipartEtag(part_etags));
  options.event_name = "ObjectCreated:CompleteMultipartUpload";
  ASSIGN_OR_RETURN(std::unique_ptr<LocalUpload> upload, NewLocalUpload(bucket));
  // The parts' boundaries are those of the files appended; their numbers and checksums the
  // caller's when it names one per file, else 1..N.
  std::vector<ObjectPart>& parts = options.put.parts;
  if (parts.size() != part_paths.size()) {
    parts.assign(part_paths.size(), ObjectPart{});
    for (size_t i = 0; i < parts.size(); ++i) parts[i].part_number = static_cast<int>(i) + 1;
  }
  for (size_t i = 0; i < part_paths.size(); ++i) {
    const int64_t before = upload->size();
    Status appended = upload->AppendFile(part_paths[i]);
    if (!appended.ok()) return appended.WithContext("complete multipart " + bucket + "/" + key);
    parts[i].size = upload->size() - before;
  }
  return CommitUpload(std::move(upload), key, options);
}

Result<ObjectInfo> LocalObjectStore::Copy(const std::string& src_bucket, const std::string& src_key,
                                          const std::string& dst_bucket, const std::string& dst_key,
                                          const PutOptions* replace) {
  return CopyVersion(src_bucket, src_key, "", dst_bucket, dst_key, replace);
}

Result<ObjectInfo> LocalObjectStore::CopyVersion(
    const std::string& src_bucket, const std::string& src_key, const std::string& src_version_id,
    const std::string& dst_bucket, const std::string& dst_key, const PutOptions* replace) {
  Status valid = ValidateObjectKey(dst_key);
  if (!valid.ok()) return valid.WithContext("copy to " + dst_bucket);
  GetOptions source;
  source.version_id = src_version_id;
  ASSIGN_OR_RETURN(std::unique_ptr<LocalObjectReader> reader,
                   OpenForRead(src_bucket, src_key, source));
  ASSIGN_OR_RETURN(std::unique_ptr<LocalUpload> upload, NewLocalUpload(dst_bucket));
  std::string buffer(1 << 20, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    RETURN_IF_ERROR(upload->Write(std::string_view(buffer.data(), n)));
  }
  CommitOptions options;
  options.put = replace != nullptr ? *replace : KeptPutOptions(reader->info());
  options.event_name = "ObjectCreated:Copy";
  return CommitUpload(std::move(upload), dst_key, options);
}

Result<ObjectInfo> LocalObjectStore::CompleteMultipart(const std::string& bucket,
                                                       const std::string& key,
                                                       const std::vector<std::string>& part_paths,
                                                       const std::vector<std::string>& part_etags,
                                                       const PutOptions& options) {
  CommitOptions commit;
  commit.put = options;
  return CompleteMultipart(bucket, key, part_paths, part_etags, std::move(commit));
}

Result<ObjectReader> LocalObjectStore::OpenObject(const std::string& bucket, const std::string& key,
                                                  const GetOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<LocalObjectReader> opened, OpenForRead(bucket, key, options));
  ObjectReader reader;
  reader.info = opened->info();
  reader.offset = opened->offset();
  reader.length = opened->length();
  reader.partial = options.range.has_value() || options.part_number > 0;
  reader.source = std::move(opened);
  return reader;
}

std::string LocalObjectStore::StagingDir() const {
  return options_.staging_dir.empty() ? dir_ + "/staging" : options_.staging_dir;
}

Status LocalObjectStore::FreeSpaceStatus(int64_t incoming_bytes) const {
  const int64_t reserve = options_.min_free_bytes;
  if (reserve <= 0) return Status::Ok();
  Result<int64_t> free_bytes = FreeBytes(dir_);
  // A folder that cannot be examined is not a reason to refuse: the write itself reports
  // whatever is wrong.
  if (!free_bytes.ok() || *free_bytes - incoming_bytes >= reserve) return Status::Ok();
  std::string message =
      "the disk of the data folder " + dir_ + " has " + std::to_string(*free_bytes) + " bytes free";
  if (incoming_bytes > 0) message += " (" + std::to_string(incoming_bytes) + " more requested)";
  message += ", below the reserve of [storage] min_free_bytes = " + std::to_string(reserve) +
             ": new uploads are refused until space is freed; uploads already accepted are "
             "still processed";
  return NoSpaceError(std::move(message));
}

Status LocalObjectStore::AdmitWrite(int64_t incoming_bytes) {
  return FreeSpaceStatus(std::max<int64_t>(0, incoming_bytes));
}

}  // namespace thumbflow
