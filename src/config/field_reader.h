// FieldReader: reads one TOML table into a config struct and names the offending field in
// every error ("thumbnails.sizes[1].width: must be an integer from 1 to 10000").
//
// Absent keys leave the output untouched (so the struct's defaults stand). Finish() reports
// the first key that no getter asked for, so a misspelt field is an error, not ignored.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml.hpp>

#include "core/result.h"
#include "core/status.h"

namespace thumbflow {

class FieldReader {
 public:
  // `table` must outlive the reader. `path` is the dotted location of the table ("" = root).
  FieldReader(const toml::value& table, std::string path);

  bool Has(const std::string& key) const;
  std::string PathOf(const std::string& key) const;

  Status Int(const std::string& key, int64_t* out, int64_t min, int64_t max);
  Status Int(const std::string& key, int* out, int min, int max);
  Status Double(const std::string& key, double* out, double min, double max);
  Status Bool(const std::string& key, bool* out);
  Status String(const std::string& key, std::string* out);
  // A string that must be one of `allowed`.
  Status Enum(const std::string& key, std::string* out, const std::vector<std::string>& allowed);
  Status StringList(const std::string& key, std::vector<std::string>* out);

  // Sub-tables and arrays of tables; nullptr when absent. Type errors are reported by
  // Finish() through the error slot below, so callers can keep straight-line code.
  const toml::value* Table(const std::string& key);
  const toml::array* TableArray(const std::string& key);

  // Unknown keys, or a type error from Table()/TableArray().
  Status Finish() const;

  Status Error(const std::string& key, const std::string& what) const;

 private:
  const toml::value& table_;
  std::string path_;
  std::set<std::string> seen_;
  Status deferred_;
};

// Parses a TOML document; InvalidArgument "config <origin>: <the parser's message>" when it
// is not one. `origin` names the document (a path, or "THUMBFLOW_CONFIG").
Result<toml::value> ParseTomlDocument(std::string_view text, const std::string& origin);

}  // namespace thumbflow
