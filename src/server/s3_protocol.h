// The S3 wire vocabulary the endpoint speaks: error codes and their HTTP statuses, XML
// escaping, URL encoding as S3 does it, and the two date formats S3 uses.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/status.h"
#include "server/multipart.h"
#include "storage/object_store.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

// An S3 error response: <Error><Code>..</Code><Message>..</Message>...</Error>.
struct S3Error {
  int http_status = 500;
  std::string code;  // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;
  std::string resource;  // the request path; rendered as <Resource>
  // Further elements S3 adds for some errors, after <Message>, in order: HeadersNotSigned,
  // Region, ArgumentName / ArgumentValue, ...
  std::vector<std::pair<std::string, std::string>> details;
};

S3Error MakeError(std::string_view code, std::string message = {});
// Maps a store / auth Status to the S3 error a client expects. `is_bucket_op` selects
// NoSuchBucket for NotFound on bucket-level operations; object NotFound becomes NoSuchKey
// unless the message names a missing bucket.
S3Error ErrorFromStatus(const Status& status, bool is_bucket_op);

// The error document. A resource that is not plain XML text (invalid UTF-8, control
// characters) is percent-encoded, so every client can parse the error.
std::string ErrorXml(const S3Error& error, std::string_view request_id);

// Escapes markup characters; control characters become numeric references (&#xN;), and NUL,
// which XML cannot carry at all, becomes U+FFFD. Keys holding control characters still need
// encoding-type=url for strict parsers.
std::string XmlEscape(std::string_view text);
// Percent-encoding (encoding-type=url, copy sources): PercentEncode / PercentDecode in
// core/uri.h.

std::string HttpDate(int64_t epoch_ms);  // Fri, 27 Nov 2026 07:18:42 GMT
// ISO-8601 with milliseconds (listings): FormatIso8601Millis; parsing HTTP dates:
// ParseHttpDate; both in core/civil_time.h.

// Request bodies. Both fail with InvalidArgument, reason "MalformedXML", when the body is
// not XML of the expected shape.
//
// DeleteObjects: <Delete><Quiet>true</Quiet><Object><Key>k</Key></Object>...</Delete>, 1 to
// 1000 objects. Keys are returned as sent, whitespace included (the handler validates each
// one).
struct DeleteObjectsBody {
  bool quiet = false;
  std::vector<std::string> keys;
  // Each object's <ETag> (a conditional delete, as If-Match), "" when it has none; one per key.
  std::vector<std::string> etags;
  // Each object's <VersionId>, "" when it has none; one per key.
  std::vector<std::string> version_ids;
  // Each object's <Size> and <LastModifiedTime> (ms since the epoch): conditions
  // as x-amz-if-match-size / -last-modified-time on DeleteObject. One per key.
  std::vector<std::optional<int64_t>> sizes;
  std::vector<std::optional<int64_t>> last_modified_ms;
};
Result<DeleteObjectsBody> ParseDeleteObjectsXml(std::string_view body);

// CompleteMultipartUpload: <CompleteMultipartUpload><Part><PartNumber>1</PartNumber>
// <ETag>"…"</ETag></Part>...</CompleteMultipartUpload>. Returns (part number, ETag as sent)
// in document order; a PartNumber that is not a decimal int is MalformedXML. The parts'
// order and existence are MultipartUploads::Resolve's business. `checksums`, when given,
// gets each part's <ChecksumCRC32>... elements as {algorithm ("CRC32", ...): value}.
Result<std::vector<std::pair<int, std::string>>> ParseCompleteMultipartXml(
    std::string_view body, std::vector<Metadata>* checksums = nullptr);

// <ChecksumCRC32>value</ChecksumCRC32> (the element of the checksum's algorithm), and
// <ChecksumType> when `with_type`; "" for no checksum.
std::string ChecksumXml(const ObjectChecksum& checksum, bool with_type);

// ---- Response documents -------------------------------------------------------------------
// Each returns the root element and its content, without the XML declaration (the reply
// adds it), in the element order S3 uses; text is escaped here.

inline constexpr char kS3XmlNamespace[] = "http://s3.amazonaws.com/doc/2006-03-01/";

// A user's Owner ID and DisplayName are both its name.
std::string ListAllMyBucketsResultXml(const std::vector<BucketInfo>& buckets,
                                      std::string_view owner);
// An empty LocationConstraint for us-east-1, as S3 answers.
std::string LocationConstraintXml(std::string_view region);
// GetBucketVersioning: <Status> when versioning was ever configured ("Enabled",
// "Suspended"); without it (`status` empty) an empty VersioningConfiguration, as S3 answers
// for a bucket that never had versioning.
std::string VersioningConfigurationXml(std::string_view status);
// PutBucketVersioning's body: the <Status> (Enabled or Suspended; anything else, or none, is
// InvalidArgument with error code IllegalVersioningConfigurationException; a body that is
// not such a document: MalformedXML). *mfa_delete: <MfaDelete>Enabled</MfaDelete> was asked.
Result<std::string> ParseVersioningConfigurationXml(std::string_view body, bool* mfa_delete);

// What a ListObjects / ListObjectsV2 request asked, as the result echoes it.
struct ListBucketQuery {
  std::string bucket;
  bool v2 = false;
  bool url_encoding = false;  // encoding-type=url: keys, prefixes, markers percent-encoded
  int max_keys = 1000;
  std::string prefix;
  std::string delimiter;
  std::optional<std::string> continuation_token;  // v2, as sent (an empty one is echoed)
  std::optional<std::string> start_after;         // v2, as sent
  std::string marker;                             // v1, as sent
  // Each object's <Owner> (the bucket's owner); empty: none (V2 without fetch-owner=true).
  std::string owner;
};
std::string ListBucketResultXml(const ListBucketQuery& query, const ListResult& listed);
// ListObjectVersions: the versions (<Version>) and delete markers (<DeleteMarker>) in
// listing order, then the common prefixes. `query.marker` is the key-marker,
// `version_id_marker` the version-id-marker as sent.
std::string ListVersionsResultXml(const ListBucketQuery& query, std::string_view version_id_marker,
                                  const ListVersionsResult& listed);

// One key of a DeleteObjects request: deleted (code empty) or the error it met.
struct DeleteOutcome {
  std::string key;
  std::string version_id;  // the <VersionId> asked for, if any
  // The delete made a delete marker, or removed one (S3's <DeleteMarker>), and its version.
  bool delete_marker = false;
  std::string delete_marker_version_id;
  std::string code;
  std::string message;
};
// Quiet: deleted keys are not listed, errors are.
std::string DeleteResultXml(const std::vector<DeleteOutcome>& outcomes, bool quiet);

std::string CopyObjectResultXml(const ObjectInfo& copied);
// UploadPartCopy: the new part's LastModified and ETag.
std::string CopyPartResultXml(const PartInfo& part);
std::string InitiateMultipartUploadResultXml(std::string_view bucket, std::string_view key,
                                             std::string_view upload_id);

// GetObjectAttributes: the attributes x-amz-object-attributes asked for, of `info`; its parts
// after `part_number_marker`, at most `max_parts`.
struct ObjectAttributesRequest {
  bool etag = false, checksum = false, object_parts = false, storage_class = false,
       object_size = false;
  int part_number_marker = 0;
  int max_parts = 1000;
};
std::string GetObjectAttributesResponseXml(const ObjectInfo& info,
                                           const ObjectAttributesRequest& request);

// One page of ListParts: `parts` are the parts after `part_number_marker`, at most
// `max_parts` of them; `truncated` when more follow.
struct ListPartsPage {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int part_number_marker = 0;
  int max_parts = 1000;
  bool truncated = false;
  std::vector<PartInfo> parts;
  std::string initiator;  // the upload's Initiator and Owner
  // The upload's checksum algorithm and type (ObjectChecksum without a value), if any.
  ObjectChecksum checksum;
};
std::string ListPartsResultXml(const ListPartsPage& page);

// One page of ListMultipartUploads: the uploads after (key-marker, upload-id-marker), at most
// max_uploads of them; `truncated` when more follow.
struct ListUploadsPage {
  std::string bucket;
  std::string prefix;
  std::string key_marker;
  std::string upload_id_marker;
  int max_uploads = 1000;
  bool truncated = false;
  std::vector<UploadInfo> uploads;
  // The bucket's owner: the Initiator and Owner of an upload that has no initiator recorded.
  std::string owner;
};
std::string ListMultipartUploadsResultXml(const ListUploadsPage& page);
// PostObject with success_action_status 201.
std::string PostResponseXml(std::string_view location, std::string_view bucket,
                            std::string_view key, std::string_view etag);
std::string CompleteMultipartUploadResultXml(std::string_view location, std::string_view bucket,
                                             std::string_view key, std::string_view etag,
                                             const ObjectChecksum& checksum = {});

}  // namespace thumbflow::server
