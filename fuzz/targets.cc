#include "fuzz/targets.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include <boost/beast/http.hpp>

#include "aws/checksums.h"
#include "aws/sigv4.h"
#include "config/config.h"
#include "core/uri.h"
#include "events/s3_event.h"
#include "image/png_decoder.h"
#include "image/vips_thumbnailer.h"
#include "server/s3_protocol.h"
#include "storage/keys.h"

namespace thumbflow::fuzz {
namespace {

// A broken contract: print it and abort, which libFuzzer (and gtest) report as a crash.
void FuzzCheck(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz contract broken: %s\n", what);
  std::abort();
}

// ParseS3Event; what it accepts must survive BuildS3Event -> ParseS3Event unchanged in the
// fields the pipeline acts on.
void S3EventTarget(std::string_view data) {
  Result<S3Event> event = ParseS3Event(data);
  if (!event.ok()) {
    FuzzCheck(event.status().reason() == Reason::kNotAnEvent, "s3_event: failure reason");
    return;
  }
  FuzzCheck(event->test_event == event->records.empty(), "s3_event: test event xor records");
  if (event->test_event) return;
  for (const S3EventRecord& r : event->records) FuzzCheck(!r.key.empty(), "s3_event: empty key");
  Result<S3Event> again = ParseS3Event(BuildS3Event(event->records));
  FuzzCheck(again.ok(), "s3_event: BuildS3Event output does not parse");
  FuzzCheck(again->records.size() == event->records.size(), "s3_event: record count");
  for (size_t i = 0; i < again->records.size(); ++i) {
    const S3EventRecord& a = event->records[i];
    const S3EventRecord& b = again->records[i];
    FuzzCheck(a.bucket == b.bucket && a.key == b.key, "s3_event: bucket/key round trip");
    FuzzCheck(a.size == b.size && a.etag == b.etag, "s3_event: size/etag round trip");
    FuzzCheck(a.event_name == b.event_name, "s3_event: eventName round trip");
    FuzzCheck(a.event_time_ms == b.event_time_ms, "s3_event: eventTime round trip");
  }
}

// A raw request head (and body) as the endpoint receives it: Beast parses it, the target
// is split as S3Handler does, then VerifyRequest runs with the endpoint's options against
// the AWS SigV4 test suite's key and clock (service "service", the suite's scope), so the
// suite's signed requests are valid seeds. Verified streaming bodies go through the
// aws-chunked decoder.
void SigV4Target(std::string_view data) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);  // HttpServerOptions::max_header_bytes
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(data.data(), data.size()), ec);
  if (ec || !parser.is_header_done()) return;
  const auto& req = parser.get();
  Result<aws::RequestTarget> target =
      aws::ParseRequestTarget(std::string_view(req.target().data(), req.target().size()));
  if (!target.ok()) return;
  aws::SignableRequest signable;
  signable.method = std::string(req.method_string());
  signable.path = target->path;
  signable.query = target->query;
  for (const auto& field : req) {
    signable.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  aws::VerifyOptions options;
  options.service = "service";
  options.region = "us-east-1";
  options.now_ms = 1440938160000;  // 2015-08-30T12:36:00Z
  aws::SecretLookup lookup = [](std::string_view key) -> Result<aws::Credentials> {
    if (key != "AKIDEXAMPLE") return NotFoundError("unknown access key");
    aws::Credentials credentials;
    credentials.access_key_id = "AKIDEXAMPLE";
    credentials.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    return credentials;
  };
  aws::ErrorDetails details;
  Result<aws::VerifiedRequest> verified = aws::VerifyRequest(signable, lookup, options, &details);
  if (!verified.ok()) {
    FuzzCheck(verified.status().code() != StatusCode::kOk, "sigv4: failure without a code");
    return;
  }
  FuzzCheck(verified->access_key_id == "AKIDEXAMPLE", "sigv4: verified an unknown key");
  auto decoder = aws::AwsChunkedDecoder::Create(*verified, signable.headers);
  if (!decoder.ok()) return;
  std::string_view body = data.substr(std::min(used, data.size()));
  std::string out;
  Status fed = (*decoder)->Feed(body.substr(0, body.size() / 2), &out);
  if (fed.ok()) fed = (*decoder)->Feed(body.substr(body.size() / 2), &out);
  if (fed.ok()) (void)(*decoder)->Finish();
}

// The S3 XML request bodies the endpoint parses. CORS and tagging bodies do not exist yet;
// add their parsers here when they do.
void S3XmlTarget(std::string_view data) {
  Result<server::DeleteObjectsBody> deleted = server::ParseDeleteObjectsXml(data);
  if (deleted.ok()) {
    FuzzCheck(!deleted->keys.empty() && deleted->keys.size() <= 1000, "s3_xml: Delete count");
  } else {
    FuzzCheck(deleted.status().error_code() == "MalformedXML", "s3_xml: Delete failure reason");
  }
  auto parts = server::ParseCompleteMultipartXml(data);
  if (!parts.ok()) {
    FuzzCheck(parts.status().error_code() == "MalformedXML", "s3_xml: Complete failure reason");
  }
}

// Key and bucket rules, and the encodings keys go through.
void ObjectKeyTarget(std::string_view data) {
  bool object_ok = ValidateObjectKey(data).ok();
  bool pipeline_ok = ValidatePipelineKey(data).ok();
  (void)ValidateBucketName(data);
  FuzzCheck(!pipeline_ok || object_ok, "object_key: pipeline key that is no object key");
  FuzzCheck(!object_ok || (!data.empty() && data.size() <= kMaxKeyBytes), "object_key: size");
  std::string successor = PrefixSuccessor(data);
  if (!successor.empty()) {
    FuzzCheck(std::string_view(successor) > data, "object_key: successor not greater");
    std::string extended = std::string(data) + "\xff\xff\xff";
    FuzzCheck(successor > extended, "object_key: successor not above the prefix's range");
  }
  if (object_ok) {
    Result<std::string> decoded = UrlDecodeS3Key(UrlEncodeS3Key(data));
    FuzzCheck(decoded.ok() && *decoded == data, "object_key: S3 event encoding round trip");
    Result<std::string> uri = aws::UriDecode(aws::UriEncode(data, false));
    FuzzCheck(uri.ok() && *uri == data, "object_key: SigV4 URI encoding round trip");
    Result<std::string> url = PercentDecode(PercentEncode(data, {.keep_slash = true}));
    FuzzCheck(url.ok() && *url == data, "object_key: S3 URL encoding round trip");
    (void)server::XmlEscape(data);
  }
  (void)UrlDecodeS3Key(data);
  (void)aws::UriDecode(data);
}

// The TOML config file.
void ConfigTarget(std::string_view data) {
  Result<Config> config = ParseConfig(data, "fuzz.toml");
  if (!config.ok()) {
    FuzzCheck(config.status().code() == StatusCode::kInvalidArgument, "config: failure code");
    return;
  }
  (void)ValidateConfig(*config);
}

// libvips for the image targets, started once per process and kept for it (held by a
// static, so LeakSanitizer sees it reachable: libvips state is process-wide and fuzzing never
// ends), with VIPS_NOVECTOR=1: liborc (the vector path) is not what these targets test, and
// it races between threads.
const VipsRuntime& Vips() {
  static const VipsRuntime* vips = [] {
    setenv("VIPS_NOVECTOR", "1", 0);
    VipsRuntimeOptions runtime_options;
    runtime_options.program_name = "thumbflow-fuzz";
    runtime_options.concurrency = 1;
    auto runtime = VipsRuntime::Start(runtime_options);
    FuzzCheck(runtime.ok(), "libvips did not start");
    return std::move(runtime).value().release();
  }();
  return *vips;
}

// VipsThumbnailer::Make with small limits (1 MP, 256 KiB, 3 frames) and two sizes, so one
// input costs milliseconds.
void ThumbnailerTarget(std::string_view data) {
  static const Thumbnailer* thumbnailer = [] {
    ThumbnailConfig config;
    config.sizes = {{"small", 32, 0, Fit::kInside}, {"square", 24, 24, Fit::kCover}};
    config.animated = true;
    config.limits.max_bytes = 256 * 1024;
    config.limits.max_pixels = 1 << 20;
    config.limits.max_frames = 3;
    config.limits.timeout_s = 10;
    auto made = MakeVipsThumbnailer(config, Vips());
    FuzzCheck(made.ok(), "thumbnailer: MakeVipsThumbnailer failed");
    return std::move(made).value().release();  // for the process, as libvips
  }();
  Result<Thumbnails> thumbnails = thumbnailer->Make(data);
  if (!thumbnails.ok()) {
    static const std::set<Reason> kReasons = {
        Reason::kNotAnImage,        Reason::kTruncated, Reason::kCorrupt,
        Reason::kUnsupportedFormat, Reason::kTooLarge,  Reason::kTooManyPixels,
        Reason::kTooManyFrames,     Reason::kTimeout,   Reason::kInternal};
    FuzzCheck(kReasons.count(thumbnails.status().reason()) == 1, "thumbnailer: unknown reason");
    return;
  }
  FuzzCheck(thumbnails->outputs.size() == 2, "thumbnailer: one output per size");
  const auto& small = thumbnails->outputs[0];
  const auto& square = thumbnails->outputs[1];
  FuzzCheck(small.width >= 1 && small.width <= 32 && small.height >= 1,
            "thumbnailer: inside output out of bounds");
  // Thumbnails are never enlarged, so a source smaller than a size stays smaller.
  FuzzCheck(square.width >= 1 && square.width <= 24 && square.height >= 1 && square.height <= 24,
            "thumbnailer: cover output out of bounds");
  FuzzCheck(!small.bytes.empty() && !square.bytes.empty(), "thumbnailer: empty output");
}

struct UnrefImage {
  void operator()(VipsImage* image) const {
    if (image != nullptr) g_object_unref(image);
  }
};
using ImagePtr = std::unique_ptr<VipsImage, UnrefImage>;

// `png` with the CRC of every whole chunk after the signature recomputed, so that mutations
// reach past the CRC checks (both decoders then see the same, consistent bytes).
std::string WithChunkCrcsFixed(std::string_view png) {
  std::string out(png);
  size_t at = 8;
  while (at + 12 <= out.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(out.data() + at);
    uint64_t length = (uint64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if (length > out.size() - at - 12) break;
    uint32_t crc = aws::Crc32(std::string_view(out.data() + at + 4, length + 4));
    char* field = out.data() + at + 8 + length;
    for (int i = 0; i < 4; ++i) field[i] = static_cast<char>(crc >> (24 - 8 * i));
    at += 12 + length;
  }
  return out;
}

// The PNG decoder of our own (libspng's chunks, libdeflate, our unfilter; png_decoder.h)
// against libvips' PNG loader, with 1 MP / 16 MiB limits, on the input with its chunk CRCs
// fixed. libvips' error buffer is left as it was. An image it takes reads to the end and is
// the image libvips' loader gives: the same geometry, band format, interpretation and every
// pixel; a file it does not take is libvips' to judge. Its shrink-on-load is checked too.
void PngDecoderTarget(std::string_view input) {
  (void)Vips();
  const std::string data = WithChunkCrcsFixed(input);
  vips_error_clear();
  ImagePtr ours(internal::NewPngImage(data, int64_t{1} << 20, size_t{16} << 20));
  FuzzCheck(*vips_error_buffer() == '\0', "png_decoder: libvips' error buffer changed");
  if (!ours) return;
  ImagePtr our_pixels(vips_image_copy_memory(ours.get()));
  FuzzCheck(our_pixels != nullptr, "png_decoder: a taken image does not read to the end");
  VipsImage* loaded = nullptr;
  int rc = vips_pngload_buffer(const_cast<char*>(data.data()), data.size(), &loaded, nullptr);
  ImagePtr theirs(rc == 0 ? loaded : nullptr);
  FuzzCheck(theirs != nullptr, "png_decoder: took a file libvips' loader refuses");
  ImagePtr their_pixels(vips_image_copy_memory(theirs.get()));
  FuzzCheck(their_pixels != nullptr, "png_decoder: took a file libvips' loader cannot read");
  vips_error_clear();
  VipsImage* a = our_pixels.get();
  VipsImage* b = their_pixels.get();
  FuzzCheck(a->Xsize == b->Xsize && a->Ysize == b->Ysize && a->Bands == b->Bands,
            "png_decoder: geometry differs from libvips'");
  FuzzCheck(a->BandFmt == b->BandFmt && a->Type == b->Type,
            "png_decoder: format or interpretation differs from libvips'");
  FuzzCheck(std::memcmp(VIPS_IMAGE_ADDR(a, 0, 0), VIPS_IMAGE_ADDR(b, 0, 0),
                        VIPS_IMAGE_SIZEOF_IMAGE(a)) == 0,
            "png_decoder: pixels differ from libvips'");
  // Shrink-on-load (2 to 4, by the input's length): an 8-bit image it took is taken again,
  // ceil(width / shrink) x ceil(height / shrink), and reads to the end.
  const int shrink = 2 + static_cast<int>(input.size() % 3);
  ImagePtr shrunk(internal::NewPngImage(data, int64_t{1} << 20, size_t{16} << 20, shrink));
  if (a->BandFmt != VIPS_FORMAT_UCHAR) return;
  FuzzCheck(shrunk != nullptr, "png_decoder: a shrink-on-load refused what a full decode took");
  FuzzCheck(shrunk->Xsize == (a->Xsize + shrink - 1) / shrink &&
                shrunk->Ysize == (a->Ysize + shrink - 1) / shrink && shrunk->Bands == a->Bands,
            "png_decoder: shrink-on-load geometry");
  ImagePtr shrunk_pixels(vips_image_copy_memory(shrunk.get()));
  FuzzCheck(shrunk_pixels != nullptr, "png_decoder: a shrunk image does not read to the end");
}

}  // namespace

const std::vector<FuzzTarget>& FuzzTargets() {
  static const std::vector<FuzzTarget> targets = {
      {"s3_event", S3EventTarget},       {"sigv4", SigV4Target},
      {"s3_xml", S3XmlTarget},           {"object_key", ObjectKeyTarget},
      {"config", ConfigTarget},          {"thumbnailer", ThumbnailerTarget},
      {"png_decoder", PngDecoderTarget},
  };
  return targets;
}

const FuzzTarget* FindFuzzTarget(std::string_view name) {
  for (const FuzzTarget& target : FuzzTargets()) {
    if (name == target.name) return &target;
  }
  return nullptr;
}

}  // namespace thumbflow::fuzz
