// SPDX-License-Identifier: LGPL-2.1-or-later
// SELinux context parsing and MCS category pair allocation for sVirt (see selinux_labels.hpp).
#include "security/selinux_labels.hpp"

#include <charconv>
#include <optional>
#include <string>

namespace corral::security {

namespace {

// Random draws before allocate() gives up. With libvirt's 523,776 pairs a healthy source needs
// one or two; only a source stuck on taken values, or a nearly full tiny range, gets this far.
constexpr int kMaxAllocateTries = 10000;

bool isWordChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// user, role and type identifiers of the policy language: words that may also hold '.' and '-'.
bool isIdentifier(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!isWordChar(c) && c != '.' && c != '-') {
            return false;
        }
    }
    return true;
}

bool isWord(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!isWordChar(c)) {
            return false;
        }
    }
    return true;
}

// "c3" or "c0.c1023" (an inclusive run of categories).
bool isCategoryItem(std::string_view s) {
    const auto dot = s.find('.');
    if (dot == std::string_view::npos) {
        return isWord(s);
    }
    return isWord(s.substr(0, dot)) && isWord(s.substr(dot + 1));
}

// A level: a sensitivity, optionally followed by ':' and a comma-separated category set.
bool isLevel(std::string_view s) {
    const auto colon = s.find(':');
    if (colon == std::string_view::npos) {
        return isWord(s);
    }
    if (!isWord(s.substr(0, colon))) {
        return false;
    }
    std::string_view cats = s.substr(colon + 1);
    while (true) {
        const auto comma = cats.find(',');
        if (!isCategoryItem(cats.substr(0, comma))) {
            return false;
        }
        if (comma == std::string_view::npos) {
            return true;
        }
        cats.remove_prefix(comma + 1);
    }
}

// A category number in canonical form: digits only, no leading zero, so each pair has one text.
std::optional<std::uint32_t> parseCategory(std::string_view s) {
    if (s.size() < 2 || s[0] != 'c' || (s[1] == '0' && s.size() > 2)) {
        return std::nullopt;
    }
    std::uint32_t value = 0;
    const char* first = s.data() + 1;
    const char* last = s.data() + s.size();
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || end != last) {
        return std::nullopt;
    }
    return value;
}

// "s0:cX,cY" with X < Y <= maxCategory, the only form allocate() produces.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parsePair(std::string_view range,
                                                                 std::uint32_t maxCategory) {
    constexpr std::string_view kPrefix = "s0:";
    if (range.substr(0, kPrefix.size()) != kPrefix) {
        return std::nullopt;
    }
    range.remove_prefix(kPrefix.size());
    const auto comma = range.find(',');
    if (comma == std::string_view::npos) {
        return std::nullopt;
    }
    auto low = parseCategory(range.substr(0, comma));
    auto high = parseCategory(range.substr(comma + 1));
    if (!low || !high || *low >= *high || *high > maxCategory) {
        return std::nullopt;
    }
    return std::pair{*low, *high};
}

std::string formatPair(std::uint32_t low, std::uint32_t high) {
    return "s0:c" + std::to_string(low) + ",c" + std::to_string(high);
}

}  // namespace

Result<SelinuxContext> parseSelinuxContext(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return fail(ErrorCode::InvalidArg,
                    "invalid SELinux context '" + std::string(text) + "': " + std::string(why),
                    ErrorDomain::Security);
    };
    // The range is everything after the third ':', so "s0-s0:c0.c1023" stays whole.
    const auto first = text.find(':');
    const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
    if (second == std::string_view::npos) {
        return bad("expected 'user:role:type[:range]'");
    }
    const auto third = text.find(':', second + 1);
    SelinuxContext ctx;
    ctx.user = std::string(text.substr(0, first));
    ctx.role = std::string(text.substr(first + 1, second - first - 1));
    ctx.type = std::string(text.substr(
        second + 1, third == std::string_view::npos ? std::string_view::npos : third - second - 1));
    if (third != std::string_view::npos) {
        ctx.range = std::string(text.substr(third + 1));
        if (ctx.range.empty()) {
            return bad("empty range after the type");
        }
    }
    if (!isIdentifier(ctx.user)) {
        return bad("bad user '" + ctx.user + "'");
    }
    if (!isIdentifier(ctx.role)) {
        return bad("bad role '" + ctx.role + "'");
    }
    if (!isIdentifier(ctx.type)) {
        return bad("bad type '" + ctx.type + "'");
    }
    if (!ctx.range.empty() && !validateSelinuxRange(ctx.range)) {
        return bad("bad range '" + ctx.range + "'");
    }
    return ctx;
}

std::string formatSelinuxContext(const SelinuxContext& context) {
    std::string out = context.user + ":" + context.role + ":" + context.type;
    if (!context.range.empty()) {
        out += ":" + context.range;
    }
    return out;
}

Result<void> validateSelinuxRange(std::string_view range) {
    // Low level, then optionally '-' and the high level; identifiers in a range never hold '-'.
    const auto dash = range.find('-');
    const bool ok = dash == std::string_view::npos
                        ? isLevel(range)
                        : isLevel(range.substr(0, dash)) && isLevel(range.substr(dash + 1));
    if (!ok) {
        return fail(ErrorCode::InvalidArg, "invalid SELinux MLS range '" + std::string(range) + "'",
                    ErrorDomain::Security);
    }
    return {};
}

Result<std::string> dynamicLabel(std::string_view baseContext, std::string_view mcsRange) {
    CORRAL_ASSIGN_OR_RETURN(SelinuxContext ctx, parseSelinuxContext(baseContext));
    CORRAL_TRY(validateSelinuxRange(mcsRange));
    ctx.range = std::string(mcsRange);
    return formatSelinuxContext(ctx);
}

Result<std::string> dynamicProcessLabel(std::string_view mcsRange) {
    return dynamicLabel(kSvirtProcessBase, mcsRange);
}

Result<std::string> dynamicImageLabel(std::string_view mcsRange) {
    return dynamicLabel(kSvirtImageBase, mcsRange);
}

Result<void> validateStaticLabel(std::string_view label) {
    auto parsed = parseSelinuxContext(label);
    if (!parsed) {
        return fail(ErrorCode::XmlError, "static security label: " + parsed.error().message,
                    ErrorDomain::Security);
    }
    return {};
}

McsAllocator::McsAllocator(std::uint32_t maxCategory) : maxCategory_(maxCategory) {
    CORRAL_CHECK(maxCategory >= 1 && maxCategory <= 65535);
}

Result<std::string> McsAllocator::allocate(const std::function<std::uint32_t()>& random32) {
    std::lock_guard lock(mutex_);
    if (used_.size() >= capacity()) {
        return fail(ErrorCode::OperationFailed,
                    "no free MCS category pair: all " + std::to_string(used_.size()) +
                        " pairs of c0.c" + std::to_string(maxCategory_) + " are in use",
                    ErrorDomain::Security);
    }
    const std::uint32_t count = maxCategory_ + 1;
    for (int attempt = 0; attempt < kMaxAllocateTries; ++attempt) {
        std::uint32_t low = random32() % count;
        std::uint32_t high = random32() % count;
        if (low == high) {
            continue;  // one category alone is not a pair
        }
        if (low > high) {
            std::swap(low, high);
        }
        if (used_.insert({low, high}).second) {
            return formatPair(low, high);
        }
    }
    return fail(ErrorCode::OperationFailed,
                "no free MCS category pair found after " + std::to_string(kMaxAllocateTries) +
                    " random tries (" + std::to_string(used_.size()) + " of " +
                    std::to_string(capacity()) + " in use)",
                ErrorDomain::Security);
}

Result<void> McsAllocator::reserve(std::string_view range) {
    auto pair = parsePair(range, maxCategory_);
    if (!pair) {
        return fail(ErrorCode::InvalidArg,
                    "invalid MCS range '" + std::string(range) +
                        "': expected 's0:cX,cY' with X < Y <= " + std::to_string(maxCategory_),
                    ErrorDomain::Security);
    }
    std::lock_guard lock(mutex_);
    if (!used_.insert(*pair).second) {
        return fail(ErrorCode::InternalError,
                    "MCS range '" + std::string(range) + "' is already reserved by another domain",
                    ErrorDomain::Security);
    }
    return {};
}

void McsAllocator::release(std::string_view range) {
    if (auto pair = parsePair(range, maxCategory_)) {
        std::lock_guard lock(mutex_);
        used_.erase(*pair);
    }
}

bool McsAllocator::inUse(std::string_view range) const {
    auto pair = parsePair(range, maxCategory_);
    if (!pair) {
        return false;
    }
    std::lock_guard lock(mutex_);
    return used_.count(*pair) != 0;
}

std::size_t McsAllocator::size() const {
    std::lock_guard lock(mutex_);
    return used_.size();
}

std::uint64_t McsAllocator::capacity() const {
    const std::uint64_t n = maxCategory_ + std::uint64_t{1};
    return n * (n - 1) / 2;
}

}  // namespace corral::security
