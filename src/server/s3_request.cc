#include "server/s3_request.h"

#include <algorithm>
#include <optional>

#include "aws/checksums.h"
#include "core/strings.h"
#include "core/utf8.h"

namespace thumbflow::server {
namespace {

constexpr char kXmlDecl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

HeaderList BaseHeaders(const S3Request& r, const Clock& clock) {
  return {{"x-amz-request-id", r.request_id},
          {"x-amz-id-2", r.request_id},
          {"Date", HttpDate(clock.NowMillis())},
          {"Server", "thumbflow"}};
}

}  // namespace

const std::string* S3Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

HttpReply EmptyReply(const S3Request& r, const Clock& clock, int status) {
  HttpReply reply;
  reply.status = status;
  reply.headers = BaseHeaders(r, clock);
  return reply;
}

HttpReply XmlReply(const S3Request& r, const Clock& clock, std::string_view xml) {
  HttpReply reply = EmptyReply(r, clock, 200);
  reply.headers.emplace_back("Content-Type", "application/xml");
  reply.body = kXmlDecl;
  reply.body += xml;
  return reply;
}

HttpReply ErrorReply(const S3Request& r, const Clock& clock, S3Error error) {
  HttpReply reply = EmptyReply(r, clock, error.http_status);
  if (error.http_status == 304) return reply;
  error.resource = r.path;
  reply.headers.emplace_back("Content-Type", "application/xml");
  reply.body = ErrorXml(error, r.request_id);
  reply.head = r.is_head();
  return reply;
}

HttpReply StatusReply(const S3Request& r, const Clock& clock, const Status& status,
                      bool is_bucket_op) {
  return ErrorReply(r, clock, ErrorFromStatus(status, is_bucket_op));
}

PutOptions PutOptionsFromHeaders(const HttpRequestHead& head) {
  PutOptions options;
  for (const auto& [name, value] : head.headers) {
    if (EqualsIgnoreCase(name, "content-type")) {
      options.content_type = value;
    } else if (name.size() > 11 && StartsWithIgnoreCase(name, "x-amz-meta-")) {
      options.metadata[ToLowerAscii(std::string_view(name).substr(11))] = HeaderValueText(value);
    } else if (EqualsIgnoreCase(name, "content-encoding")) {
      // "aws-chunked" frames the body on the wire (s3_body.h); S3 stores what is left.
      std::string kept;
      std::string_view rest = value;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view coding = rest.substr(0, comma);
        while (!coding.empty() && coding.front() == ' ') coding.remove_prefix(1);
        while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (coding.empty() || EqualsIgnoreCase(coding, "aws-chunked")) continue;
        if (!kept.empty()) kept += ",";
        kept += coding;
      }
      if (!kept.empty()) options.headers["Content-Encoding"] = HeaderValueText(kept);
    } else {
      for (std::string_view stored : kStoredHeaderNames) {
        if (EqualsIgnoreCase(name, stored)) {
          options.headers[std::string(stored)] = HeaderValueText(value);
        }
      }
    }
  }
  return options;
}

namespace {

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

void AppendUtf8(std::string& out, unsigned code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

std::string Latin1ToUtf8(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) AppendUtf8(out, c);
  return out;
}

// One encoded-word's text, decoded to UTF-8; nullopt when it is not one thumbflow reads.
std::optional<std::string> DecodeEncodedWord(std::string_view charset, std::string_view encoding,
                                             std::string_view text) {
  std::string bytes;
  if (EqualsIgnoreCase(encoding, "B")) {
    Result<std::string> decoded = aws::Base64Decode(text);
    if (!decoded.ok()) return std::nullopt;
    bytes = std::move(*decoded);
  } else if (EqualsIgnoreCase(encoding, "Q")) {
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '_') {
        bytes += ' ';
      } else if (text[i] == '=') {
        if (i + 2 >= text.size() || HexDigitValue(text[i + 1]) < 0 ||
            HexDigitValue(text[i + 2]) < 0) {
          return std::nullopt;
        }
        bytes += static_cast<char>(HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2]));
        i += 2;
      } else {
        bytes += text[i];
      }
    }
  } else {
    return std::nullopt;
  }
  if (EqualsIgnoreCase(charset, "UTF-8")) {
    if (!IsValidUtf8(bytes)) return std::nullopt;
    return bytes;
  }
  if (EqualsIgnoreCase(charset, "ISO-8859-1")) return Latin1ToUtf8(bytes);
  if (EqualsIgnoreCase(charset, "US-ASCII") && IsAscii(bytes)) return bytes;
  return std::nullopt;
}

// A value made only of encoded-words (whitespace between them is dropped, RFC 2047 6.2).
std::optional<std::string> DecodeRfc2047(std::string_view value) {
  std::string out;
  bool any = false;
  while (true) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    if (value.empty()) break;
    if (!value.starts_with("=?")) return std::nullopt;
    size_t q1 = value.find('?', 2);
    if (q1 == std::string_view::npos) return std::nullopt;
    size_t q2 = value.find('?', q1 + 1);
    if (q2 == std::string_view::npos) return std::nullopt;
    size_t end = value.find("?=", q2 + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::optional<std::string> word =
        DecodeEncodedWord(value.substr(2, q1 - 2), value.substr(q1 + 1, q2 - q1 - 1),
                          value.substr(q2 + 1, end - q2 - 1));
    if (!word) return std::nullopt;
    out += *word;
    any = true;
    value.remove_prefix(end + 2);
  }
  if (!any) return std::nullopt;
  return out;
}

}  // namespace

std::string HeaderValueText(std::string_view raw) {
  if (raw.starts_with("=?")) {
    if (std::optional<std::string> decoded = DecodeRfc2047(raw)) return std::move(*decoded);
  }
  if (IsAscii(raw) || IsValidUtf8(raw)) return std::string(raw);
  return Latin1ToUtf8(raw);
}

std::string HeaderValueWire(std::string_view text) {
  if (IsAscii(text)) return std::string(text);
  std::string latin1;
  for (size_t i = 0; i < text.size();) {
    size_t n = Utf8SequenceLength(text, i);
    unsigned char lead = static_cast<unsigned char>(text[i]);
    if (n == 1) {
      latin1 += text[i];
    } else if (n == 2 && lead <= 0xC3) {
      latin1 += static_cast<char>(((lead & 0x1F) << 6) | (text[i + 1] & 0x3F));
    } else {
      return "=?UTF-8?B?" + aws::Base64Encode(text) + "?=";
    }
    i += n;
  }
  return latin1;
}

PutOptions PutOptionsOf(const S3Request& r) {
  PutOptions options = PutOptionsFromHeaders(r.head);
  options.tags = r.tagging;
  options.acl = r.acl;
  return options;
}

Status S3Status(StatusCode code, std::string_view s3_code, std::string message) {
  return Status(code, std::move(message), std::string(s3_code));
}

}  // namespace thumbflow::server
