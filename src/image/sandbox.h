// The sandbox of a codec helper process, applied once libvips is started (its modules and
// the libraries they load are in memory) and before any untrusted byte is decoded.
//
//   - PR_SET_NO_NEW_PRIVS;
//   - rlimits: RLIMIT_FSIZE 0 (no file grows; SIGXFSZ ignored so write() fails instead; not
//     in ASan/TSan builds, whose helpers write their reports to a file opened beforehand),
//     RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_CORE 0; RLIMIT_CPU is set per image (SetCpuBudget);
//   - a seccomp allowlist: what libvips, its codecs, glib threads, jemalloc and the helper's
//     socket need. Refused with an error (the library sees a failing call, the image fails):
//     socket/connect/bind and friends (EACCES: no network), open/openat with any write,
//     create or truncate flag, and the calls that change the file system (EACCES). Anything
//     else outside the list raises SIGSYS: the helper writes a JSON log line to stderr
//     ("msg":"sandbox refused a system call","syscall":N) and exits with kSandboxExitCode,
//     which the parent reports for the image.
#pragma once

#include <cstdint>

#include "core/status.h"

namespace thumbflow::internal {

inline constexpr int kSandboxExitCode = 97;

struct SandboxOptions {
  bool seccomp = true;
  int64_t memory_limit_bytes = 0;  // 0: no RLIMIT_AS; ignored in ASan/TSan builds
  int max_open_files = 0;          // 0: unchanged
};

// Applies everything above to the calling process (all its threads for seccomp: call it
// while only one thread runs, or rely on SECCOMP_FILTER_FLAG_TSYNC, which is used).
Status ApplySandbox(const SandboxOptions& options);

// Lets the process use `seconds` more CPU time from now (RLIMIT_CPU soft limit); the kernel
// sends SIGXCPU beyond it, which ends the helper. 0: no limit.
Status SetCpuBudget(int seconds);

}  // namespace thumbflow::internal
