// SPDX-License-Identifier: LGPL-2.1-or-later
// The node-device and interface facets over a source of device facts: the host's sysfs for
// qemu:/// and lxc:///, fixed fixtures for test:///default. Lists are read afresh on each call,
// so a device that appears or goes away is seen without a cache to keep in step.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "drivers/interfaces/node_devices.hpp"

namespace corral::drivers::nodedev {

struct NodeDeviceSource {
    std::function<Result<std::vector<conf::NodeDeviceDef>>()> devices;
    std::function<Result<std::vector<conf::InterfaceDef>>()> interfaces;
    /// libvirt's test driver words its interface lookups differently from the host's backend.
    bool testWording = false;
    /// The function name its "unsupported flags" errors name.
    std::string listFunction = "nodeConnectListAllNodeDevices";
};

class NodeDeviceDriver final : public NodeDeviceFacet, public InterfaceFacet {
public:
    explicit NodeDeviceDriver(NodeDeviceSource source) : source_(std::move(source)) {}

    Result<std::vector<conf::NodeDeviceDef>> listNodeDevices(unsigned flags) override;
    Result<conf::NodeDeviceDef> lookupNodeDevice(const std::string& name) override;

    Result<std::vector<conf::InterfaceDef>> listInterfaces(unsigned flags) override;
    Result<conf::InterfaceDef> lookupInterfaceByName(const std::string& name) override;
    Result<conf::InterfaceDef> lookupInterfaceByMac(const std::string& mac) override;

private:
    NodeDeviceSource source_;
};

/// The driver over this host's devices under `sysfsRoot`; offloads (ethtool) are asked of the
/// kernel only for the real /sys.
std::unique_ptr<NodeDeviceDriver> createHostNodeDeviceDriver(const std::string& sysfsRoot = "/sys");

}  // namespace corral::drivers::nodedev
