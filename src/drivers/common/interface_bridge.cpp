// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/common/interface_bridge.hpp"

namespace corral::drivers {

Result<std::string> interfaceBridge(conf::XmlNode& iface, const NetworkBridgeResolver& resolver, ErrorDomain domain) {
    const std::string mac = iface.childAttr("mac", "address");
    const std::string type = iface.attrOr("type");
    if (type == "bridge") {
        std::string bridge = iface.childAttr("source", "bridge");
        if (bridge.empty()) {
            return fail(ErrorCode::ConfigUnsupported,
                        "<interface type='bridge'> with MAC " + mac + ": needs <source bridge='NAME'/>", domain);
        }
        return bridge;
    }
    const std::string network = iface.childAttr("source", "network");
    if (network.empty()) {
        return fail(ErrorCode::ConfigUnsupported,
                    "<interface type='network'> with MAC " + mac + ": needs <source network='NAME'/>", domain);
    }
    if (!resolver) {
        return fail(ErrorCode::NoSupport, "virtual networks are not available here", domain);
    }
    auto resolved = resolver(network);
    if (!resolved) {
        return unexpected(std::move(resolved).withContext("<interface type='network'> with MAC " + mac).error());
    }
    iface.child("source")->setAttr("bridge", *resolved);
    return *resolved;
}

}  // namespace corral::drivers
