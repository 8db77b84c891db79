// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading the kernel's device tree under /sys: listings, attributes, links and uevent keys.
// The root is a parameter so that tests can hand in a fixture tree.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace corral::host {

class SysfsTree {
public:
    explicit SysfsTree(std::string root = "/sys");

    /// The entries of `rel` ("class/net"), sorted; empty when it does not exist.
    std::vector<std::string> list(const std::string& rel) const;
    /// Where `rel` leads once every link is followed, relative to the root
    /// ("devices/pci0000:00/0000:00:03.0"); "" when it does not exist or leaves the tree.
    std::string resolve(const std::string& rel) const;
    /// The content of the attribute file `rel`, without surrounding white space; nullopt when
    /// it is missing or unreadable (many attributes refuse reads in some states: speed when down).
    std::optional<std::string> attr(const std::string& rel) const;
    /// The last component of the target of the link `rel` ("virtio-pci" for .../driver).
    std::optional<std::string> linkName(const std::string& rel) const;
    /// The value of KEY in the device's uevent file (`rel`/uevent), as in DEVTYPE=bridge.
    std::optional<std::string> ueventValue(const std::string& rel, const std::string& key) const;
    bool exists(const std::string& rel) const;

private:
    std::string root_;      ///< as given
    std::string realRoot_;  ///< the root with its links resolved
};

}  // namespace corral::host
