// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuBackend's confinement: which files a guest's QEMU uses (for the security drivers), what
// else it may touch (Landlock's system rules), the device nodes of its private /dev, and the
// journal that remembers file owners in the store.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "conf/domain_def.hpp"
#include "drivers/qemu/qemu_backend.hpp"
#include "drivers/qemu/qemu_backend_runtime.hpp"
#include "drivers/qemu/qemu_graphics_tls.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/name_escape.hpp"
#include "util/strings.hpp"

namespace corral::drivers::qemu {

namespace {

/// The store as the DAC driver's journal of original owners.
class StoreOwnerJournal final : public security::OwnerJournal {
public:
    explicit StoreOwnerJournal(objects::Store* store) : store_(store) {}
    Result<void> remember(const std::string& path, const std::string& holder, const Owner& original) override {
        return store_->rememberFileOwner(path, holder,
                                         {original.uid, original.gid, original.mode, original.dev, original.ino,
                                          original.target, original.givenUid, original.givenGid});
    }
    Result<std::optional<Owner>> release(const std::string& path, const std::string& holder) override {
        CORRAL_ASSIGN_OR_RETURN(auto owner, store_->releaseFileOwner(path, holder));
        if (!owner) {
            return std::optional<Owner>{};
        }
        return std::optional<Owner>(Owner{owner->uid, owner->gid, owner->mode, static_cast<dev_t>(owner->dev),
                                          static_cast<ino_t>(owner->ino), owner->target, owner->givenUid,
                                          owner->givenGid});
    }
    Result<std::vector<std::string>> pathsHeldBy(const std::string& holder) override {
        return store_->fileOwnerHolders(holder);
    }
    Result<std::vector<std::string>> holders() override { return store_->fileOwnerHolders(""); }

private:
    objects::Store* store_;
};

Result<uid_t> resolveUser(const std::string& user) {
    if (user.starts_with("+")) {
        if (auto n = parseUnsigned(user.substr(1))) {
            return static_cast<uid_t>(*n);
        }
    } else if (const passwd* pw = ::getpwnam(user.c_str())) {
        return pw->pw_uid;
    }
    return fail(ErrorCode::ConfigUnsupported, "qemu.conf: user '" + user + "' does not exist on this host",
                ErrorDomain::Config);
}

Result<gid_t> resolveGroup(const std::string& group) {
    if (group.starts_with("+")) {
        if (auto n = parseUnsigned(group.substr(1))) {
            return static_cast<gid_t>(*n);
        }
    } else if (const struct group* gr = ::getgrnam(group.c_str())) {
        return gr->gr_gid;
    }
    return fail(ErrorCode::ConfigUnsupported, "qemu.conf: group '" + group + "' does not exist on this host",
                ErrorDomain::Config);
}

host::LandlockRule rule(std::string path, bool write, bool execute, bool ioctl) {
    host::LandlockRule r;
    r.path = std::move(path);
    r.read = true;
    r.write = write;
    r.execute = execute;
    r.deviceIoctl = ioctl;
    return r;
}

/// What any QEMU needs besides its guest's own files: programs and libraries (read and run),
/// firmware and data under /usr, the few /etc files the C library and QEMU read, /proc and /sys
/// (read), and the device nodes of its private /dev.
std::vector<host::LandlockRule> qemuSystemRules() {
    std::vector<host::LandlockRule> rules;
    for (const char* dir : {"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"}) {
        rules.push_back(rule(dir, false, true, false));
    }
    for (const char* file : {"/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
                             "/etc/hosts", "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf", "/etc/qemu",
                             "/etc/ssl", "/etc/pki", "/etc/gnutls", "/etc/crypto-policies", "/proc", "/sys"}) {
        rules.push_back(rule(file, false, false, false));
    }
    for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/ptmx",
                            "/dev/pts", "/dev/kvm", "/dev/net/tun", "/dev/vhost-net"}) {
        rules.push_back(rule(dev, true, false, true));
    }
    return rules;
}

bool hasChild(const conf::XmlNode& n, std::string_view name) { return n.child(name) != nullptr; }

/// <seclabel relabel='no'/> inside a disk's or chardev's <source>.
bool relabelAllowed(const conf::XmlNode& dev) {
    const conf::XmlNode* source = dev.child("source");
    if (source == nullptr) {
        return true;
    }
    for (const auto& c : source->children) {
        if (c.name == "seclabel" && c.attrOr("relabel", "yes") == "no") {
            return false;
        }
    }
    return true;
}

std::string parentDir(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? std::string("/") : path.substr(0, slash);
}

/// Every file the guest's QEMU opens by path (images, boot files, NVRAM, chardev files and the
/// directories of the sockets it creates).
std::vector<security::GuestFile> guestFiles(const conf::DomainDef& def) {
    std::vector<security::GuestFile> files;
    for (const char* boot : {"kernel", "initrd", "loader", "dtb"}) {
        if (std::string path = def.os.value(boot); !path.empty()) {
            files.push_back({path, false, true, true, false});
        }
    }
    if (std::string nvram = def.os.value("nvram"); !nvram.empty()) {
        files.push_back({nvram, true, false, true, false});
    }
    for (const auto& dev : def.devices) {
        if (dev.name == "disk") {
            std::string path = conf::diskSourcePath(dev);
            if (path.empty()) {
                continue;
            }
            bool readonly = hasChild(dev, "readonly") || dev.attrOr("device") == "cdrom";
            bool shareable = hasChild(dev, "shareable");
            files.push_back({path, !readonly, readonly || shareable, relabelAllowed(dev), false});
        } else if (dev.name == "serial" || dev.name == "console" || dev.name == "channel" || dev.name == "parallel") {
            const std::string type = dev.attrOr("type");
            std::string path = dev.childAttr("source", "path");
            if (path.empty()) {
                continue;
            }
            if (type == "file") {
                files.push_back({path, true, false, relabelAllowed(dev), false, true});
            } else if (type == "unix") {
                files.push_back({dev.childAttr("source", "mode") == "bind" ? parentDir(path) : path, true, false,
                                 relabelAllowed(dev), dev.childAttr("source", "mode") == "bind"});
            }
        }
    }
    return files;
}

}  // namespace

Result<std::unique_ptr<QemuBackend>> QemuBackend::create(QemuPaths paths, QemuDriverConfig config,
                                                         objects::Store* store) {
    security::SecurityConfig sec;
    sec.drivers = config.securityDrivers;
    sec.landlock = config.landlock;
    sec.landlockSystemRules = qemuSystemRules();
    sec.dac.dynamicOwnership = config.dynamicOwnership;
    sec.dac.rememberOwner = config.rememberOwner;
    sec.dac.idMin = config.guestIdMin;
    sec.dac.idCount = config.guestIdCount;
    if (!config.user.empty()) {
        CORRAL_ASSIGN_OR_RETURN(uid_t uid, resolveUser(config.user));
        sec.dac.fixedUid = uid;
        sec.dac.fixedGid = static_cast<gid_t>(uid);
        if (!config.user.starts_with("+")) {
            if (const passwd* pw = ::getpwnam(config.user.c_str())) {
                sec.dac.fixedGid = pw->pw_gid;
            }
        }
    }
    if (!config.group.empty()) {
        CORRAL_ASSIGN_OR_RETURN(gid_t gid, resolveGroup(config.group));
        sec.dac.fixedGid = gid;
        if (!sec.dac.fixedUid) {
            return fail(ErrorCode::ConfigUnsupported, "qemu.conf: group is set without user", ErrorDomain::Config);
        }
    }
    // /dev/kvm belongs to group kvm (0660): guests that use KVM reach it through that group.
    if (const struct group* kvm = ::getgrnam("kvm")) {
        sec.dac.extraGroups.push_back(kvm->gr_gid);
    }
    std::unique_ptr<security::OwnerJournal> journal;
    if (store != nullptr) {
        journal = std::make_unique<StoreOwnerJournal>(store);
    }
    CORRAL_ASSIGN_OR_RETURN(auto manager, security::SecurityManager::create(sec, journal.get()));
    return std::make_unique<QemuBackend>(std::move(paths), std::move(config), std::move(journal), std::move(manager));
}

Result<std::unique_ptr<host::ChildConfinement>> QemuBackend::confine(Runtime& rt, conf::DomainDef& liveDef) {
    host::ConfinementPlan plan;
    auto files = guestFiles(liveDef);
    for (const auto& file : files) {
        if (file.path.empty() || file.path[0] != '/') {
            // Relative to what? corrald's working directory means nothing to the admin.
            return fail(ErrorCode::ConfigUnsupported,
                        "file path '" + file.path + "' must be absolute (domain '" + liveDef.name + "')",
                        ErrorDomain::Qemu);
        }
    }
    for (const auto& file : files) {
        // A confined guest may not create files in the directory: its logs are made for it
        // (root's until a security driver gives them, so they stay root's afterwards).
        if (file.create) {
            UniqueFd fd(::open(file.path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
            if (!fd) {
                return failErrno(errno, "cannot create '" + file.path + "' for the guest");
            }
        }
    }
    if (security_) {
        CORRAL_ASSIGN_OR_RETURN(security::GuestSecurity sec, security_->prepareGuest(liveDef, files));
        plan = std::move(sec.confinement);
        rt.securedDef = std::make_shared<const conf::DomainDef>(liveDef);
        rt.securedFiles = files;
    }
    for (const auto& copy : rt.tlsCopies) {
        if (plan.changeIdentity) {
            CORRAL_TRY(handTlsCredentials(copy.dir, plan.uid, plan.gid));
        }
        // Named through the descriptor QEMU inherits: the rules are opened in the child, as
        // the guest, which cannot walk the daemon's run directory by name.
        plan.landlockRules.push_back(rule("/proc/self/fd/" + std::to_string(copy.fd), false, false, false));
    }
    for (int fd : rt.diskSecretFds) {
        // QEMU opens /proc/self/fd/N again as the guest's identity: the memfd (0400) is that
        // identity's, and no other guest's.
        if (plan.changeIdentity && ::fchown(fd, plan.uid, plan.gid) != 0) {
            return failErrno(errno, "cannot give a disk's passphrase to domain '" + liveDef.name + "'");
        }
    }
    CORRAL_TRY(createCgroup(rt, liveDef));
    if (rt.cgroup.valid()) {
        plan.cgroupJoinFiles = rt.cgroup.selfJoinFiles();
    }
    if (config_.privateDevices) {
        rt.devStagingDir = pathForName(paths_.runDir, liveDef.name, ".dev");
        ::rmdir(rt.devStagingDir.c_str());
        if (::mkdir(rt.devStagingDir.c_str(), 0700) != 0 && errno != EEXIST) {
            return failErrno(errno, "cannot create '" + rt.devStagingDir + "'");
        }
        plan.privateDev = true;
        plan.devStagingDir = rt.devStagingDir;
        std::vector<std::string> names = {"null", "zero", "full", "random", "urandom", "ptmx"};
        if (liveDef.type == "kvm") {
            names.push_back("kvm");
        }
        for (const auto& dev : liveDef.devices) {
            std::string path = dev.name == "disk" ? conf::diskSourcePath(dev) : std::string();
            // Only plain names ("sdb", "mapper/x"): "/dev/../x" would make the node beside the
            // staging directory instead of in it.
            if (path.starts_with("/dev/") && std::count(path.begin() + 5, path.end(), '/') <= 1 &&
                isPlainRelativePath(path.substr(5))) {
                names.push_back(path.substr(5));  // a block device disk must exist in the guest's /dev too
            }
        }
        for (const auto& name : names) {
            CORRAL_ASSIGN_OR_RETURN(host::DeviceNode node, host::hostDeviceNode(name));
            plan.devNodes.push_back(std::move(node));
        }
    }
    return host::ChildConfinement::prepare(std::move(plan));
}

void QemuBackend::adoptConfinement(Runtime& rt, const conf::DomainDef& liveDef) {
    rt.securedDef = std::make_shared<const conf::DomainDef>(liveDef);
    rt.securedFiles = guestFiles(liveDef);
    if (security_) {
        if (auto reserved = security_->reserveGuest(liveDef); !reserved) {
            logError("domain '" + liveDef.name + "': cannot take back its security labels: " +
                     reserved.error().wireMessage());
        }
    }
    if (config_.cgroups) {
        if (auto layout = host::hostCgroupLayout()) {
            rt.cgroup = host::runningGuestGroup(*layout, config_.cgroupPartition + "/qemu", liveDef.name);
        }
    }
    if (config_.privateDevices) {
        rt.devStagingDir = pathForName(paths_.runDir, liveDef.name, ".dev");
    }
    // A running guest's copies of the console certificates go when it stops.
    for (const char* suffix : {".vnc-tls", ".spice-tls"}) {
        if (std::string tls = pathForName(paths_.runDir, liveDef.name, suffix); ::access(tls.c_str(), F_OK) == 0) {
            rt.tlsCopies.push_back({tls, -1});
        }
    }
}

void QemuBackend::reconnectsDone(const std::vector<Uuid>& running) {
    if (!security_) {
        return;
    }
    std::vector<std::string> holders;
    for (const auto& uuid : running) {
        holders.push_back(uuid.toString());
    }
    security_->restoreOrphans(holders);
}

std::vector<std::pair<std::string, std::string>> QemuBackend::securityModels() const {
    if (!security_) {
        return {};
    }
    auto models = security_->models();
    // The LSM, when there is one, is the primary model libvirt's clients see first.
    std::stable_partition(models.begin(), models.end(),
                          [](const auto& m) { return m.first == "selinux" || m.first == "apparmor"; });
    return models;
}

}  // namespace corral::drivers::qemu
