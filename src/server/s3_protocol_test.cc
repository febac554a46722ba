#include "server/s3_protocol.h"

#include <cerrno>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "core/civil_time.h"
#include "core/disk.h"
#include "core/uri.h"

namespace thumbflow::server {
namespace {

TEST(S3ProtocolTest, KnownErrorsCarryTheirHttpStatusAndDefaultMessage) {
  struct Case {
    const char* code;
    int status;
  };
  for (const Case& c :
       {Case{"NoSuchKey", 404}, Case{"NoSuchBucket", 404}, Case{"AccessDenied", 403},
        Case{"SignatureDoesNotMatch", 403}, Case{"EntityTooLarge", 400}, Case{"InvalidRange", 416},
        Case{"MethodNotAllowed", 405}, Case{"MissingContentLength", 411},
        Case{"PreconditionFailed", 412}, Case{"NotImplemented", 501}, Case{"SlowDown", 503},
        Case{"BucketNotEmpty", 409}, Case{"RequestHeaderSectionTooLarge", 400}}) {
    S3Error e = MakeError(c.code);
    EXPECT_EQ(e.http_status, c.status) << c.code;
    EXPECT_EQ(e.code, c.code);
    EXPECT_FALSE(e.message.empty()) << c.code;
  }
  EXPECT_EQ(MakeError("NoSuchKey", "custom").message, "custom");
  // An unknown code is an internal error, not a success.
  EXPECT_EQ(MakeError("NoSuchThing").http_status, 500);
}

// A full disk is the server's condition: 503 SlowDown (every SDK retries it) naming the
// disk; EntityTooLarge only for the configured size limit.
TEST(S3ProtocolTest, AFullDiskIsA503NotEntityTooLarge) {
  S3Error full = ErrorFromStatus(FileError(ENOSPC, "write", "upload of bucket images"), false);
  EXPECT_EQ(full.code, "SlowDown");
  EXPECT_EQ(full.http_status, 503);
  EXPECT_NE(full.message.find("No space left on device"), std::string::npos) << full.message;
  EXPECT_EQ(ErrorFromStatus(NoSpaceError("below [storage] min_free_bytes"), false).http_status,
            503);
  S3Error limit = ErrorFromStatus(
      ResourceExhaustedError("object is larger than 10 bytes").WithReason(Reason::kTooLarge),
      false);
  EXPECT_EQ(limit.code, "EntityTooLarge");
  EXPECT_EQ(limit.http_status, 400);
  EXPECT_EQ(
      ErrorFromStatus(Status(StatusCode::kResourceExhausted, "x", "EntityTooLarge"), false).code,
      "EntityTooLarge");
  EXPECT_EQ(ErrorFromStatus(Status(StatusCode::kResourceExhausted, "x", "MaxMessageLengthExceeded"),
                            false)
                .http_status,
            400);
}

TEST(S3ProtocolTest, StatusesMapToTheErrorsClientsExpect) {
  EXPECT_EQ(ErrorFromStatus(NotFoundError("no object k"), false).code, "NoSuchKey");
  EXPECT_EQ(ErrorFromStatus(NotFoundError("no object k"), true).code, "NoSuchBucket");
  EXPECT_EQ(ErrorFromStatus(NotFoundError("no such bucket b"), false).code, "NoSuchBucket");
  EXPECT_EQ(ErrorFromStatus(Status(StatusCode::kNotFound, "x", Reason::kNoSuchUpload), false).code,
            "NoSuchUpload");
  EXPECT_EQ(ErrorFromStatus(Status(StatusCode::kInvalidArgument, "x", Reason::kInvalidRange), false)
                .http_status,
            416);
  EXPECT_EQ(
      ErrorFromStatus(Status(StatusCode::kFailedPrecondition, "x", Reason::kNotModified), false)
          .code,
      "NotModified");
  EXPECT_EQ(ErrorFromStatus(Status(StatusCode::kFailedPrecondition, "x"), false).code,
            "PreconditionFailed");
  EXPECT_EQ(ErrorFromStatus(Status(StatusCode::kFailedPrecondition, "x"), true).code,
            "BucketNotEmpty");
  EXPECT_EQ(ErrorFromStatus(Status(StatusCode::kResourceExhausted, "big"), false).code,
            "EntityTooLarge");
  EXPECT_EQ(ErrorFromStatus(Status(StatusCode::kUnauthenticated, "sig"), false).code,
            "SignatureDoesNotMatch");
  EXPECT_EQ(ErrorFromStatus(InternalError("disk"), false).http_status, 500);
  // A reason naming an S3 code wins, with the status's message.
  S3Error e =
      ErrorFromStatus(Status(StatusCode::kInvalidArgument, "md5 differs", "BadDigest"), false);
  EXPECT_EQ(e.code, "BadDigest");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.message, "md5 differs");
}

TEST(S3ProtocolTest, ErrorXmlIsWellFormedAndEscaped) {
  S3Error e = MakeError("NoSuchKey", "no key <a&b> \"q\"");
  e.resource = "/images/a&b<c>.jpg";
  std::string xml = ErrorXml(e, "REQ&1");
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str())) << xml;
  pugi::xml_node root = doc.child("Error");
  ASSERT_TRUE(root) << xml;
  EXPECT_STREQ(root.child_value("Code"), "NoSuchKey");
  EXPECT_STREQ(root.child_value("Message"), "no key <a&b> \"q\"");
  EXPECT_STREQ(root.child_value("Resource"), "/images/a&b<c>.jpg");
  EXPECT_STREQ(root.child_value("RequestId"), "REQ&1");
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
  // No resource: no element.
  EXPECT_EQ(ErrorXml(MakeError("AccessDenied"), "r").find("<Resource>"), std::string::npos);
}

TEST(S3ProtocolTest, ErrorXmlStaysParseableForAnyResourceBytes) {
  for (const std::string& resource :
       {std::string("/images/nul\0byte", 16), std::string("/images/bad\xFFutf8"),
        std::string("/images/ctl\x01char")}) {
    S3Error e = MakeError("InvalidArgument");
    e.resource = resource;
    std::string xml = ErrorXml(e, "r");
    EXPECT_EQ(xml.find('\0'), std::string::npos);
    EXPECT_EQ(xml.find('\xFF'), std::string::npos);
    EXPECT_EQ(xml.find("&#x"), std::string::npos) << "strict parsers refuse control references";
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_buffer(xml.data(), xml.size())) << xml;
    Result<std::string> decoded = PercentDecode(doc.child("Error").child_value("Resource"));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, resource);
  }
  S3Error plain = MakeError("NoSuchKey");
  plain.resource = "/images/ü b+c";
  EXPECT_NE(ErrorXml(plain, "r").find("<Resource>/images/ü b+c</Resource>"), std::string::npos);
}

TEST(S3ProtocolTest, XmlEscapeWritesControlCharactersAsReferences) {
  EXPECT_EQ(XmlEscape("a\x01"
                      "b\x1f\tc"),
            "a&#x1;b&#x1F;\tc");
  EXPECT_EQ(XmlEscape(std::string("a\0b", 3)),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(S3ProtocolTest, XmlEscapeKeepsLineBreaksAndQuotesIntact) {
  EXPECT_EQ(XmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(XmlEscape("line\r\nbreak"), "line&#13;&#10;break");
  EXPECT_EQ(XmlEscape("ü日本"), "ü日本");
  std::string xml = "<K>" + XmlEscape("a\r\nb\tc") + "</K>";
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  EXPECT_STREQ(doc.child_value("K"), "a\r\nb\tc");
}

TEST(S3ProtocolTest, DatesInBothS3Formats) {
  const int64_t ms = 1'795'763'922'123;  // 2026-11-27T07:18:42.123Z
  EXPECT_EQ(FormatIso8601Millis(ms), "2026-11-27T07:18:42.123Z");
  EXPECT_EQ(HttpDate(ms), "Fri, 27 Nov 2026 07:18:42 GMT");
  EXPECT_EQ(*ParseHttpDate(HttpDate(ms)), ms - 123);
  EXPECT_EQ(FormatIso8601Millis(0), "1970-01-01T00:00:00.000Z");
}

TEST(S3XmlBodiesTest, DeleteObjects) {
  auto parsed = ParseDeleteObjectsXml(
      "<Delete><Quiet>true</Quiet><Object><Key>a &amp; b</Key></Object><Object><Key>c</Key>"
      "</Object></Delete>");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->quiet);
  EXPECT_EQ(parsed->keys, (std::vector<std::string>{"a & b", "c"}));
  // Whitespace is part of a key: " " and "\t x \t" are not trimmed.
  parsed = ParseDeleteObjectsXml(
      "<Delete>\n  <Object><Key> </Key></Object>\n  <Object>\n    <Key>\t x \t</Key>\n"
      "  </Object>\n</Delete>");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->quiet);
  EXPECT_EQ(parsed->keys, (std::vector<std::string>{" ", "\t x \t"}));
  // Conditions: <ETag>, <Size>, <LastModifiedTime> (an HTTP date, or ISO 8601), per object.
  parsed = ParseDeleteObjectsXml(
      "<Delete><Object><Key>a</Key><ETag>\"e\"</ETag><Size>3</Size></Object>"
      "<Object><Key>b</Key><LastModifiedTime>Thu, 01 Jan 2015 00:00:00 GMT</LastModifiedTime>"
      "</Object><Object><Key>c</Key><LastModifiedTime>2015-01-01T00:00:01.500Z"
      "</LastModifiedTime></Object></Delete>");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->etags, (std::vector<std::string>{"\"e\"", "", ""}));
  EXPECT_EQ(parsed->sizes, (std::vector<std::optional<int64_t>>{3, std::nullopt, std::nullopt}));
  EXPECT_EQ(parsed->last_modified_ms, (std::vector<std::optional<int64_t>>{
                                          std::nullopt, 1'420'070'400'000, 1'420'070'401'500}));
  for (const char* bad :
       {"", "<not xml", "<Other/>", "<Delete></Delete>",
        "<Delete><Object><Key>a</Key><Size>-1</Size></Object></Delete>",
        "<Delete><Object><Key>a</Key><Size>3 </Size></Object></Delete>",
        "<Delete><Object><Key>a</Key><LastModifiedTime>yesterday</LastModifiedTime></Object>"
        "</Delete>"}) {
    EXPECT_EQ(ParseDeleteObjectsXml(bad).status().error_code(), "MalformedXML") << bad;
  }
}

TEST(S3XmlBodiesTest, CompleteMultipartUpload) {
  auto parsed = ParseCompleteMultipartXml(
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
      "<Part><ETag>e2</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, (std::vector<std::pair<int, std::string>>{{1, "\"e1\""}, {2, "e2"}}));
  // atoi read these as 1, 12 and an overflowed int; they are not part numbers.
  for (const char* number : {"1x", "12 ", "99999999999", ""}) {
    std::string body = std::string("<CompleteMultipartUpload><Part><PartNumber>") + number +
                       "</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>";
    EXPECT_EQ(ParseCompleteMultipartXml(body).status().error_code(), "MalformedXML") << number;
  }
  EXPECT_EQ(ParseCompleteMultipartXml("<Delete/>").status().error_code(), "MalformedXML");
  // Each part's checksums, by algorithm.
  std::vector<Metadata> checksums;
  auto with_checksums = ParseCompleteMultipartXml(
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e1</ETag>"
      "<ChecksumSHA256>s1</ChecksumSHA256></Part><Part><PartNumber>2</PartNumber><ETag>e2</ETag>"
      "</Part></CompleteMultipartUpload>",
      &checksums);
  ASSERT_TRUE(with_checksums.ok());
  ASSERT_EQ(checksums.size(), 2u);
  EXPECT_EQ(checksums[0], (Metadata{{"SHA256", "s1"}}));
  EXPECT_TRUE(checksums[1].empty());
}

// As the S3 API reference writes GetObjectAttributesResponse: the ETag without quotes, the
// attributes asked for only, ObjectParts paged after the marker.
TEST(S3XmlDocumentsTest, GetObjectAttributesResponse) {
  ObjectInfo info;
  info.etag = "\"abc-3\"";
  info.size = 12;
  info.checksum = ObjectChecksum{"CRC32", "AAAAAA==-3", "COMPOSITE"};
  info.parts = {ObjectPart{1, 5, "p1"}, ObjectPart{2, 5, "p2"}, ObjectPart{3, 2, "p3"}};
  ObjectAttributesRequest all{true, true, true, true, true, 1, 1};
  EXPECT_EQ(GetObjectAttributesResponseXml(info, all),
            "<GetObjectAttributesResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<ETag>abc-3</ETag><Checksum><ChecksumCRC32>AAAAAA==-3</ChecksumCRC32>"
            "<ChecksumType>COMPOSITE</ChecksumType></Checksum><ObjectParts>"
            "<PartsCount>3</PartsCount><PartNumberMarker>1</PartNumberMarker>"
            "<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1</MaxParts>"
            "<IsTruncated>true</IsTruncated><Part><PartNumber>2</PartNumber><Size>5</Size>"
            "<ChecksumCRC32>p2</ChecksumCRC32></Part></ObjectParts>"
            "<StorageClass>STANDARD</StorageClass><ObjectSize>12</ObjectSize>"
            "</GetObjectAttributesResponse>");
  ObjectAttributesRequest size_only;
  size_only.object_size = true;
  info.parts.clear();
  EXPECT_EQ(GetObjectAttributesResponseXml(info, size_only),
            "<GetObjectAttributesResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<ObjectSize>12</ObjectSize></GetObjectAttributesResponse>");
}

}  // namespace
}  // namespace thumbflow::server
