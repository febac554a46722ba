// Multipart-upload S3 operations (s3_operations.h).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/uri.h"
#include "server/s3_operations.h"

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
  Result<std::string> id = cx.uploads.Create(r.bucket, r.key, PutOptionsFromHeaders(r.head));
  if (!id.ok()) return StatusReply(r, cx.clock, id.status(), false);
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

HttpReply ListParts(const S3Context& cx, S3Request& r) {
  if (!FindUpload(cx, r)) return ErrorReply(r, cx.clock, MakeError("NoSuchUpload"));
  ListPartsPage page;
  page.bucket = r.bucket;
  page.key = r.key;
  page.upload_id = *r.Query("uploadId");
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
  Result<std::vector<std::pair<int, std::string>>> parts =
      ParseCompleteMultipartXml(r.body ? r.body->memory() : std::string_view());
  if (!parts.ok()) return ErrorReply(r, cx.clock, MakeError("MalformedXML"));
  Result<MultipartUploads::ResolvedParts> resolved =
      cx.uploads.Resolve(id, *parts, cx.options.min_part_bytes);
  if (!resolved.ok()) return StatusReply(r, cx.clock, resolved.status(), false);
  Result<ObjectInfo> info = cx.backend.CompleteMultipart(r.bucket, r.key, resolved->paths,
                                                         resolved->etags, upload->options);
  if (!info.ok()) return StatusReply(r, cx.clock, info.status(), false);
  Status recorded = cx.uploads.MarkCompleted(id, info->etag);
  (void)recorded;  // the object is committed; without the record a retry gets NoSuchUpload
  return XmlReply(r, cx.clock,
                  CompleteMultipartUploadResultXml(ObjectLocation(r), r.bucket, r.key, info->etag));
}

}  // namespace thumbflow::server
