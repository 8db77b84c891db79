# SPDX-License-Identifier: LGPL-2.1-or-later
# Warning flags every Corral target compiles with; CORRAL_WERROR turns them into errors (CI).
option(CORRAL_WERROR "Treat warnings as errors" OFF)

add_library(corral_warnings INTERFACE)
target_compile_options(corral_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    # g++ 12 reports false maybe-uninitialized positives inside std::variant (GCC PR 105593 family).
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>
    $<$<BOOL:${CORRAL_WERROR}>:-Werror>)
