#pragma once
// Decoding protocol frames from the network returns a Result: either the decoded value or an Error saying
// what was wrong. Malformed input is an expected outcome, never an exception escaping a driver loop.
#include <string>
#include <utility>
#include <variant>

namespace pirates {

struct Error {
    std::string reason;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

inline Error error(std::string reason) {
    return Error{std::move(reason)};
}

}  // namespace pirates
