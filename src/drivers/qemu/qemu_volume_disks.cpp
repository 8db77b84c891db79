// SPDX-License-Identifier: LGPL-2.1-or-later
// <disk type='volume'><source pool='P' volume='V'/>: as libvirt, a definition naming a pool
// and a volume is accepted whether or not they exist; the start resolves them, through the
// storage driver, to the volume's file, and fails naming the pool or the volume when the pool
// is not active or has no such volume.
#include "drivers/qemu/qemu_backend.hpp"

namespace corral::drivers::qemu {

Result<void> QemuBackend::resolveVolumeDisks(conf::DomainDef& liveDef) const {
    for (auto& dev : liveDef.devices) {
        if (dev.name != "disk" || dev.attrOr("type", "file") != "volume") {
            continue;
        }
        conf::XmlNode* source = dev.child("source");
        const std::string pool = dev.childAttr("source", "pool");
        const std::string volume = dev.childAttr("source", "volume");
        if (source == nullptr || pool.empty() || volume.empty()) {
            return fail(ErrorCode::ConfigUnsupported, "a disk of type 'volume' needs <source pool=... volume=...>",
                        ErrorDomain::Qemu);
        }
        if (!volumePath_) {
            return fail(ErrorCode::OperationUnsupported,
                        "volume '" + volume + "' of pool '" + pool + "': no storage driver to resolve it",
                        ErrorDomain::Qemu);
        }
        auto path = volumePath_(pool, volume);
        if (!path) {
            Error err = path.error();
            err.message = "cannot use volume '" + volume + "' of storage pool '" + pool + "' as a disk: " +
                          err.message;
            return unexpected(std::move(err));
        }
        // The running guest's copy is the file disk the volume is; the stored definition keeps
        // naming the pool and the volume.
        dev.setAttr("type", "file");
        source->removeAttr("pool");
        source->removeAttr("volume");
        source->setAttr("file", *path);
    }
    return {};
}

}  // namespace corral::drivers::qemu
