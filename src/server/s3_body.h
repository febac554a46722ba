// S3BodySink: the body of one S3 request, decoded (aws-chunked), measured, hashed and
// verified (x-amz-content-sha256, Content-MD5, x-amz-checksum-*) as it arrives, and written
// to a staging file (multipart parts), streamed into an ObjectUpload (PutObject) or kept in
// memory (small XML bodies).
//
// Not thread-safe: one per request, fed by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "aws/checksums.h"
#include "aws/sigv4.h"
#include "server/http_server.h"
#include "storage/etag.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

class S3BodySink {
 public:
  // More than `max_bytes` decoded bytes fail with ResourceExhausted, S3 code `limit_code`.
  S3BodySink(int64_t max_bytes, std::string limit_code)
      : max_bytes_(max_bytes), limit_code_(std::move(limit_code)) {}
  ~S3BodySink();
  S3BodySink(const S3BodySink&) = delete;
  S3BodySink& operator=(const S3BodySink&) = delete;

  // Before Init(): the request's x-amz-checksum-* headers are the checksum of the object it
  // makes, not of its body (CompleteMultipartUpload); they are left to the operation.
  void ChecksumHeadersDescribeTheObject() { checksum_headers_of_body_ = false; }

  // `auth` is null for anonymous requests. `staging_dir` empty: keep the body in memory.
  // `upload` (may be null) receives the decoded body instead of a staging file.
  Status Init(const std::string& staging_dir, const aws::VerifiedRequest* auth,
              const HttpRequestHead& head, std::unique_ptr<ObjectUpload> upload = nullptr);
  Status Write(std::string_view raw);
  // Checks every digest; in file mode, fsyncs the file. Errors carry the S3 code as reason.
  Status Finish();

  // File mode, after Finish(): the staged file, now owned by the caller.
  StagedFile TakeFile();
  // Upload mode, after Finish(): the upload, ready to commit.
  std::unique_ptr<ObjectUpload> TakeUpload() { return std::move(upload_); }
  const std::string& memory() const { return memory_; }
  // The checksum headers S3 echoes in the reply (x-amz-checksum-*), as verified.
  const HeaderList& echo_headers() const { return echo_; }
  // After Finish(): the body's flexible checksum (type FULL_OBJECT) as verified (an
  // x-amz-checksum-* header or aws-chunked trailer) or computed (ComputeChecksum); empty when
  // there is none.
  const ObjectChecksum& checksum() const { return checksum_; }
  // After Init(), before the body: when the request sends no checksum, compute this one (a
  // part of an upload created with that algorithm; x-amz-sdk-checksum-algorithm alone).
  // Neither when a trailer is announced (the trailer's algorithm is the body's).
  void ComputeChecksum(aws::ChecksumAlgorithm algorithm);

 private:
  Status OpenStagingFile(const std::string& staging_dir);
  Status ExpectDigests(const HttpRequestHead& head);
  Status CheckDigests();
  Status Consume(std::string_view data);

  int64_t max_bytes_;
  std::string limit_code_;
  std::string path_;
  int fd_ = -1;
  bool taken_ = false;
  std::unique_ptr<ObjectUpload> upload_;
  int64_t size_ = 0;
  std::string memory_;
  std::string scratch_;
  std::unique_ptr<aws::AwsChunkedDecoder> decoder_;
  std::unique_ptr<Sha256Hasher> sha256_;
  std::string expected_sha256_;
  Md5Hasher md5_;
  std::string md5_hex_;
  std::string expected_md5_;
  std::unique_ptr<aws::Checksummer> checksummer_;
  std::string checksum_header_;
  std::string checksum_expected_;  // empty with ComputeChecksum: nothing to compare
  bool checksum_headers_of_body_ = true;
  bool checksum_trailer_ = false;  // x-amz-trailer announces a checksum
  ObjectChecksum checksum_;
  HeaderList echo_;
};

}  // namespace thumbflow::server
