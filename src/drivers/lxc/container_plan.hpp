// SPDX-License-Identifier: LGPL-2.1-or-later
// ContainerPlan: everything corral-lxc needs to build one container, decided by the daemon from
// the domain definition (container_definition.hpp) and handed to the controller as JSON. The
// controller only carries it out; it links nothing but this and util (no XML parser to load).
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace corral::drivers::lxc {

struct ContainerMount {
    std::string source;  ///< host directory (bind) or "" for a tmpfs
    std::string target;  ///< path inside the container
    bool readonly = false;
};

/// One veth pair: the host end on a bridge, the other end the container's interface.
struct ContainerInterface {
    std::string hostName;  ///< the host end ("veth0")
    std::string peerName;  ///< the container's end until it is moved in and renamed ("vpeer0")
    std::string name;      ///< its name inside ("eth0")
    std::string mac;
};

/// One line of a user namespace's uid_map or gid_map: ids [start, start+count) inside are
/// [target, target+count) on the host.
struct IdRange {
    unsigned long start = 0, target = 0, count = 0;
};

struct ContainerPlan {
    std::string name;
    std::string uuid;
    std::string rootSource;  ///< the host directory that becomes '/'; "" = the host's root
    std::vector<ContainerMount> mounts;
    /// Non-empty: the container gets its own network namespace with these interfaces (and lo);
    /// empty: it shares the host's network.
    std::vector<ContainerInterface> interfaces;
    /// Non-empty: a user namespace with these maps (<idmap>); root inside is not root outside.
    std::vector<IdRange> uidMap, gidMap;
    std::vector<std::string> argv;  ///< <init> then <initarg>s
    std::vector<std::string> env;   ///< NAME=VALUE
    std::vector<std::string> cgroupJoinFiles;  ///< the controller joins these before anything
    /// Descriptors the controller inherited for init (virsh start --pass-fds): they become
    /// init's 3, 4, ... in this order.
    std::vector<int> passFds;
    std::string consoleLog;  ///< where the controller copies the console's output
    std::string consoleSocket;  ///< where the daemon connects for `virsh console`
    std::string stateFile;   ///< where the controller records its pid and init's
    /// Where the controller mounts the FUSE views of /proc/meminfo and /proc/uptime; "" = none
    /// (no /dev/fuse on this host).
    std::string procViewsDir;
    std::string memoryCgroupDir;  ///< the container's memory cgroup, which the views read
    bool cgroupV2 = false;
    std::string exitFile;    ///< where the controller records how init ended
};

/// The plan as JSON text, and back (the controller's side). Unknown members are refused.
std::string planToJson(const ContainerPlan& plan);
Result<ContainerPlan> planFromJson(const std::string& text);

}  // namespace corral::drivers::lxc
