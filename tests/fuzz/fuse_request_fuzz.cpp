// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzzes the FUSE request handling of the containers' /proc views (src/host/fuse_files.cpp):
// the kernel frames the requests, but their contents (names looked up, offsets and sizes read,
// handles) come from whatever runs in the container. The input is a sequence of requests, each
// a little-endian 16-bit length and that many bytes (a fuse_in_header and its argument; the
// harness sets the header's length field, as the kernel would). They are fed in order through a
// SOCK_SEQPACKET pair, so state (open handles) carries from one to the next.
// Properties: at most one reply per request, none for FORGET/BATCH_FORGET/INTERRUPT; every
// reply is one fuse_out_header whose length is what was written, whose unique is the
// request's, whose error is 0 or a negated errno; a successful READ or READDIR returns no more
// than was asked.
#include <linux/fuse.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "host/fuse_files.hpp"

using namespace corral;

namespace {

std::vector<host::FuseFile> viewFiles() {
    std::vector<host::FuseFile> files;
    files.push_back({"meminfo", 0444, [] { return Result<std::string>(std::string(5000, 'm')); }});
    files.push_back({"uptime", 0444, [] { return Result<std::string>(std::string("12.00 3.00\n")); }});
    files.push_back({"broken", 0444, [] { return Result<std::string>(fail(ErrorCode::InternalError, "no")); }});
    return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
        return 0;
    }
    UniqueFd kernel(pair[0]);
    auto fs = host::FuseFiles::serve(UniqueFd(pair[1]), viewFiles());
    std::vector<char> request;
    std::vector<char> reply(256 * 1024);
    for (std::size_t at = 0; at + 2 <= size;) {
        std::size_t len = data[at] | (static_cast<std::size_t>(data[at + 1]) << 8);
        at += 2;
        len = std::min(len, size - at);
        request.assign(data + at, data + at + len);
        at += len;
        if (request.size() < sizeof(fuse_in_header)) {
            request.resize(sizeof(fuse_in_header), 0);
        }
        fuse_in_header in{};
        std::memcpy(&in, request.data(), sizeof in);
        in.len = static_cast<std::uint32_t>(request.size());
        std::memcpy(request.data(), &in, sizeof in);
        if (::send(kernel.get(), request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
            return 0;
        }
        auto event = fs->handleRequest();
        if (!event) {
            __builtin_trap();  // the framing is right: nothing here may fail
        }
        if (*event == host::FuseEvent::Unmounted) {
            return 0;
        }
        ssize_t n = ::recv(kernel.get(), reply.data(), reply.size(), 0);
        const bool noReply = in.opcode == FUSE_FORGET || in.opcode == FUSE_BATCH_FORGET || in.opcode == FUSE_INTERRUPT;
        if (n < 0) {
            if (errno != EAGAIN || !noReply) {
                __builtin_trap();  // every other request is answered
            }
            continue;
        }
        fuse_out_header out{};
        if (noReply || static_cast<std::size_t>(n) < sizeof out) {
            __builtin_trap();
        }
        std::memcpy(&out, reply.data(), sizeof out);
        if (out.len != static_cast<std::uint32_t>(n) || out.unique != in.unique || out.error > 0 ||
            out.error < -4095 || (out.error != 0 && out.len != sizeof out)) {
            __builtin_trap();
        }
        if (out.error == 0 && (in.opcode == FUSE_READ || in.opcode == FUSE_READDIR)) {
            fuse_read_in read{};
            std::memcpy(&read, request.data() + sizeof in, std::min(sizeof read, request.size() - sizeof in));
            if (out.len - sizeof out > read.size) {
                __builtin_trap();
            }
        }
        if (::recv(kernel.get(), reply.data(), reply.size(), 0) >= 0) {
            __builtin_trap();  // a second reply to one request
        }
    }
    return 0;
}
