// SPDX-License-Identifier: LGPL-2.1-or-later
// A <disk>'s block nodes (-blockdev and blockdev-add JSON), names and aliases.
#include "drivers/qemu/qemu_command.hpp"

#include "util/json.hpp"
#include "util/strings.hpp"
#include "util/uuid.hpp"

namespace corral::drivers::qemu {

namespace {

Unexpected unsupported(const std::string& what) {
    return fail(ErrorCode::ConfigUnsupported, what, ErrorDomain::Qemu);
}

/// <driver cache=...> as QEMU's block layer spells it: O_DIRECT on the host file, flushes
/// ignored, and the write cache the guest sees. "default" (or none given) leaves QEMU's own.
struct DiskCache {
    std::string_view name;
    bool explicitMode;
    bool direct;
    bool noFlush;
    bool writeCache;
};

constexpr DiskCache kDiskCaches[] = {
    {"", false, false, false, true},
    {"default", false, false, false, true},
    {"none", true, true, false, true},
    {"writethrough", true, false, false, false},
    {"writeback", true, false, false, true},
    {"directsync", true, true, false, false},
    {"unsafe", true, false, true, true},
};

/// <encryption format='luks'> with its one <secret type='passphrase' uuid=... or usage=...>:
/// the secret QEMU opens the image with. libvirt's other formats (the old qcow AES scheme,
/// 'default') are refused by name; <cipher>/<ivgen> (creation parameters) and engine= are
/// left unread, so the definition check refuses them too.
Result<std::optional<DiskSecret>> planDiskSecret(const conf::XmlNode& disk, const std::string& where,
                                                 const std::string& target) {
    const conf::XmlNode* encryption = disk.child("encryption");
    if (encryption == nullptr) {
        return std::optional<DiskSecret>();
    }
    const std::string format = encryption->attrOr("format", "default");
    if (format != "luks") {
        return unsupported(where + ": <encryption format='" + format + "'> is not supported (luks)");
    }
    const conf::XmlNode* secret = encryption->child("secret");
    if (secret == nullptr) {
        return unsupported(where + ": <encryption format='luks'> needs <secret type='passphrase' uuid=...>");
    }
    if (const std::string type = secret->attrOr("type"); type != "passphrase") {
        return unsupported(where + ": <encryption><secret type='" + type + "'> is not supported (passphrase)");
    }
    DiskSecret out;
    out.objectId = "corral-secret-" + target;
    out.uuid = secret->attrOr("uuid");
    out.usage = secret->attrOr("usage");
    if (out.uuid.empty() == out.usage.empty()) {
        return unsupported(where + ": <encryption><secret> needs one of uuid= and usage=");
    }
    if (!out.uuid.empty() && !Uuid::parse(out.uuid)) {
        return unsupported(where + ": <encryption><secret uuid='" + out.uuid + "'> is not a UUID");
    }
    return std::optional<DiskSecret>(std::move(out));
}

const DiskCache* findDiskCache(std::string_view mode) {
    for (const auto& c : kDiskCaches) {
        if (c.name == mode) {
            return &c;
        }
    }
    return nullptr;
}

}  // namespace

std::string defaultDiskBus(const std::string& target) {
    return startsWith(target, "vd") ? "virtio" : startsWith(target, "sd") ? "scsi" : startsWith(target, "hd") ? "ide" : "";
}

std::string diskFormatNodeName(const std::string& target) { return "corral-format-" + target; }

std::string diskStorageNodeName(const std::string& target) { return "corral-storage-" + target; }

Result<DiskNodes> planDiskNodes(const conf::XmlNode& disk, const std::string& passedImage) {
    const std::string type = disk.attrOr("type", "file");
    const std::string device = disk.attrOr("device", "disk");
    const std::string target = disk.childAttr("target", "dev");
    const std::string where = "<disk> with target '" + target + "'";
    if (device != "disk" && device != "cdrom") {
        return unsupported(where + ": device='" + device + "' is not supported (disk, cdrom)");
    }
    if (type != "file" && type != "block" && type != "volume") {
        return unsupported(where + ": type='" + type + "' is not supported by this driver (file, block, volume)");
    }
    std::string source;
    if (type == "volume") {
        // The start makes it the file disk it names (QemuBackend::resolveVolumeDisks); the
        // check of a definition sees the pool and the volume, which need not exist yet.
        const std::string pool = disk.childAttr("source", "pool");
        const std::string volume = disk.childAttr("source", "volume");
        if (pool.empty() || volume.empty()) {
            return unsupported(where + ": a disk of type 'volume' needs <source pool=... volume=...>");
        }
        source = "volume '" + volume + "' of pool '" + pool + "'";
    } else {
        source = disk.childAttr("source", type == "file" ? "file" : "dev");
    }
    if (const std::string driverName = disk.childAttr("driver", "name"); !driverName.empty() && driverName != "qemu") {
        return unsupported(where + ": <driver name='" + driverName + "'>: this driver's disks are QEMU's ('qemu')");
    }
    const std::string format = disk.childAttr("driver", "type").empty() ? "raw" : disk.childAttr("driver", "type");
    if (format != "raw" && format != "qcow2") {
        return unsupported(where + ": <driver type='" + format + "'> is not supported (raw, qcow2)");
    }
    if (source.empty() && device != "cdrom") {
        return unsupported(where + ": a disk needs <source " + std::string(type == "file" ? "file" : "dev") + "=...>");
    }
    const bool readonly = disk.child("readonly") != nullptr || device == "cdrom";
    const std::string cacheMode = disk.childAttr("driver", "cache");
    const DiskCache* cache = findDiskCache(cacheMode);
    if (cache == nullptr) {
        return unsupported(where + ": <driver cache='" + cacheMode +
                           "'> is not a cache mode (default, none, writethrough, writeback, directsync, unsafe)");
    }
    const std::string discard = disk.childAttr("driver", "discard");
    if (!discard.empty() && discard != "unmap" && discard != "ignore") {
        return unsupported(where + ": <driver discard='" + discard + "'> must be 'unmap' or 'ignore'");
    }
    CORRAL_ASSIGN_OR_RETURN(std::optional<DiskSecret> secret, planDiskSecret(disk, where, target));
    DiskNodes out;
    out.shareable = disk.child("shareable") != nullptr;
    if (source.empty()) {
        if (secret) {
            return unsupported(where + ": <encryption> needs a disk with a <source>");
        }
        return out;  // a cdrom without media: a device with no drive
    }
    if (cache->explicitMode) {
        out.writeCache = cache->writeCache;
    }
    const std::string storageNode = diskStorageNodeName(target);
    out.formatNode = diskFormatNodeName(target);
    auto addCache = [cache](JsonWriter& node) {
        if (cache->explicitMode) {
            node.key("cache").beginObject().key("direct").value(cache->direct).key("no-flush").value(cache->noFlush).endObject();
        }
    };
    JsonWriter storage;
    storage.beginObject()
        .key("driver").value(type == "block" ? "host_device" : "file")
        .key("filename").value(passedImage.empty() ? source : passedImage)
        .key("node-name").value(storageNode);
    if (passedImage.empty()) {
        storage.key("auto-read-only").value(true);
    } else {
        storage.key("read-only").value(readonly);
    }
    // As libvirt: the storage node passes every discard down; the format node, which the
    // guest's requests reach first, applies the definition's choice (QEMU's default: ignore).
    // What the format layer frees itself (a deleted qcow2 snapshot's clusters) reaches the host.
    storage.key("discard").value("unmap");
    addCache(storage);
    storage.endObject();
    JsonWriter fmt;
    fmt.beginObject()
        .key("node-name").value(out.formatNode)
        .key("read-only").value(readonly);
    if (!discard.empty()) {
        fmt.key("discard").value(discard);
    }
    addCache(fmt);
    if (!secret) {
        fmt.key("driver").value(format);
    } else if (format == "raw") {
        // A raw LUKS image: the luks driver is the format layer itself.
        fmt.key("driver").value("luks").key("key-secret").value(secret->objectId);
    } else {
        fmt.key("driver").value(format)
            .key("encrypt").beginObject().key("format").value("luks").key("key-secret").value(secret->objectId).endObject();
    }
    fmt.key("file").value(storageNode)
        .endObject();
    out.secret = std::move(secret);
    out.storageJson = storage.str();
    out.formatJson = fmt.str();
    return out;
}

std::string diskDeviceAlias(const std::string& target, std::string bus) {
    const int index = diskNameToIndex(target);
    if (bus.empty()) {
        bus = defaultDiskBus(target);
    }
    if (index < 0) {
        return target;
    }
    const std::string idx = std::to_string(index);
    if (bus == "virtio") {
        return "virtio-disk" + idx;
    }
    if (bus == "scsi") {
        return "scsi0-0-0-" + idx;
    }
    if (bus == "sata") {
        return "sata0-0-" + idx;
    }
    if (bus == "ide") {
        return "ide0-" + std::to_string(index / 2) + "-" + std::to_string(index % 2);
    }
    return target;
}

int diskNameToIndex(const std::string& name) {
    std::size_t prefix = 0;
    for (const char* p : {"vd", "sd", "hd", "xvd"}) {
        if (startsWith(name, p)) {
            prefix = std::string_view(p).size();
            break;
        }
    }
    if (prefix == 0 || name.size() == prefix || name.size() > prefix + 3) {
        return -1;
    }
    // The letters are a bijective base-26 number: a=1 ... z=26, aa=27.
    int value = 0;
    for (std::size_t i = prefix; i < name.size(); ++i) {
        char c = name[i];
        if (c < 'a' || c > 'z') {
            return -1;
        }
        value = value * 26 + (c - 'a' + 1);
    }
    return value - 1;
}

}  // namespace corral::drivers::qemu
