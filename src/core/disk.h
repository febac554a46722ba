// Failures of the local file system, in one vocabulary for every module that writes files
// (the local store, the S3 endpoint's staging files, SQLite).
//
// A full disk is a fault of the machine, not of the request or of the data being written:
// it is retryable (the same write succeeds once space is freed) and carries the reason
// Reason::kNoSpace, which the S3 endpoint answers with 503 SlowDown (every AWS SDK retries it)
// and the pipeline treats as transient without ever dead-lettering for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace thumbflow {

// A failure caused by a full disk or an exhausted quota (ENOSPC, EDQUOT, SQLITE_FULL), or by
// the free-space reserve ([storage] min_free_bytes), has the reason Reason::kNoSpace.

// ResourceExhausted, retryable, reason Reason::kNoSpace.
Status NoSpaceError(std::string message);
// True for a status made by NoSpaceError (or FileError of ENOSPC/EDQUOT).
bool IsNoSpace(const Status& status);

// errno of a failed system call -> Status: the one mapper of errno (files, sockets, locks).
// The message names the operation and the object ("write upload of bucket images: No space
// left on device"):
//   ENOSPC, EDQUOT          NoSpaceError (retryable, "no-space")
//   EFBIG                   ResourceExhausted, reason "too-large" (the file system's limit)
//   EACCES, EPERM, EROFS    PermissionDenied
//   ENOENT                  NotFound
//   EIO, EMFILE, ENFILE, EAGAIN, ENOMEM   Unavailable (retryable)
//   anything else           Internal
Status FileError(int err, std::string_view operation, std::string_view what);

// Bytes an unprivileged process may still write on the file system holding `path`
// (statvfs f_bavail x f_frsize). FileError when `path` cannot be examined.
Result<int64_t> FreeBytes(const std::string& path);

}  // namespace thumbflow
