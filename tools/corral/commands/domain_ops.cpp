// SPDX-License-Identifier: LGPL-2.1-or-later
// A domain's disk sizes, keys, screen and jobs: domblkinfo, send-key, screenshot, domjobinfo,
// domjobabort, with virsh's options, calls and output.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "../cli.hpp"
#include "util/keycodes.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

/// libvirt's limit on the keys of one send-key.
constexpr std::size_t kMaxKeys = 16;

int domblkinfo(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_get_block_info_args a{target->dom, ctx.args.get("device").value_or(""), 0};
    auto info = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_BLOCK_INFO>(a);
    if (!info) {
        printError("", info.error());
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject()
            .key("capacity").value(static_cast<std::uint64_t>(info->capacity))
            .key("allocation").value(static_cast<std::uint64_t>(info->allocation))
            .key("physical").value(static_cast<std::uint64_t>(info->physical))
            .endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%-15s %llu\n", "Capacity:", static_cast<unsigned long long>(info->capacity));
    std::printf("%-15s %llu\n", "Allocation:", static_cast<unsigned long long>(info->allocation));
    std::printf("%-15s %llu\n", "Physical:", static_cast<unsigned long long>(info->physical));
    return 0;
}

/// virsh's names of virDomainJobType.
const char* jobTypeName(int type) {
    static const char* const names[] = {"None", "Bounded", "Unbounded", "Completed", "Failed", "Cancelled"};
    return type >= 0 && type < 6 ? names[type] : "Unknown";
}

int domjobinfo(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_get_job_info_args a{target->dom};
    auto info = target->conn->call<proto::REMOTE_PROC_DOMAIN_GET_JOB_INFO>(a);
    if (!info) {
        printError("", info.error());
        return 1;
    }
    if (ctx.json) {
        JsonWriter w;
        w.beginObject().key("type").value(jobTypeName(info->type));
        if (info->type != 0) {
            w.key("time_elapsed_ms").value(static_cast<std::uint64_t>(info->timeElapsed));
        }
        w.endObject();
        printJson(ctx, w);
        return 0;
    }
    std::printf("%-17s %-12s\n", "Job type:", jobTypeName(info->type));
    if (info->type != 0) {
        std::printf("%-17s %-12llu ms\n", "Time elapsed:", static_cast<unsigned long long>(info->timeElapsed));
    }
    return 0;
}

int domjobabort(Context& ctx) {
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    proto::remote_domain_abort_job_args a{target->dom};
    auto done = target->conn->call<proto::REMOTE_PROC_DOMAIN_ABORT_JOB>(a);
    if (!done) {
        printError("", done.error());
        return 1;
    }
    return 0;
}

int sendKey(Context& ctx) {
    const std::string setName = ctx.args.get("codeset").value_or("linux");
    auto set = keycodeSetFromName(setName);
    if (!set) {
        printError("unknown codeset: '" + setName + "'");
        return 1;
    }
    unsigned holdtime = 0;
    if (auto text = ctx.args.get("holdtime")) {
        auto parsed = parseUnsigned(*text);
        if (!parsed || *parsed > UINT32_MAX) {
            printError("Numeric value '" + *text + "' for <holdtime> option is malformed or out of range");
            return 1;
        }
        holdtime = static_cast<unsigned>(*parsed);
    }
    if (ctx.args.rest.size() > kMaxKeys) {
        printError("too many keycodes");
        return 1;
    }
    proto::remote_domain_send_key_args a{};
    for (const auto& word : ctx.args.rest) {
        // A name of the set (Linux's KEY_* names), else a number (decimal or 0x hex), as virsh.
        std::optional<unsigned> code = *set == keycode_set::kLinux ? linuxKeycodeFromName(word) : std::nullopt;
        if (!code) {
            char* end = nullptr;
            errno = 0;
            const long n = word.empty() ? -1 : std::strtol(word.c_str(), &end, 0);
            if (errno == 0 && end != nullptr && *end == '\0' && n >= 0 && n <= INT32_MAX) {
                code = static_cast<unsigned>(n);
            }
        }
        if (!code) {
            printError("invalid keycode: '" + word + "'");
            return 1;
        }
        a.keycodes.push_back(*code);
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    a.dom = target->dom;
    a.codeset = *set;
    a.holdtime = holdtime;
    auto done = target->conn->call<proto::REMOTE_PROC_DOMAIN_SEND_KEY>(a);
    if (!done) {
        printError("failed to send key", done.error());
        return 1;
    }
    return 0;
}

/// virsh's file name for a screenshot saved without --file: NAME-YYYY-MM-DD-HH:MM:SS.EXT.
std::string screenshotName(const std::string& domain, const std::string& mime) {
    char when[32];
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    std::strftime(when, sizeof when, "%Y-%m-%d-%H:%M:%S", &local);
    const char* ext = mime == "image/x-portable-pixmap" ? ".ppm" : mime == "image/png" ? ".png" : "";
    return domain + "-" + when + ext;
}

int screenshot(Context& ctx) {
    unsigned screen = 0;
    if (auto text = ctx.args.get("screen")) {
        auto parsed = parseUnsigned(*text);
        if (!parsed || *parsed > UINT32_MAX) {
            printError("Numeric value '" + *text + "' for <screen> option is malformed or out of range");
            return 1;
        }
        screen = static_cast<unsigned>(*parsed);
    }
    auto target = openTarget(ctx);
    if (!target) {
        return 1;
    }
    client::Connection* conn = target->conn;
    // The image follows the reply at once: the handler is in place before the call.
    std::string image;
    bool dataEnded = false, ended = false;
    std::optional<Error> streamError;
    conn->setStreamHandler([&](const rpc::Packet& p) {
        if (p.header.proc != proto::REMOTE_PROC_DOMAIN_SCREENSHOT) {
            return;
        }
        if (p.header.status == rpc::MessageStatus::Continue) {
            if (p.payload.empty()) {
                dataEnded = true;
            } else {
                image.append(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
            }
            return;
        }
        ended = true;
        if (p.header.status == rpc::MessageStatus::Error) {
            proto::remote_error err{};
            if (proto::decodeFromBytes(p.payload, err)) {
                streamError = Error{static_cast<ErrorCode>(err.code), static_cast<ErrorDomain>(err.domain),
                                    err.message.value_or("")};
            }
        }
    });
    proto::remote_domain_screenshot_args a{target->dom, screen, 0};
    auto shot = conn->call<proto::REMOTE_PROC_DOMAIN_SCREENSHOT>(a);
    if (!shot) {
        conn->setStreamHandler(nullptr);
        printError("could not take a screenshot of " + target->dom.name, shot.error());
        return 1;
    }
    const std::uint32_t serial = conn->lastSerial();
    bool finishing = false;
    while (!ended) {
        if (dataEnded && !finishing) {
            (void)conn->finishStream(proto::REMOTE_PROC_DOMAIN_SCREENSHOT, serial, false);
            finishing = true;
        }
        pollfd fd{conn->pollFd(), POLLIN, 0};
        if (::poll(&fd, 1, 60000) <= 0) {
            break;
        }
        if (auto pumped = conn->pumpAvailable(); !pumped) {
            conn->setStreamHandler(nullptr);
            printError("", pumped.error());
            return 1;
        }
    }
    conn->setStreamHandler(nullptr);
    if (streamError || !ended) {
        printError(streamError ? "could not receive the screenshot: " + streamError->wireMessage()
                               : std::string("the screenshot did not arrive"));
        return 1;
    }
    const std::string mime = shot->mime.value_or("");
    const std::string file = ctx.args.get("file").value_or(screenshotName(target->dom.name, mime));
    UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!out) {
        printError("cannot create file " + file);
        return 1;
    }
    for (std::size_t off = 0; off < image.size();) {
        ssize_t n = ::write(out.get(), image.data() + off, image.size() - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            printError("cannot write file " + file);
            return 1;
        }
        off += static_cast<std::size_t>(n);
    }
    printExtra("Screenshot saved to %s, with type of %s\n", file.c_str(), mime.c_str());
    return 0;
}

}  // namespace

void registerDomainOpsCommands() {
    OptSpec domain{"domain", OptKind::String, true, true, "domain name, id or uuid"};
    registerCommand({"domblkinfo", "domain block device size information",
                     {domain, {"device", OptKind::String, true, true, "block device"}}, domblkinfo});
    registerCommand({"screenshot", "take a screenshot of a current domain console and store it into a file",
                     {domain,
                      {"file", OptKind::String, true, false, "where to store the screenshot"},
                      {"screen", OptKind::String, false, false, "ID of a screen to take screenshot of"}},
                     screenshot});
    registerCommand({"domjobinfo", "domain job information", {domain}, domjobinfo});
    registerCommand({"domjobabort", "abort active domain job", {domain}, domjobabort});
    registerCommand({"send-key", "Send keycodes to the guest",
                     {domain,
                      {"codeset", OptKind::String, false, false, "the codeset of keycodes, default:linux"},
                      {"holdtime", OptKind::String, false, false, "the time (in milliseconds) how long the keys will be held"},
                      {"keycode", OptKind::Argv, false, true, "the key code"}},
                     sendKey});
}

}  // namespace corral::cli
