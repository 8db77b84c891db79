// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/kernel_audit.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "util/unique_fd.hpp"

namespace corral::host {

std::string auditValue(const std::string& value) {
    bool plain = !value.empty();
    for (unsigned char c : value) {
        if (c <= ' ' || c == '"' || c >= 0x7f) {
            plain = false;
        }
    }
    if (plain) {
        return "\"" + value + "\"";
    }
    std::string hex;
    char buf[3];
    for (unsigned char c : value) {
        std::snprintf(buf, sizeof buf, "%02X", c);
        hex += buf;
    }
    return hex;
}

Result<void> sendKernelAudit(int type, const std::string& text, bool success) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
    if (!fd) {
        return failErrno(errno, "cannot open the kernel audit socket");
    }
    std::string body = text + " res=" + (success ? "success" : "failed");
    std::vector<char> msg(NLMSG_SPACE(body.size() + 1), 0);
    auto* header = reinterpret_cast<nlmsghdr*>(msg.data());
    header->nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(body.size() + 1));
    header->nlmsg_type = static_cast<std::uint16_t>(type);
    header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    header->nlmsg_seq = 1;
    std::memcpy(NLMSG_DATA(header), body.c_str(), body.size() + 1);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd.get(), msg.data(), header->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
        return failErrno(errno, "cannot send an audit message to the kernel");
    }
    // The acknowledgement says whether the kernel took it (EPERM without CAP_AUDIT_WRITE).
    char reply[256];
    ssize_t n = ::recv(fd.get(), reply, sizeof reply, MSG_DONTWAIT);
    if (n >= static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) {
        auto* answer = reinterpret_cast<nlmsghdr*>(reply);
        if (answer->nlmsg_type == NLMSG_ERROR) {
            int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(answer))->error;
            if (err != 0) {
                return failErrno(err, "the kernel refused an audit message");
            }
        }
    }
    return {};
}

}  // namespace corral::host
