// SPDX-License-Identifier: LGPL-2.1-or-later
#include "drivers/lxc/container_ids.hpp"

#include <algorithm>
#include <filesystem>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace corral::drivers::lxc {

std::optional<unsigned long> pickContainerIds(const Uuid& uuid, const ContainerIdPool& pool,
                                              const std::vector<IdRange>& inUse) {
    const unsigned long blocks = pool.count / kContainerIdCount;
    if (blocks == 0) {
        return std::nullopt;
    }
    std::uint32_t start = 0;
    for (std::uint8_t b : uuid.bytes) {
        start = start * 31 + b;
    }
    for (unsigned long i = 0; i < blocks; ++i) {
        const unsigned long first = pool.first + ((start + i) % blocks) * kContainerIdCount;
        const unsigned long end = first + kContainerIdCount;
        bool taken = std::any_of(inUse.begin(), inUse.end(), [&](const IdRange& r) {
            return r.target < end && first < r.target + r.count;
        });
        if (!taken) {
            return first;
        }
    }
    return std::nullopt;
}

std::vector<IdRange> idRangesInUse(const std::string& runDir, const std::string& exceptPlan) {
    std::vector<IdRange> inUse;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(runDir, ec)) {
        const std::string path = entry.path().string();
        if (!endsWith(path, ".plan") || path == exceptPlan) {
            continue;
        }
        auto text = readTextFile(path);
        auto plan = text ? planFromJson(*text) : Result<ContainerPlan>(unexpected(text.error()));
        if (plan) {
            inUse.insert(inUse.end(), plan->uidMap.begin(), plan->uidMap.end());
            inUse.insert(inUse.end(), plan->gidMap.begin(), plan->gidMap.end());
        }
    }
    return inUse;
}

}  // namespace corral::drivers::lxc
