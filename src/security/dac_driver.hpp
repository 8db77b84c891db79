// SPDX-License-Identifier: LGPL-2.1-or-later
// The DAC driver: each guest's process runs under its own uid and gid (by default one pair per
// running guest from a configured range, or qemu.conf's user/group), and the files it needs are
// given to that identity for the run. Original owners and modes are journaled with the inode
// (device and inode number) before any chown, and given back to that inode, never through a
// link, when the last guest using a file stops, or by the next daemon after a crash.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <optional>
#include <set>

#include "security/security_driver.hpp"
#include "util/unique_fd.hpp"

namespace corral::security {

struct DacConfig {
    /// qemu.conf user/group resolved to numbers; unset = per-guest identities.
    std::optional<uid_t> fixedUid;
    std::optional<gid_t> fixedGid;
    uid_t idMin = 200000;  ///< per-guest uid = gid, from [idMin, idMin + idCount)
    std::uint32_t idCount = 65536;
    bool dynamicOwnership = true;
    bool rememberOwner = true;
    std::vector<gid_t> extraGroups;  ///< supplementary groups of every guest (kvm for /dev/kvm)
};

class DacDriver final : public SecurityDriver {
public:
    DacDriver(DacConfig config, OwnerJournal* journal) : config_(std::move(config)), journal_(journal) {}

    [[nodiscard]] std::string model() const override { return "dac"; }
    [[nodiscard]] std::string doi() const override { return "0"; }
    Result<void> prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                         GuestSecurity& security) override;
    void release(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files) override;
    Result<void> reserve(const conf::DomainDef& liveDef) override;
    void restoreOrphans(const std::vector<std::string>& runningHolders) override;

private:
    Result<std::pair<uid_t, gid_t>> chooseIdentity(const conf::DomainDef& def);
    Result<void> giveFile(const GuestFile& file, const std::string& holder, uid_t uid, gid_t gid);
    /// Gives `path` back to its journaled owner and mode, on the inode that was given only.
    void takeBack(const std::string& path, const std::string& holder);
    /// The inode journaled in `owner`, opened O_PATH without following a link to reach it;
    /// nothing when the file is gone; an error naming why when the path now leads elsewhere.
    static Result<std::optional<UniqueFd>> openGivenInode(const std::string& path, const OwnerJournal::Owner& owner);
    void freeIdentity(uid_t uid);

    DacConfig config_;
    OwnerJournal* journal_;
    std::mutex mutex_;
    std::set<uid_t> inUse_;
};

/// "+UID:+GID", as libvirt writes DAC labels.
std::string dacLabel(uid_t uid, gid_t gid);
/// Parses "+UID:+GID" (or plain numbers). Errors name the text.
Result<std::pair<uid_t, gid_t>> parseDacLabel(const std::string& label);

}  // namespace corral::security
