// Multipart-upload S3 operations (s3_operations.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/disk.h"
#include "core/random.h"
#include "core/uri.h"
#include "server/s3_auth.h"
#include "server/s3_operations.h"
#include "storage/etag.h"

namespace thumbflow::server {
namespace {

// The upload named by ?uploadId, if it is one of this bucket and key.
std::optional<UploadInfo> FindUpload(const S3Context& cx, const S3Request& r) {
  const std::string* id = r.Query("uploadId");
  if (!id) return std::nullopt;
  Result<UploadInfo> upload = cx.uploads.Get(*id);
  if (!upload.ok() || upload->bucket != r.bucket || upload->key != r.key) return std::nullopt;
  return std::move(*upload);
}

}  // namespace

std::optional<S3Error> CheckUploadPart(const S3Context& cx, const S3Request& r) {
  const std::string* number = r.Query("partNumber");
  int part = number ? std::atoi(number->c_str()) : 0;
  if (part < 1 || part > 10000 || !r.Has("uploadId")) {
    return MakeError("InvalidArgument",
                     "Part number must be an integer between 1 and 10000, inclusive");
  }
  if (!FindUpload(cx, r)) return MakeError("NoSuchUpload");
  return std::nullopt;
}

HttpReply CreateMultipartUpload(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  Result<std::optional<VersionLock>> lock = WriteLockOf(cx, r);
  if (!lock.ok()) return StatusReply(r, cx.clock, lock.status(), false);
  Result<std::string> id = cx.uploads.Create(r.bucket, r.key, PutOptionsOf(r), r.user);
  if (!id.ok()) return StatusReply(r, cx.clock, id.status(), false);
  Status kept = KeepUploadLock(cx, r, *id, *lock);
  if (!kept.ok()) return StatusReply(r, cx.clock, kept, false);
  return XmlReply(r, cx.clock, InitiateMultipartUploadResultXml(r.bucket, r.key, *id));
}

HttpReply UploadPart(const S3Context& cx, S3Request& r) {
  StagedFile file = r.body->TakeFile();
  int part = std::atoi(r.Query("partNumber")->c_str());
  Result<PartInfo> info = cx.uploads.AddPart(*r.Query("uploadId"), part, file);
  if (!info.ok()) {
    ::unlink(file.path.c_str());
    return StatusReply(r, cx.clock, info.status(), false);
  }
  HttpReply reply = EmptyReply(r, cx.clock, 200);
  reply.headers.emplace_back("ETag", info->etag);
  for (const auto& h : r.body->echo_headers()) reply.headers.push_back(h);
  return reply;
}

namespace {

constexpr char kCopyRangeForm[] =
    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and "
    "last are the zero-based offsets of the first and last bytes to copy";

// Streams `source` into a new file in `staging_dir`, hashed and fsynced: a part as
// UploadPart would have staged it. The file is removed on failure.
Result<StagedFile> StageFromSource(ByteSource& source, const std::string& staging_dir) {
  StagedFile file;
  file.path = staging_dir + "/copy-" + RandomHex(12);
  int fd = ::open(file.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return FileError(errno, "create", file.path);
  Md5Hasher md5;
  std::string buffer(1 << 20, '\0');
  Status status;
  while (status.ok()) {
    Result<size_t> n = source.Read(buffer.data(), buffer.size());
    if (!n.ok()) {
      status = n.status();
      break;
    }
    if (*n == 0) break;
    md5.Update(std::string_view(buffer.data(), *n));
    for (size_t done = 0; done < *n && status.ok();) {
      ssize_t w = ::write(fd, buffer.data() + done, *n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0)
        status = FileError(errno, "write", file.path);
      else
        done += static_cast<size_t>(w);
    }
    file.size += static_cast<int64_t>(*n);
  }
  if (status.ok() && ::fsync(fd) != 0) status = FileError(errno, "fsync", file.path);
  if (::close(fd) != 0 && status.ok()) status = FileError(errno, "close", file.path);
  if (!status.ok()) {
    ::unlink(file.path.c_str());
    return status;
  }
  file.etag = QuoteEtag(md5.FinishHex());
  return file;
}

}  // namespace

// The part is the source's bytes (or the x-amz-copy-source-range of them) as read from one
// opened version of the source: the copy-source conditions are checked against that same
// version, so a concurrent overwrite cannot slip between the check and the copy.
HttpReply UploadPartCopy(const S3Context& cx, S3Request& r) {
  if (std::optional<S3Error> bad = CheckUploadPart(cx, r)) return ErrorReply(r, cx.clock, *bad);
  Result<CopySource> src = ParseCopySource(*r.head.Header("x-amz-copy-source"));
  if (!src.ok()) {
    return ErrorReply(r, cx.clock, MakeError("InvalidArgument", src.status().message()));
  }
  // Read with the caller's rights, as CopyObject's source.
  if (std::optional<S3Error> denied = AuthorizeCopySource(cx, r, *src)) {
    return ErrorReply(r, cx.clock, std::move(*denied));
  }
  GetOptions read;
  read.version_id = src->version_id;
  if (const std::string* v = r.head.Header("x-amz-copy-source-range")) {
    read.range = ParseCopySourceRange(*v);
    if (!read.range) {
      S3Error error = MakeError("InvalidArgument", kCopyRangeForm);
      error.details = {{"ArgumentName", "x-amz-copy-source-range"}, {"ArgumentValue", *v}};
      return ErrorReply(r, cx.clock, std::move(error));
    }
  }
  auto range_invalid = [&](int64_t size) {
    return ErrorReply(
        r, cx.clock,
        MakeError("InvalidArgument", "Range specified is not valid for source object of size: " +
                                         std::to_string(size)));
  };
  Result<ObjectReader> opened = cx.backend.OpenObject(src->bucket, src->key, read);
  if (!opened.ok()) {
    if (opened.status().reason() != Reason::kInvalidRange) {
      return StatusReply(r, cx.clock, opened.status(), false);
    }
    Result<ObjectInfo> head = cx.backend.HeadVersion(src->bucket, src->key, src->version_id);
    return range_invalid(head.ok() ? head->size : 0);
  }
  ObjectReader& reader = *opened;
  // A range past the end is clamped by the store; S3 refuses it for a copy.
  if (read.range && *read.range->last >= reader.info.size) return range_invalid(reader.info.size);
  if (std::optional<S3Error> failed = CheckCopySourceConditions(r.head, reader.info)) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  if (reader.length > cx.options.max_put_bytes) {
    return ErrorReply(r, cx.clock,
                      MakeError("InvalidRequest",
                                "The specified copy source is larger than the maximum allowable "
                                "size for a copy source: " +
                                    std::to_string(cx.options.max_put_bytes)));
  }
  Status room = cx.backend.AdmitWrite(reader.length);
  if (!room.ok()) return StatusReply(r, cx.clock, room, false);
  std::unique_ptr<ByteSource> empty;
  ByteSource* source = reader.source.get();
  if (!source) {
    empty = StringSource("");
    source = empty.get();
  }
  Result<StagedFile> file = StageFromSource(*source, cx.backend.StagingDir());
  if (!file.ok()) return StatusReply(r, cx.clock, file.status(), false);
  int part = std::atoi(r.Query("partNumber")->c_str());
  Result<PartInfo> info = cx.uploads.AddPart(*r.Query("uploadId"), part, *file);
  if (!info.ok()) {
    ::unlink(file->path.c_str());
    return StatusReply(r, cx.clock, info.status(), false);
  }
  return XmlReply(r, cx.clock, CopyPartResultXml(*info));
}

HttpReply ListParts(const S3Context& cx, S3Request& r) {
  if (!FindUpload(cx, r)) return ErrorReply(r, cx.clock, MakeError("NoSuchUpload"));
  ListPartsPage page;
  page.bucket = r.bucket;
  page.key = r.key;
  page.upload_id = *r.Query("uploadId");
  Result<UploadInfo> upload = cx.uploads.Get(page.upload_id);
  if (!upload.ok()) return StatusReply(r, cx.clock, upload.status(), false);
  page.initiator = !upload->initiator.empty() ? upload->initiator
                   : !r.bucket_owner.empty()  ? r.bucket_owner
                                              : r.user;
  Result<std::vector<PartInfo>> parts = cx.uploads.ListParts(page.upload_id);
  if (!parts.ok()) return StatusReply(r, cx.clock, parts.status(), false);
  if (const std::string* v = r.Query("part-number-marker")) {
    page.part_number_marker = std::atoi(v->c_str());
  }
  if (const std::string* v = r.Query("max-parts")) {
    page.max_parts = std::clamp(std::atoi(v->c_str()), 0, 1000);
  }
  for (auto& p : *parts) {
    if (p.part_number <= page.part_number_marker) continue;
    if (static_cast<int>(page.parts.size()) == page.max_parts) {
      page.truncated = true;
      break;
    }
    page.parts.push_back(std::move(p));
  }
  return XmlReply(r, cx.clock, ListPartsResultXml(page));
}

// prefix, key-marker / upload-id-marker and max-uploads as S3 reads them. A delimiter is
// not supported: refused rather than ignored (the listing would not be what was asked).
HttpReply ListMultipartUploads(const S3Context& cx, S3Request& r) {
  if (r.Has("delimiter")) {
    return ErrorReply(r, cx.clock,
                      MakeError("NotImplemented",
                                "thumbflow does not implement ListMultipartUploads with a "
                                "delimiter."));
  }
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  ListUploadsPage page;
  page.owner = r.bucket_owner.empty() ? r.user : r.bucket_owner;
  page.bucket = r.bucket;
  if (const std::string* v = r.Query("prefix")) page.prefix = *v;
  if (const std::string* v = r.Query("key-marker")) page.key_marker = *v;
  if (const std::string* v = r.Query("upload-id-marker")) page.upload_id_marker = *v;
  if (const std::string* v = r.Query("max-uploads")) {
    page.max_uploads = std::clamp(std::atoi(v->c_str()), 0, 1000);
  }
  Result<std::vector<UploadInfo>> uploads = cx.uploads.List(r.bucket);
  if (!uploads.ok()) return StatusReply(r, cx.clock, uploads.status(), true);
  for (auto& u : *uploads) {
    if (!u.key.starts_with(page.prefix)) continue;
    // After the key-marker; with an upload-id-marker, the later uploads of that key too.
    if (!page.key_marker.empty()) {
      if (u.key < page.key_marker) continue;
      if (u.key == page.key_marker &&
          (page.upload_id_marker.empty() || u.upload_id <= page.upload_id_marker)) {
        continue;
      }
    }
    if (static_cast<int>(page.uploads.size()) == page.max_uploads) {
      page.truncated = true;
      break;
    }
    page.uploads.push_back(std::move(u));
  }
  return XmlReply(r, cx.clock, ListMultipartUploadsResultXml(page));
}

HttpReply AbortMultipartUpload(const S3Context& cx, S3Request& r) {
  if (!FindUpload(cx, r)) return ErrorReply(r, cx.clock, MakeError("NoSuchUpload"));
  Status s = cx.uploads.Remove(*r.Query("uploadId"));
  if (!s.ok()) return StatusReply(r, cx.clock, s, false);
  return EmptyReply(r, cx.clock, 204);
}

namespace {

// Where CompleteMultipartUploadResult says the object is.
std::string ObjectLocation(const S3Request& r) {
  std::string host;
  if (const std::string* h = r.head.Header("host")) host = *h;
  return "http://" + host + "/" + r.bucket + "/" + PercentEncode(r.key, {.keep_slash = true});
}

}  // namespace

HttpReply CompleteMultipartUpload(const S3Context& cx, S3Request& r) {
  const std::string& id = *r.Query("uploadId");
  std::optional<UploadInfo> upload = FindUpload(cx, r);
  if (!upload) {
    // Completed already: a retry after a lost reply gets the same success, as from S3.
    Result<std::string> etag = cx.uploads.CompletedEtag(id, r.bucket, r.key);
    if (!etag.ok()) return ErrorReply(r, cx.clock, MakeError("NoSuchUpload"));
    return XmlReply(r, cx.clock,
                    CompleteMultipartUploadResultXml(ObjectLocation(r), r.bucket, r.key, *etag));
  }
  WriteCondition condition;
  if (std::optional<S3Error> bad = WriteConditionFromHeaders(r.head, &condition)) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  if (std::optional<S3Error> failed = PrecheckWriteCondition(cx, r, condition)) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  Result<std::vector<std::pair<int, std::string>>> parts =
      ParseCompleteMultipartXml(r.body ? r.body->memory() : std::string_view());
  if (!parts.ok()) return ErrorReply(r, cx.clock, MakeError("MalformedXML"));
  Result<MultipartUploads::ResolvedParts> resolved =
      cx.uploads.Resolve(id, *parts, cx.options.min_part_bytes);
  if (!resolved.ok()) return StatusReply(r, cx.clock, resolved.status(), false);
  // Checked again by the store as it commits; a failed condition leaves the upload in place.
  upload->options.condition = condition;
  Result<ObjectInfo> info = cx.backend.CompleteMultipart(r.bucket, r.key, resolved->paths,
                                                         resolved->etags, upload->options);
  if (std::optional<S3Error> failed = WriteConditionError(condition, info.status())) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  if (!info.ok()) return StatusReply(r, cx.clock, info.status(), false);
  Result<std::optional<VersionLock>> lock = TakeUploadLock(cx, r, id);
  Status locked = lock.ok() ? ApplyWriteLock(cx, r, r.key, *info, *lock) : lock.status();
  if (!locked.ok()) return StatusReply(r, cx.clock, locked, false);
  Status recorded = cx.uploads.MarkCompleted(id, info->etag);
  (void)recorded;  // the object is committed; without the record a retry gets NoSuchUpload
  HttpReply reply =
      XmlReply(r, cx.clock,
               CompleteMultipartUploadResultXml(ObjectLocation(r), r.bucket, r.key, info->etag));
  AddVersionHeader(reply.headers, *info);
  return reply;
}

}  // namespace thumbflow::server
