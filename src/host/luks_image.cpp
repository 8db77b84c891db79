// SPDX-License-Identifier: LGPL-2.1-or-later
// qemu-img create for LUKS images, the passphrase on a pipe.
#include "host/luks_image.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/process.hpp"
#include "util/utf8.hpp"

namespace corral::host {

namespace {

/// QEMU takes a LUKS passphrase as UTF-8 text (glib's check: well-formed, no NUL byte).
bool isQemuUtf8(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        std::uint32_t cp = 0;
        std::size_t n = decodeUtf8(text, at, cp);
        if (n == 0 || cp == 0) {
            return false;
        }
        at += n;
    }
    return true;
}

}  // namespace

Result<void> createLuksImage(const LuksImageRequest& request) {
    if (request.passphrase.empty()) {
        return fail(ErrorCode::InvalidArg, "a LUKS image needs a non-empty passphrase", ErrorDomain::Storage);
    }
    if (!isQemuUtf8(std::string_view(reinterpret_cast<const char*>(request.passphrase.data()),
                                     request.passphrase.size()))) {
        return fail(ErrorCode::InvalidArg,
                    "a LUKS passphrase must be UTF-8 text without NUL bytes (QEMU refuses other bytes)",
                    ErrorDomain::Storage);
    }
    if (request.format != "luks" && request.format != "qcow2") {
        return fail(ErrorCode::InvalidArg,
                    "LUKS encryption of format '" + request.format + "' is not supported (luks or qcow2)",
                    ErrorDomain::Storage);
    }
    if (request.capacityBytes == 0) {
        return fail(ErrorCode::InvalidArg, "a LUKS image needs a capacity", ErrorDomain::Storage);
    }
    // qemu-img's luks driver truncates what is there: refuse instead of destroying a volume.
    struct stat st {};
    if (::lstat(request.path.c_str(), &st) == 0 || errno != ENOENT) {
        return fail(ErrorCode::OperationInvalid, "cannot create LUKS image '" + request.path + "': it already exists",
                    ErrorDomain::Storage);
    }
    // QEMU's secret object reads its file to the end: /dev/stdin is the pipe runCommand writes
    // the passphrase into, then closes. format=raw: the bytes as they are (binary allowed).
    const std::string prefix = request.format == "luks" ? "" : "encrypt.";
    std::string keyOption = (request.format == "luks" ? "" : "encrypt.format=luks,") + prefix + "key-secret=sec0";
    if (request.iterTimeMs != 0) {
        keyOption += "," + prefix + "iter-time=" + std::to_string(request.iterTimeMs);
    }
    std::vector<std::string> argv = {request.qemuImg, "create",     "--object", "secret,id=sec0,file=/dev/stdin,format=raw",
                                     "-f",            request.format, "-o",       keyOption,
                                     request.path,    std::to_string(request.capacityBytes)};
    std::string input(reinterpret_cast<const char*>(request.passphrase.data()), request.passphrase.size());
    // QEMU times PBKDF2 on the thread's CPU clock to choose the iterations; on a loaded host a
    // round can measure 0 ms and it gives up ("Unable to get accurate CPU usage") before writing
    // anything. That is a measurement, not a refusal: try again, a few times.
    Result<CommandResult> run = runCommand(argv, input);
    for (int tries = 1; tries < 4 && run && run->exitStatus != 0 &&
                        run->output.find("Unable to get accurate CPU usage") != std::string::npos;
         ++tries) {
        ::unlink(request.path.c_str());
        run = runCommand(argv, input);
    }
    std::fill(input.begin(), input.end(), '\0');
    if (!run) {
        return unexpected(run.error());
    }
    if (run->exitStatus != 0) {
        ::unlink(request.path.c_str());  // what qemu-img began: the path was free before it ran
        std::string message = run->output;
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
            message.pop_back();
        }
        return fail(ErrorCode::OperationFailed, "cannot create LUKS image '" + request.path + "': " + message,
                    ErrorDomain::Storage);
    }
    return {};
}

}  // namespace corral::host
