// PostObject: the browser form upload (POST /bucket, multipart/form-data) signed with a POST
// policy instead of a request signature, as S3 defines it: the form's fields, then the file.
//
// PostFormReceiver parses the body as it arrives: the fields before the file part are kept
// (at most kMaxPostFieldBytes, as S3 limits them), and when the file part begins they are
// handed to the authorizer, which checks the policy and opens the upload; the file's bytes
// then stream into it, never held whole. Parts after the file are ignored, as S3 ignores them.
//
// Not thread-safe: one per request, fed by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

inline constexpr int64_t kMaxPostFieldBytes = 20 * 1024;

// The boundary of a "multipart/form-data; boundary=..." Content-Type; nullopt for any other.
std::optional<std::string> FormBoundary(std::string_view content_type);

// The fields of a form, in order, names as sent.
struct PostForm {
  std::vector<std::pair<std::string, std::string>> fields;
  std::string filename;  // of the file part (for ${filename} in the key)
  // A field by name, compared without regard to case; nullptr when absent.
  const std::string* Field(std::string_view name) const;
};

// What the authorizer decides once the fields are known: the upload to stream the file into,
// and the most bytes the file may have (the policy's content-length-range, the PUT limit).
struct PostAuthorization {
  std::string key;     // ${filename} replaced
  PutOptions options;  // Content-Type, x-amz-meta-*, the stored standard headers of the form
  std::unique_ptr<ObjectUpload> upload;
  int64_t min_bytes = 0;
  int64_t max_bytes = 0;
};

class PostFormReceiver {
 public:
  using Authorizer = std::function<Result<PostAuthorization>(const PostForm& form)>;

  PostFormReceiver(std::string boundary, Authorizer authorize)
      : delimiter_("\r\n--" + boundary), authorize_(std::move(authorize)) {}

  // Errors carry S3 codes (S3Status): MalformedPOSTRequest, MaxPostPreDataLengthExceeded,
  // EntityTooLarge, and whatever the authorizer answers.
  Status Write(std::string_view data);
  // The whole body arrived: the closing boundary must have been seen and the file received
  // (InvalidArgument "POST requires exactly one file upload per request." otherwise);
  // EntityTooSmall below the policy's minimum.
  Status Finish();

  const PostForm& form() const { return form_; }
  int64_t file_bytes() const { return file_bytes_; }
  // After Finish(): what the authorizer decided, the upload holding the file, ready to commit.
  PostAuthorization& authorization() { return auth_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kField, kFile, kIgnored, kEnd };
  Status StartPart(std::string_view headers);
  Status Consume();
  Status EmitFile(std::string_view bytes);

  std::string delimiter_;  // "\r\n--" + boundary; the first one has no leading CRLF
  Authorizer authorize_;
  State state_ = State::kPreamble;
  std::string buffer_;
  PostForm form_;
  std::string field_name_;
  int64_t field_bytes_ = 0;
  bool have_file_ = false;
  PostAuthorization auth_;
  int64_t file_bytes_ = 0;
};

}  // namespace thumbflow::server
