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
#include "golden_files.hpp"

using namespace corral;
namespace fs = std::filesystem;

namespace {

using golden::slurp;

class ConfRoundTrip : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(ConfRoundTrip, MatchesExpected) {
    fs::path dir(CORRAL_GOLDEN_DIR);
    std::string input = slurp(dir / (GetParam() + ".xml"));
    auto def = conf::parseDomainXml(input);
    ASSERT_TRUE(def) << def.error().wireMessage();
    std::uint32_t counter = 0x112233;
    conf::PostParseContext ctx = golden::deterministicPostParse(counter);
    ASSERT_TRUE(conf::postParseDomainDef(**def, ctx));
    auto valid = conf::validateDomainDef(**def);
    ASSERT_TRUE(valid) << valid.error().wireMessage();
    conf::FormatOptions opts;
    opts.secure = true;
    std::string actual = conf::formatDomainXml(**def, opts);
    fs::path expectedPath = dir / (GetParam() + ".out.xml");
    if (golden::regenerate()) {
        std::ofstream(expectedPath) << actual;
    }
    ASSERT_TRUE(fs::exists(expectedPath)) << expectedPath << " missing (run with CORRAL_TEST_REGENERATE=1)";
    std::string expected = slurp(expectedPath);
    EXPECT_EQ(expected, actual) << golden::diff(expected, actual);
    // Idempotence: formatting the output again changes nothing.
    auto again = conf::parseDomainXml(actual);
    ASSERT_TRUE(again) << again.error().wireMessage();
    ASSERT_TRUE(conf::postParseDomainDef(**again, ctx));
    EXPECT_EQ(conf::formatDomainXml(**again, opts), actual);
}

INSTANTIATE_TEST_SUITE_P(Golden, ConfRoundTrip,
                         ::testing::ValuesIn(golden::xmlCases(CORRAL_GOLDEN_DIR, ".out.xml")),
                         [](const ::testing::TestParamInfo<std::string>& p) { return golden::testName(p.param); });

TEST(ConfRoundTripFiles, NoOrphanExpectations) {
    for (const auto& e : fs::directory_iterator(CORRAL_GOLDEN_DIR)) {
        std::string name = e.path().filename();
        if (name.ends_with(".out.xml")) {
            fs::path input = e.path().parent_path() / (name.substr(0, name.size() - 8) + ".xml");
            EXPECT_TRUE(fs::exists(input)) << name << " has no input " << input;
        }
    }
}
