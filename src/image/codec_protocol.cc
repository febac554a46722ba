#include "image/codec_protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/disk.h"

namespace thumbflow::internal {
namespace {

// A failed call on the helper's socket: the text from the one errno mapper (core/disk.h);
// Unavailable whatever the errno, as the header promises (the caller replaces the helper).
Status SocketError(std::string_view call) {
  return UnavailableError(FileError(errno, call, "on the codec helper socket").message());
}

// ---- serialisation ------------------------------------------------------------------
// One Visit function per message lists its fields once; Writer appends them and Reader reads
// them back (each Reader getter fails, and keeps failing, once the input is short or bad).

class Writer {
 public:
  void Field(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void Field(int64_t v) { Field(static_cast<uint64_t>(v)); }
  void Field(int v) { Field(static_cast<int64_t>(v)); }
  void Field(bool v) { Field(uint64_t{v ? 1u : 0u}); }
  void Field(const std::string& s) {
    Field(uint64_t{s.size()});
    out_.append(s);
  }
  void Field(Fit v) { Field(std::string(FitName(v))); }
  void Field(Gravity v) { Field(std::string(GravityName(v))); }
  template <typename T>
  void Count(const std::vector<T>& v) {
    Field(uint64_t{v.size()});
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  void Field(uint64_t& v) {
    if (!ok_ || in_.size() - pos_ < sizeof v) {
      ok_ = false;
      return;
    }
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
  }
  void Field(int64_t& v) {
    uint64_t u = 0;
    Field(u);
    v = static_cast<int64_t>(u);
  }
  void Field(int& v) {
    int64_t w = 0;
    Field(w);
    if (w < INT32_MIN || w > INT32_MAX) ok_ = false;
    v = static_cast<int>(w);
  }
  void Field(bool& v) {
    uint64_t u = 0;
    Field(u);
    if (u > 1) ok_ = false;
    v = u == 1;
  }
  void Field(std::string& s) {
    uint64_t n = 0;
    Field(n);
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return;
    }
    s.assign(in_.data() + pos_, n);
    pos_ += n;
  }
  void Field(Fit& v) { Name(v, ParseFit); }
  void Field(Gravity& v) { Name(v, ParseGravity); }
  // Reads a element count (at most 1000) and sizes `v` for it.
  template <typename T>
  void Count(std::vector<T>& v) {
    uint64_t n = 0;
    Field(n);
    if (n > 1000) ok_ = false;
    v.resize(ok_ ? n : 0);
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  size_t pos() const { return pos_; }

 private:
  // An enum sent by its config name; an unknown name fails the read.
  template <typename E>
  void Name(E& v, bool (*parse)(std::string_view, E*)) {
    std::string name;
    Field(name);
    if (ok_ && !parse(name, &v)) ok_ = false;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// `Init` is HelperInit or const HelperInit, and so on: the same list serves both ways.
template <typename IO, typename Init>
void VisitInit(IO& io, Init& init) {
  auto& c = init.config;
  io.Count(c.sizes);
  for (auto& s : c.sizes) {
    io.Field(s.name);
    io.Field(s.width);
    io.Field(s.height);
    io.Field(s.fit);
    io.Field(s.gravity);
    for (auto& v : s.background) io.Field(v);
  }
  io.Field(c.format);
  io.Field(c.jpeg_quality);
  io.Field(c.webp_quality);
  io.Field(c.avif_quality);
  io.Field(c.png_compression);
  io.Field(c.progressive);
  io.Field(c.strip_metadata);
  io.Field(c.animated);
  io.Field(c.limits.max_bytes);
  io.Field(c.limits.max_pixels);
  io.Field(c.limits.max_frames);
  io.Field(c.limits.timeout_s);
  io.Field(init.vips_threads);
  io.Field(init.sandbox);
  io.Field(init.memory_limit_bytes);
  io.Field(init.cpu_limit_s);
  io.Field(init.max_open_files);
  io.Field(init.test_hooks);
}

template <typename IO, typename R>
void VisitRequest(IO& io, R& request) {
  io.Field(request.deadline_ms);
  io.Field(request.source_bytes);
  io.Field(request.source_in_memfd);
}

template <typename IO, typename T>
void VisitThumbnails(IO& io, T& t) {
  io.Field(t.source_format);
  io.Field(t.source_width);
  io.Field(t.source_height);
  io.Count(t.outputs);
  for (auto& o : t.outputs) {
    io.Field(o.size_name);
    io.Field(o.format);
    io.Field(o.content_type);
    io.Field(o.extension);
    io.Field(o.width);
    io.Field(o.height);
    io.Field(o.bytes);
  }
}

Status Malformed(const char* what) {
  return InternalError(std::string("codec helper protocol: malformed ") + what);
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Waits until `socket` is ready for `events`; DeadlineExceeded when `deadline_ms` passes.
Status WaitReady(int socket, short events, int64_t deadline_ms) {
  for (;;) {
    int timeout = -1;
    if (deadline_ms > 0) {
      int64_t left = deadline_ms - NowMillis();
      if (left <= 0) return DeadlineExceededError("codec helper: deadline passed");
      timeout = static_cast<int>(std::min<int64_t>(left, 60'000));
    }
    pollfd p{socket, events, 0};
    int rc = ::poll(&p, 1, timeout);
    if (rc > 0) return Status::Ok();
    if (rc < 0 && errno != EINTR) {
      return SocketError("poll");
    }
  }
}

struct Header {
  uint32_t magic;
  uint32_t type;
  uint64_t length;
};

Status SendAll(int socket, const char* data, size_t size, int pass_fd, int64_t deadline_ms) {
  size_t sent = 0;
  bool fd_sent = pass_fd < 0;
  while (sent < size) {
    RETURN_IF_ERROR(WaitReady(socket, POLLOUT, deadline_ms));
    iovec iov{const_cast<char*>(data + sent), size - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (!fd_sent) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return SocketError("send");
    }
    fd_sent = true;
    sent += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Reads exactly `size` bytes; the first read may carry a descriptor (stored in *fd).
Status RecvAll(int socket, char* data, size_t size, int* fd, int64_t deadline_ms) {
  size_t got = 0;
  while (got < size) {
    RETURN_IF_ERROR(WaitReady(socket, POLLIN, deadline_ms));
    iovec iov{data + got, size - got};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd != nullptr) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
    }
    ssize_t n = ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return SocketError("receive");
    }
    if (n == 0) return UnavailableError("codec helper: connection closed");
    if (fd != nullptr) {
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int))) {
          int received = -1;
          std::memcpy(&received, CMSG_DATA(c), sizeof(int));
          if (*fd >= 0) ::close(*fd);
          *fd = received;
        }
      }
    }
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeInit(const HelperInit& init) {
  Writer w;
  VisitInit(w, init);
  return w.Take();
}

Result<HelperInit> DecodeInit(std::string_view payload) {
  Reader r(payload);
  HelperInit init;
  VisitInit(r, init);
  if (!r.done()) return Malformed("init");
  return init;
}

std::string EncodeRequest(const Request& request) {
  Writer w;
  VisitRequest(w, request);
  return w.Take();
}

Result<Request> DecodeRequest(std::string_view payload, size_t* source_offset) {
  Reader r(payload);
  Request request;
  VisitRequest(r, request);
  if (!r.ok()) return Malformed("request");
  *source_offset = r.pos();
  if (!request.source_in_memfd && payload.size() - r.pos() != request.source_bytes) {
    return Malformed("request");
  }
  return request;
}

std::string EncodeResult(const Result<Thumbnails>& result) {
  Writer w;
  w.Field(result.ok());
  if (result.ok()) {
    VisitThumbnails(w, *result);
  } else {
    w.Field(static_cast<int64_t>(result.status().code()));
    w.Field(result.status().message());
    w.Field(std::string(ReasonName(result.status().reason())));
    w.Field(result.status().retryable());
  }
  return w.Take();
}

bool DecodeResult(std::string_view payload, Result<Thumbnails>* out) {
  Reader r(payload);
  bool ok = false;
  r.Field(ok);
  if (ok) {
    Thumbnails t;
    VisitThumbnails(r, t);
    if (!r.done()) return false;
    *out = std::move(t);
    return true;
  }
  int64_t code = 0;
  std::string message, reason;
  bool retryable = false;
  r.Field(code);
  r.Field(message);
  r.Field(reason);
  r.Field(retryable);
  if (!r.done() || code <= 0 || code > static_cast<int64_t>(StatusCode::kInternal)) return false;
  *out =
      Status(static_cast<StatusCode>(code), std::move(message), ReasonFromName(reason), retryable);
  return true;
}

Status WriteFrame(int socket, FrameType type, std::string_view payload, int pass_fd,
                  int64_t deadline_ms) {
  Header header{kMagic, static_cast<uint32_t>(type), payload.size()};
  RETURN_IF_ERROR(
      SendAll(socket, reinterpret_cast<const char*>(&header), sizeof header, pass_fd, deadline_ms));
  return SendAll(socket, payload.data(), payload.size(), -1, deadline_ms);
}

Result<Frame> ReadFrame(int socket, int64_t deadline_ms) {
  Header header{};
  Frame frame;
  Status got =
      RecvAll(socket, reinterpret_cast<char*>(&header), sizeof header, &frame.fd, deadline_ms);
  auto fail = [&frame](Status status) {
    if (frame.fd >= 0) ::close(frame.fd);
    return status;
  };
  if (!got.ok()) return fail(got);
  if (header.magic != kMagic || header.type < 1 || header.type > 4 ||
      header.length > kMaxFrameBytes) {
    return fail(Malformed("frame header"));
  }
  frame.type = static_cast<FrameType>(header.type);
  frame.payload.resize(header.length);
  got = RecvAll(socket, frame.payload.data(), frame.payload.size(), nullptr, deadline_ms);
  if (!got.ok()) return fail(got);
  return frame;
}

}  // namespace thumbflow::internal
