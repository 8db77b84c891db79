// SPDX-License-Identifier: LGPL-2.1-or-later
// consoleDevices: the names virsh console uses for a QEMU guest's serial ports, consoles and
// channels, and the chardev each one is carried by, as the command line names them.
#include <gtest/gtest.h>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_command.hpp"

namespace corral::drivers::qemu {
namespace {

std::vector<ConsoleDevice> devicesOf(const std::string& devices) {
    auto def = conf::parseDomainXml("<domain type='qemu'><name>c</name><memory>65536</memory><os><type>hvm</type>"
                                    "</os><devices>" + devices + "</devices></domain>");
    EXPECT_TRUE(def) << def.error().message;
    return consoleDevices(**def);
}

std::string describe(const std::vector<ConsoleDevice>& devices) {
    std::string out;
    for (const auto& d : devices) {
        out += d.alias + "=" + d.chardevId + "/" + d.type + "@" + std::to_string(d.deviceIndex) + " ";
    }
    return out;
}

TEST(QemuConsoleDevices, AConsoleOnTheFirstSerialPortIsThatPort) {
    EXPECT_EQ(describe(devicesOf("<console type='pty'><target type='serial' port='0'/></console>"
                                 "<serial type='pty'><target port='0'/></serial>"
                                 "<serial type='file'><source path='/tmp/s1'/><target port='1'/></serial>")),
              "serial0=charserial0/pty@1 serial1=charserial1/file@2 console0=charserial0/pty@0 ");
}

TEST(QemuConsoleDevices, VirtioConsolesAndChannelsHaveTheirOwnDevices) {
    EXPECT_EQ(describe(devicesOf("<serial type='null'/>"
                                 "<console type='pty'><target type='serial'/></console>"
                                 "<console type='pty'><target type='virtio'/></console>"
                                 "<channel type='unix'><source mode='bind'/>"
                                 "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>")),
              "serial0=charserial0/null@0 console0=charserial0/null@1 console1=charconsole1/pty@2 "
              "channel0=charchannel0/unix@3 ");
}

TEST(QemuConsoleDevices, AConsoleWithoutASerialPortIsItsOwnDevice) {
    EXPECT_EQ(describe(devicesOf("<console type='pty'/>")), "console0=charserial0/pty@0 ");
}

}  // namespace
}  // namespace corral::drivers::qemu
