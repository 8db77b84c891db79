// SPDX-License-Identifier: LGPL-2.1-or-later
// The test driver: DomainManager over TestBackend, with libvirt test:///default's fixtures.
#include "drivers/test/test_driver.hpp"

#include "drivers/common/managed_driver.hpp"
#include "drivers/test/test_backend.hpp"

namespace corral::drivers {

namespace {

// The same identity and sizes as libvirt's default test domain, so scripts written against
// test:///default find what they expect.
constexpr const char* kDefaultDomainXml = R"(<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
    </interface>
    <memballoon model='virtio'/>
  </devices>
</domain>
)";

constexpr const char* kCapabilitiesXml = R"(<capabilities>

  <host>
    <uuid>cd6a24b3-46f8-01aa-bb39-c39aa2123730</uuid>
    <cpu>
      <arch>i686</arch>
      <features>
        <pae/>
        <nonpae/>
      </features>
    </cpu>
    <power_management/>
    <topology>
      <cells num='2'>
        <cell id='0'>
          <memory unit='KiB'>2097152</memory>
          <cpus num='8'>
            <cpu id='0'/>
            <cpu id='1'/>
            <cpu id='2'/>
            <cpu id='3'/>
            <cpu id='4'/>
            <cpu id='5'/>
            <cpu id='6'/>
            <cpu id='7'/>
          </cpus>
        </cell>
        <cell id='1'>
          <memory unit='KiB'>4194304</memory>
          <cpus num='8'>
            <cpu id='8'/>
            <cpu id='9'/>
            <cpu id='10'/>
            <cpu id='11'/>
            <cpu id='12'/>
            <cpu id='13'/>
            <cpu id='14'/>
            <cpu id='15'/>
          </cpus>
        </cell>
      </cells>
    </topology>
    <secmodel>
      <model>none</model>
      <doi>0</doi>
    </secmodel>
  </host>

  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'>
      <wordsize>32</wordsize>
      <domain type='test'/>
    </arch>
    <features>
      <pae/>
      <nonpae/>
    </features>
  </guest>

</capabilities>
)";

class TestHostInfo final : public HostInfo {
public:
    std::string type() const override { return "Test"; }
    std::uint64_t version() const override { return 2; }  // libvirt's test driver: 0.0.2
    std::string uri() const override { return "test:///default"; }
    Result<std::string> capabilitiesXml() override { return std::string(kCapabilitiesXml); }
    Result<NodeInfo> nodeInfo() override {
        NodeInfo info;
        info.model = "i686";
        info.memoryKiB = 3145728;
        info.cpus = 16;
        info.mhz = 1400;
        info.nodes = 2;
        info.sockets = 2;
        info.cores = 2;
        info.threads = 2;
        return info;
    }
    Result<int> maxVcpus(const std::string&) override { return 32; }
};

class TestDriver final : public ManagedDriver {
public:
    TestDriver() : ManagedDriver(DomainManagerOptions{"test", nullptr, nullptr, {}}, std::make_unique<TestBackend>()) {}

    Result<void> seed() {
        CORRAL_TRY(manager_.seedDomain(kDefaultDomainXml, true, true));
        return {};
    }

    std::string name() const override { return "test"; }
    HostInfo* host() override { return &host_; }

private:
    TestHostInfo host_;
};

}  // namespace

Result<std::unique_ptr<HypervisorDriver>> createTestDriver() {
    auto driver = std::make_unique<TestDriver>();
    CORRAL_TRY(driver->seed().withContext("seeding the test driver"));
    return std::unique_ptr<HypervisorDriver>(std::move(driver));
}

}  // namespace corral::drivers
