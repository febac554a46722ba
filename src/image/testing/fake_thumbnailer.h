// FakeThumbnailer: the test double of the Thumbnailer port (image/thumbnailer.h) for the
// tests of its users (pipeline, lambda). Test-only; not part of tf_image.
//
// Make() answers from the source bytes, without decoding anything:
//   "fail:<reason>"   a permanent failure with that reason (core/reason.h names)
//   "retry:<reason>"  a transient (retryable) failure with that reason
//   anything else     small/medium/large (50, 150, 300 px wide, half as high) in the set
//                     format (jpeg by default), whose bytes are "<size>:<source>"
// A required prefix (SetRequiredPrefix) refuses every other source as "not-an-image".
// Calls can be held at a gate, so a test controls how long a job runs.
// Thread-safe, as the port requires.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>

#include "core/reason.h"
#include "image/thumbnailer.h"

namespace thumbflow::testing {

class FakeThumbnailer : public Thumbnailer {
 public:
  Result<Thumbnails> Make(std::string_view encoded, const MakeOptions&) const override {
    std::string required;
    std::string format;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++calls_;
      ++entered_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return !gate_closed_; });
      required = required_prefix_;
      format = format_;
    }
    std::string text(encoded);
    if (!text.starts_with(required)) {
      return Status(StatusCode::kInvalidArgument, "not an image", Reason::kNotAnImage, false);
    }
    if (text.starts_with("fail:")) {
      return Status(StatusCode::kInvalidArgument, "scripted failure",
                    ReasonFromName(text.substr(5)), false);
    }
    if (text.starts_with("retry:")) {
      return Status(StatusCode::kResourceExhausted, "scripted transient",
                    ReasonFromName(text.substr(6)), true);
    }
    Thumbnails out;
    out.source_format = format;
    out.source_width = 1000;
    out.source_height = 500;
    const int widths[] = {50, 150, 300};
    const char* names[] = {"small", "medium", "large"};
    for (int i = 0; i < 3; ++i) {
      Thumbnail t;
      t.size_name = names[i];
      t.format = format;
      t.content_type = format == "png" ? "image/png" : "image/jpeg";
      t.extension = format == "png" ? ".png" : ".jpg";
      t.width = widths[i];
      t.height = widths[i] / 2;
      t.bytes = std::string(names[i]) + ":" + text;
      out.outputs.push_back(std::move(t));
    }
    return out;
  }

  // "jpeg" (the default) or "png": the format of every output and of the source.
  void SetFormat(std::string format) {
    std::lock_guard<std::mutex> lock(mu_);
    format_ = std::move(format);
  }
  // Sources that do not start with `prefix` are "not-an-image"; "" (the default) accepts all.
  void SetRequiredPrefix(std::string prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    required_prefix_ = std::move(prefix);
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  void CloseGate() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = true;
  }
  void OpenGate() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = false;
    changed_.notify_all();
  }
  // Blocks until `n` calls have entered Make() in total.
  void WaitForEntered(int n) const {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return entered_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::string format_ = "jpeg";
  std::string required_prefix_;
  mutable int calls_ = 0;
  mutable int entered_ = 0;
  bool gate_closed_ = false;
};

}  // namespace thumbflow::testing
