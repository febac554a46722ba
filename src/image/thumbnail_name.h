// The output formats and the names thumbnails are stored under: the one table of what each
// format is called, which extensions name it, and which source formats `format = "auto"`
// keeps. The thumbnailer chooses from it (vips_thumbnailer.cc) and the pipeline predicts
// output names from it (pipeline/record_processor.cc), so the two cannot drift apart.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace thumbflow {

// One format the thumbnailer writes.
struct OutputFormat {
  std::string_view name;          // "jpeg", "png", "webp", "gif", "avif" (config and logs)
  std::string_view content_type;  // "image/jpeg", ...
  std::string_view extension;     // appended when a name does not already name the format
  std::span<const std::string_view> names;  // the extensions that name it (".jpg", ".jpeg", ...)
  bool alpha;                               // can carry an alpha channel
  bool animation;                           // can carry several frames
  bool auto_keeps;  // format = "auto" writes a source of this format in this format
};

// The output format called `name`; nullptr when there is none.
const OutputFormat* FindOutputFormat(std::string_view name);

// What format = "auto" writes for a source of `source_format` (the thumbnailer's name of
// the content, "heic", "tiff", ...): the source's own format when auto keeps it, else PNG
// when the image has an alpha channel and JPEG when not.
const OutputFormat& AutoOutputFormat(std::string_view source_format, bool has_alpha);

// The format auto keeps that `source_name`'s extension names (case-insensitive), or
// nullptr ("a.JPG" -> jpeg; "a.heic", "a.tif", "noext" -> nullptr).
const OutputFormat* KeptFormatNamedBy(std::string_view source_name);

// The names the output of a source called `source_name` may have under format = "auto",
// judged from the name alone: the name itself when it names a format auto keeps, else the
// name with ".jpg" or ".png" appended. A source whose content is not what its name says
// ("a.jpg" holding a PNG with alpha) is named outside this set (ThumbnailName of the real
// output); callers that look for existing outputs then just do not find them.
std::vector<std::string> AutoThumbnailNames(std::string_view source_name);

// `source_name` unchanged when its extension already names `format` (".jpg"/".jpeg"/".jpe"
// for jpeg, case-insensitive), else `source_name` with the format's extension appended
// ("a.heic" + jpeg -> "a.heic.jpg"), so names never collide. An unknown format appends
// nothing.
std::string ThumbnailName(std::string_view source_name, std::string_view format);

}  // namespace thumbflow
