// SigV2 against the worked examples of S3's "Signing and authenticating REST requests (AWS
// signature version 2)" (RESTAuthentication): each request is built as the page shows it,
// and the string to sign and the signature must be the documented ones. The secret of every
// example is the documentation key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.
#include "aws/sigv2.h"

#include <gtest/gtest.h>

#include "aws/checksums.h"

namespace thumbflow::aws {
namespace {

constexpr char kAkid[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

SecretLookup DocLookup() {
  return [](std::string_view id) -> Result<Credentials> {
    if (id != kAkid) return NotFoundError("unknown");
    Credentials c;
    c.access_key_id = kAkid;
    c.secret_access_key = kSecret;
    return c;
  };
}

struct Example {
  const char* name;
  std::string method;
  std::string target;               // as on the wire
  std::string virtual_host_bucket;  // from the Host of the example
  HttpHeaders headers;
  std::string string_to_sign;
  std::string signature;  // documented
};

std::vector<Example> Examples() {
  return {
      {"ObjectGet",
       "GET",
       "/photos/puppy.jpg",
       "awsexamplebucket1",
       {{"Host", "awsexamplebucket1.us-west-1.s3.amazonaws.com"},
        {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"}},
       "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg",
       "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="},
      {"ObjectPut",
       "PUT",
       "/photos/puppy.jpg",
       "awsexamplebucket1",
       {{"Content-Type", "image/jpeg"},
        {"Content-Length", "94328"},
        {"Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"},
        {"Date", "Tue, 27 Mar 2007 21:15:45 +0000"}},
       "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/awsexamplebucket1/photos/puppy.jpg",
       "iqRzw+ileNPu1fhspnRs8nOjjIA="},
      {"List",
       "GET",
       "/?prefix=photos&max-keys=50&marker=puppy",
       "awsexamplebucket1",
       {{"User-Agent", "Mozilla/5.0"},
        {"Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"},
        {"Date", "Tue, 27 Mar 2007 19:42:41 +0000"}},
       "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/awsexamplebucket1/",
       "m0WP8eCtspQl5Ahe6L1SozdX9YA="},
      {"Fetch (sub-resource ?acl)",
       "GET",
       "/?acl",
       "awsexamplebucket1",
       {{"Host", "awsexamplebucket1.s3.us-west-1.amazonaws.com"},
        {"Date", "Tue, 27 Mar 2007 19:44:46 +0000"}},
       "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/awsexamplebucket1/?acl",
       "82ZHiFIjc+WbcwFKGUVEQspPn+0="},
      {"Delete (path style, x-amz-date replaces Date)",
       "DELETE",
       "/johnsmith/photos/puppy.jpg",
       "",
       {{"User-Agent", "dotnet"},
        {"Host", "s3.amazonaws.com"},
        {"Date", "Tue, 27 Mar 2007 21:20:27 +0000"},
        {"x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"}},
       "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
       "R4dJ53KECjStyBO5iTBJZ4XVOaI="},
      {"Upload (CNAME bucket, amz headers folded and merged)",
       "PUT",
       "/db-backup.dat.gz",
       "static.johnsmith.net",
       {{"User-Agent", "curl/7.15.5"},
        {"Host", "static.johnsmith.net:8080"},
        {"Date", "Tue, 27 Mar 2007 21:06:08 +0000"},
        {"x-amz-acl", "public-read"},
        {"content-type", "application/x-download"},
        {"Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="},
        {"X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"},
        {"X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"},
        {"X-Amz-Meta-FileChecksum", "0x02661779"},
        {"X-Amz-Meta-ChecksumAlgorithm", "crc32"},
        {"Content-Disposition", "attachment; filename=database.dat"},
        {"Content-Encoding", "gzip"},
        {"Content-Length", "5913339"}},
       "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n"
       "x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\n"
       "x-amz-meta-filechecksum:0x02661779\n"
       "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n"
       "/static.johnsmith.net/db-backup.dat.gz",
       "ilyl83RwaSoYIEdixDQcA4OnAnc="},
      {"ListAllMyBuckets",
       "GET",
       "/",
       "",
       {{"Host", "s3.amazonaws.com"}, {"Date", "Wed, 28 Mar 2007 01:29:59 +0000"}},
       "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
       "qGdzdERIC03wnaRNKh6OqZehG9s="},
      {"Unicode keys (path signed as sent)",
       "GET",
       "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
       "",
       {{"Host", "s3.amazonaws.com"}, {"Date", "Wed, 28 Mar 2007 01:49:49 +0000"}},
       "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
       "DNEZGsoieTZ92F3bUfSPQcbGmlM="},
  };
}

SigV2Request ToRequest(const Example& e) {
  SigV2Request r;
  r.method = e.method;
  size_t q = e.target.find('?');
  r.raw_path = e.target.substr(0, q);
  r.raw_query = q == std::string::npos ? "" : e.target.substr(q + 1);
  r.virtual_host_bucket = e.virtual_host_bucket;
  r.headers = e.headers;
  return r;
}

TEST(SigV2Examples, StringToSignAndSignatureAreTheDocumentedOnes) {
  for (const Example& e : Examples()) {
    SigV2Request r = ToRequest(e);
    std::string resource =
        SigV2CanonicalizedResource(r.virtual_host_bucket, r.raw_path, r.raw_query);
    std::string sts = SigV2StringToSign(r.method, r.headers, resource);
    EXPECT_EQ(sts, e.string_to_sign) << e.name;
    EXPECT_EQ(SigV2Signature(kSecret, sts), e.signature) << e.name;
  }
}

TEST(SigV2Examples, VerifierAcceptsEachExampleAtItsTimeAndRejectsTampering) {
  for (const Example& e : Examples()) {
    SigV2Request r = ToRequest(e);
    r.headers.emplace_back("Authorization", std::string("AWS ") + kAkid + ":" + e.signature);
    const std::string* date = FindHeader(r.headers, "x-amz-date");
    if (!date) date = FindHeader(r.headers, "date");
    Result<int64_t> at = ParseSigV2Date(*date);
    ASSERT_TRUE(at.ok()) << e.name;
    SigV2Options options;
    options.now_ms = *at + 60'000;
    auto verified = VerifySigV2(r, DocLookup(), options);
    ASSERT_TRUE(verified.ok()) << e.name << ": " << verified.status().ToString();
    EXPECT_EQ(verified->access_key_id, kAkid);
    EXPECT_FALSE(verified->presigned);
    EXPECT_EQ(verified->payload_hash, kUnsignedPayload);

    SigV2Request tampered = r;
    tampered.headers.emplace_back("x-amz-meta-added", "by a man in the middle");
    ErrorDetails details;
    auto refused = VerifySigV2(tampered, DocLookup(), options, &details);
    EXPECT_EQ(refused.status().error_code(), "SignatureDoesNotMatch") << e.name;
    ASSERT_EQ(details.size(), 3u);
    EXPECT_EQ(details[1].first, "StringToSign");

    options.now_ms = *at + 16 * 60'000;
    EXPECT_EQ(VerifySigV2(r, DocLookup(), options).status().error_code(), "RequestTimeTooSkewed")
        << e.name;
  }
}

TEST(SigV2Examples, QueryStringAuthentication) {
  // GET /photos/puppy.jpg?AWSAccessKeyId=...&Signature=...&Expires=1175139620 on the
  // johnsmith bucket's virtual host (the example of the page's query-string section).
  SigV2Request r;
  r.method = "GET";
  r.raw_path = "/photos/puppy.jpg";
  r.raw_query =
      "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&"
      "Expires=1175139620";
  r.virtual_host_bucket = "johnsmith";
  r.headers = {{"Host", "johnsmith.s3.amazonaws.com"}};
  EXPECT_EQ(SigV2StringToSign("GET", r.headers, "/johnsmith/photos/puppy.jpg", "1175139620"),
            "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
  SigV2Options options;
  options.now_ms = 1175139620LL * 1000;
  auto verified = VerifySigV2(r, DocLookup(), options);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->presigned);
  EXPECT_EQ(verified->expires_at_ms, 1175139620LL * 1000);
  // Expired one second later: 403 AccessDenied, with Expires and ServerTime.
  options.now_ms += 1000;
  ErrorDetails details;
  auto expired = VerifySigV2(r, DocLookup(), options, &details);
  EXPECT_EQ(expired.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(expired.status().error_code(), "AccessDenied");
  EXPECT_EQ(expired.status().message(), "Request has expired");
  EXPECT_EQ(details, (ErrorDetails{{"Expires", "1175139620"}, {"ServerTime", "1175139621"}}));
  // Another key under the same signature.
  options.now_ms = 1175139620LL * 1000;
  SigV2Request other = r;
  other.raw_path = "/photos/kitten.jpg";
  EXPECT_EQ(VerifySigV2(other, DocLookup(), options).status().error_code(),
            "SignatureDoesNotMatch");
  // A missing parameter.
  SigV2Request missing = r;
  missing.raw_query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620";
  EXPECT_EQ(VerifySigV2(missing, DocLookup(), options).status().error_code(), "AccessDenied");
}

TEST(SigV2, SubResourcesSignSortedWithDecodedValuesOthersNever) {
  EXPECT_EQ(
      SigV2CanonicalizedResource("", "/b/k", "uploadId=a%2Fb&partNumber=2&prefix=x&versionId"),
      "/b/k?partNumber=2&uploadId=a/b&versionId");
  EXPECT_EQ(SigV2CanonicalizedResource(
                "b", "/k", "response-content-type=text%2Fplain&AWSAccessKeyId=x&Signature=y"),
            "/b/k?response-content-type=text/plain");
  EXPECT_EQ(SigV2CanonicalizedResource("b", "", ""), "/b/");
  EXPECT_EQ(SigV2CanonicalizedResource("", "/", "delete"), "/?delete");
}

TEST(SigV2, QueryFormSignsTheHeadersBotocoreCopiedIntoTheQuery) {
  // botocore's presigned put_object with ContentType and Metadata: the signed headers are
  // repeated in the query; the uploader may or may not send them.
  HttpHeaders signed_headers = {{"content-type", "image/jpeg"}, {"x-amz-meta-a", "1"}};
  std::string sts = SigV2StringToSign("PUT", signed_headers, "/b/k", "2000000000");
  std::string sig = SigV2Signature(kSecret, sts);
  SigV2Request r;
  r.method = "PUT";
  r.raw_path = "/b/k";
  r.raw_query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=" + UriEncode(sig, true) +
                "&Expires=2000000000&content-type=image%2Fjpeg&x-amz-meta-a=1";
  r.headers = {{"Host", "h"}};
  SigV2Options options;
  options.now_ms = 1'900'000'000'000;
  EXPECT_TRUE(VerifySigV2(r, DocLookup(), options).ok());
  r.headers.emplace_back("Content-Type", "image/jpeg");
  EXPECT_TRUE(VerifySigV2(r, DocLookup(), options).ok());
  r.headers.back().second = "text/html";
  EXPECT_EQ(VerifySigV2(r, DocLookup(), options).status().error_code(), "SignatureDoesNotMatch");
}

TEST(SigV2, MalformedHeadersAndDates) {
  SigV2Options options;
  options.now_ms = 0;
  SigV2Request r;
  r.method = "GET";
  r.raw_path = "/b/k";
  r.headers = {{"Authorization", "AWS nocolon"}, {"Date", "Thu, 01 Jan 1970 00:00:00 GMT"}};
  ErrorDetails details;
  auto malformed = VerifySigV2(r, DocLookup(), options, &details);
  EXPECT_EQ(malformed.status().error_code(), "InvalidArgument");
  EXPECT_EQ(malformed.status().message(),
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
  r.headers = {{"Authorization", std::string("AWS ") + kAkid + ":sig"}};
  EXPECT_EQ(VerifySigV2(r, DocLookup(), options).status().message(),
            "AWS authentication requires a valid Date or x-amz-date header");
  r.headers.emplace_back("Date", "yesterday");
  EXPECT_EQ(VerifySigV2(r, DocLookup(), options).status().error_code(), "AccessDenied");
  r.headers = {{"Authorization", "AWS UNKNOWN:sig"}, {"Date", "Thu, 01 Jan 1970 00:00:00 GMT"}};
  EXPECT_EQ(VerifySigV2(r, DocLookup(), options).status().error_code(), "InvalidAccessKeyId");

  EXPECT_EQ(*ParseSigV2Date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(*ParseSigV2Date("Thu, 01 Jan 1970 01:00:00 +0100"), 0);
  EXPECT_EQ(*ParseSigV2Date("Wed, 31 Dec 1969 19:00:00 -0500"), 0);
  EXPECT_EQ(*ParseSigV2Date("Tue, 27 Mar 2007 19:36:42 +0000"), 1175024202000);
  for (const char* bad : {"", "27 Mar 2007 19:36:42 GMT", "Tue, 27 Foo 2007 19:36:42 GMT",
                          "Tue, 27 Mar 2007 19:36 GMT", "Tue, 27 Mar 2007 19:36:42 CET",
                          "Tue, 32 Mar 2007 19:36:42 GMT"}) {
    EXPECT_FALSE(ParseSigV2Date(bad).ok()) << bad;
  }
}

TEST(SigV2, PayloadHashHeaderIsCheckedAsForSigV4) {
  HttpHeaders headers = {{"Date", "Thu, 01 Jan 1970 00:00:00 GMT"},
                         {"x-amz-content-sha256", "nothex"}};
  std::string sig = SigV2Signature(kSecret, SigV2StringToSign("PUT", headers, "/b/k"));
  SigV2Request r;
  r.method = "PUT";
  r.raw_path = "/b/k";
  r.headers = headers;
  r.headers.emplace_back("Authorization", std::string("AWS ") + kAkid + ":" + sig);
  EXPECT_EQ(VerifySigV2(r, DocLookup(), SigV2Options{}).status().error_code(), "InvalidArgument");
  std::string digest = Sha256Hex("body");
  r.headers[1].second = digest;
  sig = SigV2Signature(kSecret, SigV2StringToSign("PUT", r.headers, "/b/k"));
  r.headers[2].second = std::string("AWS ") + kAkid + ":" + sig;
  auto verified = VerifySigV2(r, DocLookup(), SigV2Options{});
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->payload_hash, digest);
}

TEST(SigV2, RegionsThatStillAcceptIt) {
  EXPECT_TRUE(SigV2Region("us-east-1"));
  EXPECT_TRUE(SigV2Region("eu-west-1"));
  EXPECT_FALSE(SigV2Region("eu-central-1"));
  EXPECT_FALSE(SigV2Region("us-east-2"));
}

}  // namespace
}  // namespace thumbflow::aws
