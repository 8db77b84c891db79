// SPDX-License-Identifier: LGPL-2.1-or-later
// The typed view of <cputune>, <memtune> and <blkiotune>: read, changed, written back with
// everything it does not model kept.
#include "conf/domain_tuning.hpp"

#include <gtest/gtest.h>

namespace corral::conf {
namespace {

constexpr const char* kTuned = R"(<domain type='qemu'>
  <name>t</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <memtune><hard_limit unit='G'>1</hard_limit><min_guarantee unit='MiB'>64</min_guarantee></memtune>
  <cputune>
    <shares>2048</shares><period>100000</period><quota>-1</quota><emulator_quota>50000</emulator_quota>
    <vcpupin vcpu='1' cpuset='0-1'/><emulatorpin cpuset='1'/>
  </cputune>
  <blkiotune><weight>800</weight>
    <device><path>/dev/sda</path><read_bytes_sec>1000</read_bytes_sec></device>
  </blkiotune>
  <os><type>hvm</type></os>
</domain>)";

std::unique_ptr<DomainDef> parsed(const char* xml) {
    auto def = parseDomainXml(xml);
    EXPECT_TRUE(def) << def.error().message;
    return std::move(*def);
}

TEST(DomainTuning, ReadsEveryModelledValueInLibvirtUnits) {
    auto def = parsed(kTuned);
    DomainTuning t = readTuning(*def);
    EXPECT_EQ(t.cpu.shares, 2048u);
    EXPECT_EQ(t.cpu.vcpu.period, 100000u);
    EXPECT_EQ(t.cpu.vcpu.quota, -1);
    EXPECT_EQ(t.cpu.emulator.quota, 50000);
    EXPECT_FALSE(t.cpu.global.period);
    EXPECT_EQ(t.cpu.vcpupin.at(1), "0-1");
    EXPECT_EQ(t.cpu.emulatorpin, "1");
    EXPECT_EQ(t.memory.hardLimitKiB, 1024u * 1024u);
    EXPECT_EQ(t.memory.minGuaranteeKiB, 64u * 1024u);
    EXPECT_FALSE(t.memory.softLimitKiB);
    EXPECT_EQ(t.blkio.weight, 800u);
    ASSERT_EQ(t.blkio.devices.size(), 1u);
    EXPECT_EQ(t.blkio.devices[0].path, "/dev/sda");
    EXPECT_EQ(t.blkio.devices[0].readBytesSec, 1000u);
}

TEST(DomainTuning, WriteBackChangesOnlyWhatChangedAndDropsEmptyElements) {
    auto def = parsed(kTuned);
    DomainTuning t = readTuning(*def);
    t.cpu.shares = 256;
    t.cpu.vcpupin[0] = "1";
    t.memory.hardLimitKiB.reset();
    t.memory.minGuaranteeKiB.reset();
    t.memory.softLimitKiB = 4096;
    t.blkio = {};
    writeTuning(*def, t);
    std::string xml = formatDomainXml(*def);
    EXPECT_NE(xml.find("<shares>256</shares>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<vcpupin vcpu='0' cpuset='1'/>"), std::string::npos);
    EXPECT_NE(xml.find("<vcpupin vcpu='1' cpuset='0-1'/>"), std::string::npos);
    EXPECT_NE(xml.find("<emulator_quota>50000</emulator_quota>"), std::string::npos);
    EXPECT_NE(xml.find("<soft_limit unit='KiB'>4096</soft_limit>"), std::string::npos);
    EXPECT_EQ(xml.find("hard_limit"), std::string::npos);
    EXPECT_EQ(xml.find("<blkiotune"), std::string::npos);
    // Read back, the same values.
    DomainTuning back = readTuning(*def);
    EXPECT_EQ(back.cpu.shares, 256u);
    EXPECT_EQ(back.cpu.vcpupin.size(), 2u);
    EXPECT_EQ(back.memory.softLimitKiB, 4096u);
}

TEST(DomainTuning, AnEmptyDefinitionGainsOnlyWhatIsSet) {
    auto def = parsed("<domain type='qemu'><name>e</name><memory>1024</memory><os><type>hvm</type></os></domain>");
    DomainTuning t = readTuning(*def);
    EXPECT_FALSE(t.cpu.shares);
    writeTuning(*def, t);
    EXPECT_EQ(formatDomainXml(*def).find("tune"), std::string::npos);
    t.memory.hardLimitKiB = 2048;
    writeTuning(*def, t);
    EXPECT_NE(formatDomainXml(*def).find("<memtune>\n    <hard_limit unit='KiB'>2048</hard_limit>"), std::string::npos)
        << formatDomainXml(*def);
}

}  // namespace
}  // namespace corral::conf
