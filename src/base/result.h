// Error and Result<T>: how every fallible call in lorashare reports failure.
//
// No exceptions cross module boundaries. A function that can fail returns
// Result<T> (a value or an Error) or Status (Result<void>). The Error's message
// is meant for the user: it names the file, key or field and what is wrong.
#pragma once

#include <fmt/format.h>

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace lorashare {

enum class ErrorCode {
  kInvalidArgument,  // bad flag or parameter given by the caller
  kNotFound,         // missing file or key
  kCorrupt,          // a file's bytes violate its format
  kMismatch,         // well-formed inputs that do not belong together
  kUnsupported,      // valid but not handled by this build
  kOutOfRange,       // a value beyond a limit (context length, id range)
  kIo,               // the operating system refused
  kInternal,         // a broken invariant in lorashare itself
};

const char* ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `.
  Error WithContext(const std::string& context) const {
    return Error(code_, context + ": " + message_);
  }

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename... Args>
Error MakeError(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return Error(code, fmt::format(format, std::forward<Args>(args)...));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Error& error() const {
    assert(!ok());
    return std::get<Error>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  const Error& error() const {
    assert(!ok());
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status OkStatus() { return Status(); }

}  // namespace lorashare

#define LS_CONCAT_INNER(a, b) a##b
#define LS_CONCAT(a, b) LS_CONCAT_INNER(a, b)

// Returns the error of a failed Status/Result from the enclosing function.
#define LS_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    auto ls_status_ = (expr);                    \
    if (!ls_status_.ok()) return ls_status_.error(); \
  } while (0)

// LS_ASSIGN_OR_RETURN(auto x, MakeX()); declares x from the value or returns the error.
#define LS_ASSIGN_OR_RETURN(lhs, expr) \
  LS_ASSIGN_OR_RETURN_IMPL(LS_CONCAT(ls_result_, __LINE__), lhs, expr)
#define LS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.error();             \
  lhs = std::move(tmp).value()
