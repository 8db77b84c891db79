// SPDX-License-Identifier: LGPL-2.1-or-later
// The test driver: DomainManager over TestBackend, with libvirt test:///default's fixtures.
#include "drivers/test/test_driver.hpp"

#include <iterator>

#include "drivers/common/managed_driver.hpp"
#include "drivers/secret/secret_manager.hpp"
#include "drivers/test/test_backend.hpp"
#include "drivers/test/test_storage.hpp"

namespace corral::drivers {

namespace {

/// libvirt's test driver's virConnectGetMaxVcpus.
constexpr unsigned kMaxVcpus = 32;

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

constexpr const char* kSysinfoXml = R"(<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
)";

// The CPU models libvirt 9.0 knows for these architectures (its cpu_map), which its test
// driver lists.
constexpr const char* kX86CpuModels[] = {
    "486", "pentium", "pentium2", "pentium3", "pentiumpro", "coreduo", "n270", "core2duo", "qemu32", "kvm32",
    "cpu64-rhel5", "cpu64-rhel6", "qemu64", "kvm64", "Conroe", "Penryn", "Nehalem", "Nehalem-IBRS", "Westmere",
    "Westmere-IBRS", "SandyBridge", "SandyBridge-IBRS", "IvyBridge", "IvyBridge-IBRS", "Haswell-noTSX",
    "Haswell-noTSX-IBRS", "Haswell", "Haswell-IBRS", "Broadwell-noTSX", "Broadwell-noTSX-IBRS", "Broadwell",
    "Broadwell-IBRS", "Skylake-Client", "Skylake-Client-IBRS", "Skylake-Client-noTSX-IBRS", "Skylake-Server",
    "Skylake-Server-IBRS", "Skylake-Server-noTSX-IBRS", "Cascadelake-Server", "Cascadelake-Server-noTSX",
    "Icelake-Client", "Icelake-Client-noTSX", "Icelake-Server", "Icelake-Server-noTSX", "Cooperlake", "Snowridge",
    "athlon", "phenom", "Opteron_G1", "Opteron_G2", "Opteron_G3", "Opteron_G4", "Opteron_G5", "EPYC", "EPYC-IBPB",
    "EPYC-Rome", "EPYC-Milan", "Dhyana"};
constexpr const char* kPpc64CpuModels[] = {"POWER6", "POWER7", "POWER8", "POWER9", "POWER10", "POWERPC_e5500",
                                           "POWERPC_e6500"};

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
    Result<int> maxVcpus(const std::string&) override { return static_cast<int>(kMaxVcpus); }

    // libvirt's test driver answers these with fixed values; scripts tested against it expect them.
    Result<std::vector<NodeCounter>> nodeCpuStats(int, int nparams) override {
        std::vector<NodeCounter> all{{"user", 9797400000ull},
                                     {"kernel", 34678723400000ull},
                                     {"idle", 87264900000ull},
                                     {"iowait", 763600000ull}};
        if (nparams > 0 && static_cast<std::size_t>(nparams) < all.size()) {
            all.resize(static_cast<std::size_t>(nparams));  // it fills as many as asked for
        }
        return all;
    }
    /// The two cells of the capabilities: libvirt's test driver reports each cell's size as its
    /// free memory, and the sum of half of each as the host's.
    Result<std::vector<std::uint64_t>> cellsFreeMemory(int startCell, int maxCells) override {
        constexpr std::uint64_t kCells[] = {2097152, 4194304};
        if (startCell < 0 || startCell >= 2) {
            return fail(ErrorCode::InvalidArg, "Range exceeds available cells", ErrorDomain::Test);
        }
        std::vector<std::uint64_t> out;
        for (int cell = startCell; cell < 2 && static_cast<int>(out.size()) < maxCells; ++cell) {
            out.push_back(kCells[cell]);
        }
        return out;
    }
    Result<std::uint64_t> freeMemory() override { return std::uint64_t{1048576 + 2097152}; }
    /// Eight CPUs, of which 0, 2 and 4 are online.
    Result<NodeCpuMap> cpuMap() override { return NodeCpuMap{8, {0x15}, 3}; }
    Result<std::string> sysinfoXml() override { return std::string(kSysinfoXml); }
    Result<std::vector<std::string>> cpuModelNames(const std::string& arch) override {
        if (arch == "x86_64" || arch == "i686") {
            return std::vector<std::string>(std::begin(kX86CpuModels), std::end(kX86CpuModels));
        }
        if (arch == "ppc64" || arch == "ppc64le") {
            return std::vector<std::string>(std::begin(kPpc64CpuModels), std::end(kPpc64CpuModels));
        }
        if (arch == "aarch64" || arch == "armv7l" || arch == "armv6l" || arch == "s390x") {
            return std::vector<std::string>{};  // libvirt accepts any model name there
        }
        if (arch == "mips" || arch == "mipsel" || arch == "mips64" || arch == "sparc" || arch == "riscv64") {
            return fail(ErrorCode::NoSupport, "'" + arch + "' architecture is not supported by CPU driver",
                        ErrorDomain::Test);
        }
        return fail(ErrorCode::InvalidArg, "cannot find architecture " + arch, ErrorDomain::Test);
    }
};

class TestDriver final : public ManagedDriver {
public:
    TestDriver()
        : ManagedDriver(DomainManagerOptions{"test", nullptr, nullptr, {}, kMaxVcpus}, std::make_unique<TestBackend>()) {}

    Result<void> seed() {
        CORRAL_TRY(manager_.seedDomain(kDefaultDomainXml, true, true));
        return {};
    }

    std::string name() const override { return "test"; }
    HostInfo* host() override { return &host_; }
    SecretFacet* secrets() override { return &secrets_; }
    StorageFacet* storage() override { return storage_.get(); }

private:
    TestHostInfo host_;
    secret::SecretManager secrets_{secret::SecretPaths{}};  // in memory, as libvirt's test driver
    std::unique_ptr<StorageFacet> storage_ = createTestStorage();
};

}  // namespace

Result<std::unique_ptr<HypervisorDriver>> createTestDriver() {
    auto driver = std::make_unique<TestDriver>();
    CORRAL_TRY(driver->seed().withContext("seeding the test driver"));
    return std::unique_ptr<HypervisorDriver>(std::move(driver));
}

}  // namespace corral::drivers
