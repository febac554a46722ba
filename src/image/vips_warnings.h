// Per-image capture of libvips warnings (internal to the image library).
//
// libvips reports much damage only as a warning: a JPEG whose SOF claims more rows than its
// data holds decodes "successfully", padded with grey, and the only sign is the warning
// "Corrupt JPEG data: premature end of data segment". Warnings go through g_log, which is
// process-global; they are emitted on whichever thread runs the loader (often one of
// libvips' own worker threads), and libjpeg's text even travels through libvips' global
// error buffer. So a warning cannot be tied to an image by thread or by text alone.
//
// The protocol that does attribute them:
//   - Every thumbnailing run holds a WarningWatch for its whole duration (header, decode,
//     every size, every encode). The g_log handler (InstallVipsWarningHandler) hands each
//     warning that is not known to be harmless to every watch active at that moment.
//   - A shared watch (many at once) that heard nothing proves its image clean: its own
//     warnings would have reached it, since it was active whenever its image was touched.
//   - A shared watch that heard something cannot tell whose warning it was; the image is
//     made again under an exclusive watch, which waits until no other run is active and
//     keeps new ones out (writers first, so it is never starved). Everything it hears is
//     its own image's, and libvips' error buffer holds only its image's text.
//   - libvips' error buffer is process-global too: a run that failed while another run was
//     active (overlapped) may have read another image's text, or lost its own to another
//     run's clear, and both its message and its reason come from that text. Such a failure
//     is made again under an exclusive watch as well.
// Damaged images thus cost a second, serialised run; clean images run fully in parallel.
//
// Thread-safety: everything here may be used from any thread.
#pragma once

#include <string>
#include <vector>

#include "core/log.h"
#include "core/status.h"

namespace thumbflow::internal {

// Routes libvips' warnings (log domain "VIPS") through the watches. Warnings heard while no
// watch is active, and every GLib message of any other domain (GLib's default handler is
// replaced), become JSON lines on `log` instead of GLib's plain "VIPS-WARNING **: ..."
// text: level "warn" for warnings, "error" for criticals and errors, "info" for messages,
// "debug" for debug and info; msg is the text, "domain" the GLib log domain. Idempotent
// (a second call only replaces the logger); VipsRuntime installs it at start and removes it
// at shutdown, which restores GLib's default handler.
void InstallVipsWarningHandler(Logger log);
void RemoveVipsWarningHandler();

class WarningWatch {
 public:
  enum class Mode { kShared, kExclusive };
  // Blocks in kExclusive mode until no other watch is active; a kShared watch waits while an
  // exclusive one is active or waiting. A watch that starts alone clears libvips' error buffer.
  explicit WarningWatch(Mode mode);
  ~WarningWatch();
  WarningWatch(const WarningWatch&) = delete;
  WarningWatch& operator=(const WarningWatch&) = delete;

  // Warnings heard so far, one entry per line. Harmless lines never reach a watch, except
  // libjpeg's (JudgeWarnings compares them with libjpeg's warning count).
  std::vector<std::string> heard() const;

  // Whether another watch was active at any moment while this one was.
  bool overlapped() const;

 private:
  friend struct WatchRegistry;
  Mode mode_;
  std::vector<std::string> heard_;  // guarded by the registry's mutex
  bool overlapped_ = false;         // guarded by the registry's mutex
};

// Whether a libvips warning line is known to be harmless: the pixels are complete and
// correct (libjpeg's "N extraneous bytes before marker", libheif's "ignoring nclx profile",
// libtiff's unknown or malformed private tags, libpng's complaints about an ICC profile).
bool IsHarmlessWarning(const std::string& line);

// What an exclusive watch's warnings say about its image: OK when nothing but harmless
// lines (and libjpeg's counts, when every counted warning was shown); else a permanent
// error, reason "truncated" when a line says the data ends early, else "corrupt", whose
// message quotes the first damaging line.
Status JudgeWarnings(const std::vector<std::string>& heard);

}  // namespace thumbflow::internal
