// IsolatedThumbnailer: the Thumbnailer port served by a pool of sandboxed codec helper
// processes (`thumbflow codec-helper`, codec_helper.h), so that no codec bug, crash, leak or
// hang takes the calling service down, and no two images share a process while they are
// decoded (libvips' error buffer, liborc's code allocator and every codec's global state).
//
// Contract, in addition to the port's:
//   - `helpers` processes, one image each at a time: Make() waits for an idle helper, so
//     size the pool like the callers (one helper per worker thread).
//   - A helper that dies on an image (signal, abort, sandbox violation, malformed answer)
//     gives that image the reason "crashed", retryable (the pipeline retries it once, then
//     dead-letters it); the helper is restarted in the background.
//   - The deadline (limits.timeout_s, or MakeOptions::deadline_ms when earlier) travels to
//     the helper, whose libvips stops itself; if it has not answered `kill_grace_ms` after
//     limits.timeout_s, or by MakeOptions::deadline_ms (a hard bound: no grace), it is
//     killed and the image fails with reason "timeout". A helper killed by its CPU limit
//     (SIGXCPU) is a "timeout" too.
//   - A helper is replaced after `max_images_per_helper` images, or when its resident
//     memory after an image exceeds `max_rss_bytes` (a leak stays bounded).
//   - When helpers cannot be started at all, Make() fails with a retryable "internal"
//     status that says why.
// Helpers are started from one supervisor thread (PR_SET_PDEATHSIG follows the thread that
// forked), by posix_spawn of `helper_binary` with the socket on descriptor 3.
//
// Thread-safety: Make() may be called from many threads at once; the other methods too.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/thumbnail_config.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/result.h"
#include "image/thumbnailer.h"

namespace thumbflow {

struct IsolationOptions {
  // The thumbflow binary (it must understand `codec-helper`); empty: THUMBFLOW_HELPER_EXE
  // when set (the Lambda bootstrap script), else /proc/self/exe.
  std::string helper_binary;
  int helpers = 1;
  int vips_threads = 1;                           // libvips threads inside each helper
  int max_images_per_helper = 1000;               // 0: never replaced for age
  int64_t max_rss_bytes = int64_t{1} << 30;       // 0: never replaced for size
  int64_t memory_limit_bytes = int64_t{4} << 30;  // RLIMIT_AS of a helper; 0: none
  int cpu_limit_s = 0;                            // CPU seconds per image; 0: 2 x timeout_s
  int max_open_files = 64;                        // RLIMIT_NOFILE of a helper
  bool sandbox = true;                            // seccomp + no-write rlimits
  int64_t kill_grace_ms = 1000;                   // past the deadline before SIGKILL
  int64_t start_timeout_ms = 30'000;              // a helper must be ready within this
  bool test_hooks = false;                        // codec_helper.h markers (tests only)
  // The helpers' stderr is this process's: they write JSON lines at this level (passed as
  // THUMBFLOW_LOG_LEVEL), as does the pool when a helper cannot start.
  LogLevel log_level = LogLevel::kInfo;
  // Test hook: the first source of exactly this many bytes has its helper SIGKILLed just
  // after the request is sent (mid-image). 0: off.
  int64_t kill_helper_once_source_bytes = 0;
};

struct IsolationStats {
  int64_t images = 0;    // Make() calls answered by a helper
  int64_t started = 0;   // helpers started (including restarts and replacements)
  int64_t crashed = 0;   // images whose helper died
  int64_t timeouts = 0;  // helpers killed at the deadline
  int64_t replaced = 0;  // helpers retired for age or memory
  int64_t start_failures = 0;
};

class IsolatedThumbnailer final : public Thumbnailer {
 public:
  // Starts the pool and waits until every helper is ready; fails (with the helper's own
  // message when it sent one) if no helper can start. Deadlines are read on the system
  // clock (helpers are killed in real time), as MakeOptions::deadline_ms must be.
  static Result<std::unique_ptr<IsolatedThumbnailer>> Start(const ThumbnailConfig& config,
                                                            const IsolationOptions& options);
  // Stops the supervisor and every helper (SIGKILL, reaped). Make() must not be running.
  ~IsolatedThumbnailer() override;
  IsolatedThumbnailer(const IsolatedThumbnailer&) = delete;
  IsolatedThumbnailer& operator=(const IsolatedThumbnailer&) = delete;

  using Thumbnailer::Make;
  Result<Thumbnails> Make(std::string_view encoded, const MakeOptions& options) const override;

  IsolationStats stats() const;
  // Process ids of the helpers alive now (tests kill them).
  std::vector<pid_t> HelperPids() const;

 private:
  struct Helper {
    pid_t pid = -1;
    int socket = -1;
    int images = 0;
  };
  enum class SlotState { kEmpty, kStarting, kIdle, kBusy };
  struct Slot {
    SlotState state = SlotState::kEmpty;
    Helper helper;   // touched only by the thread that made the slot busy or starting
    pid_t pid = -1;  // helper.pid, under mu_ (for HelperPids)
  };
  enum class After { kKeep, kRetire };

  IsolatedThumbnailer(ThumbnailConfig config, IsolationOptions options);
  void SupervisorLoop();
  Result<Helper> Spawn();
  Result<Thumbnails> Exchange(Helper& helper, std::string_view encoded, int64_t deadline_ms,
                              int64_t kill_at, After* after) const;
  // SIGKILLs and reaps; returns the wait status.
  static int Retire(Helper& helper);

  ThumbnailConfig config_;
  IsolationOptions options_;
  SystemClock clock_;
  std::vector<std::string> environment_;  // snapshot at Start: setenv races with spawn

  mutable std::mutex mu_;
  mutable std::condition_variable idle_cv_;        // a slot became idle, or a start failed
  mutable std::condition_variable supervisor_cv_;  // a slot needs a helper, or stop
  mutable std::vector<Slot> slots_;
  mutable IsolationStats stats_;
  mutable Status last_start_error_;
  mutable int consecutive_start_failures_ = 0;
  mutable bool kill_hook_fired_ = false;
  bool stop_ = false;
  std::thread supervisor_;
};

}  // namespace thumbflow
