// SPDX-License-Identifier: LGPL-2.1-or-later
// GnutlsLibrary: dlopen of GnuTLS on first use and the lookup of every function Corral calls.
#include "rpc/gnutls_library.hpp"

#include <dlfcn.h>

#include <mutex>

#include "util/strings.hpp"

namespace corral::rpc {

namespace {

constexpr const char* kLibrary = "libgnutls.so.30";  // GnuTLS 3.x's soname, as the build linked before

GnutlsLibrary table;
std::once_flag loadOnce;
std::string loadError;  // empty once the table is complete

void loadTable() {
    // Global symbols stay local: nothing else in the process should bind to them by accident.
    void* handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = ::dlerror();
        loadError = std::string("cannot load ") + kLibrary + " (TLS needs GnuTLS 3; Debian package libgnutls30): " +
                    (why != nullptr ? why : "unknown reason");
        return;
    }
    auto lookup = [handle](const char* name) -> void* {
        void* symbol = ::dlsym(handle, name);
        if (symbol == nullptr && loadError.empty()) {
            loadError = std::string(kLibrary) + " has no symbol '" + name + "': GnuTLS is older than 3.6";
        }
        return symbol;
    };
#define CORRAL_GNUTLS_LOOKUP(name) \
    table.name = reinterpret_cast<decltype(table.name)>(lookup("gnutls_" #name));
    CORRAL_GNUTLS_FUNCTIONS(CORRAL_GNUTLS_LOOKUP)
#undef CORRAL_GNUTLS_LOOKUP
    if (auto* freeVariable = static_cast<gnutls_free_function*>(lookup("gnutls_free"))) {
        table.free = *freeVariable;
    }
    // The handle stays open for the life of the process: sessions may exist until exit.
}

}  // namespace

Result<const GnutlsLibrary*> loadGnutls() {
    std::call_once(loadOnce, loadTable);
    if (!loadError.empty()) {
        return fail(ErrorCode::SystemError, loadError, ErrorDomain::Rpc);
    }
    return &table;
}

const GnutlsLibrary& gnutls() { return table; }

}  // namespace corral::rpc
