#include "image/sandbox.h"

#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/civil_time.h"
#include "core/disk.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define THUMBFLOW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define THUMBFLOW_SANITIZED 1
#endif
#endif
#ifdef THUMBFLOW_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

namespace thumbflow::internal {
namespace {

#ifdef THUMBFLOW_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// ASan/TSan builds only: a sanitizer opens its report file (log_path) and starts
// llvm-symbolizer lazily, at the first report, which the sandbox would refuse (no create,
// no exec) and RLIMIT_FSIZE 0 would truncate. Both happen here, before the sandbox; such
// builds skip RLIMIT_FSIZE (seccomp still refuses opening any file for writing).
void PrepareSanitizerReports() {
#ifdef THUMBFLOW_SANITIZED
  (void)__sanitizer_get_report_path();  // opens log_path's file when one is set
  char symbol[256];
  __sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L", symbol, sizeof symbol);
  __sanitizer_sandbox_arguments arguments{};
  __sanitizer_sandbox_on_notify(&arguments);  // caches /proc/self/maps for later reports
#endif
}

// What libvips (and glib, its codecs, fontconfig for SVG text, jemalloc) and the helper's
// own socket loop use at run time, found by running the test corpus through the sandbox.
constexpr const char* kAllowed[] = {
    // memory
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mincore", "membarrier",
    // threads, synchronisation, signals
    "clone", "clone3", "futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq",
    "set_tid_address", "exit", "exit_group", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "sigaltstack", "tgkill", "tkill", "sched_yield", "sched_getaffinity", "sched_setaffinity",
    "sched_getparam", "sched_getscheduler", "getpriority", "setpriority", "restart_syscall",
    // identity and time
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getpgrp",
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "getrandom", "uname", "sysinfo", "getrusage", "prlimit64", "getrlimit", "setrlimit", "umask",
    "times", "getsockname", "getpeername",
    // descriptors: the socket to the parent, memfds, files opened read-only
    "read", "readv", "pread64", "preadv", "write", "writev", "close", "close_range", "dup", "dup3",
    "fcntl", "lseek", "fstat", "newfstatat", "stat", "lstat", "statx", "fstatfs", "statfs",
    "getdents64", "readlink", "readlinkat", "access", "faccessat", "faccessat2", "getcwd", "poll",
    "ppoll", "select", "pselect6", "eventfd2", "pipe2", "recvmsg", "sendmsg", "recvfrom", "sendto",
    "shutdown", "memfd_create", "flock"};

// Calls that would reach the network or change the file system: refused with EACCES, so a
// library that tries sees an ordinary failure.
constexpr const char* kRefused[] = {
    "socket",    "socketpair", "connect",   "bind",      "listen",    "accept",
    "accept4",   "creat",      "mkdir",     "mkdirat",   "unlink",    "unlinkat",
    "rename",    "renameat",   "renameat2", "link",      "linkat",    "symlink",
    "symlinkat", "chmod",      "fchmod",    "fchmodat",  "chown",     "fchown",
    "fchownat",  "lchown",     "truncate",  "ftruncate", "utimensat", "utime",
    "utimes",    "futimesat",  "mknod",     "mknodat",   "fallocate", "ioctl"};

// Appends the decimal digits of `value` (>= 0), zero-padded to `width`.
size_t AppendNumber(char* out, size_t at, int64_t value, int width) {
  char digits[24];
  int n = 0;
  if (value < 0) value = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 20);
  while (n < width) digits[n++] = '0';
  while (n > 0) out[at++] = digits[--n];
  return at;
}

size_t AppendText(char* out, size_t at, const char* text) {
  while (*text != '\0') out[at++] = *text++;
  return at;
}

void OnSigsys(int, siginfo_t* info, void*) {
  // Async-signal-safe (no allocation, no stdio): the JSON log line of core/log.h, by hand.
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const CivilTime t = CivilFromMillis(int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000);
  char text[256];
  size_t len = AppendText(text, 0, "{\"time\":\"");
  const struct {
    int64_t value;
    int width;
    char after;
  } parts[] = {{t.year, 4, '-'},   {t.month, 2, '-'},  {t.day, 2, 'T'},   {t.hour, 2, ':'},
               {t.minute, 2, ':'}, {t.second, 2, '.'}, {t.millis, 3, 'Z'}};
  for (const auto& part : parts) {
    len = AppendNumber(text, len, part.value, part.width);
    text[len++] = part.after;
  }
  len = AppendText(text, len,
                   "\",\"level\":\"error\",\"msg\":\"sandbox refused a system call\","
                   "\"component\":\"codec-helper\",\"pid\":");
  len = AppendNumber(text, len, ::getpid(), 1);
  len = AppendText(text, len, ",\"syscall\":");
  len = AppendNumber(text, len, info->si_syscall, 1);
  len = AppendText(text, len, "}\n");
  ssize_t ignored = ::write(2, text, len);
  (void)ignored;
  ::_exit(kSandboxExitCode);
}

// A failed call while the sandbox closes: errno (or a negative errno from libseccomp)
// mapped by the one mapper (core/disk.h).
Status SandboxError(int err, std::string_view call) {
  return FileError(err, call, "in the codec helper sandbox");
}
Status Errno(std::string_view call) { return SandboxError(errno, call); }

Status SetLimit(int resource, rlim_t value, const char* name) {
  rlimit limit{value, value};
  if (::setrlimit(resource, &limit) != 0) return Errno(std::string("setrlimit ") + name);
  return Status::Ok();
}

struct SeccompRelease {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

Status InstallSeccomp() {
  std::unique_ptr<void, SeccompRelease> ctx(seccomp_init(SCMP_ACT_TRAP));
  if (!ctx) return InternalError("codec helper sandbox: seccomp_init failed");
  scmp_filter_ctx c = ctx.get();
  if (seccomp_attr_set(c, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
    return InternalError("codec helper sandbox: seccomp TSYNC unsupported");
  }
  auto add = [&](uint32_t action, const char* name, unsigned count,
                 const scmp_arg_cmp* args) -> Status {
    int number = seccomp_syscall_resolve_name(name);
    if (number == __NR_SCMP_ERROR) return Status::Ok();  // not on this architecture
    int rc = seccomp_rule_add_array(c, action, number, count, args);
    if (rc != 0) {
      return SandboxError(-rc, std::string("seccomp rule for ") + name);
    }
    return Status::Ok();
  };
  for (const char* name : kAllowed) RETURN_IF_ERROR(add(SCMP_ACT_ALLOW, name, 0, nullptr));
  for (const char* name : kRefused) {
    RETURN_IF_ERROR(add(SCMP_ACT_ERRNO(EACCES), name, 0, nullptr));
  }
  // open/openat: read-only opens pass; any write, create or truncate flag is refused.
  const scmp_datum_t kWriteFlags =
      O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY);
  struct OpenCall {
    const char* name;
    unsigned flags_arg;
  };
  for (OpenCall call : {OpenCall{"openat", 2}, OpenCall{"open", 1}}) {
    scmp_arg_cmp read_only{call.flags_arg, SCMP_CMP_MASKED_EQ, kWriteFlags, 0};
    RETURN_IF_ERROR(add(SCMP_ACT_ALLOW, call.name, 1, &read_only));
    for (scmp_datum_t bit :
         {scmp_datum_t{O_WRONLY}, scmp_datum_t{O_RDWR}, scmp_datum_t{O_CREAT},
          scmp_datum_t{O_TRUNC}, scmp_datum_t{O_APPEND}, scmp_datum_t{O_TMPFILE & ~O_DIRECTORY}}) {
      scmp_arg_cmp has_bit{call.flags_arg, SCMP_CMP_MASKED_EQ, bit, bit};
      RETURN_IF_ERROR(add(SCMP_ACT_ERRNO(EACCES), call.name, 1, &has_bit));
    }
  }
  // prctl: thread names only (glib names its threads).
  for (scmp_datum_t option : {scmp_datum_t{PR_SET_NAME}, scmp_datum_t{PR_GET_NAME}}) {
    scmp_arg_cmp is_option{0, SCMP_CMP_EQ, option, 0};
    RETURN_IF_ERROR(add(SCMP_ACT_ALLOW, "prctl", 1, &is_option));
  }
  int rc = seccomp_load(c);
  if (rc != 0) {
    return SandboxError(-rc, "seccomp_load");
  }
  return Status::Ok();
}

}  // namespace

Status ApplySandbox(const SandboxOptions& options) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Errno("PR_SET_NO_NEW_PRIVS");
  // A write past RLIMIT_FSIZE then fails with EFBIG instead of killing the helper.
  ::signal(SIGXFSZ, SIG_IGN);
  if (kSanitized) {
    PrepareSanitizerReports();
  } else {
    RETURN_IF_ERROR(SetLimit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE"));
  }
  RETURN_IF_ERROR(SetLimit(RLIMIT_CORE, 0, "RLIMIT_CORE"));
  // AddressSanitizer and ThreadSanitizer reserve terabytes of shadow address space: an
  // address-space limit would stop a sanitizer build's helpers from starting.
  if (options.memory_limit_bytes > 0 && !kSanitized) {
    RETURN_IF_ERROR(
        SetLimit(RLIMIT_AS, static_cast<rlim_t>(options.memory_limit_bytes), "RLIMIT_AS"));
  }
  if (options.max_open_files > 0) {
    RETURN_IF_ERROR(
        SetLimit(RLIMIT_NOFILE, static_cast<rlim_t>(options.max_open_files), "RLIMIT_NOFILE"));
  }
  if (!options.seccomp) return Status::Ok();
  struct sigaction action {};
  action.sa_sigaction = OnSigsys;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGSYS, &action, nullptr) != 0) return Errno("sigaction SIGSYS");
  return InstallSeccomp();
}

Status SetCpuBudget(int seconds) {
  if (seconds <= 0) return Status::Ok();
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return Errno("getrusage");
  rlim_t used = static_cast<rlim_t>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec);
  rlimit limit{};
  if (::getrlimit(RLIMIT_CPU, &limit) != 0) return Errno("getrlimit RLIMIT_CPU");
  limit.rlim_cur = used + static_cast<rlim_t>(seconds) + 1;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_cur > limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
  }
  if (::setrlimit(RLIMIT_CPU, &limit) != 0) return Errno("setrlimit RLIMIT_CPU");
  return Status::Ok();
}

}  // namespace thumbflow::internal
