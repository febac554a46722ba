#include "server/s3_body.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/disk.h"
#include "core/random.h"
#include "core/strings.h"
#include "server/s3_request.h"

namespace thumbflow::server {

S3BodySink::~S3BodySink() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty() && !taken_) ::unlink(path_.c_str());
}

Status S3BodySink::OpenStagingFile(const std::string& staging_dir) {
  path_ = staging_dir + "/put-" + RandomHex(12);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ >= 0) return Status::Ok();
  Status s = FileError(errno, "create", path_);
  path_.clear();
  return s;
}

Status S3BodySink::Init(const std::string& staging_dir, const aws::VerifiedRequest* auth,
                        const HttpRequestHead& head, std::unique_ptr<ObjectUpload> upload) {
  upload_ = std::move(upload);
  if (!upload_ && !staging_dir.empty()) RETURN_IF_ERROR(OpenStagingFile(staging_dir));
  std::string payload_hash;
  if (auth) payload_hash = auth->payload_hash;
  if (payload_hash.starts_with("STREAMING-")) {
    aws::HttpHeaders headers(head.headers.begin(), head.headers.end());
    auto decoder = aws::AwsChunkedDecoder::Create(*auth, headers);
    if (!decoder.ok()) return decoder.status();
    decoder_ = std::move(*decoder);
  } else if (payload_hash.size() == 64) {
    expected_sha256_ = payload_hash;
    sha256_ = std::make_unique<Sha256Hasher>();
  } else if (!auth) {
    const std::string* encoding = head.Header("content-encoding");
    if (encoding && encoding->find("aws-chunked") != std::string::npos) {
      return S3Status(StatusCode::kInvalidArgument, "InvalidRequest",
                      "aws-chunked bodies must be signed");
    }
  }
  return ExpectDigests(head);
}

// Content-MD5 and the first x-amz-checksum-* header: what Finish() compares against.
Status S3BodySink::ExpectDigests(const HttpRequestHead& head) {
  if (const std::string* md5 = head.Header("content-md5")) {
    Result<std::string> raw = aws::Base64Decode(*md5);
    if (!raw.ok() || raw->size() != 16) {
      return S3Status(StatusCode::kInvalidArgument, "InvalidDigest",
                      "The Content-MD5 you specified is not valid.");
    }
    expected_md5_ = HexEncode(*raw);
  }
  if (!checksum_headers_of_body_) return Status::Ok();
  for (const auto& [name, value] : head.headers) {
    std::optional<aws::ChecksumAlgorithm> algorithm =
        aws::ChecksumAlgorithmFromHeader(ToLowerAscii(name));
    if (!algorithm) continue;
    if (checksummer_) {
      return S3Status(StatusCode::kInvalidArgument, "InvalidRequest",
                      "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                      "not allowed.");
    }
    checksum_header_ = ToLowerAscii(name);
    checksum_expected_ = value;
    checksummer_ = aws::NewChecksummer(*algorithm);
  }
  if (const std::string* trailer = head.Header("x-amz-trailer")) {
    checksum_trailer_ = aws::ChecksumAlgorithmFromHeader(ToLowerAscii(*trailer)).has_value();
  }
  // The SDKs name the algorithm of a checksum they send, or of one they want S3 to compute.
  if (const std::string* name = head.Header("x-amz-sdk-checksum-algorithm")) {
    Result<aws::ChecksumAlgorithm> algorithm = aws::ParseChecksumAlgorithm(*name);
    if (!algorithm.ok()) {
      return S3Status(StatusCode::kInvalidArgument, "InvalidRequest",
                      "Checksum algorithm provided is unsupported. Please try again with any of "
                      "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
    }
    if (!checksummer_) ComputeChecksum(*algorithm);
  }
  return Status::Ok();
}

void S3BodySink::ComputeChecksum(aws::ChecksumAlgorithm algorithm) {
  if (checksummer_ || checksum_trailer_) return;
  checksum_header_ = std::string(aws::ChecksumHeaderName(algorithm));
  checksum_expected_.clear();
  checksummer_ = aws::NewChecksummer(algorithm);
}

Status S3BodySink::Write(std::string_view raw) {
  if (sha256_) sha256_->Update(raw);
  if (decoder_) {
    scratch_.clear();
    RETURN_IF_ERROR(decoder_->Feed(raw, &scratch_));
    return Consume(scratch_);
  }
  return Consume(raw);
}

Status S3BodySink::Finish() {
  if (decoder_) {
    RETURN_IF_ERROR(decoder_->Finish());
    // The decoder verified a trailing checksum against the body.
    for (const auto& [name, value] : decoder_->trailers()) {
      std::optional<aws::ChecksumAlgorithm> algorithm = aws::ChecksumAlgorithmFromHeader(name);
      if (!algorithm) continue;
      echo_.emplace_back(name, value);
      checksum_ =
          ObjectChecksum{std::string(aws::ChecksumAlgorithmName(*algorithm)), value, "FULL_OBJECT"};
    }
  }
  RETURN_IF_ERROR(CheckDigests());
  if (fd_ >= 0) {
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
      fd_ = -1;
      return FileError(errno, "fsync", path_);
    }
    fd_ = -1;
  }
  return Status::Ok();
}

Status S3BodySink::CheckDigests() {
  if (sha256_ && sha256_->FinishHex() != expected_sha256_) {
    return S3Status(StatusCode::kInvalidArgument, "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was "
                    "computed.");
  }
  md5_hex_ = upload_ ? upload_->Md5Hex() : md5_.FinishHex();
  if (!expected_md5_.empty() && expected_md5_ != md5_hex_) {
    return S3Status(StatusCode::kInvalidArgument, "BadDigest",
                    "The Content-MD5 you specified did not match what we received.");
  }
  if (checksummer_) {
    const std::string computed = checksummer_->FinishBase64();
    if (checksum_expected_.empty()) checksum_expected_ = computed;  // ComputeChecksum
    if (computed != checksum_expected_) {
      // As S3 answers a wrong x-amz-checksum-* value ("The CRC32 you specified ...").
      std::string_view algorithm =
          aws::ChecksumAlgorithmName(*aws::ChecksumAlgorithmFromHeader(checksum_header_));
      return S3Status(StatusCode::kInvalidArgument, "BadDigest",
                      "The " + std::string(algorithm) +
                          " you specified did not match the calculated checksum.");
    }
    echo_.emplace_back(checksum_header_, checksum_expected_);
    checksum_ = ObjectChecksum{std::string(aws::ChecksumAlgorithmName(
                                   *aws::ChecksumAlgorithmFromHeader(checksum_header_))),
                               checksum_expected_, "FULL_OBJECT"};
  }
  return Status::Ok();
}

StagedFile S3BodySink::TakeFile() {
  taken_ = true;
  StagedFile file;
  file.path = path_;
  file.size = size_;
  file.etag = QuoteEtag(md5_hex_);
  return file;
}

Status S3BodySink::Consume(std::string_view data) {
  if (data.empty()) return Status::Ok();
  size_ += static_cast<int64_t>(data.size());
  if (size_ > max_bytes_) {
    return S3Status(StatusCode::kResourceExhausted, limit_code_,
                    "Your proposed upload exceeds the maximum allowed size");
  }
  if (checksummer_) checksummer_->Update(data);
  if (upload_) return upload_->Write(data);  // the upload hashes what it stores
  md5_.Update(data);
  if (fd_ < 0) {
    memory_.append(data);
    return Status::Ok();
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(errno, "write", path_);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace thumbflow::server
