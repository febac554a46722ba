#include "server/s3_protocol.h"

#include <charconv>
#include <cstdio>
#include <functional>

#include <pugixml.hpp>

#include "aws/checksums.h"
#include "core/civil_time.h"
#include "core/uri.h"
#include "core/utf8.h"
#include "storage/etag.h"

namespace thumbflow::server {
namespace {

struct ErrorSpec {
  std::string_view code;
  int status;
  const char* message;
};

// Every S3 error code the endpoint answers, its HTTP status and S3's default message.
constexpr ErrorSpec kErrorSpecs[] = {
    {"AccessDenied", 403, "Access Denied"},
    {"AccessForbidden", 403, "CORSResponse: This CORS request is not allowed."},
    {"MalformedPOSTRequest", 400,
     "The body of your POST request is not well-formed multipart/form-data."},
    {"MaxPostPreDataLengthExceeded", 400,
     "Your POST request fields preceding the upload file were too large."},
    {"InvalidPolicyDocument", 400,
     "The content of the form does not meet the conditions specified in the policy document."},
    {"NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"},
    {"NoSuchBucketPolicy", 404, "The bucket policy does not exist"},
    {"NoSuchTagSet", 404, "The TagSet does not exist"},
    {"NoSuchPublicAccessBlockConfiguration", 404,
     "The public access block configuration was not found"},
    {"ServerSideEncryptionConfigurationNotFoundError", 404,
     "The server side encryption configuration was not found"},
    {"InvalidBucketState", 409, "The request is not valid with the current state of the bucket."},
    {"ObjectLockConfigurationNotFoundError", 404,
     "Object Lock configuration does not exist for this bucket"},
    {"NoSuchObjectLockConfiguration", 404,
     "The specified object does not have a ObjectLock configuration"},
    {"InvalidRetentionPeriod", 400, "Default retention period must be a positive value."},
    {"MalformedPolicy", 400, "Policies must be valid JSON and the first byte must be '{'"},
    {"BadDigest", 400, "The Content-MD5 you specified did not match what we received."},
    {"BucketAlreadyExists", 409, "The requested bucket name is not available."},
    {"BucketAlreadyOwnedByYou", 409,
     "Your previous request to create the named bucket "
     "succeeded and you already own it."},
    {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty"},
    {"ConditionalRequestConflict", 409,
     "A conflicting operation occurred. If using PutObject you can retry the request. If using "
     "multipart upload you should initiate another CreateMultipartUpload request and re-upload "
     "each part."},
    {"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"},
    {"EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed size"},
    {"IncompleteBody", 400,
     "You did not provide the number of bytes specified by the "
     "Content-Length HTTP header."},
    {"InternalError", 500, "We encountered an internal error. Please try again."},
    {"InvalidAccessKeyId", 403,
     "The AWS access key Id you provided does not exist in our "
     "records."},
    {"InvalidArgument", 400, "Invalid Argument"},
    {"InvalidBucketName", 400, "The specified bucket is not valid."},
    {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    {"InvalidPart", 400, "One or more of the specified parts could not be found."},
    {"InvalidPartNumber", 416, "The requested partnumber is not satisfiable"},
    {"InvalidPartOrder", 400, "The list of parts was not in ascending order."},
    {"InvalidRange", 416, "The requested range is not satisfiable"},
    {"InvalidRequest", 400, "Invalid Request"},
    {"InvalidTag", 400, "The tag provided was not a valid tag."},
    {"KeyTooLongError", 400, "Your key is too long"},
    {"MalformedACLError", 400,
     "The XML you provided was not well-formed or did not validate against our published "
     "schema"},
    {"MalformedXML", 400,
     "The XML you provided was not well-formed or did not validate "
     "against our published schema."},
    {"MaxMessageLengthExceeded", 400, "Your request was too big."},
    {"MethodNotAllowed", 405, "The specified method is not allowed against this resource."},
    {"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
    {"MissingSecurityHeader", 400, "Your request was missing a required header."},
    {"UnexpectedContent", 400, "This request does not support content."},
    {"UnresolvableGrantByEmailAddress", 400,
     "The e-mail address you provided does not match any account on record."},
    {"NoSuchBucket", 404, "The specified bucket does not exist"},
    {"NoSuchKey", 404, "The specified key does not exist."},
    {"NoSuchUpload", 404, "The specified multipart upload does not exist."},
    {"NoSuchVersion", 404, "The specified version does not exist."},
    {"IllegalVersioningConfigurationException", 400, "The Versioning element must be specified"},
    {"NotImplemented", 501,
     "A header you provided implies functionality that is not "
     "implemented."},
    {"NotModified", 304, "Not Modified"},
    {"PreconditionFailed", 412,
     "At least one of the pre-conditions you specified did not "
     "hold"},
    {"RequestHeaderSectionTooLarge", 400,
     "Your request header section exceeds the "
     "maximum allowed size."},
    {"RequestTimeout", 400,
     "Your socket connection to the server was not read from or "
     "written to within the timeout period."},
    {"RequestTimeTooSkewed", 403,
     "The difference between the request time and the "
     "current time is too large."},
    {"ServiceUnavailable", 503, "Please reduce your request rate."},
    {"SignatureDoesNotMatch", 403,
     "The request signature we calculated does not match "
     "the signature you provided. Check your key and signing "
     "method."},
    {"SlowDown", 503, "Please reduce your request rate."},
    {"XAmzContentSHA256Mismatch", 400,
     "The provided 'x-amz-content-sha256' header does "
     "not match what was computed."},
    {"BadRequest", 400, "Bad Request"},
    {"AuthorizationHeaderMalformed", 400, "The authorization header is malformed."},
    {"AuthorizationQueryParametersError", 400,
     "Error parsing the X-Amz-Credential "
     "parameter."},
    {"ExpiredToken", 400, "The provided token has expired."},
};

const ErrorSpec* FindErrorSpec(std::string_view code) {
  for (const ErrorSpec& spec : kErrorSpecs) {
    if (spec.code == code) return &spec;
  }
  return nullptr;
}

}  // namespace

S3Error MakeError(std::string_view code, std::string message) {
  S3Error error;
  error.code = std::string(code);
  if (const ErrorSpec* spec = FindErrorSpec(code)) {
    error.http_status = spec->status;
    if (message.empty()) message = spec->message;
  }
  error.message = std::move(message);
  return error;
}

S3Error ErrorFromStatus(const Status& status, bool is_bucket_op) {
  const std::string& code = status.error_code();
  // An S3 error code wins (the endpoint and aws/ set these).
  if (!code.empty() && FindErrorSpec(code)) return MakeError(code, status.message());
  const Reason reason = status.reason();
  if (reason == Reason::kInvalidRange) return MakeError("InvalidRange");
  if (reason == Reason::kInvalidPartNumber) return MakeError("InvalidPartNumber");
  if (reason == Reason::kPreconditionFailed) return MakeError("PreconditionFailed");
  if (reason == Reason::kNotModified) return MakeError("NotModified");
  if (reason == Reason::kNoSuchBucket) return MakeError("NoSuchBucket");
  if (reason == Reason::kNoSuchUpload) return MakeError("NoSuchUpload");
  if (reason == Reason::kBucketNotEmpty) return MakeError("BucketNotEmpty");
  switch (status.code()) {
    case StatusCode::kNotFound: {
      bool bucket = is_bucket_op || status.message().find("bucket") != std::string::npos;
      return MakeError(bucket ? "NoSuchBucket" : "NoSuchKey");
    }
    case StatusCode::kAlreadyExists:
      return MakeError("BucketAlreadyOwnedByYou");
    case StatusCode::kFailedPrecondition:
      if (is_bucket_op) return MakeError("BucketNotEmpty");
      return MakeError("PreconditionFailed");
    case StatusCode::kInvalidArgument:
      return MakeError("InvalidArgument", status.message());
    case StatusCode::kResourceExhausted:
      // A limit of the request (the configured size) is EntityTooLarge; a retryable
      // exhaustion (a full disk, the free-space reserve) is the server's condition,
      // answered with a 503 that every SDK retries, in the status's own words.
      if (status.retryable() && reason != Reason::kTooLarge) {
        return MakeError("SlowDown", status.message());
      }
      return MakeError("EntityTooLarge");
    case StatusCode::kUnauthenticated:
      return MakeError("SignatureDoesNotMatch");
    case StatusCode::kPermissionDenied:
      return MakeError("AccessDenied");
    case StatusCode::kUnimplemented:
      return MakeError("NotImplemented", status.message());
    case StatusCode::kUnavailable:
      return MakeError("ServiceUnavailable");
    case StatusCode::kDataLoss:
      return MakeError("BadDigest", status.message());
    default:
      return MakeError("InternalError");
  }
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";  // U+FFFD: XML has no way to write NUL
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          char ref[8];
          std::snprintf(ref, sizeof(ref), "&#x%X;", static_cast<unsigned>(c));
          out += ref;
        } else {
          out += c;
        }
    }
  }
  return out;
}

namespace {

// Text any XML 1.0 parser accepts once escaped: valid UTF-8 without control characters
// (numeric references to them are refused by strict parsers such as expat).
bool IsPlainXmlText(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return false;
  }
  return IsValidUtf8(text);
}

}  // namespace

std::string ErrorXml(const S3Error& error, std::string_view request_id) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
  xml += XmlEscape(error.code);
  xml += "</Code><Message>";
  xml += XmlEscape(error.message);
  xml += "</Message>";
  for (const auto& [name, value] : error.details) {
    xml += "<" + name + ">" + XmlEscape(value) + "</" + name + ">";
  }
  if (!error.resource.empty()) {
    // The resource is the decoded request path, which may be any bytes (a refused key):
    // percent-encoded then, so that every client can still parse the error.
    const std::string& resource = error.resource;
    xml += "<Resource>" +
           XmlEscape(IsPlainXmlText(resource) ? resource
                                              : PercentEncode(resource, {.keep_slash = true})) +
           "</Resource>";
  }
  xml += "<RequestId>";
  xml += XmlEscape(request_id);
  xml += "</RequestId></Error>";
  return xml;
}

std::string HttpDate(int64_t epoch_ms) { return FormatHttpDate(epoch_ms); }

namespace {

Status MalformedXml(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "MalformedXML");
}

}  // namespace

Result<DeleteObjectsBody> ParseDeleteObjectsXml(std::string_view body) {
  pugi::xml_document doc;
  // parse_ws_pcdata_single keeps text that is only whitespace when it is an element's only
  // child: <Key> </Key> names the key " ", which pugixml's default would drop (key "").
  if (!doc.load_buffer(body.data(), body.size(),
                       pugi::parse_default | pugi::parse_ws_pcdata_single)) {
    return MalformedXml("the body is not XML");
  }
  pugi::xml_node root = doc.child("Delete");
  if (!root) return MalformedXml("the root element is not Delete");
  DeleteObjectsBody parsed;
  parsed.quiet = std::string_view(root.child_value("Quiet")) == "true";
  for (pugi::xml_node o : root.children("Object")) {
    parsed.keys.emplace_back(o.child_value("Key"));
    parsed.etags.emplace_back(o.child_value("ETag"));
    parsed.version_ids.emplace_back(o.child_value("VersionId"));
    std::optional<int64_t>& size = parsed.sizes.emplace_back();
    if (pugi::xml_node n = o.child("Size")) {
      int64_t value = 0;
      std::string_view text = n.child_value();
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) {
        return MalformedXml("Size is not a size in bytes");
      }
      size = value;
    }
    std::optional<int64_t>& modified = parsed.last_modified_ms.emplace_back();
    if (pugi::xml_node n = o.child("LastModifiedTime")) {
      // An HTTP date, as S3's model has it; ISO 8601 as XML timestamps usually are.
      Result<int64_t> ms = ParseHttpDate(n.child_value());
      if (!ms.ok()) ms = ParseIso8601Millis(n.child_value());
      if (!ms.ok()) return MalformedXml("LastModifiedTime is not a time");
      modified = *ms;
    }
  }
  if (parsed.keys.empty() || parsed.keys.size() > 1000) {
    return MalformedXml("Delete must name 1 to 1000 objects");
  }
  return parsed;
}

Result<std::vector<std::pair<int, std::string>>> ParseCompleteMultipartXml(
    std::string_view body, std::vector<Metadata>* checksums) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return MalformedXml("the body is not XML");
  pugi::xml_node root = doc.child("CompleteMultipartUpload");
  if (!root) return MalformedXml("the root element is not CompleteMultipartUpload");
  std::vector<std::pair<int, std::string>> parts;
  for (pugi::xml_node p : root.children("Part")) {
    std::string_view text = p.child_value("PartNumber");
    int number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return MalformedXml("PartNumber is not an integer");
    }
    parts.emplace_back(number, p.child_value("ETag"));
    if (checksums) {
      Metadata& part = checksums->emplace_back();
      for (aws::ChecksumAlgorithm a : aws::kChecksumAlgorithms) {
        const std::string element = "Checksum" + std::string(aws::ChecksumAlgorithmName(a));
        if (pugi::xml_node c = p.child(element.c_str())) {
          part[std::string(aws::ChecksumAlgorithmName(a))] = c.child_value();
        }
      }
    }
  }
  return parts;
}

// ---- Response documents -------------------------------------------------------------------

namespace {

std::string Tag(std::string_view name, std::string_view escaped_value) {
  std::string out = "<";
  out += name;
  out += '>';
  out += escaped_value;
  out += "</";
  out += name;
  out += '>';
  return out;
}

std::string Open(std::string_view root) {
  return "<" + std::string(root) + " xmlns=\"" + kS3XmlNamespace + "\">";
}

// A user's canonical ID and display name are both its name ([[server.users]] name).
std::string UserXml(std::string_view element, std::string_view user) {
  std::string name = XmlEscape(user);
  return "<" + std::string(element) + "><ID>" + name + "</ID><DisplayName>" + name +
         "</DisplayName></" + std::string(element) + ">";
}

}  // namespace

std::string ListAllMyBucketsResultXml(const std::vector<BucketInfo>& buckets,
                                      std::string_view owner) {
  std::string xml = Open("ListAllMyBucketsResult") + UserXml("Owner", owner) + "<Buckets>";
  for (const auto& b : buckets) {
    xml += "<Bucket>" + Tag("Name", XmlEscape(b.name)) +
           Tag("CreationDate", FormatIso8601Millis(b.created_ms)) + "</Bucket>";
  }
  xml += "</Buckets></ListAllMyBucketsResult>";
  return xml;
}

std::string LocationConstraintXml(std::string_view region) {
  std::string text = region == "us-east-1" ? "" : XmlEscape(region);
  return Open("LocationConstraint") + text + "</LocationConstraint>";
}

std::string VersioningConfigurationXml(std::string_view status) {
  if (status.empty()) {
    return std::string("<VersioningConfiguration xmlns=\"") + kS3XmlNamespace + "\"/>";
  }
  return Open("VersioningConfiguration") + Tag("Status", XmlEscape(status)) +
         "</VersioningConfiguration>";
}

namespace {

// Keys, prefixes and markers in a listing: percent-encoded for encoding-type=url.
std::string ListText(const ListBucketQuery& q, const std::string& text) {
  return q.url_encoding ? PercentEncode(text, {.keep_slash = true}) : XmlEscape(text);
}

// The greater of the last key and the last common prefix of a page.
std::string LastListed(const ListResult& listed) {
  std::string last_key = listed.objects.empty() ? "" : listed.objects.back().key;
  std::string last_prefix = listed.common_prefixes.empty() ? "" : listed.common_prefixes.back();
  return std::max(last_key, last_prefix);
}

// One `element` per object (Contents, Version; `after_key` follows its Key), then the
// CommonPrefixes.
std::string ListedEntriesXml(const ListResult& listed, std::string_view element,
                             std::string_view after_key, std::string_view owner,
                             const std::function<std::string(const std::string&)>& enc) {
  std::string xml;
  const std::string owner_xml = owner.empty() ? std::string() : UserXml("Owner", owner);
  for (const auto& o : listed.objects) {
    xml += "<" + std::string(element) + ">" + Tag("Key", enc(o.key)) + std::string(after_key) +
           Tag("LastModified", FormatIso8601Millis(o.last_modified_ms)) +
           Tag("ETag", XmlEscape(o.etag)) + Tag("Size", std::to_string(o.size)) + owner_xml +
           "<StorageClass>STANDARD</StorageClass></" + std::string(element) + ">";
  }
  for (const auto& p : listed.common_prefixes) {
    xml += "<CommonPrefixes>" + Tag("Prefix", enc(p)) + "</CommonPrefixes>";
  }
  return xml;
}

// The elements between IsTruncated and the first Contents: V2's continuation, V1's markers.
std::string ListBucketPaging(const ListBucketQuery& q, const ListResult& listed,
                             const std::function<std::string(const std::string&)>& enc) {
  std::string xml;
  if (q.v2) {
    xml += Tag("KeyCount", std::to_string(listed.objects.size() + listed.common_prefixes.size()));
    if (q.continuation_token) {
      xml += Tag("ContinuationToken", XmlEscape(*q.continuation_token));
    }
    if (listed.truncated) {
      xml += Tag("NextContinuationToken", XmlEscape(listed.next_continuation_token));
    }
    if (q.start_after) xml += Tag("StartAfter", enc(*q.start_after));
    return xml;
  }
  xml += Tag("Marker", enc(q.marker));
  if (listed.truncated && !q.delimiter.empty()) {
    xml += Tag("NextMarker", enc(LastListed(listed)));
  }
  return xml;
}

}  // namespace

std::string ListBucketResultXml(const ListBucketQuery& q, const ListResult& listed) {
  auto enc = [&q](const std::string& text) { return ListText(q, text); };
  std::string xml = Open("ListBucketResult");
  xml += Tag("Name", XmlEscape(q.bucket));
  // encoding-type=url leaves ListObjects' (V1) Prefix as sent, as S3 does (SDKs decode only
  // Delimiter, Marker and NextMarker there); V2 encodes it.
  xml += Tag("Prefix", q.v2 ? enc(q.prefix) : XmlEscape(q.prefix));
  if (!q.delimiter.empty()) xml += Tag("Delimiter", enc(q.delimiter));
  xml += Tag("MaxKeys", std::to_string(q.max_keys));
  if (q.url_encoding) xml += Tag("EncodingType", "url");
  xml += Tag("IsTruncated", listed.truncated ? "true" : "false");
  xml += ListBucketPaging(q, listed, enc);
  xml += ListedEntriesXml(listed, "Contents", "", q.owner, enc);
  xml += "</ListBucketResult>";
  return xml;
}

std::string ListVersionsResultXml(const ListBucketQuery& q, std::string_view version_id_marker,
                                  const ListVersionsResult& listed) {
  auto enc = [&q](const std::string& text) { return ListText(q, text); };
  std::string xml = Open("ListVersionsResult");
  xml += Tag("Name", XmlEscape(q.bucket));
  xml += Tag("Prefix", enc(q.prefix));
  xml += Tag("KeyMarker", enc(q.marker));
  xml += Tag("VersionIdMarker", XmlEscape(version_id_marker));
  if (listed.truncated) {
    xml += Tag("NextKeyMarker", enc(listed.next_key_marker));
    if (!listed.next_version_id_marker.empty()) {
      xml += Tag("NextVersionIdMarker", XmlEscape(listed.next_version_id_marker));
    }
  }
  xml += Tag("MaxKeys", std::to_string(q.max_keys));
  if (!q.delimiter.empty()) xml += Tag("Delimiter", enc(q.delimiter));
  xml += Tag("IsTruncated", listed.truncated ? "true" : "false");
  if (q.url_encoding) xml += Tag("EncodingType", "url");
  const std::string owner_xml = q.owner.empty() ? std::string() : UserXml("Owner", q.owner);
  for (const ObjectInfo& v : listed.versions) {
    const std::string identity =
        Tag("Key", enc(v.key)) +
        Tag("VersionId", XmlEscape(v.version_id.empty() ? "null" : v.version_id)) +
        Tag("IsLatest", v.is_latest ? "true" : "false") +
        Tag("LastModified", FormatIso8601Millis(v.last_modified_ms));
    if (v.delete_marker) {
      xml += "<DeleteMarker>" + identity + owner_xml + "</DeleteMarker>";
    } else {
      xml += "<Version>" + identity + Tag("ETag", XmlEscape(v.etag)) +
             Tag("Size", std::to_string(v.size)) + owner_xml +
             "<StorageClass>STANDARD</StorageClass></Version>";
    }
  }
  for (const auto& p : listed.common_prefixes) {
    xml += "<CommonPrefixes>" + Tag("Prefix", enc(p)) + "</CommonPrefixes>";
  }
  xml += "</ListVersionsResult>";
  return xml;
}

Result<std::string> ParseVersioningConfigurationXml(std::string_view body, bool* mfa_delete) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return MalformedXml("the body is not XML");
  pugi::xml_node root = doc.child("VersioningConfiguration");
  if (!root) return MalformedXml("the root element is not VersioningConfiguration");
  *mfa_delete = std::string_view(root.child_value("MfaDelete")) == "Enabled";
  std::string status = root.child_value("Status");
  if (status != "Enabled" && status != "Suspended") {
    return Status(StatusCode::kInvalidArgument, "Status must be Enabled or Suspended",
                  "IllegalVersioningConfigurationException");
  }
  return status;
}

std::string DeleteResultXml(const std::vector<DeleteOutcome>& outcomes, bool quiet) {
  std::string xml = Open("DeleteResult");
  for (const auto& o : outcomes) {
    if (o.code.empty()) {
      if (quiet) continue;
      xml += "<Deleted>" + Tag("Key", XmlEscape(o.key));
      if (!o.version_id.empty()) xml += Tag("VersionId", XmlEscape(o.version_id));
      if (o.delete_marker) {
        xml += "<DeleteMarker>true</DeleteMarker>";
        if (!o.delete_marker_version_id.empty()) {
          xml += Tag("DeleteMarkerVersionId", XmlEscape(o.delete_marker_version_id));
        }
      }
      xml += "</Deleted>";
    } else {
      xml += "<Error>" + Tag("Key", XmlEscape(o.key));
      if (!o.version_id.empty()) xml += Tag("VersionId", XmlEscape(o.version_id));
      xml += Tag("Code", o.code) + Tag("Message", XmlEscape(o.message)) + "</Error>";
    }
  }
  xml += "</DeleteResult>";
  return xml;
}

std::string CopyObjectResultXml(const ObjectInfo& copied) {
  return Open("CopyObjectResult") +
         Tag("LastModified", FormatIso8601Millis(copied.last_modified_ms)) +
         Tag("ETag", XmlEscape(copied.etag)) + ChecksumXml(copied.checksum, true) +
         "</CopyObjectResult>";
}

std::string PostResponseXml(std::string_view location, std::string_view bucket,
                            std::string_view key, std::string_view etag) {
  return "<PostResponse>" + Tag("Location", XmlEscape(location)) +
         Tag("Bucket", XmlEscape(bucket)) + Tag("Key", XmlEscape(key)) +
         Tag("ETag", XmlEscape(etag)) + "</PostResponse>";
}

std::string CopyPartResultXml(const PartInfo& part) {
  return Open("CopyPartResult") + Tag("LastModified", FormatIso8601Millis(part.last_modified_ms)) +
         Tag("ETag", XmlEscape(part.etag)) + ChecksumXml(part.checksum, false) +
         "</CopyPartResult>";
}

std::string InitiateMultipartUploadResultXml(std::string_view bucket, std::string_view key,
                                             std::string_view upload_id) {
  return Open("InitiateMultipartUploadResult") + Tag("Bucket", XmlEscape(bucket)) +
         Tag("Key", XmlEscape(key)) + Tag("UploadId", upload_id) +
         "</InitiateMultipartUploadResult>";
}

std::string ChecksumXml(const ObjectChecksum& checksum, bool with_type) {
  if (checksum.empty()) return std::string();
  std::string xml;
  if (!checksum.value.empty()) {
    xml = Tag("Checksum" + checksum.algorithm, XmlEscape(checksum.value));
  }
  if (with_type && !checksum.type.empty()) xml += Tag("ChecksumType", checksum.type);
  return xml;
}

std::string GetObjectAttributesResponseXml(const ObjectInfo& info,
                                           const ObjectAttributesRequest& request) {
  std::string xml = Open("GetObjectAttributesResponse");
  // The ETag without its quotes, as S3 writes it here.
  if (request.etag) xml += Tag("ETag", XmlEscape(UnquoteEtag(info.etag)));
  if (request.checksum && !info.checksum.empty()) {
    xml += "<Checksum>" + ChecksumXml(info.checksum, true) + "</Checksum>";
  }
  if (request.object_parts && !info.parts.empty()) {
    std::string items;
    int shown = 0, last = 0;
    bool truncated = false;
    for (const ObjectPart& part : info.parts) {
      if (part.part_number <= request.part_number_marker) continue;
      if (shown == request.max_parts) {
        truncated = true;
        break;
      }
      ObjectChecksum checksum{info.checksum.algorithm, part.checksum, ""};
      items += "<Part>" + Tag("PartNumber", std::to_string(part.part_number)) +
               Tag("Size", std::to_string(part.size)) +
               (part.checksum.empty() ? std::string() : ChecksumXml(checksum, false)) + "</Part>";
      last = part.part_number;
      ++shown;
    }
    xml += "<ObjectParts>" + Tag("PartsCount", std::to_string(info.parts.size())) +
           Tag("PartNumberMarker", std::to_string(request.part_number_marker)) +
           Tag("NextPartNumberMarker", std::to_string(last)) +
           Tag("MaxParts", std::to_string(request.max_parts)) +
           Tag("IsTruncated", truncated ? "true" : "false") + items + "</ObjectParts>";
  }
  if (request.storage_class) xml += "<StorageClass>STANDARD</StorageClass>";
  if (request.object_size) xml += Tag("ObjectSize", std::to_string(info.size));
  return xml + "</GetObjectAttributesResponse>";
}

std::string ListPartsResultXml(const ListPartsPage& page) {
  std::string items;
  int last = 0;
  for (const auto& p : page.parts) {
    items += "<Part>" + Tag("PartNumber", std::to_string(p.part_number)) +
             Tag("LastModified", FormatIso8601Millis(p.last_modified_ms)) +
             Tag("ETag", XmlEscape(p.etag)) + Tag("Size", std::to_string(p.size)) +
             ChecksumXml(p.checksum, false) + "</Part>";
    last = p.part_number;
  }
  return Open("ListPartsResult") + Tag("Bucket", XmlEscape(page.bucket)) +
         Tag("Key", XmlEscape(page.key)) + Tag("UploadId", page.upload_id) +
         Tag("PartNumberMarker", std::to_string(page.part_number_marker)) +
         Tag("NextPartNumberMarker", std::to_string(last)) +
         Tag("MaxParts", std::to_string(page.max_parts)) +
         Tag("IsTruncated", page.truncated ? "true" : "false") +
         UserXml("Initiator", page.initiator) + UserXml("Owner", page.initiator) +
         "<StorageClass>STANDARD</StorageClass>" +
         (page.checksum.empty() ? std::string()
                                : Tag("ChecksumAlgorithm", page.checksum.algorithm) +
                                      Tag("ChecksumType", page.checksum.type)) +
         items + "</ListPartsResult>";
}

std::string ListMultipartUploadsResultXml(const ListUploadsPage& page) {
  std::string xml = Open("ListMultipartUploadsResult") + Tag("Bucket", XmlEscape(page.bucket)) +
                    Tag("KeyMarker", XmlEscape(page.key_marker)) +
                    Tag("UploadIdMarker", XmlEscape(page.upload_id_marker));
  if (page.truncated && !page.uploads.empty()) {
    xml += Tag("NextKeyMarker", XmlEscape(page.uploads.back().key)) +
           Tag("NextUploadIdMarker", page.uploads.back().upload_id);
  }
  xml += Tag("Prefix", XmlEscape(page.prefix)) +
         Tag("MaxUploads", std::to_string(page.max_uploads)) +
         Tag("IsTruncated", page.truncated ? "true" : "false");
  for (const auto& u : page.uploads) {
    const std::string& initiator = u.initiator.empty() ? page.owner : u.initiator;
    xml += "<Upload>" + Tag("Key", XmlEscape(u.key)) + Tag("UploadId", u.upload_id) +
           UserXml("Initiator", initiator) + UserXml("Owner", initiator) +
           "<StorageClass>STANDARD</StorageClass>" +
           Tag("Initiated", FormatIso8601Millis(u.initiated_ms)) + "</Upload>";
  }
  xml += "</ListMultipartUploadsResult>";
  return xml;
}

std::string CompleteMultipartUploadResultXml(std::string_view location, std::string_view bucket,
                                             std::string_view key, std::string_view etag,
                                             const ObjectChecksum& checksum) {
  return Open("CompleteMultipartUploadResult") + Tag("Location", XmlEscape(location)) +
         Tag("Bucket", XmlEscape(bucket)) + Tag("Key", XmlEscape(key)) +
         Tag("ETag", XmlEscape(etag)) + ChecksumXml(checksum, true) +
         "</CompleteMultipartUploadResult>";
}

}  // namespace thumbflow::server
