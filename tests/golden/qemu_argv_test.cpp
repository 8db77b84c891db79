// SPDX-License-Identifier: LGPL-2.1-or-later
// Golden QEMU command lines: every NAME.xml in qemu_argv/ is parsed and post-parsed like a
// define, then turned into argv with a fixed launch context (the descriptors and paths a start
// would choose); the result, one argument per line, must equal NAME.args. A NAME.err file
// instead holds the error a definition QEMU cannot run must get, including a part of the
// definition the command line does not act on ("accepted means enforced"). The command line targets
// Debian's QEMU 7.2; nothing is probed. CORRAL_TEST_REGENERATE=1 rewrites the expected files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/domain_coverage.hpp"
#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qemu_implicit_devices.hpp"
#include "drivers/qemu/qemu_pci_addresses.hpp"
#include "golden_files.hpp"
#include "util/name_escape.hpp"

using namespace corral;
namespace fs = std::filesystem;

namespace {

using golden::slurp;

/// What the test expects for a case: argv one per line, or "error: MESSAGE".
Result<std::string> render(const std::string& name) {
    fs::path dir(CORRAL_GOLDEN_DIR);
    CORRAL_ASSIGN_OR_RETURN(auto def, conf::parseDomainXml(slurp(dir / (name + ".xml"))));
    std::uint32_t counter = 0x112233;
    conf::PostParseContext ctx = golden::deterministicPostParse(counter);
    CORRAL_TRY(conf::postParseDomainDef(*def, ctx));
    CORRAL_TRY(conf::validateDomainDef(*def));
    drivers::qemu::addImplicitDevices(*def);  // as a define does (completeDefinition)
    CORRAL_TRY(drivers::qemu::assignPciAddresses(*def));
    drivers::qemu::QemuLaunchContext launch;
    launch.monitorFd = 3;
    launch.pidFile = pathForName("/run/corral/qemu", def->name, ".pid");  // as the backend names it
    launch.tapFds = {30, 31, 32, 33};
    launch.diskSecretFds = {{"vda", 50}, {"vdb", 51}};  // encrypted disks' passphrase memfds
    int nextConsoleFd = 40;  // the listening sockets of 'pty' consoles, in the order asked for
    launch.chardevSocket = [&](const std::string&) -> Result<int> { return nextConsoleFd++; };
    if (name.find("-restore") != std::string::npos) {
        launch.incoming = "defer";
    }
    if (name.find("-nosandbox") != std::string::npos) {
        launch.seccompSandbox = false;
    }
    // As a define does (QemuBackend::checkDefinition): what the command line did not read is
    // refused by name. These inputs have no <seclabel> or tuning, the other parts start reads.
    conf::XmlReadTracker reads;
    CORRAL_ASSIGN_OR_RETURN(auto argv, drivers::qemu::buildQemuCommandLine(*def, launch));
    CORRAL_TRY(conf::refuseUnreadParts(*def, reads, "qemu", ErrorDomain::Qemu));
    std::string out;
    for (const auto& a : argv) {
        out += a + "\n";
    }
    return out;
}

class QemuArgv : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(QemuArgv, MatchesExpected) {
    fs::path dir(CORRAL_GOLDEN_DIR);
    auto rendered = render(GetParam());
    bool expectError = fs::exists(dir / (GetParam() + ".err"));
    std::string actual = rendered ? *rendered : rendered.error().wireMessage() + "\n";
    fs::path expectedPath = dir / (GetParam() + (rendered ? ".args" : ".err"));
    if (golden::regenerate()) {
        fs::remove(dir / (GetParam() + ".args"));
        fs::remove(dir / (GetParam() + ".err"));
        std::ofstream(expectedPath) << actual;
        GTEST_SKIP() << "regenerated " << expectedPath;
    }
    ASSERT_EQ(expectError, !rendered) << (rendered ? "expected an error, got argv" : actual);
    ASSERT_TRUE(fs::exists(expectedPath)) << "missing " << expectedPath;
    std::string expected = slurp(expectedPath);
    EXPECT_EQ(expected, actual) << golden::diff(expected, actual);
}

INSTANTIATE_TEST_SUITE_P(Golden, QemuArgv, ::testing::ValuesIn(golden::xmlCases(CORRAL_GOLDEN_DIR)),
                         [](const ::testing::TestParamInfo<std::string>& p) { return golden::testName(p.param); });

TEST(QemuArgvGolden, EveryExpectedFileHasItsInput) {
    for (const auto& e : fs::directory_iterator(CORRAL_GOLDEN_DIR)) {
        auto p = e.path();
        if (p.extension() == ".args" || p.extension() == ".err") {
            EXPECT_TRUE(fs::exists(p.parent_path() / (p.stem().string() + ".xml"))) << p;
        }
    }
}
