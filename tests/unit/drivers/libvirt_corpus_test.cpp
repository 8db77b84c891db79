// SPDX-License-Identifier: LGPL-2.1-or-later
// libvirt's own test inputs (qemuxml2argvdata, lxcxml2xmldata, networkxml2xmlin, fetched from
// Debian's source package by scripts/fetch-libvirt-corpus.sh, never copied into the repository)
// through the same checks a define runs. Every definition is either refused (a parse error or
// an unsupported configuration naming what) or accepted, and an accepted one holds nothing but
// what its driver's table in docs/domain-xml.md says the driver acts on, and descriptive parts:
// enforced or refused, never ignored. An accepted guest definition also yields a command line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "conf/network_def.hpp"
#include "coverage_table.hpp"
#include "drivers/lxc/container_definition.hpp"
#include "drivers/qemu/qemu_command.hpp"
#include "drivers/qemu/qemu_validate.hpp"

namespace corral::drivers {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus(const std::string& subdir) {
    fs::path dir = fs::path(CORRAL_LIBVIRT_CORPUS) / subdir;
    std::vector<fs::path> out;
    if (fs::is_directory(dir)) {
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().extension() == ".xml") {
                out.push_back(e.path());
            }
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// The refusals a define may answer with: anything else (an internal error) is a bug.
bool isRefusal(ErrorCode code) {
    return code == ErrorCode::XmlError || code == ErrorCode::XmlDetail || code == ErrorCode::ConfigUnsupported ||
           code == ErrorCode::InvalidArg || code == ErrorCode::ConfSyntax;
}

struct Tally {
    int accepted = 0, refused = 0;
    std::map<std::string, int> reasons;  ///< the first words of each refusal
    void refuse(const Error& e) {
        ++refused;
        std::string head = e.message.substr(0, e.message.find_first_of(":(", 1));
        ++reasons[head.substr(0, 60)];
    }
    void print(const std::string& what, std::size_t total) const {
        std::vector<std::pair<int, std::string>> top;
        for (const auto& [r, n] : reasons) {
            top.emplace_back(n, r);
        }
        std::sort(top.rbegin(), top.rend());
        std::printf("%s: %zu definitions, %d accepted, %d refused; most common refusals:\n", what.c_str(), total,
                    accepted, refused);
        for (std::size_t i = 0; i < top.size() && i < 8; ++i) {
            std::printf("  %4d  %s\n", top[i].first, top[i].second.c_str());
        }
    }
};

/// Parse, post-parse and validate as DomainManager::parseForDriver does.
Result<std::unique_ptr<conf::DomainDef>> define(const fs::path& file) {
    CORRAL_ASSIGN_OR_RETURN(auto def, conf::parseDomainXml(coverage::slurp(file)));
    std::uint32_t n = 1;
    conf::PostParseContext ctx;
    ctx.generateUuid = [] { return *Uuid::parse("11111111-2222-3333-4444-555555555555"); };
    ctx.macInUse = [](const std::string&) { return false; };
    ctx.random32 = [&n] { return n++; };
    CORRAL_TRY(conf::postParseDomainDef(*def, ctx));
    CORRAL_TRY(conf::validateDomainDef(*def));
    return def;
}

/// Every part of an accepted definition is in the driver's table or descriptive.
void expectOnlyEnforcedParts(const conf::DomainDef& def, const std::set<std::string>& documented,
                             const fs::path& file) {
    for (const auto& part : coverage::domainParts(def, nullptr)) {
        EXPECT_TRUE(documented.contains(part)) << file.filename() << " was accepted with '" << part
                                               << "', which its driver does not list as acted on";
    }
}

TEST(LibvirtCorpus, QemuDefinitionsAreEnforcedOrRefused) {
    const auto files = corpus("qemuxml2argvdata");
    ASSERT_GT(files.size(), 500u) << "libvirt's corpus is missing from " << CORRAL_LIBVIRT_CORPUS
                                  << ": run scripts/fetch-libvirt-corpus.sh (scripts/test.sh does)";
    const auto documented = coverage::documentedParts(coverage::slurp(CORRAL_SOURCE_DIR "/docs/domain-xml.md"), "qemu");
    ASSERT_FALSE(documented.empty());
    security::SecurityConfig config;
    config.drivers = {"dac"};
    auto security = security::SecurityManager::create(config, nullptr);
    ASSERT_TRUE(security);
    Tally tally;
    for (const auto& file : files) {
        auto def = define(file);
        if (def && (*def)->type != "qemu" && (*def)->type != "kvm") {
            def = fail(ErrorCode::ConfigUnsupported, "domain type '" + (*def)->type + "'");
        }
        Result<void> checked = def ? qemu::checkQemuGuestDefinition(**def, security->get(), true)
                                   : Result<void>(unexpected(def.error()));
        if (!checked) {
            EXPECT_TRUE(isRefusal(checked.error().code)) << file.filename() << ": " << checked.error().message;
            EXPECT_FALSE(checked.error().message.empty()) << file.filename();
            tally.refuse(checked.error());
            continue;
        }
        ++tally.accepted;
        expectOnlyEnforcedParts(**def, documented, file);
        qemu::QemuLaunchContext ctx;
        ctx.monitorFd = 3;
        ctx.planOnly = true;
        auto argv = qemu::buildQemuCommandLine(**def, ctx);
        EXPECT_TRUE(argv) << file.filename() << ": " << argv.error().message;
    }
    tally.print("qemuxml2argvdata", files.size());
    // Not vacuous: plain libvirt guests are accepted.
    EXPECT_GT(tally.accepted, 20);
}

TEST(LibvirtCorpus, ContainerDefinitionsAreEnforcedOrRefused) {
    const auto files = corpus("lxcxml2xmldata");
    ASSERT_GT(files.size(), 5u) << "libvirt's corpus is missing from " << CORRAL_LIBVIRT_CORPUS;
    const auto documented = coverage::documentedParts(coverage::slurp(CORRAL_SOURCE_DIR "/docs/domain-xml.md"), "lxc");
    ASSERT_FALSE(documented.empty());
    Tally tally;
    for (const auto& file : files) {
        auto def = define(file);
        Result<void> checked = def ? lxc::checkContainerDefinition(**def) : Result<void>(unexpected(def.error()));
        if (!checked) {
            EXPECT_TRUE(isRefusal(checked.error().code)) << file.filename() << ": " << checked.error().message;
            tally.refuse(checked.error());
            continue;
        }
        ++tally.accepted;
        expectOnlyEnforcedParts(**def, documented, file);
    }
    tally.print("lxcxml2xmldata", files.size());
}

TEST(LibvirtCorpus, NetworkDefinitionsAreEnforcedOrRefused) {
    const auto files = corpus("networkxml2xmlin");
    ASSERT_GT(files.size(), 20u) << "libvirt's corpus is missing from " << CORRAL_LIBVIRT_CORPUS;
    Tally tally;
    for (const auto& file : files) {
        auto def = conf::parseNetworkXml(coverage::slurp(file));
        if (!def) {
            EXPECT_TRUE(isRefusal(def.error().code)) << file.filename() << ": " << def.error().message;
            tally.refuse(def.error());
            continue;
        }
        ++tally.accepted;
        // What was accepted is what the driver keeps: formatting it and reading it back is the same.
        auto again = conf::parseNetworkXml(conf::formatNetworkXml(**def));
        ASSERT_TRUE(again) << file.filename() << ": " << again.error().message;
        EXPECT_EQ(conf::formatNetworkXml(**again), conf::formatNetworkXml(**def)) << file.filename();
    }
    tally.print("networkxml2xmlin", files.size());
    EXPECT_GT(tally.accepted, 0);
}

}  // namespace
}  // namespace corral::drivers
