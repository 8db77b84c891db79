// SPDX-License-Identifier: LGPL-2.1-or-later
// "Accepted means enforced", checked against the documentation: the tables of docs/domain-xml.md
// list, per driver, every element and attribute the driver acts on. Each sample definition of a
// driver is run through that driver's check under an XmlReadTracker; every part the check read
// must be in the driver's table, and every part in the table must be read by some sample. A
// part the code starts acting on without the table saying so fails here, and so does a table
// row no code reads any more. CORRAL_TEST_REGENERATE=1 rewrites the tables from the code.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "conf/domain_coverage.hpp"
#include "coverage_table.hpp"
#include "drivers/lxc/container_definition.hpp"
#include "drivers/qemu/qemu_validate.hpp"

namespace corral::drivers {
namespace {

namespace fs = std::filesystem;
using coverage::documentedParts;
using coverage::slurp;

constexpr const char* kDocsFile = CORRAL_SOURCE_DIR "/docs/domain-xml.md";

std::unique_ptr<conf::DomainDef> load(const fs::path& file) {
    auto def = conf::parseDomainXml(slurp(file));
    EXPECT_TRUE(def) << file << ": " << def.error().message;
    if (!def) {
        return nullptr;
    }
    std::uint32_t counter = 0x10;
    conf::PostParseContext ctx;
    ctx.generateUuid = [] { return *Uuid::parse("11111111-2222-3333-4444-555555555555"); };
    ctx.macInUse = [](const std::string&) { return false; };
    ctx.random32 = [&counter] { return counter++; };
    auto post = conf::postParseDomainDef(**def, ctx);
    EXPECT_TRUE(post) << file << ": " << post.error().message;
    return std::move(*def);
}

std::vector<fs::path> samples(const std::vector<fs::path>& dirs) {
    std::vector<fs::path> out;
    for (const auto& dir : dirs) {
        for (const auto& e : fs::directory_iterator(dir)) {
            const fs::path& p = e.path();
            // Golden inputs whose expected result is a refusal are not accepted definitions.
            if (p.extension() == ".xml" && p.stem().string().find('.') == std::string::npos &&
                !fs::exists(p.parent_path() / (p.stem().string() + ".err"))) {
                out.push_back(p);
            }
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string tableRows(const std::set<std::string>& parts) {
    std::map<std::string, std::vector<std::string>> byElement;
    for (const auto& p : parts) {
        auto at = p.find('@');
        if (at == std::string::npos) {
            byElement[p];
        } else {
            byElement[p.substr(0, at)].push_back(p.substr(at + 1));
        }
    }
    std::string out = "| element | attributes acted on |\n|---|---|\n";
    for (const auto& [element, attrs] : byElement) {
        out += "| `" + element + "` |";
        for (const auto& a : attrs) {
            out += " `" + a + "`";
        }
        out += " |\n";
    }
    return out;
}

void compareWithDocs(const std::string& driver, const std::set<std::string>& observed) {
    std::string docs = slurp(kDocsFile);
    if (std::getenv("CORRAL_TEST_REGENERATE") != nullptr) {
        const std::string open = "<!-- coverage:" + driver + " -->\n", close = "<!-- /coverage:" + driver + " -->";
        auto begin = docs.find(open), end = docs.find(close);
        ASSERT_NE(begin, std::string::npos);
        docs.replace(begin + open.size(), end - begin - open.size(), tableRows(observed));
        std::ofstream(kDocsFile) << docs;
        GTEST_SKIP() << "regenerated the '" << driver << "' table in " << kDocsFile;
    }
    const std::set<std::string> documented = documentedParts(docs, driver);
    ASSERT_FALSE(documented.empty()) << "no table for the " << driver << " driver in " << kDocsFile;
    for (const auto& p : observed) {
        EXPECT_TRUE(documented.contains(p)) << "the " << driver << " driver acts on '" << p
                                            << "', which its table in docs/domain-xml.md does not list";
    }
    for (const auto& p : documented) {
        EXPECT_TRUE(observed.contains(p)) << "docs/domain-xml.md lists '" << p << "' for the " << driver
                                          << " driver, but no sample definition's check reads it";
    }
}

TEST(DefinitionCoverage, QemuTableListsExactlyWhatTheDriverActsOn) {
    security::SecurityConfig config;
    config.drivers = {"dac"};
    auto security = security::SecurityManager::create(config, nullptr);
    ASSERT_TRUE(security) << security.error().message;
    std::set<std::string> observed;
    for (const auto& file : samples({CORRAL_SOURCE_DIR "/tests/golden/qemu_argv",
                                     CORRAL_SOURCE_DIR "/tests/unit/drivers/coverage/qemu"})) {
        auto def = load(file);
        ASSERT_TRUE(def);
        conf::XmlReadTracker reads;
        auto checked = qemu::checkQemuGuestDefinition(*def, security->get(), true);
        ASSERT_TRUE(checked) << file << ": " << checked.error().message;
        observed.merge(coverage::domainParts(*def, &reads));
    }
    compareWithDocs("qemu", observed);
}

TEST(DefinitionCoverage, LxcTableListsExactlyWhatTheDriverActsOn) {
    std::set<std::string> observed;
    for (const auto& file : samples({CORRAL_SOURCE_DIR "/tests/unit/drivers/coverage/lxc"})) {
        auto def = load(file);
        ASSERT_TRUE(def);
        conf::XmlReadTracker reads;
        auto checked = lxc::checkContainerDefinition(*def);
        ASSERT_TRUE(checked) << file << ": " << checked.error().message;
        observed.merge(coverage::domainParts(*def, &reads));
    }
    compareWithDocs("lxc", observed);
}

}  // namespace
}  // namespace corral::drivers
