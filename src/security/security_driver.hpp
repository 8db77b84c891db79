// SPDX-License-Identifier: LGPL-2.1-or-later
// The security driver interface. A guest start runs every driver of the stack in order (dac,
// landlock, then selinux or apparmor where the host has them): each picks its labels, gives the
// guest's files to it, and adds to the confinement its process gets between fork and exec. A
// stop (or a failed start) undoes the same in reverse; after a daemon restart, reserve() takes
// back what a still-running guest holds, so no label or uid is handed out twice.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/domain_def.hpp"
#include "host/confinement.hpp"
#include "util/result.hpp"

namespace corral::security {

/// A file the guest's process opens, and how.
struct GuestFile {
    std::string path;
    bool write = false;    ///< opened read-write
    bool shared = false;   ///< <readonly/> or <shareable/>: other guests may use it at once
    bool relabel = true;   ///< false with <seclabel relabel='no'/> on the device
    bool socketDir = false;  ///< a directory the guest creates a socket in
    bool create = false;     ///< a log the guest appends to: the backend creates it when missing
};

/// What one driver shows in the live XML: <seclabel type model relabel><label><imagelabel>.
struct SeclabelState {
    std::string model;
    std::string type = "dynamic";  ///< dynamic | static | none
    bool relabel = true;
    std::string label;
    std::string imageLabel;
};

/// Everything the stack decided for one start.
struct GuestSecurity {
    std::vector<SeclabelState> labels;
    host::ConfinementPlan confinement;  ///< identity, Landlock rules (filled by the drivers)
};

/// Where the original owner of each file a guest was given is remembered, durably, before the
/// file changes hands: a daemon killed between the two steps loses nothing.
class OwnerJournal {
public:
    struct Owner {
        uid_t uid = 0;
        gid_t gid = 0;
        mode_t mode = 0;
        dev_t dev = 0;  ///< the inode given: only it is ever given back
        ino_t ino = 0;
        /// Where that inode was, every link resolved; "" in an entry an older corrald journaled
        /// (no inode known: such a path is given back only when it is not a symbolic link).
        std::string target;
        /// The guest identity it was given to: an inode owned by anyone else by then is not
        /// the one given (its number reused by a new file), or not the guest's to give back.
        uid_t givenUid = 0;
        gid_t givenGid = 0;
    };
    virtual ~OwnerJournal() = default;
    /// Records `holder` (a guest's UUID) as a user of `path`; the first holder's `original` wins.
    virtual Result<void> remember(const std::string& path, const std::string& holder, const Owner& original) = 0;
    /// Drops `holder`; returns the original owner when it was the last one (the file goes back).
    virtual Result<std::optional<Owner>> release(const std::string& path, const std::string& holder) = 0;
    virtual Result<std::vector<std::string>> pathsHeldBy(const std::string& holder) = 0;
    virtual Result<std::vector<std::string>> holders() = 0;
};

class SecurityDriver {
public:
    virtual ~SecurityDriver() = default;
    /// The model name libvirt's clients know ("dac", "selinux", "apparmor") or ours ("landlock").
    [[nodiscard]] virtual std::string model() const = 0;
    [[nodiscard]] virtual std::string doi() const = 0;
    /// For a starting guest: chooses its labels (pushed to `security.labels`, shown in the live
    /// XML and by virsh dominfo), gives it its files, and adds to `security.confinement`.
    virtual Result<void> prepare(const conf::DomainDef& def, const std::vector<GuestFile>& files,
                                 GuestSecurity& security) = 0;
    /// Undoes prepare(): files back to their owners, labels freed. Never fails: what cannot be
    /// undone is logged with the path.
    virtual void release(const conf::DomainDef& liveDef, const std::vector<GuestFile>& files) = 0;
    /// After a daemon restart: the guest still runs with the labels of its live definition.
    virtual Result<void> reserve(const conf::DomainDef& liveDef) = 0;
    /// After a daemon restart: files given to guests that are no longer running go back.
    virtual void restoreOrphans(const std::vector<std::string>& runningHolders) { (void)runningHolders; }
};

/// The <seclabel> of `model` in a definition, or null.
const conf::XmlNode* seclabelFor(const conf::DomainDef& def, const std::string& model);

}  // namespace corral::security
