// SPDX-License-Identifier: LGPL-2.1-or-later
// CommandBuilder: the state of one command line being built from a definition, shared by the
// files that build its parts (qemu_command.cpp: machine, CPU, memory, boot, disks, interfaces;
// qemu_command_devices.cpp: the other devices; qemu_command_addresses.cpp: where devices go).
// Internal to the QEMU driver: only qemu_command.hpp is its interface.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qemu_options.hpp"
#include "util/result.hpp"

namespace corral::drivers::qemu::detail {

enum class MachineFamily { I440fx, Q35, Microvm };

struct Machine {
    MachineFamily family;
    std::string qemuName;
};
bool toUnsigned(std::string_view text, unsigned& out);
Unexpected unsupported(const std::string& what);
Unexpected invalidXml(const std::string& what);
/// A model or machine name QEMU looks up in its own tables: letters, digits and "-_.".
bool isQemuTypeName(std::string_view name);
/// The family of a machine type this builder knows; nullopt for any other.
std::optional<MachineFamily> machineFamilyOf(std::string_view machine);
bool hasFeature(const conf::DomainDef& def, std::string_view feature);
/// An on/off attribute ("state"): true, false, or nullopt when absent. Errors name the element.
Result<std::optional<bool>> onOffAttr(const conf::XmlNode& n, std::string_view key, std::string_view where);

class CommandBuilder {
public:
    CommandBuilder(const conf::DomainDef& def, const QemuLaunchContext& ctx, Machine machine)
        : def_(def), ctx_(ctx), machine_(std::move(machine)) {}

    Result<std::vector<std::string>> build();

private:
    void add(std::initializer_list<std::string> args) { argv_.insert(argv_.end(), args); }
    /// `option` followed by its key=value argument.
    void add(const char* option, const QemuOpts& opts) { add({option, opts.str()}); }
    std::string pciOrMmio(const std::string& base) const {
        return machine_.family == MachineFamily::Microvm ? base + "-device" : base + "-pci";
    }

    Result<void> addCpuAndMemory();
    /// -rtc with <clock>'s offset and RTC tick policy, the PIT's policy, <pm>'s sleep states
    /// (qemu_command_clock.cpp).
    Result<void> addClockAndPower();
    /// <clock><timer name='hpet' present=...>: the machine's hpet= switch; nullopt without one.
    Result<std::optional<bool>> hpetState() const;
    Result<void> addBootOptions();
    Result<void> planBootOrder();
    Result<void> addDisk(const conf::XmlNode& disk);
    Result<void> addInterface(const conf::XmlNode& iface, std::size_t index);
    Result<void> addSerial(const conf::XmlNode& chr, unsigned index);
    Result<void> addConsole(const conf::XmlNode& console, unsigned index);
    Result<void> addGraphics(const conf::XmlNode& graphics);
    /// <graphics keymap>: QEMU's -k, one for the guest.
    Result<void> addKeymap(const conf::XmlNode& graphics);
    Result<void> addVideo(const conf::XmlNode& video, unsigned index);
    Result<void> addController(const conf::XmlNode& controller);
    /// The root bus (index 0) and, on q35, pcie-root-port controllers.
    Result<void> addPciController(const conf::XmlNode& controller);
    Result<void> addWatchdog(const conf::XmlNode& watchdog);
    Result<void> addRng(const conf::XmlNode& rng);
    Result<void> addChannel(const conf::XmlNode& channel, unsigned index);
    Result<void> addRedirdev(const conf::XmlNode& redirdev, unsigned index);
    Result<void> addSound(const conf::XmlNode& sound, unsigned index);
    /// The -audiodev sound devices play through (once): the <audio> element's backend, else
    /// SPICE's with SPICE graphics and none without, as libvirt chooses. Returns its id.
    Result<std::string> ensureAudiodev();
    void ensureVirtioSerial();
    /// The -machine option: type, and what <features> and <memory dumpCore> switch.
    Result<QemuOpts> machineOption();
    /// Where a PCI device goes, as QEMU options: bus=pci.0 (pcie.0 on q35, pci.N for a
    /// pcie-root-port's bus), multifunction=on where asked, addr=0xS[.0xF].
    using Placement = std::vector<std::pair<std::string, std::string>>;
    /// bus=...,addr=... for a device's <address type='pci'> (qemu_pci_addresses.cpp gave it at
    /// define); nothing without one. An address on a bus no pcie-root-port provides is refused:
    /// other bridges are not modelled, and a device is never put somewhere other than asked.
    Result<void> addPciAddress(QemuOpts& device, const conf::XmlNode& node) const;
    Result<Placement> pciPlacement(const conf::XmlNode& node) const;
    static void addPlacement(QemuOpts& device, const Placement& place);
    /// The placement planControllerAddresses read for controller `key` ("usb0", "scsi0").
    void addControllerPlacement(QemuOpts& device, const std::string& key) const;
    bool hasRootPort(unsigned bus) const;
    /// port=N for a USB device's <address type='usb' bus='0' port='N'>; refuses others.
    Result<void> addUsbAddress(QemuOpts& device, const conf::XmlNode& node) const;
    /// Checks a disk's <address type='drive'> against where its target name puts it.
    Result<void> checkDriveAddress(const conf::XmlNode& disk, const std::string& bus, int index) const;
    /// Reads every controller's <address> before any device needs its controller: where the
    /// machine has it built in (pc's IDE, q35's AHCI) it must say so; the controllers Corral
    /// adds (USB, SCSI, virtio-serial, pc's AHCI, root ports) go where it says.
    Result<void> planControllerAddresses();
    /// bootindex=N: the device's own <boot order=...>, else the first device of its kind when
    /// <os><boot dev=...> names that kind.
    Result<void> addBootIndex(QemuOpts& device, const conf::XmlNode& node, const std::string& kind);
    Result<void> addDevice(const conf::XmlNode& dev);
    Result<std::string> chardevBackend(const conf::XmlNode& chr, const std::string& id);
    Result<void> ensureUsbController();
    void ensureScsiController(unsigned index);
    void ensureAhci();

    const conf::DomainDef& def_;
    const QemuLaunchContext& ctx_;
    Machine machine_;
    std::vector<std::string> argv_;
    unsigned iothreads_ = 0;
    unsigned diskCount_ = 0, serialCount_ = 0, videoCount_ = 0, rngCount_ = 0, inputCount_ = 0, virtioConsoles_ = 0;
    std::size_t interfaceIndex_ = 0;
    bool usbAdded_ = false, ahciAdded_ = false, hasGraphics_ = false, hasVideo_ = false;
    bool virtioSerialAdded_ = false, hasPanic_ = false;
    bool hasSpice_ = false;  // a <graphics type='spice'>: what spicevmc devices and audio need
    unsigned channelCount_ = 0, redirCount_ = 0, soundCount_ = 0;
    std::string audiodev_;  // the -audiodev id once added
    std::string keymap_;    // the -k once added
    /// QEMU's -action watchdog=... for the one <watchdog>; empty without one.
    std::string watchdogAction_;
    std::set<unsigned> scsiControllers_;
    /// Where the controllers Corral adds go, by type and index ("usb0", "scsi0"; a USB
    /// companion adds its model: "usb0ich9-uhci1").
    std::map<std::string, Placement> controllerPlace_;
    /// Boot order from <os><boot dev=...>: first disk, cdrom and interface get bootindex.
    std::map<std::string, int> bootIndexByKind_;
    std::set<std::string> kindsBooted_;
};

}  // namespace corral::drivers::qemu::detail
