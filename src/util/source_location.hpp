// SPDX-License-Identifier: LGPL-2.1-or-later
// SourceLocation: std::source_location where the library has it; clang 14 with libstdc++ 12
// (the fuzzing build) lacks it, so a minimal equivalent built on the same compiler builtins.
#pragma once

#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
namespace corral {
using SourceLocation = std::source_location;
}
#else
namespace corral {
struct SourceLocation {
    static constexpr SourceLocation current(const char* file = __builtin_FILE(), int line = __builtin_LINE(),
                                            const char* function = __builtin_FUNCTION()) noexcept {
        SourceLocation s;
        s.file_ = file;
        s.line_ = line;
        s.function_ = function;
        return s;
    }
    [[nodiscard]] constexpr const char* file_name() const noexcept { return file_; }
    [[nodiscard]] constexpr unsigned line() const noexcept { return static_cast<unsigned>(line_); }
    [[nodiscard]] constexpr const char* function_name() const noexcept { return function_; }

private:
    const char* file_ = "";
    int line_ = 0;
    const char* function_ = "";
};
}  // namespace corral
#endif
