#include "image/codec_helper.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/log.h"
#include "image/codec_protocol.h"
#include "image/sandbox.h"
#include "image/vips_thumbnailer.h"

namespace thumbflow::internal {
namespace {

constexpr int kSocket = 3;

// The helper's stderr is the parent's: its lines are JSON like the parent's, at the level
// the parent passes in THUMBFLOW_LOG_LEVEL (IsolatedThumbnailer sets it).
LogLevel HelperLogLevel() {
  const char* level = std::getenv("THUMBFLOW_LOG_LEVEL");
  return ParseLogLevel(level != nullptr ? level : "").value_or(LogLevel::kInfo);
}

void Log(const std::string& text) {
  Logger::Stderr(nullptr, HelperLogLevel())
      .Error(text, LogFields().Add("component", "codec-helper").Add("pid", int64_t{::getpid()}));
}

Status ProbeFailure(const char* what, int error) {
  return Status(
      StatusCode::kInternal,
      std::string("test hook: ") + what + ": " + (error == 0 ? "succeeded" : std::strerror(error)),
      Reason::kInternal, false);
}

// The markers of codec_helper.h; nullopt-like empty Status (OK) means "not a marker".
bool RunTestHook(std::string_view source, Result<Thumbnails>* out) {
  if (source.starts_with("THUMBFLOW-TEST-HANG")) {
    for (;;) ::sleep(1000);  // nanosleep: allowed, unlike pause
  }
  if (source.starts_with("THUMBFLOW-TEST-CRASH")) std::abort();
  if (source.starts_with("THUMBFLOW-TEST-WRITE")) {
    std::string path = "/tmp/thumbflow-sandbox-probe-" + std::to_string(::getpid());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    int error = fd < 0 ? errno : 0;
    if (fd >= 0) {
      ::close(fd);
      ::unlink(path.c_str());
    }
    *out = ProbeFailure("open for writing", error);
    return true;
  }
  if (source.starts_with("THUMBFLOW-TEST-SOCKET")) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int error = fd < 0 ? errno : 0;
    if (fd >= 0) ::close(fd);
    *out = ProbeFailure("socket", error);
    return true;
  }
  if (source.starts_with("THUMBFLOW-TEST-SYSCALL")) {
    long rc = ::syscall(SYS_chroot, "/");
    *out = ProbeFailure("chroot", rc == 0 ? 0 : errno);
    return true;
  }
  if (source.starts_with("THUMBFLOW-TEST-LEAK")) {
    constexpr size_t kLeak = 64 << 20;
    // Never freed: that is the point. Kept in a static, or clang elides the unused malloc.
    static char* leak = nullptr;
    leak = static_cast<char*>(std::malloc(kLeak));
    if (leak != nullptr) std::memset(leak, 1, kLeak);
    *out = ProbeFailure("leak", leak == nullptr ? ENOMEM : 0);
    return true;
  }
  return false;
}

// A source received in a memfd, mapped read-only for the duration of one image.
class MappedSource {
 public:
  MappedSource(int fd, size_t size) : size_(size) {
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) data_ = static_cast<const char*>(p);
    }
    ::close(fd);
  }
  ~MappedSource() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedSource(const MappedSource&) = delete;
  MappedSource& operator=(const MappedSource&) = delete;
  bool ok() const { return data_ != nullptr || size_ == 0; }
  std::string_view view() const { return {data_ == nullptr ? "" : data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_;
};

Result<Thumbnails> Handle(const Thumbnailer& thumbnailer, const HelperInit& init,
                          const Frame& frame) {
  size_t offset = 0;
  ASSIGN_OR_RETURN(Request request, DecodeRequest(frame.payload, &offset));
  std::string_view source;
  std::unique_ptr<MappedSource> mapped;
  if (request.source_in_memfd) {
    if (frame.fd < 0) return InternalError("codec helper: request without its memfd");
    mapped = std::make_unique<MappedSource>(frame.fd, request.source_bytes);
    if (!mapped->ok()) return InternalError("codec helper: cannot map the source");
    source = mapped->view();
  } else {
    if (frame.fd >= 0) ::close(frame.fd);
    source = std::string_view(frame.payload).substr(offset);
  }
  if (init.test_hooks) {
    Result<Thumbnails> hooked = InternalError("unset");
    if (RunTestHook(source, &hooked)) return hooked;
  }
  RETURN_IF_ERROR(SetCpuBudget(init.cpu_limit_s));
  MakeOptions options;
  options.deadline_ms = request.deadline_ms;
  return thumbnailer.Make(source, options);
}

// Sends the failure in place of kReady and returns the exit code.
int InitFailed(const Status& status) {
  Log(status.message());
  Status sent = WriteFrame(kSocket, FrameType::kResponse, EncodeResult(status), -1, 0);
  (void)sent;
  return 1;
}

int RunHelper(int argc, char** argv) {
  // Dies with the parent; the check closes the race with a parent that died before prctl.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc < 3 || std::to_string(::getppid()) != argv[2]) return 1;
  // Nothing but stdio and the socket: descriptors the parent leaked without CLOEXEC go.
  ::close_range(kSocket + 1, ~0U, 0);
  ::signal(SIGPIPE, SIG_IGN);

  Result<Frame> first = ReadFrame(kSocket, 0);
  if (!first.ok() || first->type != FrameType::kInit) return 1;
  Result<HelperInit> init = DecodeInit(first->payload);
  if (!init.ok()) return InitFailed(init.status());

  VipsRuntimeOptions runtime_options;
  runtime_options.program_name = "thumbflow-codec-helper";
  runtime_options.concurrency = init->vips_threads;
  runtime_options.log = Logger::Stderr(nullptr, HelperLogLevel());
  Result<std::unique_ptr<VipsRuntime>> runtime = VipsRuntime::Start(runtime_options);
  if (!runtime.ok()) return InitFailed(runtime.status());
  Result<std::unique_ptr<Thumbnailer>> thumbnailer = MakeVipsThumbnailer(init->config, **runtime);
  if (!thumbnailer.ok()) return InitFailed(thumbnailer.status());

  if (init->sandbox) {
    SandboxOptions sandbox;
    sandbox.memory_limit_bytes = init->memory_limit_bytes;
    sandbox.max_open_files = init->max_open_files;
    Status applied = ApplySandbox(sandbox);
    if (!applied.ok()) return InitFailed(applied);
  }
  if (!WriteFrame(kSocket, FrameType::kReady, "", -1, 0).ok()) return 1;

  for (;;) {
    Result<Frame> frame = ReadFrame(kSocket, 0);
    // The parent closed the socket: retire at once. _exit skips libvips' shutdown, which
    // has nothing to save and whose system calls the sandbox need not allow.
    if (!frame.ok()) ::_exit(0);
    if (frame->type != FrameType::kRequest) {
      if (frame->fd >= 0) ::close(frame->fd);
      Log("unexpected frame from the parent");
      ::_exit(1);
    }
    Result<Thumbnails> result = Handle(**thumbnailer, *init, *frame);
    if (!WriteFrame(kSocket, FrameType::kResponse, EncodeResult(result), -1, 0).ok()) ::_exit(0);
  }
}

}  // namespace
}  // namespace thumbflow::internal

namespace thumbflow {

int RunCodecHelper(int argc, char** argv) { return internal::RunHelper(argc, argv); }

}  // namespace thumbflow
