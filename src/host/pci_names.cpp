// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/pci_names.hpp"

#include <pciaccess.h>

#include <mutex>

namespace corral::host {

PciNames pciNames(unsigned vendorId, unsigned productId) {
    // libpciaccess loads the database into a process-wide tree on first use without a lock.
    static std::mutex lock;
    std::lock_guard guard(lock);
    pci_id_match match{};
    match.vendor_id = vendorId;
    match.device_id = productId;
    match.subvendor_id = PCI_MATCH_ANY;
    match.subdevice_id = PCI_MATCH_ANY;
    const char* product = nullptr;
    const char* vendor = nullptr;
    const char* subProduct = nullptr;
    const char* subVendor = nullptr;
    pci_get_strings(&match, &product, &vendor, &subProduct, &subVendor);
    return PciNames{vendor != nullptr ? vendor : "", product != nullptr ? product : ""};
}

}  // namespace corral::host
