// SPDX-License-Identifier: LGPL-2.1-or-later
// Golden round trip: every NAME.xml in conf_roundtrip/ is parsed, post-parsed (deterministic
// UUID and MACs), validated and formatted; the result must equal NAME.out.xml. An expected file
// without its input fails. CORRAL_TEST_REGENERATE=1 rewrites the expected files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/domain_def.hpp"

using namespace corral;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> cases() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(CORRAL_GOLDEN_DIR)) {
        std::string name = e.path().filename();
        if (name.size() > 4 && name.ends_with(".xml") && !name.ends_with(".out.xml")) {
            out.push_back(name.substr(0, name.size() - 4));
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Line-by-line difference, enough to see what moved.
std::string diff(const std::string& expected, const std::string& actual) {
    std::istringstream e(expected), a(actual);
    std::string le, la, out;
    int line = 1;
    while (true) {
        bool he = static_cast<bool>(std::getline(e, le));
        bool ha = static_cast<bool>(std::getline(a, la));
        if (!he && !ha) {
            break;
        }
        if (!he || !ha || le != la) {
            out += "@@ line " + std::to_string(line) + "\n-" + (he ? le : "<eof>") + "\n+" + (ha ? la : "<eof>") + "\n";
        }
        ++line;
    }
    return out;
}

class ConfRoundTrip : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(ConfRoundTrip, MatchesExpected) {
    fs::path dir(CORRAL_GOLDEN_DIR);
    std::string input = slurp(dir / (GetParam() + ".xml"));
    auto def = conf::parseDomainXml(input);
    ASSERT_TRUE(def) << def.error().wireMessage();
    conf::PostParseContext ctx;
    ctx.generateUuid = [] { return *Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db1809"); };
    std::uint32_t counter = 0x112233;
    ctx.random32 = [&counter] { return counter++; };
    ctx.macInUse = [](const std::string&) { return false; };
    ASSERT_TRUE(conf::postParseDomainDef(**def, ctx));
    auto valid = conf::validateDomainDef(**def);
    ASSERT_TRUE(valid) << valid.error().wireMessage();
    conf::FormatOptions opts;
    opts.secure = true;
    std::string actual = conf::formatDomainXml(**def, opts);
    fs::path expectedPath = dir / (GetParam() + ".out.xml");
    const char* regen = std::getenv("CORRAL_TEST_REGENERATE");
    if (regen != nullptr && std::string(regen) == "1") {
        std::ofstream(expectedPath) << actual;
    }
    ASSERT_TRUE(fs::exists(expectedPath)) << expectedPath << " missing (run with CORRAL_TEST_REGENERATE=1)";
    std::string expected = slurp(expectedPath);
    EXPECT_EQ(expected, actual) << diff(expected, actual);
    // Idempotence: formatting the output again changes nothing.
    auto again = conf::parseDomainXml(actual);
    ASSERT_TRUE(again) << again.error().wireMessage();
    ASSERT_TRUE(conf::postParseDomainDef(**again, ctx));
    EXPECT_EQ(conf::formatDomainXml(**again, opts), actual);
}

INSTANTIATE_TEST_SUITE_P(Golden, ConfRoundTrip, ::testing::ValuesIn(cases()),
                         [](const auto& param) {
                             std::string n = param.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

TEST(ConfRoundTripFiles, NoOrphanExpectations) {
    for (const auto& e : fs::directory_iterator(CORRAL_GOLDEN_DIR)) {
        std::string name = e.path().filename();
        if (name.ends_with(".out.xml")) {
            fs::path input = e.path().parent_path() / (name.substr(0, name.size() - 8) + ".xml");
            EXPECT_TRUE(fs::exists(input)) << name << " has no input " << input;
        }
    }
}
