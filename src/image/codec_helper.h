// The codec helper process: `thumbflow codec-helper PARENT_PID`, started by
// IsolatedThumbnailer with its socket on descriptor 3. It thumbnails one image at a time
// with the in-process VipsThumbnailer, inside the sandbox of sandbox.h, and exits when the
// socket closes or its parent dies (PR_SET_PDEATHSIG).
//
// Test hooks (only when the parent's HelperInit::test_hooks is set): a source that starts
// with one of these markers does what it says instead of being decoded, so tests can prove
// the supervision and the sandbox:
//   THUMBFLOW-TEST-HANG      sleeps past any deadline (the parent must kill the helper)
//   THUMBFLOW-TEST-CRASH     abort()s
//   THUMBFLOW-TEST-WRITE     tries to create /tmp/thumbflow-sandbox-probe-PID; the error
//                            (or "opened") is the image's message
//   THUMBFLOW-TEST-SOCKET    tries socket(AF_INET); the same
//   THUMBFLOW-TEST-SYSCALL   calls chroot("/"), which is outside the allowlist (SIGSYS)
//   THUMBFLOW-TEST-LEAK      keeps 64 MiB allocated and touched, then answers normally
#pragma once

namespace thumbflow {

inline constexpr char kCodecHelperCommand[] = "codec-helper";

// main() of the helper; `argv` as main() got it (argv[1] is kCodecHelperCommand). Returns the
// process exit code.
int RunCodecHelper(int argc, char** argv);

}  // namespace thumbflow
