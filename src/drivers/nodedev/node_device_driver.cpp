// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/nodedev/node_device_driver.hpp"

#include "drivers/nodedev/host_devices.hpp"
#include "host/sysfs_tree.hpp"

namespace corral::drivers::nodedev {

Result<std::vector<conf::NodeDeviceDef>> NodeDeviceDriver::listNodeDevices(unsigned flags) {
    const unsigned known = conf::kNodeDeviceCapFlagsMask | conf::kNodeDeviceListActive | conf::kNodeDeviceListInactive;
    if ((flags & ~known) != 0) {
        return unsupportedFlags(flags & ~known, source_.listFunction, kFromNodeDev);
    }
    CORRAL_ASSIGN_OR_RETURN(auto all, source_.devices());
    std::vector<conf::NodeDeviceDef> out;
    for (auto& d : all) {
        if (conf::nodeDeviceMatchesFlags(d, flags)) {
            out.push_back(std::move(d));
        }
    }
    return out;
}

Result<conf::NodeDeviceDef> NodeDeviceDriver::lookupNodeDevice(const std::string& name) {
    CORRAL_ASSIGN_OR_RETURN(auto all, source_.devices());
    for (auto& d : all) {
        if (d.name == name) {
            return std::move(d);
        }
    }
    return fail(kNoNodeDevice, "no node device with matching name '" + name + "'", kFromNodeDev);
}

Result<std::vector<conf::InterfaceDef>> NodeDeviceDriver::listInterfaces(unsigned flags) {
    using namespace interface_list_flags;
    if ((flags & ~(kActive | kInactive)) != 0) {
        return unsupportedFlags(flags & ~(kActive | kInactive),
                                source_.testWording ? "testConnectListAllInterfaces" : "udevConnectListAllInterfaces",
                                kFromInterface);
    }
    CORRAL_ASSIGN_OR_RETURN(auto all, source_.interfaces());
    const bool both = (flags & (kActive | kInactive)) == 0 || (flags & (kActive | kInactive)) == (kActive | kInactive);
    std::vector<conf::InterfaceDef> out;
    for (auto& i : all) {
        if (both || ((flags & kActive) != 0) == i.active) {
            out.push_back(std::move(i));
        }
    }
    return out;
}

Result<conf::InterfaceDef> NodeDeviceDriver::lookupInterfaceByName(const std::string& name) {
    CORRAL_ASSIGN_OR_RETURN(auto all, source_.interfaces());
    for (auto& i : all) {
        if (i.name == name) {
            return std::move(i);
        }
    }
    // A port enslaved to a bridge is not listed, but can be looked up, as libvirt's backend does.
    for (auto& i : all) {
        for (auto& p : i.ports) {
            if (p.name == name) {
                return std::move(p);
            }
        }
    }
    return fail(kNoInterface,
                (source_.testWording ? "no interface with matching name '" : "couldn't find interface named '") +
                    name + "'",
                kFromInterface);
}

Result<conf::InterfaceDef> NodeDeviceDriver::lookupInterfaceByMac(const std::string& mac) {
    CORRAL_ASSIGN_OR_RETURN(auto all, source_.interfaces());
    for (auto& i : all) {
        if (i.mac == mac) {
            return std::move(i);
        }
    }
    return fail(kNoInterface,
                (source_.testWording ? "no interface with matching mac '" : "couldn't find interface with MAC address '") +
                    mac + "'",
                kFromInterface);
}

std::unique_ptr<NodeDeviceDriver> createHostNodeDeviceDriver(const std::string& sysfsRoot) {
    NodeDeviceSource source;
    const bool realHost = sysfsRoot == "/sys";
    source.devices = [sysfsRoot, realHost]() -> Result<std::vector<conf::NodeDeviceDef>> {
        return scanHostNodeDevices(host::SysfsTree(sysfsRoot), realHost);
    };
    source.interfaces = [sysfsRoot]() -> Result<std::vector<conf::InterfaceDef>> {
        return scanHostInterfaces(host::SysfsTree(sysfsRoot));
    };
    return std::make_unique<NodeDeviceDriver>(std::move(source));
}

}  // namespace corral::drivers::nodedev
