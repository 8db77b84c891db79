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
    bool rootReadonly = false;  ///< <readonly/> on the root's <filesystem>
    std::vector<ContainerMount> mounts;
    /// The container's interfaces; they are moved into its own network namespace.
    std::vector<ContainerInterface> interfaces;
    /// A network namespace of its own (interfaces or <privnet/>: at least lo); false: it shares
    /// the host's network.
    bool privateNetwork = false;
    /// Non-empty: a user namespace with these maps (<idmap>, or the range the daemon picked for
    /// an unprivileged container); root inside is not root outside. Empty: a privileged
    /// container, whose root is the host's root.
    std::vector<IdRange> uidMap, gidMap;
    /// The daemon picks the maps at start (no <idmap>, not privileged): then the root and the
    /// directories bound in are id-mapped mounts, so that files owned by 0 on the disk are
    /// root's inside, and nothing on the disk needs to change owner.
    bool autoIdRange = false;
    /// The capabilities init and everything below it may hold (CAP_* numbers, sorted); the
    /// seccomp filter follows from them (container_privileges.hpp).
    std::vector<int> capabilities;
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
    /// An empty directory on which the controller assembles the container's tree (in its own
    /// mount namespace) before init copies it; its parents must be searchable by the
    /// container's root.
    std::string rootStaging;
};

/// The plan as JSON text, and back (the controller's side). Unknown members are refused.
std::string planToJson(const ContainerPlan& plan);
Result<ContainerPlan> planFromJson(const std::string& text);

}  // namespace corral::drivers::lxc
