// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzzes domain XML parse -> post-parse -> validate -> format, and checks that whatever is
// formatted parses again (the round-trip property the store relies on).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conf/domain_def.hpp"

using namespace corral;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view xml(reinterpret_cast<const char*>(data), size);
    auto def = conf::parseDomainXml(xml);
    if (!def) {
        return 0;
    }
    conf::PostParseContext ctx;
    ctx.generateUuid = [] { return Uuid{}; };
    std::uint32_t n = 1;
    ctx.random32 = [&n] { return n++; };
    ctx.macInUse = [](const std::string&) { return false; };
    if (!conf::postParseDomainDef(**def, ctx) || !conf::validateDomainDef(**def)) {
        return 0;
    }
    conf::FormatOptions opts;
    opts.secure = true;
    std::string out = conf::formatDomainXml(**def, opts);
    auto again = conf::parseDomainXml(out);
    if (!again) {
        __builtin_trap();
    }
    return 0;
}
