// MultipartUploads: the state of S3 multipart uploads, kept in the data folder (one folder
// per upload under `root`, parts as files named after their number and MD5) so an upload
// survives a restart of the server. Upload ids are random hex; a malformed id is refused
// before it touches the filesystem, so an id can never name a path outside `root`.
//
// Thread-safe for distinct uploads; concurrent calls on one upload are serialised by a
// mutex. Failures: NotFound with reason "no-such-upload"; InvalidArgument with reasons
// "InvalidPart", "InvalidPartOrder", "EntityTooSmall" on completion; Internal for I/O.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "storage/streaming_object_store.h"

namespace thumbflow::server {

struct UploadInfo {
  std::string upload_id;
  std::string bucket;
  std::string key;
  // options.checksum: the algorithm and type CreateMultipartUpload asked for (no value).
  PutOptions options;
  int64_t initiated_ms = 0;
  // The user who created it (its Initiator and, as its object's writer, its Owner); empty
  // for an anonymous one and for uploads created before this was recorded.
  std::string initiator;
};

struct PartInfo {
  int part_number = 0;
  std::string etag;  // quoted MD5
  int64_t size = 0;
  int64_t last_modified_ms = 0;
  // Its S3 flexible checksum (algorithm and value; no type) as verified at upload, if any.
  ObjectChecksum checksum;
};

class MultipartUploads {
 public:
  MultipartUploads(std::string root, const Clock* clock);

  Result<std::string> Create(const std::string& bucket, const std::string& key,
                             const PutOptions& options, const std::string& initiator = "");
  Result<UploadInfo> Get(const std::string& upload_id) const;
  // The uploads in progress of `bucket`, ordered by key, then initiation time, then id.
  Result<std::vector<UploadInfo>> List(const std::string& bucket) const;
  // Moves the staged part file into the upload (replacing an earlier part of that number),
  // with its verified flexible checksum (none: empty), kept beside it.
  Result<PartInfo> AddPart(const std::string& upload_id, int part_number, const StagedFile& file,
                           const ObjectChecksum& checksum = {});
  Result<std::vector<PartInfo>> ListParts(const std::string& upload_id) const;
  // Checks the parts a completion names (number, ETag as the client sent it): uploaded with
  // that ETag, ascending, all but the last at least `min_part_bytes`. Returns their file
  // paths, quoted ETags and checksums (as AddPart kept them), in order.
  struct ResolvedParts {
    std::vector<std::string> paths;
    std::vector<std::string> etags;
    std::vector<ObjectChecksum> checksums;
  };
  Result<ResolvedParts> Resolve(const std::string& upload_id,
                                const std::vector<std::pair<int, std::string>>& parts,
                                int64_t min_part_bytes) const;
  Status Remove(const std::string& upload_id);
  // Removes the uploads in progress created more than `max_age_ms` ago (0: none), with their
  // parts, as AbortMultipartUpload would; the records of completed uploads are MarkCompleted's.
  // `if_due`: only when the last sweep is older than a tenth of max_age_ms (an hour at most).
  // Returns how many were removed.
  Result<int> SweepAbandoned(int64_t max_age_ms, bool if_due = false);
  // After the object is committed: the upload's parts are removed and it is remembered as
  // completed with `etag` (upload.json becomes completed.json), so that a repeated
  // CompleteMultipartUpload (an SDK retry after a lost reply) can answer success with the
  // same ETag and checksum. Records older than a day are swept here.
  Status MarkCompleted(const std::string& upload_id, const std::string& etag,
                       const ObjectChecksum& checksum = {});
  // The ETag of a completed upload of `bucket`/`key` (and its checksum into `checksum`, when
  // given); NotFound "no-such-upload" otherwise.
  Result<std::string> CompletedEtag(const std::string& upload_id, const std::string& bucket,
                                    const std::string& key,
                                    ObjectChecksum* checksum = nullptr) const;

 private:
  Result<std::string> UploadDir(const std::string& upload_id) const;

  std::string root_;
  const Clock* clock_;
  mutable std::mutex mu_;
  int64_t last_sweep_ms_ = 0;  // guarded by mu_
};

}  // namespace thumbflow::server
