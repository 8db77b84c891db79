// SPDX-License-Identifier: LGPL-2.1-or-later
// Vendor and product names of PCI ids, from the pci.ids database through libpciaccess (the
// library libvirt's node-device driver asks, so both daemons print the same names).
#pragma once

#include <string>

namespace corral::host {

struct PciNames {
    std::string vendor;   ///< "" where the database has no name
    std::string product;
};

PciNames pciNames(unsigned vendorId, unsigned productId);

}  // namespace corral::host
