// SPDX-License-Identifier: LGPL-2.1-or-later
// test:///default's host facts: fixed values, the same as libvirt's test driver's.
#include "drivers/test/test_host.hpp"

#include <iterator>

namespace corral::drivers {

namespace {

/// libvirt's test driver's capabilities: an i686 host of two NUMA cells of eight CPUs (one socket
/// each, one thread per core), four page sizes, and hvm and xen guests of type 'test'.
std::string buildCapabilitiesXml() {
    std::string x = "<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n      <features>\n"
                    "        <pae/>\n        <nonpae/>\n      </features>\n";
    for (const char* size : {"4", "8", "2048", "1048576"}) {
        x += std::string("      <pages unit='KiB' size='") + size + "'/>\n";
    }
    x += "    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n    <topology>\n      <cells num='2'>\n";
    constexpr unsigned kCellKiB[] = {2097152, 4194304};
    constexpr unsigned kSmallPageKiB[] = {4, 8};  // cell 1's smallest pages are 8 KiB in libvirt's fixture
    for (unsigned cell = 0; cell < 2; ++cell) {
        x += "        <cell id='" + std::to_string(cell) + "'>\n          <memory unit='KiB'>" +
             std::to_string(kCellKiB[cell]) + "</memory>\n";
        x += "          <pages unit='KiB' size='" + std::to_string(kSmallPageKiB[cell]) + "'>" +
             std::to_string(kCellKiB[cell] / kSmallPageKiB[cell]) + "</pages>\n";
        x += "          <pages unit='KiB' size='2048'>0</pages>\n          <pages unit='KiB' size='1048576'>0</pages>\n";
        x += "          <cpus num='8'>\n";
        for (unsigned core = 0; core < 8; ++core) {
            std::string id = std::to_string(cell * 8 + core);
            x += "            <cpu id='" + id + "' socket_id='" + std::to_string(cell) + "' die_id='0' core_id='" +
                 std::to_string(core) + "' siblings='" + id + "'/>\n";
        }
        x += "          </cpus>\n        </cell>\n";
    }
    x += "      </cells>\n    </topology>\n    <secmodel>\n      <model>testSecurity</model>\n      <doi></doi>\n"
         "    </secmodel>\n  </host>\n\n";
    for (const char* osType : {"hvm", "xen"}) {
        x += std::string("  <guest>\n    <os_type>") + osType +
             "</os_type>\n    <arch name='i686'>\n      <wordsize>32</wordsize>\n"
             "      <emulator>/usr/bin/test-hv</emulator>\n      <domain type='test'/>\n    </arch>\n"
             "    <features>\n      <pae/>\n      <nonpae/>\n    </features>\n  </guest>\n\n";
    }
    return x + "</capabilities>\n";
}

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
    std::string type() const override { return "TEST"; }  // virConnectGetType
    std::uint64_t version() const override { return 2; }  // libvirt's test driver: 0.0.2
    std::string uri() const override { return "test:///default"; }
    Result<std::string> capabilitiesXml() override { return buildCapabilitiesXml(); }
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
    std::vector<std::pair<std::string, std::string>> securityModels() override { return {{"testSecurity", ""}}; }
    Result<int> maxVcpus(const std::string&) override { return static_cast<int>(kTestMaxVcpus); }

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

}  // namespace

HostInfo& testHostInfo() {
    static TestHostInfo info;  // stateless: every answer is a constant
    return info;
}

}  // namespace corral::drivers
