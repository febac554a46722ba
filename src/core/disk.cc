#include "core/disk.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace thumbflow {

Status NoSpaceError(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message), Reason::kNoSpace,
                /*retryable=*/true);
}

bool IsNoSpace(const Status& status) {
  return status.code() == StatusCode::kResourceExhausted && status.reason() == Reason::kNoSpace;
}

Status FileError(int err, std::string_view operation, std::string_view what) {
  std::string message =
      std::string(operation) + " " + std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return NoSpaceError(std::move(message) + " (the disk is full)");
    case EFBIG:
      return ResourceExhaustedError(std::move(message)).WithReason(Reason::kTooLarge);
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(message));
    case ENOENT:
      return NotFoundError(std::move(message));
    case EIO:
    case EMFILE:
    case ENFILE:
    case EAGAIN:
    case ENOMEM:
      return UnavailableError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Result<int64_t> FreeBytes(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return FileError(errno, "statvfs", path);
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

}  // namespace thumbflow
