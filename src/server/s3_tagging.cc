#include "server/s3_tagging.h"

#include <pugixml.hpp>

#include <cctype>
#include <utility>
#include <vector>

#include "core/uri.h"
#include "core/utf8.h"

namespace thumbflow::server {
namespace {

using TagList = std::vector<std::pair<std::string, std::string>>;

// Characters, not bytes: S3 counts Unicode characters. Valid UTF-8 only.
size_t CharCount(std::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++count) {
    size_t n = Utf8SequenceLength(text, i);
    i += n == 0 ? 1 : n;
  }
  return count;
}

// Letters, digits, spaces and + - = . _ : / @ in ASCII; every non-ASCII character.
bool AllowedTagText(std::string_view text) {
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80 || std::isalnum(u)) continue;
    if (std::string_view(" +-=._:/@").find(c) == std::string_view::npos) return false;
  }
  return true;
}

Status InvalidTag(std::string message, S3Error* error) {
  *error = MakeError("InvalidTag", message);
  return InvalidArgumentError(std::move(message));
}

// The limits, in S3's words; the tags as a set.
Result<TagSet> CheckTags(const TagList& tags, S3Error* error,
                         TagTarget target = TagTarget::kObject) {
  // S3 answers a count over the limit with BadRequest, not InvalidTag (ceph RGW differs).
  if (target == TagTarget::kObject && tags.size() > kMaxTags) {
    *error = MakeError("BadRequest", "Object tags cannot be greater than 10");
    return InvalidArgumentError(error->message);
  }
  TagSet out;
  for (const auto& [key, value] : tags) {
    if (!IsValidUtf8(key) || key.empty() || !AllowedTagText(key)) {
      return InvalidTag("The TagKey you have provided is invalid", error);
    }
    if (!IsValidUtf8(value) || !AllowedTagText(value)) {
      return InvalidTag("The TagValue you have provided is invalid", error);
    }
    if (CharCount(key) > kMaxTagKeyChars) {
      return InvalidTag("The TagKey you have provided is too long, max 128", error);
    }
    if (CharCount(value) > kMaxTagValueChars) {
      return InvalidTag("The TagValue you have provided is too long, max 256", error);
    }
    if (key.starts_with("aws:")) {
      return InvalidTag("Your TagKey cannot be prefixed with aws:", error);
    }
    if (!out.emplace(key, value).second) {
      return InvalidTag("Cannot provide multiple Tags with the same key", error);
    }
  }
  if (target == TagTarget::kBucket && tags.size() > kMaxBucketTags) {
    *error = MakeError("BadRequest", "Bucket tag count cannot be greater than 50");
    return InvalidArgumentError(error->message);
  }
  return out;
}

}  // namespace

Result<TagSet> ParseTaggingHeader(std::string_view header, S3Error* error) {
  TagList tags;
  while (!header.empty()) {
    size_t amp = header.find('&');
    std::string_view pair = header.substr(0, amp);
    header = amp == std::string_view::npos ? std::string_view() : header.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    Result<std::string> key = PercentDecode(pair.substr(0, eq), /*plus_is_space=*/true);
    Result<std::string> value = eq == std::string_view::npos
                                    ? Result<std::string>(std::string())
                                    : PercentDecode(pair.substr(eq + 1), /*plus_is_space=*/true);
    if (!key.ok() || !value.ok()) {
      *error = MakeError("InvalidArgument",
                         "The header 'x-amz-tagging' shall be encoded as UTF-8 "
                         "then URLEncoded URL query parameters without tag "
                         "name duplicates.");
      error->details = {{"ArgumentName", "x-amz-tagging"}};
      return InvalidArgumentError(error->message);
    }
    tags.emplace_back(std::move(*key), std::move(*value));
  }
  return CheckTags(tags, error);
}

Result<TagSet> ParseTaggingXml(std::string_view body, S3Error* error, TagTarget target) {
  pugi::xml_document doc;
  pugi::xml_node set;
  if (doc.load_buffer(body.data(), body.size(),
                      pugi::parse_default | pugi::parse_ws_pcdata_single)) {
    set = doc.child("Tagging").child("TagSet");
  }
  if (!set) {
    *error = MakeError("MalformedXML");
    return InvalidArgumentError("the body is not a Tagging document");
  }
  TagList tags;
  for (pugi::xml_node tag : set.children("Tag")) {
    if (!tag.child("Key")) {
      *error = MakeError("MalformedXML");
      return InvalidArgumentError("a Tag without a Key");
    }
    tags.emplace_back(tag.child_value("Key"), tag.child_value("Value"));
  }
  return CheckTags(tags, error, target);
}

std::string TaggingXml(const TagSet& tags) {
  std::string xml = std::string("<Tagging xmlns=\"") + kS3XmlNamespace + "\"><TagSet>";
  for (const auto& [key, value] : tags) {
    xml += "<Tag><Key>" + XmlEscape(key) + "</Key><Value>" + XmlEscape(value) + "</Value></Tag>";
  }
  xml += "</TagSet></Tagging>";
  return xml;
}

}  // namespace thumbflow::server
