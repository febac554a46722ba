#include "core/reason.h"

#include <array>
#include <ostream>
#include <utility>

namespace thumbflow {
namespace {

constexpr std::array<std::pair<Reason, std::string_view>, 33> kNames = {{
    {Reason::kNotAnImage, "not-an-image"},
    {Reason::kTruncated, "truncated"},
    {Reason::kCorrupt, "corrupt"},
    {Reason::kUnsupportedFormat, "unsupported-format"},
    {Reason::kTooManyPixels, "too-many-pixels"},
    {Reason::kTooLarge, "too-large"},
    {Reason::kTooManyFrames, "too-many-frames"},
    {Reason::kTimeout, "timeout"},
    {Reason::kCrashed, "crashed"},
    {Reason::kInternal, "internal"},
    {Reason::kInvalidKey, "invalid-key"},
    {Reason::kSourceMissing, "source-missing"},
    {Reason::kNoSuchBucket, "no-such-bucket"},
    {Reason::kNoSuchUpload, "no-such-upload"},
    {Reason::kInvalidRange, "invalid-range"},
    {Reason::kPreconditionFailed, "precondition-failed"},
    {Reason::kNotModified, "not-modified"},
    {Reason::kBucketNotEmpty, "bucket-not-empty"},
    {Reason::kInvalidPartNumber, "invalid-part-number"},
    {Reason::kObjectLocked, "object-locked"},
    {Reason::kNoSpace, "no-space"},
    {Reason::kAccessDenied, "access-denied"},
    {Reason::kMisconfigured, "misconfigured"},
    {Reason::kUnavailable, "unavailable"},
    {Reason::kNotAnEvent, "not-an-event"},
    {Reason::kMaxReceives, "max-receives"},
    {Reason::kDeadline, "deadline"},
    {Reason::kShutdown, "shutdown"},
    {Reason::kNotACreate, "not-a-create"},
    {Reason::kFolder, "folder"},
    {Reason::kOutsidePrefix, "outside-prefix"},
    {Reason::kSuffix, "suffix"},
    {Reason::kNone, ""},
}};

}  // namespace

std::string_view ReasonName(Reason reason) {
  for (const auto& [value, name] : kNames) {
    if (value == reason) return name;
  }
  return "";
}

Reason ReasonFromName(std::string_view name) {
  for (const auto& [value, text] : kNames) {
    if (text == name) return value;
  }
  return Reason::kNone;
}

std::ostream& operator<<(std::ostream& out, Reason reason) {
  return out << (reason == Reason::kNone ? std::string_view("<none>") : ReasonName(reason));
}

}  // namespace thumbflow
