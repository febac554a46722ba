#include "image/isolated_thumbnailer.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/disk.h"
#include "image/codec_helper.h"
#include "image/codec_protocol.h"
#include "image/sandbox.h"

extern char** environ;

namespace thumbflow {
namespace {

using std::chrono::milliseconds;

std::string SignalName(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

// How a helper ended, for the image's message.
std::string DescribeExit(int wait_status) {
  if (WIFSIGNALED(wait_status)) return "killed by " + SignalName(WTERMSIG(wait_status));
  if (WIFEXITED(wait_status)) {
    if (WEXITSTATUS(wait_status) == internal::kSandboxExitCode) {
      return "stopped by its sandbox: a system call outside the allowlist (the helper's "
             "stderr line names it)";
    }
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  }
  return "ended (wait status " + std::to_string(wait_status) + ")";
}

int64_t ResidentBytes(pid_t pid) {
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * ::sysconf(_SC_PAGESIZE);
}

// A failed system call of the parent: a fault of the machine (descriptors, memory), never of
// the image, so always retried ("internal", retryable) whatever the errno's own class.
Status Errno(std::string_view operation) {
  return FileError(errno, operation, "for the codec helper")
      .WithReason(Reason::kInternal)
      .WithRetryable(true);
}

// A memfd holding `bytes`; -1 with errno on failure.
int SourceMemfd(std::string_view bytes) {
  int fd = ::memfd_create("thumbflow-source", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int error = errno;
      ::close(fd);
      errno = error;
      return -1;
    }
    written += static_cast<size_t>(n);
  }
  return fd;
}

std::string HelperBinary(const IsolationOptions& options) {
  if (!options.helper_binary.empty()) return options.helper_binary;
  if (const char* exe = std::getenv("THUMBFLOW_HELPER_EXE"); exe && *exe) return exe;
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(path, static_cast<size_t>(n));
}

}  // namespace

Result<std::unique_ptr<IsolatedThumbnailer>> IsolatedThumbnailer::Start(
    const ThumbnailConfig& config, const IsolationOptions& options) {
  if (config.sizes.empty()) return InvalidArgumentError("thumbnails: no sizes configured");
  if (options.helpers < 1) return InvalidArgumentError("isolation: helpers must be at least 1");
  std::unique_ptr<IsolatedThumbnailer> pool(new IsolatedThumbnailer(config, options));
  std::unique_lock<std::mutex> lock(pool->mu_);
  // Every helper ready, or a start failed (the supervisor keeps retrying in the background).
  auto settled = [&] {
    return pool->consecutive_start_failures_ > 0 ||
           std::all_of(pool->slots_.begin(), pool->slots_.end(),
                       [](const Slot& s) { return s.state == SlotState::kIdle; });
  };
  pool->idle_cv_.wait(lock, settled);
  bool any_idle = std::any_of(pool->slots_.begin(), pool->slots_.end(),
                              [](const Slot& s) { return s.state == SlotState::kIdle; });
  if (!any_idle) {
    Status error = pool->last_start_error_;
    lock.unlock();
    return error.WithRetryable(false);
  }
  lock.unlock();
  return pool;
}

IsolatedThumbnailer::IsolatedThumbnailer(ThumbnailConfig config, IsolationOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  options_.helper_binary = HelperBinary(options_);
  if (options_.cpu_limit_s == 0) options_.cpu_limit_s = 2 * std::max(1, config_.limits.timeout_s);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) environment_.emplace_back(*e);
  slots_.resize(static_cast<size_t>(options_.helpers));
  supervisor_ = std::thread([this] { SupervisorLoop(); });
}

IsolatedThumbnailer::~IsolatedThumbnailer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  supervisor_cv_.notify_all();
  supervisor_.join();
  for (Slot& slot : slots_) {
    if (slot.helper.pid > 0) Retire(slot.helper);
  }
}

void IsolatedThumbnailer::SupervisorLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    auto empty = std::find_if(slots_.begin(), slots_.end(),
                              [](const Slot& s) { return s.state == SlotState::kEmpty; });
    if (empty == slots_.end()) {
      supervisor_cv_.wait(lock);
      continue;
    }
    if (consecutive_start_failures_ > 0) {
      // Back off while helpers keep failing to start (a missing binary, a broken install).
      int shift = std::min(consecutive_start_failures_, 6);
      supervisor_cv_.wait_for(lock, std::min(milliseconds(5000), milliseconds(100 << shift)));
      if (stop_) break;
    }
    size_t index = static_cast<size_t>(empty - slots_.begin());
    if (slots_[index].state != SlotState::kEmpty) continue;
    slots_[index].state = SlotState::kStarting;
    lock.unlock();
    Result<Helper> helper = Spawn();
    lock.lock();
    Slot& slot = slots_[index];
    if (helper.ok()) {
      slot.helper = *helper;
      slot.pid = helper->pid;
      slot.state = SlotState::kIdle;
      ++stats_.started;
      consecutive_start_failures_ = 0;
      last_start_error_ = Status::Ok();
    } else {
      slot.state = SlotState::kEmpty;
      ++stats_.start_failures;
      ++consecutive_start_failures_;
      last_start_error_ = helper.status();
      Logger::Stderr(nullptr, options_.log_level)
          .Error(helper.status().message(), LogFields().Add("component", "codec-helper"));
    }
    idle_cv_.notify_all();
  }
}

Result<IsolatedThumbnailer::Helper> IsolatedThumbnailer::Spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Errno("socketpair");
  }
  int child = sv[1];
  if (child == 3) {  // dup2(3, 3) would keep CLOEXEC: move it out of the way first
    child = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
    ::close(sv[1]);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child, 3);
  // The helper's stdout is its stderr: stdout belongs to the parent's JSON output.
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  std::string parent = std::to_string(::getpid());
  std::vector<char*> argv = {const_cast<char*>(options_.helper_binary.c_str()),
                             const_cast<char*>(kCodecHelperCommand),
                             const_cast<char*>(parent.c_str()), nullptr};
  std::vector<char*> envp;
  std::string log_level = "THUMBFLOW_LOG_LEVEL=" + std::string(LogLevelName(options_.log_level));
  for (std::string& e : environment_) {
    if (!e.starts_with("THUMBFLOW_LOG_LEVEL=")) envp.push_back(e.data());
  }
  envp.push_back(log_level.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, options_.helper_binary.c_str(), &actions, nullptr, argv.data(),
                         envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(child);
  if (rc != 0) {
    ::close(sv[0]);
    return Status(StatusCode::kInternal,
                  "cannot start codec helper " + options_.helper_binary + ": " + std::strerror(rc),
                  Reason::kInternal, true);
  }
  Helper helper{pid, sv[0], 0};
  internal::HelperInit init;
  init.config = config_;
  init.vips_threads = options_.vips_threads;
  init.sandbox = options_.sandbox;
  init.memory_limit_bytes = options_.memory_limit_bytes;
  init.cpu_limit_s = options_.cpu_limit_s;
  init.max_open_files = options_.max_open_files;
  init.test_hooks = options_.test_hooks;
  int64_t deadline = clock_.NowMillis() + options_.start_timeout_ms;
  Status sent = internal::WriteFrame(helper.socket, internal::FrameType::kInit,
                                     internal::EncodeInit(init), -1, deadline);
  Result<internal::Frame> answer =
      sent.ok() ? internal::ReadFrame(helper.socket, deadline) : Result<internal::Frame>(sent);
  if (answer.ok() && answer->fd >= 0) ::close(answer->fd);
  if (answer.ok() && answer->type == internal::FrameType::kReady) return helper;
  std::string why;
  Result<Thumbnails> failure = InternalError("unset");
  if (answer.ok() && answer->type == internal::FrameType::kResponse &&
      internal::DecodeResult(answer->payload, &failure) && !failure.ok()) {
    why = failure.status().message();
  }
  int wait_status = Retire(helper);
  if (why.empty()) {
    why = answer.ok() ? "unexpected first frame"
                      : answer.status().message() + "; it " + DescribeExit(wait_status);
  }
  return Status(StatusCode::kInternal,
                "codec helper " + options_.helper_binary + " failed to start: " + why,
                Reason::kInternal, true);
}

int IsolatedThumbnailer::Retire(Helper& helper) {
  int wait_status = 0;
  if (helper.socket >= 0) ::close(helper.socket);
  if (helper.pid > 0) {
    ::kill(helper.pid, SIGKILL);
    while (::waitpid(helper.pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  helper = Helper{};
  return wait_status;
}

Result<Thumbnails> IsolatedThumbnailer::Exchange(Helper& helper, std::string_view encoded,
                                                 int64_t deadline_ms, int64_t kill_at,
                                                 After* after) const {
  *after = After::kRetire;
  internal::Request request;
  request.deadline_ms = deadline_ms;
  request.source_bytes = encoded.size();
  request.source_in_memfd = encoded.size() >= internal::kMemfdThreshold;
  std::string payload = internal::EncodeRequest(request);
  int memfd = -1;
  if (request.source_in_memfd) {
    memfd = SourceMemfd(encoded);
    if (memfd < 0) return Errno("memfd of the source");
  } else {
    payload.append(encoded);
  }
  Status sent =
      internal::WriteFrame(helper.socket, internal::FrameType::kRequest, payload, memfd, kill_at);
  if (memfd >= 0) ::close(memfd);
  if (options_.kill_helper_once_source_bytes > 0 &&
      static_cast<int64_t>(encoded.size()) == options_.kill_helper_once_source_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!kill_hook_fired_) {
      kill_hook_fired_ = true;
      ::kill(helper.pid, SIGKILL);
    }
  }
  Result<internal::Frame> answer =
      sent.ok() ? internal::ReadFrame(helper.socket, kill_at) : Result<internal::Frame>(sent);
  Result<Thumbnails> result = InternalError("unset");
  if (answer.ok() && answer->fd >= 0) ::close(answer->fd);
  if (answer.ok() && answer->type == internal::FrameType::kResponse &&
      internal::DecodeResult(answer->payload, &result)) {
    ++helper.images;
    *after = After::kKeep;
    return result;
  }
  bool deadline = !answer.ok() && answer.status().code() == StatusCode::kDeadlineExceeded;
  int wait_status = Retire(helper);
  std::lock_guard<std::mutex> lock(mu_);
  if (deadline || (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGXCPU)) {
    ++stats_.timeouts;
    return Status(StatusCode::kDeadlineExceeded,
                  deadline ? "processing deadline exceeded; the codec helper did not stop and "
                             "was killed"
                           : "processing exceeded its CPU time limit (" +
                                 std::to_string(options_.cpu_limit_s) + " s)",
                  Reason::kTimeout, false);
  }
  ++stats_.crashed;
  std::string how =
      answer.ok() ? "sent a malformed answer and was killed" : DescribeExit(wait_status);
  return Status(StatusCode::kInternal, "codec helper crashed on this image: " + how,
                Reason::kCrashed,
                /*retryable=*/true);
}

Result<Thumbnails> IsolatedThumbnailer::Make(std::string_view encoded,
                                             const MakeOptions& options) const {
  // limits.timeout_s is the helper's own bound, with a grace to stop by itself; a caller's
  // deadline is hard (the Lambda must answer before it), so the helper dies at it.
  const int64_t own = clock_.NowMillis() + int64_t{config_.limits.timeout_s} * 1000;
  int64_t deadline = own;
  int64_t kill_at = own + options_.kill_grace_ms;
  if (options.deadline_ms > 0) {
    deadline = std::min(deadline, options.deadline_ms);
    kill_at = std::min(kill_at, options.deadline_ms);
  }
  size_t index = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto idle = std::find_if(slots_.begin(), slots_.end(),
                               [](const Slot& s) { return s.state == SlotState::kIdle; });
      if (idle != slots_.end()) {
        index = static_cast<size_t>(idle - slots_.begin());
        break;
      }
      bool any_alive = std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) {
        return s.state == SlotState::kIdle || s.state == SlotState::kBusy;
      });
      if (!any_alive && consecutive_start_failures_ > 0) {
        return Status(StatusCode::kUnavailable,
                      "no codec helper is running: " + last_start_error_.message(),
                      Reason::kInternal, true);
      }
      int64_t left = deadline - clock_.NowMillis();
      if (left <= 0) {
        return Status(StatusCode::kDeadlineExceeded,
                      "no codec helper became free before the deadline", Reason::kTimeout, true);
      }
      idle_cv_.wait_for(lock, milliseconds(std::min<int64_t>(left, 1000)));
    }
    slots_[index].state = SlotState::kBusy;
  }
  // Only this thread touches a busy slot's helper.
  Helper& helper = slots_[index].helper;
  After after = After::kKeep;
  Result<Thumbnails> result = Exchange(helper, encoded, deadline, kill_at, &after);
  if (after == After::kKeep &&
      ((options_.max_images_per_helper > 0 && helper.images >= options_.max_images_per_helper) ||
       (options_.max_rss_bytes > 0 && ResidentBytes(helper.pid) > options_.max_rss_bytes))) {
    Retire(helper);
    after = After::kRetire;
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.replaced;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.images;
    slots_[index].state = after == After::kKeep ? SlotState::kIdle : SlotState::kEmpty;
    slots_[index].pid = slots_[index].helper.pid;
  }
  if (after == After::kKeep) {
    idle_cv_.notify_one();
  } else {
    supervisor_cv_.notify_all();
  }
  return result;
}

IsolationStats IsolatedThumbnailer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<pid_t> IsolatedThumbnailer::HelperPids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> pids;
  for (const Slot& slot : slots_) {
    if (slot.pid > 0) pids.push_back(slot.pid);
  }
  return pids;
}

}  // namespace thumbflow
