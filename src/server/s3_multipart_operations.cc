// Multipart-upload S3 operations (s3_operations.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "aws/checksums.h"
#include "core/disk.h"
#include "core/random.h"
#include "core/strings.h"
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

namespace {

// x-amz-checksum-algorithm and x-amz-checksum-type of CreateMultipartUpload: the upload's
// checksum (no value), as S3 combines them: CRC32 and CRC32C are COMPOSITE or FULL_OBJECT
// (COMPOSITE unless asked), SHA1 and SHA256 only COMPOSITE, CRC64NVME only FULL_OBJECT.
std::optional<S3Error> UploadChecksumOf(const S3Request& r, ObjectChecksum* checksum) {
  const std::string* algorithm_header = r.head.Header("x-amz-checksum-algorithm");
  const std::string* type_header = r.head.Header("x-amz-checksum-type");
  if (!algorithm_header) {
    if (!type_header) return std::nullopt;
    return MakeError("InvalidRequest",
                     "The x-amz-checksum-type header can only be used with the "
                     "x-amz-checksum-algorithm header.");
  }
  Result<aws::ChecksumAlgorithm> algorithm = aws::ParseChecksumAlgorithm(*algorithm_header);
  if (!algorithm.ok()) return MakeError("InvalidRequest", kUnsupportedChecksumAlgorithm);
  const bool crc32 =
      *algorithm == aws::ChecksumAlgorithm::kCrc32 || *algorithm == aws::ChecksumAlgorithm::kCrc32c;
  const bool full_only = *algorithm == aws::ChecksumAlgorithm::kCrc64Nvme;
  std::string type = full_only ? "FULL_OBJECT" : "COMPOSITE";
  if (type_header) {
    type = *type_header;
    if (type != "COMPOSITE" && type != "FULL_OBJECT") {
      return MakeError("InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
    }
    if (!crc32 && type != (full_only ? "FULL_OBJECT" : "COMPOSITE")) {
      return MakeError("InvalidRequest", "The " + type + " checksum type cannot be used with the " +
                                             std::string(aws::ChecksumAlgorithmName(*algorithm)) +
                                             " checksum algorithm.");
    }
  }
  *checksum = ObjectChecksum{std::string(aws::ChecksumAlgorithmName(*algorithm)), "", type};
  return std::nullopt;
}

void AddChecksumHeaders(HeaderList& headers, const ObjectChecksum& checksum) {
  if (checksum.empty()) return;
  headers.emplace_back("x-amz-checksum-algorithm", checksum.algorithm);
  headers.emplace_back("x-amz-checksum-type", checksum.type);
}

}  // namespace

HttpReply CreateMultipartUpload(const S3Context& cx, S3Request& r) {
  Status bucket = cx.backend.HeadBucket(r.bucket);
  if (!bucket.ok()) return StatusReply(r, cx.clock, bucket, true);
  Result<std::optional<VersionLock>> lock = WriteLockOf(cx, r);
  if (!lock.ok()) return StatusReply(r, cx.clock, lock.status(), false);
  // Each new upload may sweep the abandoned ones (at most every tenth of their age).
  (void)cx.uploads.SweepAbandoned(cx.options.multipart_upload_max_age_ms, /*if_due=*/true);
  PutOptions options = PutOptionsOf(r);
  if (std::optional<S3Error> bad = UploadChecksumOf(r, &options.checksum)) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  Result<std::string> id = cx.uploads.Create(r.bucket, r.key, options, r.user);
  if (!id.ok()) return StatusReply(r, cx.clock, id.status(), false);
  Status kept = KeepUploadLock(cx, r, *id, *lock);
  if (!kept.ok()) return StatusReply(r, cx.clock, kept, false);
  HttpReply reply = XmlReply(r, cx.clock, InitiateMultipartUploadResultXml(r.bucket, r.key, *id));
  AddChecksumHeaders(reply.headers, options.checksum);
  return reply;
}

// A part of an upload created with a checksum algorithm carries that algorithm's checksum: a
// COMPOSITE upload's part must bring it, as on S3; a FULL_OBJECT upload's part is given one
// when it comes without (S3Handler::AdmitBody, S3BodySink::ComputeChecksum).
HttpReply UploadPart(const S3Context& cx, S3Request& r) {
  StagedFile file = r.body->TakeFile();
  int part = std::atoi(r.Query("partNumber")->c_str());
  ObjectChecksum checksum = r.body->checksum();
  checksum.type.clear();
  if (std::optional<UploadInfo> upload = FindUpload(cx, r)) {
    const std::string& expected = upload->options.checksum.algorithm;
    if (!expected.empty() && checksum.algorithm != expected) {
      ::unlink(file.path.c_str());
      return ErrorReply(
          r, cx.clock,
          MakeError("InvalidRequest",
                    "Checksum Type mismatch occurred, expected checksum Type: " + expected +
                        ", actual checksum Type: " +
                        (checksum.empty() ? std::string("null") : checksum.algorithm)));
    }
  }
  Result<PartInfo> info = cx.uploads.AddPart(*r.Query("uploadId"), part, file, checksum);
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
// UploadPart would have staged it, the bytes also fed to `checksummer` (may be null). The
// file is removed on failure.
Result<StagedFile> StageFromSource(ByteSource& source, const std::string& staging_dir,
                                   aws::Checksummer* checksummer) {
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
    if (checksummer) checksummer->Update(std::string_view(buffer.data(), *n));
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
  // A part of an upload created with a checksum algorithm gets that checksum.
  std::unique_ptr<aws::Checksummer> checksummer;
  ObjectChecksum checksum;
  if (std::optional<UploadInfo> upload = FindUpload(cx, r);
      upload && !upload->options.checksum.empty()) {
    Result<aws::ChecksumAlgorithm> algorithm =
        aws::ParseChecksumAlgorithm(upload->options.checksum.algorithm);
    if (algorithm.ok()) {
      checksummer = aws::NewChecksummer(*algorithm);
      checksum.algorithm = upload->options.checksum.algorithm;
    }
  }
  Result<StagedFile> file = StageFromSource(*source, cx.backend.StagingDir(), checksummer.get());
  if (!file.ok()) return StatusReply(r, cx.clock, file.status(), false);
  if (checksummer) checksum.value = checksummer->FinishBase64();
  int part = std::atoi(r.Query("partNumber")->c_str());
  Result<PartInfo> info = cx.uploads.AddPart(*r.Query("uploadId"), part, *file, checksum);
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
  page.checksum = upload->options.checksum;
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

namespace {

// The checksum of the object a completion makes of `parts` (their files and the checksums
// UploadPart kept), as `wanted` (the upload's algorithm and type) says: COMPOSITE, the
// checksum of the parts' digests followed by "-N"; FULL_OBJECT, that of the object's bytes.
// A part without a checksum of the algorithm (uploaded before the upload had one) is
// InvalidPart.
Result<ObjectChecksum> CompletedChecksum(const ObjectChecksum& wanted,
                                         const MultipartUploads::ResolvedParts& parts) {
  ASSIGN_OR_RETURN(aws::ChecksumAlgorithm algorithm, aws::ParseChecksumAlgorithm(wanted.algorithm));
  ObjectChecksum out = wanted;
  if (wanted.type == "FULL_OBJECT") {
    std::unique_ptr<aws::Checksummer> whole = aws::NewChecksummer(algorithm);
    std::string buffer(1 << 20, '\0');
    for (const std::string& path : parts.paths) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return FileError(errno, "open part", path);
      while (true) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          Status failed = FileError(errno, "read part", path);
          ::close(fd);
          return failed;
        }
        if (n == 0) break;
        whole->Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
      }
      ::close(fd);
    }
    out.value = whole->FinishBase64();
    return out;
  }
  std::string digests;
  for (size_t i = 0; i < parts.checksums.size(); ++i) {
    Result<std::string> digest = aws::Base64Decode(parts.checksums[i].value);
    if (parts.checksums[i].algorithm != wanted.algorithm || !digest.ok()) {
      return S3Status(StatusCode::kInvalidArgument, "InvalidPart",
                      "part " + std::to_string(i + 1) + " of the completion has no " +
                          wanted.algorithm + " checksum");
    }
    digests += *digest;
  }
  out.value = aws::ChecksumBase64(algorithm, digests) + "-" + std::to_string(parts.paths.size());
  return out;
}

// The completion's x-amz-checksum-* header (the whole object's checksum, with or without the
// "-N" of a composite one) and each part's <ChecksumX> in its body, against `checksum`. A
// COMPOSITE checksum is made of the parts' ones: each must be named. A FULL_OBJECT one is the
// bytes': those named are checked, none is required.
std::optional<S3Error> CheckCompletionChecksums(
    const S3Request& r, const ObjectChecksum& checksum,
    const MultipartUploads::ResolvedParts& resolved,
    const std::vector<std::pair<int, std::string>>& parts,
    const std::vector<Metadata>& part_checksums) {
  for (const auto& [name, value] : r.head.headers) {
    std::optional<aws::ChecksumAlgorithm> algorithm =
        aws::ChecksumAlgorithmFromHeader(ToLowerAscii(name));
    if (!algorithm) continue;
    const std::string bare = checksum.value.substr(0, checksum.value.rfind('-'));
    if (aws::ChecksumAlgorithmName(*algorithm) != checksum.algorithm ||
        (value != checksum.value && value != bare)) {
      return MakeError("BadDigest", "The " + std::string(aws::ChecksumAlgorithmName(*algorithm)) +
                                        " you specified did not match the calculated checksum.");
    }
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = part_checksums[i].find(checksum.algorithm);
    if (it == part_checksums[i].end() && checksum.type == "FULL_OBJECT") continue;
    if (it == part_checksums[i].end()) {
      return MakeError("InvalidRequest",
                       "The upload was created using a " + ToLowerAscii(checksum.algorithm) +
                           " checksum. The complete request must include the checksum for each "
                           "part. It was missing for part " +
                           std::to_string(parts[i].first) + " in the request.");
    }
    if (it->second != resolved.checksums[i].value || it->second.empty()) {
      return MakeError("InvalidPart",
                       "One or more of the specified parts could not be found.  The part may not "
                       "have been uploaded, or the specified entity tag may not match the part's "
                       "entity tag.");
    }
  }
  return std::nullopt;
}

}  // namespace

HttpReply CompleteMultipartUpload(const S3Context& cx, S3Request& r) {
  const std::string& id = *r.Query("uploadId");
  std::optional<UploadInfo> upload = FindUpload(cx, r);
  if (!upload) {
    // Completed already: a retry after a lost reply gets the same success, as from S3.
    ObjectChecksum checksum;
    Result<std::string> etag = cx.uploads.CompletedEtag(id, r.bucket, r.key, &checksum);
    if (!etag.ok()) return ErrorReply(r, cx.clock, MakeError("NoSuchUpload"));
    return XmlReply(
        r, cx.clock,
        CompleteMultipartUploadResultXml(ObjectLocation(r), r.bucket, r.key, *etag, checksum));
  }
  WriteCondition condition;
  if (std::optional<S3Error> bad = WriteConditionFromHeaders(r.head, &condition)) {
    return ErrorReply(r, cx.clock, std::move(*bad));
  }
  if (std::optional<S3Error> failed = PrecheckWriteCondition(cx, r, condition)) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  std::vector<Metadata> part_checksums;
  Result<std::vector<std::pair<int, std::string>>> parts =
      ParseCompleteMultipartXml(r.body ? r.body->memory() : std::string_view(), &part_checksums);
  if (!parts.ok()) return ErrorReply(r, cx.clock, MakeError("MalformedXML"));
  Result<MultipartUploads::ResolvedParts> resolved =
      cx.uploads.Resolve(id, *parts, cx.options.min_part_bytes);
  if (!resolved.ok()) return StatusReply(r, cx.clock, resolved.status(), false);
  if (!upload->options.checksum.empty()) {
    Result<ObjectChecksum> checksum = CompletedChecksum(upload->options.checksum, *resolved);
    if (!checksum.ok()) return StatusReply(r, cx.clock, checksum.status(), false);
    if (std::optional<S3Error> bad =
            CheckCompletionChecksums(r, *checksum, *resolved, *parts, part_checksums)) {
      return ErrorReply(r, cx.clock, std::move(*bad));
    }
    upload->options.checksum = *checksum;
  }
  // Checked again by the store as it commits; a failed condition leaves the upload in place.
  upload->options.condition = condition;
  // The lock CreateMultipartUpload asked for (else the bucket's default), committed with it.
  Result<std::optional<VersionLock>> lock = UploadLockOf(cx, r, id);
  if (!lock.ok()) return StatusReply(r, cx.clock, lock.status(), false);
  upload->options.lock = lock->value_or(VersionLock{});
  // The object keeps its parts' numbers (their sizes are the store's): GET ?partNumber=.
  upload->options.parts.clear();
  for (size_t i = 0; i < parts->size(); ++i) {
    upload->options.parts.push_back(
        ObjectPart{(*parts)[i].first, 0,
                   upload->options.checksum.empty() ? "" : resolved->checksums[i].value});
  }
  Result<ObjectInfo> info = cx.backend.CompleteMultipart(r.bucket, r.key, resolved->paths,
                                                         resolved->etags, upload->options);
  if (std::optional<S3Error> failed = WriteConditionError(condition, info.status())) {
    return ErrorReply(r, cx.clock, std::move(*failed));
  }
  if (!info.ok()) return StatusReply(r, cx.clock, info.status(), false);
  ForgetUploadLock(cx, r, id);
  Status recorded = cx.uploads.MarkCompleted(id, info->etag, info->checksum);
  (void)recorded;  // the object is committed; without the record a retry gets NoSuchUpload
  HttpReply reply = XmlReply(r, cx.clock,
                             CompleteMultipartUploadResultXml(ObjectLocation(r), r.bucket, r.key,
                                                              info->etag, info->checksum));
  AddVersionHeader(reply.headers, *info);
  return reply;
}

}  // namespace thumbflow::server
