// The wire protocol between IsolatedThumbnailer (the parent) and a codec helper process
// (`thumbflow codec-helper`), over one AF_UNIX stream socket.
//
// Frames: a fixed header {magic u32, type u32, length u64} and `length` payload bytes. A
// request's source may instead travel as a memfd passed with SCM_RIGHTS on the header (the
// payload then only says how long it is), so a large source is written once and mapped by
// the helper, never copied through the socket.
//
//   parent -> helper  kInit      HelperInit (config, limits), once, first
//   helper -> parent  kReady     empty: libvips started, sandbox applied
//   parent -> helper  kRequest   deadline (Unix ms), flags, source inline or memfd
//   helper -> parent  kResponse  a Status or Thumbnails
//
// Both sides are the same binary, so integers travel in native byte order. The parent
// treats everything a helper sends as hostile: every decode is bounds-checked and a frame
// larger than kMaxFrameBytes is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/thumbnail_config.h"
#include "core/result.h"
#include "image/thumbnailer.h"

namespace thumbflow::internal {

inline constexpr uint32_t kMagic = 0x54464348;  // "TFCH"
inline constexpr uint64_t kMaxFrameBytes = uint64_t{1} << 30;
// Sources at least this large cross in a memfd; smaller ones inline in the frame.
inline constexpr size_t kMemfdThreshold = 64 * 1024;

enum class FrameType : uint32_t { kInit = 1, kReady = 2, kRequest = 3, kResponse = 4 };

// What the helper needs besides the thumbnail config. Limits of 0 mean "not set".
struct HelperInit {
  ThumbnailConfig config;
  int vips_threads = 1;
  bool sandbox = true;
  int64_t memory_limit_bytes = 0;  // RLIMIT_AS
  int cpu_limit_s = 0;             // RLIMIT_CPU per image
  int max_open_files = 0;          // RLIMIT_NOFILE
  bool test_hooks = false;         // honour the test-only markers (codec_helper.h)
};

struct Request {
  int64_t deadline_ms = 0;  // absolute, Unix ms; 0: only limits.timeout_s
  uint64_t source_bytes = 0;
  bool source_in_memfd = false;
};

std::string EncodeInit(const HelperInit& init);
Result<HelperInit> DecodeInit(std::string_view payload);

// The request header; an inline source follows it in the same payload.
std::string EncodeRequest(const Request& request);
// Parses the header and returns where the inline source starts in `payload`.
Result<Request> DecodeRequest(std::string_view payload, size_t* source_offset);

std::string EncodeResult(const Result<Thumbnails>& result);
// False when `payload` is malformed (the helper is then replaced); else *out is the result.
bool DecodeResult(std::string_view payload, Result<Thumbnails>* out);

struct Frame {
  FrameType type = FrameType::kReady;
  std::string payload;
  int fd = -1;  // a descriptor received with the frame (owned by the caller), or -1
};

// Writes one frame (and `pass_fd` when >= 0). `deadline_ms` 0: block; else gives up with
// DeadlineExceeded at that Unix ms. A closed peer is Unavailable. Never raises SIGPIPE.
Status WriteFrame(int socket, FrameType type, std::string_view payload, int pass_fd,
                  int64_t deadline_ms);
// Reads one frame. `deadline_ms` as above. End of stream before a whole frame is
// Unavailable ("closed"); a bad header is Internal.
Result<Frame> ReadFrame(int socket, int64_t deadline_ms);

}  // namespace thumbflow::internal
