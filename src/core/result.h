// Result<T>: a value or the Status that explains why there is none.
#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "core/status.h"

namespace thumbflow {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit from a value and from a non-OK status, so functions can `return value;` or
  // `return NotFoundError(...)`. Constructing from an OK status is a bug (there is no value)
  // and becomes an Internal error.
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = InternalError("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Precondition: ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace thumbflow

// Evaluates `expr` (a Result<T>); on error returns its status, else assigns the value to
// `lhs`, which may be a declaration: ASSIGN_OR_RETURN(auto bytes, store.Get(key));
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(TF_CONCAT_(tf_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
