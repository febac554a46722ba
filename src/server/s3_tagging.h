// S3 object tagging on the wire: the x-amz-tagging header (a URL query string, on PutObject,
// CreateMultipartUpload and CopyObject), the <Tagging> document of Put/GetObjectTagging, and
// S3's limits on a tag set. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "server/s3_protocol.h"
#include "storage/object_store.h"

namespace thumbflow::server {

// S3's limits: at most 10 tags; a key 1 to 128 and a value 0 to 256 Unicode characters of
// UTF-8 (letters, digits, spaces and + - = . _ : / @; any non-ASCII character); no key
// twice; no key starting "aws:". Each refusal is 400 InvalidTag with S3's message.
inline constexpr size_t kMaxTags = 10;
inline constexpr size_t kMaxTagKeyChars = 128;
inline constexpr size_t kMaxTagValueChars = 256;

// "k1=v1&k2=v2", percent-encoded ('+' is a space); a pair without '=' has an empty value.
// The error is InvalidTag for a broken limit, InvalidArgument for bad encoding.
Result<TagSet> ParseTaggingHeader(std::string_view header, S3Error* error);

// A bucket takes at most 50 tags (S3 answers more with 400 BadRequest "Bucket tag count cannot
// be greater than 50", once every tag has passed the other limits); the rest is the same.
inline constexpr size_t kMaxBucketTags = 50;
enum class TagTarget { kObject, kBucket };

// <Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...</TagSet></Tagging>; the error
// is MalformedXML for another shape, InvalidTag for a broken limit (BadRequest for a bucket's
// 51st tag).
Result<TagSet> ParseTaggingXml(std::string_view body, S3Error* error,
                               TagTarget target = TagTarget::kObject);

// The GetObjectTagging document, tags in key order.
std::string TaggingXml(const TagSet& tags);

}  // namespace thumbflow::server
