#include "config/field_reader.h"

#include <cmath>
#include <sstream>

namespace thumbflow {

FieldReader::FieldReader(const toml::value& table, std::string path)
    : table_(table), path_(std::move(path)) {}

bool FieldReader::Has(const std::string& key) const {
  return table_.is_table() && table_.as_table().count(key) > 0;
}

std::string FieldReader::PathOf(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

Status FieldReader::Error(const std::string& key, const std::string& what) const {
  return InvalidArgumentError(PathOf(key) + ": " + what);
}

Status FieldReader::Int(const std::string& key, int64_t* out, int64_t min, int64_t max) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  const toml::value& v = table_.as_table().at(key);
  std::string range =
      "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v.is_integer()) return Error(key, range);
  int64_t x = v.as_integer();
  if (x < min || x > max) return Error(key, range + " (got " + std::to_string(x) + ")");
  *out = x;
  return Status::Ok();
}

Status FieldReader::Int(const std::string& key, int* out, int min, int max) {
  int64_t wide = *out;
  RETURN_IF_ERROR(Int(key, &wide, min, max));
  *out = static_cast<int>(wide);
  return Status::Ok();
}

Status FieldReader::Double(const std::string& key, double* out, double min, double max) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  const toml::value& v = table_.as_table().at(key);
  double x;
  if (v.is_integer()) {
    x = static_cast<double>(v.as_integer());
  } else if (v.is_floating()) {
    x = v.as_floating();
  } else {
    return Error(key, "must be a number");
  }
  if (!std::isfinite(x) || x < min || x > max) {
    return Error(key,
                 "must be a number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  *out = x;
  return Status::Ok();
}

Status FieldReader::Bool(const std::string& key, bool* out) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  const toml::value& v = table_.as_table().at(key);
  if (!v.is_boolean()) return Error(key, "must be true or false");
  *out = v.as_boolean();
  return Status::Ok();
}

Status FieldReader::String(const std::string& key, std::string* out) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  const toml::value& v = table_.as_table().at(key);
  if (!v.is_string()) return Error(key, "must be a string");
  *out = v.as_string().str;
  return Status::Ok();
}

Status FieldReader::Enum(const std::string& key, std::string* out,
                         const std::vector<std::string>& allowed) {
  std::string value = *out;
  RETURN_IF_ERROR(String(key, &value));
  for (const auto& a : allowed) {
    if (a == value) {
      *out = value;
      return Status::Ok();
    }
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return Error(key, "must be one of " + list + " (got \"" + value + "\")");
}

Status FieldReader::StringList(const std::string& key, std::vector<std::string>* out) {
  seen_.insert(key);
  if (!Has(key)) return Status::Ok();
  const toml::value& v = table_.as_table().at(key);
  if (!v.is_array()) return Error(key, "must be an array of strings");
  std::vector<std::string> items;
  for (const auto& item : v.as_array()) {
    if (!item.is_string()) return Error(key, "must be an array of strings");
    items.push_back(item.as_string().str);
  }
  *out = std::move(items);
  return Status::Ok();
}

const toml::value* FieldReader::Table(const std::string& key) {
  seen_.insert(key);
  if (!Has(key)) return nullptr;
  const toml::value& v = table_.as_table().at(key);
  if (!v.is_table()) {
    if (deferred_.ok()) deferred_ = Error(key, "must be a table");
    return nullptr;
  }
  return &v;
}

const toml::array* FieldReader::TableArray(const std::string& key) {
  seen_.insert(key);
  if (!Has(key)) return nullptr;
  const toml::value& v = table_.as_table().at(key);
  if (!v.is_array()) {
    if (deferred_.ok()) deferred_ = Error(key, "must be an array of tables");
    return nullptr;
  }
  for (const auto& item : v.as_array()) {
    if (!item.is_table()) {
      if (deferred_.ok()) deferred_ = Error(key, "must be an array of tables");
      return nullptr;
    }
  }
  return &v.as_array();
}

Status FieldReader::Finish() const {
  RETURN_IF_ERROR(deferred_);
  if (!table_.is_table()) return InvalidArgumentError(path_ + ": must be a table");
  for (const auto& [key, value] : table_.as_table()) {
    if (seen_.count(key) == 0) return InvalidArgumentError("unknown field '" + PathOf(key) + "'");
  }
  return Status::Ok();
}

Result<toml::value> ParseTomlDocument(std::string_view text, const std::string& origin) {
  try {
    std::istringstream in{std::string(text)};
    return toml::parse(in, origin);
  } catch (const std::exception& e) {
    return InvalidArgumentError("config " + origin + ": " + e.what());
  }
}

}  // namespace thumbflow
