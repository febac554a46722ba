#include "core/disk.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace thumbflow {
namespace {

TEST(DiskTest, AFullDiskIsRetryableAndSaysSo) {
  for (int err : {ENOSPC, EDQUOT}) {
    Status s = FileError(err, "write", "upload of bucket images");
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(s.reason(), Reason::kNoSpace);
    EXPECT_TRUE(s.retryable());
    EXPECT_TRUE(IsNoSpace(s));
    EXPECT_NE(s.message().find("write upload of bucket images: "), std::string::npos);
    EXPECT_NE(s.message().find("disk is full"), std::string::npos) << s.message();
  }
}

TEST(DiskTest, OtherErrnosKeepTheirClass) {
  Status too_big = FileError(EFBIG, "write", "x");
  EXPECT_EQ(too_big.reason(), Reason::kTooLarge);
  EXPECT_FALSE(too_big.retryable());
  EXPECT_FALSE(IsNoSpace(too_big));
  EXPECT_EQ(FileError(EACCES, "open", "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(FileError(ENOENT, "open", "x").code(), StatusCode::kNotFound);
  EXPECT_TRUE(FileError(EIO, "fsync", "x").retryable());
  EXPECT_EQ(FileError(EINVAL, "open", "x").code(), StatusCode::kInternal);
  // A size limit is not a full disk.
  EXPECT_FALSE(IsNoSpace(ResourceExhaustedError("too big").WithReason(Reason::kTooLarge)));
}

TEST(DiskTest, FreeBytesOfAnExistingFolder) {
  Result<int64_t> free_bytes = FreeBytes("/");
  ASSERT_TRUE(free_bytes.ok()) << free_bytes.status().ToString();
  EXPECT_GE(*free_bytes, 0);
  Result<int64_t> missing = FreeBytes("/nonexistent/thumbflow/folder");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace thumbflow
