// SPDX-License-Identifier: LGPL-2.1-or-later
// DomainDef: a libvirt domain definition. The fields Corral acts on are typed; every other
// element the schema knows is kept as a parsed XmlNode and formatted back in libvirt's order,
// and elements the schema does not know are kept verbatim and reported.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/xml_node.hpp"
#include "util/result.hpp"
#include "util/uuid.hpp"

namespace corral::conf {

struct OsDef {
    std::string type;     ///< "hvm", "exe", "linux", "xen"
    std::string arch;     ///< <type arch=...>
    std::string machine;  ///< <type machine=...>
    std::vector<XmlNode> elements;  ///< loader, nvram, kernel, initrd, cmdline, init, initarg, boot...
    /// <os>'s own attributes (firmware='efi'), kept on a childless <os> node so that a driver's
    /// reads of them are tracked like any other part of the definition.
    XmlNode attributes{"os", {}, {}, {}, 0};

    /// Text of the first child element `name` (kernel, init, cmdline...), or "".
    [[nodiscard]] std::string value(std::string_view name) const;
    /// All texts of the repeated child `name` (initarg).
    [[nodiscard]] std::vector<std::string> values(std::string_view name) const;
};

struct DomainDef {
    std::string type;  ///< <domain type=...>: qemu, kvm, lxc, test
    std::string name;
    Uuid uuid;
    std::string title;
    std::string description;
    std::uint64_t memoryKiB = 0;         ///< <memory>, any unit converted to KiB
    std::string memoryDumpCore;          ///< <memory dumpCore=...>
    std::uint64_t currentMemoryKiB = 0;  ///< <currentMemory>; post-parse defaults it to memoryKiB
    unsigned vcpus = 0;                  ///< <vcpu> maximum
    unsigned vcpuCurrent = 0;            ///< <vcpu current=...>; 0 = all
    std::string vcpuPlacement;           ///< static | auto
    std::string vcpuCpuset;
    OsDef os;
    std::string onPoweroff, onReboot, onCrash;
    std::string emulator;  ///< <devices><emulator>

    /// Other top-level elements the schema knows (features, cpu, clock, memtune, cputune, ...),
    /// in document order; formatted in libvirt's order.
    std::vector<XmlNode> elements;
    /// Devices in document order (<emulator> excepted); formatted grouped in libvirt's order.
    std::vector<XmlNode> devices;
    /// Top-level elements the schema does not know: kept verbatim, reported, formatted last.
    std::vector<XmlNode> unknown;
    /// Attributes of <domain> other than type and id (xmlns:qemu ...), kept verbatim.
    std::vector<std::pair<std::string, std::string>> rootAttrs;

    /// MAC addresses of all <interface> devices (lower case).
    [[nodiscard]] std::vector<std::string> macAddresses() const;
    [[nodiscard]] const XmlNode* element(std::string_view elementName) const;
};

/// The file or device a <disk> reads (<source file> or <source dev>); "" for an empty drive.
std::string diskSourcePath(const XmlNode& disk);
/// Whether `device` is the <disk> with target `target` (targets are unique in a domain).
bool isDiskWithTarget(const XmlNode& device, std::string_view target);

/// A device's <address type='pci'> as numbers (hex "0x0a" or decimal; an absent one is 0).
struct PciAddress {
    unsigned domain = 0, bus = 0, slot = 0, function = 0;
    /// All zeros: libvirt reads it as no address, "put it where it goes".
    [[nodiscard]] bool unassigned() const { return domain == 0 && bus == 0 && slot == 0 && function == 0; }
};
/// nullopt when the device has no PCI address; an XmlError naming the device when a part is not
/// a number.
Result<std::optional<PciAddress>> pciAddressOf(const XmlNode& device);

struct ParseOptions {
    /// `define --validate`: elements outside the schema become errors instead of warnings.
    bool validateSchemaStrict = false;
};

/// Parses domain XML. Errors: XmlDetail for malformed XML (with line and caret), XmlError
/// naming the element and attribute for bad values.
Result<std::unique_ptr<DomainDef>> parseDomainXml(std::string_view xml, const ParseOptions& opts = {});

struct PostParseContext {
    std::function<Uuid()> generateUuid;
    std::function<bool(const std::string& mac)> macInUse;
    std::function<std::uint32_t()> random32;
};

/// Fills in what libvirt fills in: UUID, MACs (52:54:00:xx:xx:xx, unique on the host),
/// currentMemory, on_* actions, vcpu placement, console/serial pairing, os defaults.
Result<void> postParseDomainDef(DomainDef& def, const PostParseContext& ctx);

/// Gives each <interface> of `def` without a MAC a free one (part of postParseDomainDef; also
/// for an interface attached on its own).
Result<void> assignMacs(DomainDef& def, const PostParseContext& ctx);

/// A <disk>'s defaults as libvirt fills them in: device='disk', and the target's bus from its
/// name (hd ide, sd scsi, vd virtio, xvd xen, ubd uml, fd fdc). Part of postParseDomainDef;
/// also for a disk attached on its own.
void fillDiskDefaults(XmlNode& disk);

/// Checks a post-parsed definition: name, sizes, counts, duplicate disk targets, actions.
Result<void> validateDomainDef(const DomainDef& def);

struct FormatOptions {
    bool secure = false;    ///< include secrets (graphics passwd): dumpxml --security-info
    bool inactive = false;  ///< the persistent form: no runtime-only attributes
};

/// libvirt's canonical layout. `liveId` >= 0 adds id='N' to <domain>.
std::string formatDomainXml(const DomainDef& def, const FormatOptions& opts = {}, int liveId = -1);

/// Human descriptions of the unknown elements kept verbatim ("element 'foo' (line 12)").
std::vector<std::string> describeUnknownElements(const DomainDef& def);

/// Converts `value` with a libvirt scaled-integer `unit` (b, KiB, KB, MiB, M, ...) to KiB.
Result<std::uint64_t> scaledToKiB(std::string_view value, std::string_view unit, std::string_view element);

}  // namespace corral::conf
