// SPDX-License-Identifier: LGPL-2.1-or-later
// Result<T>: a value or an Error, spelled like std::expected so it can become an alias of it later.
#pragma once

#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "util/error.hpp"

namespace corral {

/// Wraps an Error so that `return unexpected(err);` converts into any Result<T>.
struct Unexpected {
    Error error;
};

inline Unexpected unexpected(Error e) { return Unexpected{std::move(e)}; }

/// Builds a failure: `return fail(ErrorCode::NoDomain, "no domain with matching name 'x'");`
inline Unexpected fail(ErrorCode code, std::string message,
                       ErrorDomain domain = ErrorDomain::None,
                       SourceLocation where = SourceLocation::current()) {
    return Unexpected{Error{code, domain, std::move(message), 0, where}};
}

/// A failure carrying errno: the message gets ": <strerror>" appended, as libvirt's
/// virReportSystemError does.
Unexpected failErrno(int err, std::string message,
                     SourceLocation where = SourceLocation::current());

[[noreturn]] void resultAccessFailure(const char* what);

template <class T>
class [[nodiscard]] Result {
public:
    using value_type = T;

    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
    Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT
    template <class U>
        requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Result> &&
                 !std::is_same_v<std::decay_t<U>, Unexpected> && !std::is_same_v<std::decay_t<U>, T>)
    Result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

    [[nodiscard]] bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & {
        check();
        return std::get<0>(v_);
    }
    const T& value() const& {
        check();
        return std::get<0>(v_);
    }
    T&& value() && {
        check();
        return std::get<0>(std::move(v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    Error& error() & {
        if (has_value()) {
            resultAccessFailure("error() called on a Result holding a value");
        }
        return std::get<1>(v_);
    }
    const Error& error() const& {
        if (has_value()) {
            resultAccessFailure("error() called on a Result holding a value");
        }
        return std::get<1>(v_);
    }
    Error&& error() && {
        if (has_value()) {
            resultAccessFailure("error() called on a Result holding a value");
        }
        return std::get<1>(std::move(v_));
    }

    /// Adds context to a failure and passes the result on: `CORRAL_TRY(x().withContext("..."))`.
    Result&& withContext(std::string_view context) && {
        if (!has_value()) {
            std::get<1>(v_).withContext(context);
        }
        return std::move(*this);
    }

private:
    void check() const {
        if (!has_value()) {
            resultAccessFailure(std::get<1>(v_).wireMessage().c_str());
        }
    }
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    using value_type = void;

    Result() = default;
    Result(Unexpected u) : error_(std::move(u.error)), failed_(true) {}  // NOLINT

    [[nodiscard]] bool has_value() const { return !failed_; }
    explicit operator bool() const { return has_value(); }
    void value() const {
        if (failed_) {
            resultAccessFailure(error_.wireMessage().c_str());
        }
    }
    Error& error() & { return error_; }
    const Error& error() const& { return error_; }
    Error&& error() && { return std::move(error_); }

    Result&& withContext(std::string_view context) && {
        if (failed_) {
            error_.withContext(context);
        }
        return std::move(*this);
    }

private:
    Error error_;
    bool failed_ = false;
};

}  // namespace corral

#define CORRAL_CONCAT_INNER(a, b) a##b
#define CORRAL_CONCAT(a, b) CORRAL_CONCAT_INNER(a, b)

/// Evaluates `expr` (a Result); on failure returns its error from the enclosing function.
#define CORRAL_TRY(expr)                                                \
    do {                                                                \
        auto corral_try_result_ = (expr);  /* by value: expr may be a temporary's rvalue ref */                             \
        if (!corral_try_result_.has_value()) {                          \
            return ::corral::unexpected(std::move(corral_try_result_).error()); \
        }                                                               \
    } while (0)

#define CORRAL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)            \
    auto tmp = (expr);                                          \
    if (!tmp.has_value()) {                                     \
        return ::corral::unexpected(std::move(tmp).error());    \
    }                                                           \
    lhs = std::move(tmp).value()

/// `CORRAL_ASSIGN_OR_RETURN(auto def, parseDomainXml(xml));`
#define CORRAL_ASSIGN_OR_RETURN(lhs, expr) \
    CORRAL_ASSIGN_OR_RETURN_IMPL(CORRAL_CONCAT(corral_assign_tmp_, __LINE__), lhs, expr)

/// Aborts with the location when an invariant that cannot fail in a correct program fails.
#define CORRAL_CHECK(cond)                                                              \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            ::corral::checkFailed(#cond, __FILE__, __LINE__);                           \
        }                                                                               \
    } while (0)

namespace corral {
[[noreturn]] void checkFailed(const char* cond, const char* file, int line);
}
