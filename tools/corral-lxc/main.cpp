// SPDX-License-Identifier: LGPL-2.1-or-later
// corral-lxc: the per-container controller. corrald starts one per container, in its own
// session so that it outlives the daemon; it owns the container's init, its console and its
// cgroup membership, and records how init ended for whichever daemon is running then.
//
//   corral-lxc --plan FILE --ready-fd N
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "drivers/lxc/container_init.hpp"
#include "util/files.hpp"

int main(int argc, char** argv) {
    std::string planPath;
    int readyFd = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--plan") == 0) {
            planPath = argv[i + 1];
        } else if (std::strcmp(argv[i], "--ready-fd") == 0) {
            readyFd = std::atoi(argv[i + 1]);
        }
    }
    if (planPath.empty() || readyFd < 0) {
        std::fprintf(stderr, "usage: corral-lxc --plan FILE --ready-fd N (started by corrald)\n");
        return 2;
    }
    auto text = corral::readTextFile(planPath);
    auto plan = text ? corral::drivers::lxc::planFromJson(*text)
                     : corral::Result<corral::drivers::lxc::ContainerPlan>(corral::unexpected(text.error()));
    if (!plan) {
        std::string msg = "error: " + plan.error().message;
        (void)!::write(readyFd, msg.data(), msg.size());
        return 1;
    }
    return corral::drivers::lxc::runController(*plan, readyFd);
}
