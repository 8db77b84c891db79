// SPDX-License-Identifier: LGPL-2.1-or-later
// SELinux label arithmetic for sVirt: parsing and formatting contexts, and handing out the unique
// MCS category pairs that keep one guest's QEMU away from another guest's disks. Pure, no
// libselinux.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.hpp"

namespace corral::security {

/// The process context a dynamically labelled guest's QEMU runs in, before its MCS pair is added.
inline constexpr std::string_view kSvirtProcessBase = "system_u:system_r:svirt_t:s0";
/// The context given to a dynamically labelled guest's disk images, before its MCS pair is added.
inline constexpr std::string_view kSvirtImageBase = "system_u:object_r:svirt_image_t:s0";
/// libvirt's category range is c0.c1023; the highest category an allocator hands out by default.
inline constexpr std::uint32_t kMcsMaxCategory = 1023;

/// "user:role:type:range" split into its parts. `range` keeps its own ':' ("s0-s0:c0.c1023") and
/// is empty for a context written without one (a policy without MLS).
struct SelinuxContext {
    std::string user;
    std::string role;
    std::string type;
    std::string range;

    friend bool operator==(const SelinuxContext&, const SelinuxContext&) = default;
};

/// Splits and checks a raw (untranslated) context such as "system_u:system_r:svirt_t:s0:c12,c34".
/// Fails with InvalidArg, naming the text, when a part is missing, empty or has characters
/// SELinux does not use there.
Result<SelinuxContext> parseSelinuxContext(std::string_view text);

/// The text form; parseSelinuxContext(formatSelinuxContext(c)) gives back c.
std::string formatSelinuxContext(const SelinuxContext& context);

/// Checks an MLS/MCS range on its own ("s0", "s0:c1,c2", "s0-s0:c0.c1023"); InvalidArg if
/// malformed.
Result<void> validateSelinuxRange(std::string_view range);

/// `baseContext` with its range replaced by `mcsRange` (from McsAllocator::allocate()). Fails with
/// InvalidArg when either is malformed.
Result<std::string> dynamicLabel(std::string_view baseContext, std::string_view mcsRange);

/// dynamicLabel(kSvirtProcessBase, mcsRange): what the guest's QEMU process runs as.
Result<std::string> dynamicProcessLabel(std::string_view mcsRange);

/// dynamicLabel(kSvirtImageBase, mcsRange): what the guest's images are relabelled to.
Result<std::string> dynamicImageLabel(std::string_view mcsRange);

/// Checks the <label> of a <seclabel type='static' model='selinux'> from domain XML: it must be a
/// complete, well-formed context (a range is not required, since non-MLS policies have none).
/// Fails with XmlError naming the label; nothing is reserved, static labels are the user's choice.
Result<void> validateStaticLabel(std::string_view label);

/// Hands out MCS ranges "s0:cX,cY" (X < Y <= maxCategory) so that no two running guests share one:
/// a guest may only touch files carrying exactly its own pair. All methods lock an internal mutex,
/// so one allocator can serve concurrent domain starts.
class McsAllocator {
public:
    /// `maxCategory` is the highest category used (1023 for libvirt's c0.c1023); it must be at
    /// least 1 so that a pair exists, and at most 65535.
    explicit McsAllocator(std::uint32_t maxCategory = kMcsMaxCategory);

    /// Picks a random free pair using `random32` (two draws per try) and reserves it. Fails with
    /// OperationFailed when every pair is taken, or when no free pair was drawn in many tries
    /// (a broken random source).
    Result<std::string> allocate(const std::function<std::uint32_t()>& random32);

    /// Marks a range read back from a running guest's label (after a daemon restart) as taken.
    /// Fails with InvalidArg when it is not "s0:cX,cY" with X < Y <= maxCategory, and with
    /// InternalError when another guest already holds it.
    Result<void> reserve(std::string_view range);

    /// Frees a range when its guest stops; unknown or malformed ranges are ignored.
    void release(std::string_view range);

    /// Whether `range` is currently reserved (false for malformed text).
    [[nodiscard]] bool inUse(std::string_view range) const;

    /// How many ranges are reserved.
    [[nodiscard]] std::size_t size() const;

    /// How many distinct pairs exist: (maxCategory + 1) choose 2.
    [[nodiscard]] std::uint64_t capacity() const;

private:
    using Pair = std::pair<std::uint32_t, std::uint32_t>;

    mutable std::mutex mutex_;
    std::uint32_t maxCategory_;
    std::set<Pair> used_;
};

}  // namespace corral::security
