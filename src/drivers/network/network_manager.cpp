// SPDX-License-Identifier: LGPL-2.1-or-later
// NetworkManager.
#include "drivers/network/network_manager.hpp"

#include <signal.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <set>

#include "conf/object_name.hpp"
#include "conf/network_update.hpp"
#include "drivers/network/network_leases.hpp"
#include "drivers/network/network_plan.hpp"
#include "host/netdev.hpp"
#include "host/nftables.hpp"
#include "objects/store.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/name_escape.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::drivers::network {

namespace {

constexpr const char* kDriver = "network";

Unexpected noNetwork(const std::string& what) {
    return fail(ErrorCode::NoNetwork, "no network with matching " + what, ErrorDomain::Network);
}

NetworkRef refOf(const conf::NetworkDef& def) { return NetworkRef{def.name, def.uuid}; }

/// The dnsmasq serving `confPath`, or -1: a pid from a stale file must still be that dnsmasq.
pid_t liveDnsmasq(const std::string& pidPath, const std::string& confPath) {
    pid_t pid = readPidFile(pidPath);
    if (pid <= 0 || !processAlive(pid)) {
        return -1;
    }
    for (const auto& arg : processCmdline(pid)) {
        if (arg.find(confPath) != std::string::npos) {
            return pid;
        }
    }
    return -1;
}

Result<void> writeFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        return fail(ErrorCode::OperationFailed, "cannot write '" + path + "'", ErrorDomain::Network);
    }
    return {};
}

Result<void> enableIpv4Forwarding() {
    std::ofstream f("/proc/sys/net/ipv4/ip_forward");
    f << "1\n";
    f.close();
    if (!f) {
        return fail(ErrorCode::SystemError, "cannot enable IPv4 forwarding (/proc/sys/net/ipv4/ip_forward)",
                    ErrorDomain::Network);
    }
    return {};
}

}  // namespace

NetworkManager::NetworkManager(objects::Store* store, NetworkPaths paths) : store_(store), paths_(std::move(paths)) {}

// Files are named after the escaped name: a network named ".." stays in the directory.
std::string NetworkManager::pidFile(const std::string& name) const { return pathForName(paths_.runDir, name, ".pid"); }
std::string NetworkManager::confFile(const std::string& name) const {
    return pathForName(paths_.runDir, name, ".conf");
}

void NetworkManager::adoptLegacyNetwork(const conf::NetworkDef& live) {
    if (const std::string old = legacyNftTableName(live.name);
        old != nftTableName(live.name) && host::nftTableExists("ip", old)) {
        auto moved = host::replaceNftTable("ip", nftTableName(live.name), nftRuleset(live, live.bridge));
        if (moved) {
            (void)host::deleteNftTable("ip", old);
        } else {
            logError("network '" + live.name + "': " + moved.error().wireMessage());
        }
    }
    const auto legacy = legacyPathComponent(live.name);
    if (!legacy) {
        return;
    }
    const std::string oldPid = paths_.runDir + "/" + *legacy + ".pid";
    if (pid_t pid = liveDnsmasq(oldPid, paths_.runDir + "/" + *legacy + ".conf"); pid > 0) {
        ::kill(pid, SIGTERM);
        if (auto fd = openPidFd(pid)) {
            waitPidFd(fd->get(), std::chrono::seconds(5));
        }
    }
    for (const char* suffix : {".pid", ".conf", ".hostsfile"}) {
        ::unlink((paths_.runDir + "/" + *legacy + suffix).c_str());
    }
    moveLegacyFile(paths_.stateDir, live.name, ".leases");
}

Result<void> NetworkManager::load() {
    if (store_ == nullptr) {
        return {};
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto defs, store_->loadDefinitions(kDriver));
    for (const auto& rec : defs) {
        auto def = conf::parseNetworkXml(rec.xml);
        if (!def) {
            logError("stored network '" + rec.name + "' no longer parses, left untouched: " + def.error().wireMessage());
            continue;
        }
        auto net = std::make_shared<Net>();
        net->def = std::move(*def);
        net->persistent = true;
        net->autostart = rec.autostart;
        nets_[rec.name] = net;
    }
    CORRAL_ASSIGN_OR_RETURN(auto statuses, store_->loadStatuses(kDriver));
    for (const auto& rec : statuses) {
        auto live = conf::parseNetworkXml(rec.status);
        if (!live || !host::interfaceExists((*live)->bridge)) {
            // The bridge went away (host reboot, someone deleted it): the network is down.
            logWarning("network '" + rec.name + "' was active but its bridge is gone; marking it inactive");
            (void)store_->removeStatus(kDriver, rec.uuid);
            if (live) {
                adoptLegacyNetwork(**live);
                (void)host::deleteNftTable("ip", nftTableName(rec.name));
                stopDnsmasq(rec.name);
            }
            if (auto it = nets_.find(rec.name); it != nets_.end() && !it->second->persistent) {
                nets_.erase(it);
            }
            continue;
        }
        auto& slot = nets_[rec.name];
        if (!slot) {
            slot = std::make_shared<Net>();  // a transient network that was running
            slot->def = std::make_shared<conf::NetworkDef>(**live);
        }
        slot->live = std::move(*live);
        adoptLegacyNetwork(*slot->live);
        if (needsDnsmasq(*slot->live) && liveDnsmasq(pidFile(rec.name), confFile(rec.name)) < 0) {
            logWarning("network '" + rec.name + "': dnsmasq is gone; starting it again");
            if (auto started = startDnsmasq(*slot->live); !started) {
                logError("network '" + rec.name + "': " + started.error().wireMessage());
            }
        }
    }
    return {};
}

void NetworkManager::autostartAll() {
    std::lock_guard lock(mutex_);
    for (auto& [name, net] : nets_) {
        if (net->autostart && !net->live) {
            if (auto started = startLocked(*net); !started) {
                logError("autostart of network '" + name + "' failed: " + started.error().wireMessage());
            }
        }
    }
}

Result<std::shared_ptr<NetworkManager::Net>> NetworkManager::findLocked(const NetworkRef& ref) const {
    if (auto it = nets_.find(ref.name); it != nets_.end() && it->second->def->uuid == ref.uuid) {
        return it->second;
    }
    for (const auto& [name, net] : nets_) {
        if (net->def->uuid == ref.uuid) {
            return net;
        }
    }
    return noNetwork("uuid '" + ref.uuid.toString() + "' (" + ref.name + ")");
}

Result<NetworkRef> NetworkManager::lookupNetworkByName(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = nets_.find(name);
    if (it == nets_.end()) {
        return noNetwork("name '" + name + "'");
    }
    return refOf(*it->second->def);
}

Result<NetworkRef> NetworkManager::lookupNetworkByUuid(const Uuid& uuid) {
    std::lock_guard lock(mutex_);
    for (const auto& [name, net] : nets_) {
        if (net->def->uuid == uuid) {
            return refOf(*net->def);
        }
    }
    return noNetwork("uuid '" + uuid.toString() + "'");
}

Result<std::vector<NetworkRef>> NetworkManager::listAllNetworks(unsigned flags) {
    using namespace network_list_flags;
    std::lock_guard lock(mutex_);
    auto wants = [flags](unsigned yes, unsigned no, bool value) {
        return (flags & (yes | no)) == 0 || (value ? (flags & yes) != 0 : (flags & no) != 0);
    };
    std::vector<NetworkRef> out;
    for (const auto& [name, net] : nets_) {
        if (wants(kActive, kInactive, net->live != nullptr) && wants(kPersistent, kTransient, net->persistent) &&
            wants(kAutostart, kNoAutostart, net->autostart)) {
            out.push_back(refOf(*net->def));
        }
    }
    return out;
}

Result<std::shared_ptr<conf::NetworkDef>> NetworkManager::parseAndPrepareLocked(const std::string& xml) {
    CORRAL_ASSIGN_OR_RETURN(auto parsed, conf::parseNetworkXml(xml));
    std::shared_ptr<conf::NetworkDef> def(std::move(parsed));
    CORRAL_TRY(conf::validateNewName(def->name, ErrorDomain::Network));
    CORRAL_TRY(conf::checkNetworkHostValues(*def));
    auto existing = nets_.find(def->name);
    if (!def->uuidGiven) {
        def->uuid = existing != nets_.end() ? existing->second->def->uuid : Uuid::generate();
        def->uuidGiven = true;
    }
    if (existing != nets_.end() && existing->second->def->uuid != def->uuid) {
        return fail(ErrorCode::OperationFailed,
                    "network '" + def->name + "' is already defined with uuid " +
                        existing->second->def->uuid.toString(),
                    ErrorDomain::Network);
    }
    if (def->bridge.empty()) {
        // As libvirt: the bridge name is chosen once, at define, and kept in the definition.
        def->bridge = existing != nets_.end() && !existing->second->def->bridge.empty() ? existing->second->def->bridge
                                                                                         : pickBridgeLocked(*def);
    }
    for (const auto& [name, net] : nets_) {
        if (name != def->name && net->def->uuid == def->uuid) {
            return fail(ErrorCode::OperationFailed,
                        "network '" + name + "' already has uuid " + def->uuid.toString(), ErrorDomain::Network);
        }
        if (name != def->name && !def->bridge.empty() &&
            (net->def->bridge == def->bridge || (net->live && net->live->bridge == def->bridge))) {
            return fail(ErrorCode::OperationFailed,
                        "bridge name '" + def->bridge + "' is already in use by network '" + name + "'",
                        ErrorDomain::Network);
        }
    }
    return def;
}

Result<NetworkRef> NetworkManager::defineNetwork(const std::string& xml) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto def, parseAndPrepareLocked(xml));
    if (store_ != nullptr) {
        CORRAL_TRY(store_->putDefinition(kDriver, def->uuid, def->name, conf::formatNetworkXml(*def)));
    }
    auto& slot = nets_[def->name];
    if (!slot) {
        slot = std::make_shared<Net>();
    }
    slot->def = def;
    slot->persistent = true;
    return refOf(*def);
}

Result<NetworkRef> NetworkManager::createNetworkXml(const std::string& xml) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto def, parseAndPrepareLocked(xml));
    if (nets_.count(def->name) != 0) {
        return fail(ErrorCode::OperationInvalid, "network '" + def->name + "' already exists", ErrorDomain::Network);
    }
    auto net = std::make_shared<Net>();
    net->def = def;
    CORRAL_TRY(startLocked(*net));
    nets_[def->name] = net;
    return refOf(*def);
}

Result<void> NetworkManager::undefineNetwork(const NetworkRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    if (!net->persistent) {
        return fail(ErrorCode::OperationInvalid, "cannot undefine transient network", ErrorDomain::Network);
    }
    if (store_ != nullptr) {
        CORRAL_TRY(store_->removeDefinition(kDriver, net->def->uuid));
    }
    net->persistent = false;
    net->autostart = false;
    if (!net->live) {
        nets_.erase(net->def->name);
    }
    return {};
}

Result<void> NetworkManager::startNetwork(const NetworkRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    if (net->live) {
        return fail(ErrorCode::OperationInvalid, "network is already active", ErrorDomain::Network);
    }
    return startLocked(*net);
}

Result<void> NetworkManager::destroyNetwork(const NetworkRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    if (!net->live) {
        return fail(ErrorCode::OperationInvalid, "network '" + ref.name + "' is not active", ErrorDomain::Network);
    }
    stopLocked(*net);
    if (!net->persistent) {
        nets_.erase(net->def->name);
    }
    return {};
}

std::string NetworkManager::pickBridgeLocked(const conf::NetworkDef& def) const {
    if (!def.bridge.empty()) {
        return def.bridge;
    }
    std::set<std::string> taken;
    for (const auto& [name, net] : nets_) {
        taken.insert(net->def->bridge);
        if (net->live) {
            taken.insert(net->live->bridge);
        }
    }
    for (int i = 0;; ++i) {
        std::string candidate = "virbr" + std::to_string(i);
        if (taken.count(candidate) == 0 && !host::interfaceExists(candidate)) {
            return candidate;
        }
    }
}

Result<void> NetworkManager::startLocked(Net& net) {
    if (paths_.stateOnly) {
        auto live = std::make_shared<conf::NetworkDef>(*net.def);
        live->bridge = pickBridgeLocked(*net.def);
        net.live = live;
        return {};
    }
    if (paths_.runDir.empty()) {
        return fail(ErrorCode::NoSupport, "virtual networks cannot be started by an embedded driver",
                    ErrorDomain::Network);
    }
    CORRAL_TRY(makeDirectories(paths_.runDir, 0755));
    CORRAL_TRY(makeDirectories(paths_.stateDir, 0755));
    CORRAL_TRY(makeDirectories(paths_.logDir, 0700));
    auto live = std::make_shared<conf::NetworkDef>(*net.def);
    live->bridge = pickBridgeLocked(*net.def);
    const std::string where = "starting network '" + conf::printableText(live->name) + "'";
    // A definition an older daemon stored was not checked at define.
    CORRAL_TRY(conf::checkNetworkHostValues(*live).withContext(where));
    if (host::interfaceExists(live->bridge)) {
        return fail(ErrorCode::OperationFailed,
                    where + ": an interface named '" + live->bridge + "' already exists", ErrorDomain::Network);
    }
    CORRAL_TRY(host::createBridge(live->bridge).withContext(where));
    auto undo = [&](Error err) -> Result<void> {
        (void)host::deleteNftTable("ip", nftTableName(live->name));
        (void)host::deleteBridge(live->bridge);
        return unexpected(std::move(err));
    };
    if (!live->mac.empty()) {
        if (auto r = host::setInterfaceMac(live->bridge, live->mac); !r) {
            return undo(std::move(r).withContext(where).error());
        }
    }
    if (auto r = host::setBridgeStp(live->bridge, live->stp, live->delaySeconds); !r) {
        return undo(std::move(r).withContext(where).error());
    }
    if (live->mtu != 0) {
        if (auto r = host::setInterfaceMtu(live->bridge, live->mtu); !r) {
            return undo(std::move(r).withContext(where).error());
        }
    }
    if (!live->ipAddress.empty()) {
        if (auto r = host::setInterfaceIpv4(live->bridge, *conf::parseIpv4(live->ipAddress), live->prefix); !r) {
            return undo(std::move(r).withContext(where).error());
        }
    }
    if (auto r = host::setInterfaceUp(live->bridge); !r) {
        return undo(std::move(r).withContext(where).error());
    }
    if (!live->forwardMode.empty()) {
        if (auto r = enableIpv4Forwarding(); !r) {
            return undo(std::move(r).withContext(where).error());
        }
    }
    if (auto r = host::replaceNftTable("ip", nftTableName(live->name), nftRuleset(*live, live->bridge)); !r) {
        return undo(std::move(r).withContext(where).error());
    }
    if (needsDnsmasq(*live)) {
        if (auto r = startDnsmasq(*live); !r) {
            return undo(std::move(r).withContext(where).error());
        }
    }
    net.live = live;
    saveStatusLocked(net);
    return {};
}

NetworkRuntime NetworkManager::runtimeOf(const conf::NetworkDef& live) const {
    NetworkRuntime rt;
    rt.bridge = live.bridge;
    rt.pidFile = pidFile(live.name);
    rt.leaseFile = pathForName(paths_.stateDir, live.name, ".leases");
    rt.hostsFile = pathForName(paths_.runDir, live.name, ".hostsfile");
    return rt;
}

Result<bool> NetworkManager::writeDnsmasqFiles(const conf::NetworkDef& live) {
    const NetworkRuntime rt = runtimeOf(live);
    std::string hosts;
    for (const auto& h : live.dhcpHosts) {
        hosts += h.mac + "," + h.ip + (h.name.empty() ? "" : "," + h.name) + "\n";
    }
    CORRAL_TRY(writeFile(rt.hostsFile, hosts));
    const std::string config = dnsmasqConfig(live, rt);
    auto old = readTextFile(confFile(live.name));
    const bool changed = !old || *old != config;
    if (changed) {
        CORRAL_TRY(writeFile(confFile(live.name), config));
    }
    return changed;
}

Result<void> NetworkManager::refreshDnsmasq(const conf::NetworkDef& live) {
    CORRAL_ASSIGN_OR_RETURN(bool configChanged, writeDnsmasqFiles(live));
    const pid_t pid = liveDnsmasq(pidFile(live.name), confFile(live.name));
    if (!needsDnsmasq(live)) {
        return {};
    }
    if (configChanged || pid <= 0) {
        return startDnsmasq(live);
    }
    // dnsmasq reads its dhcp-hostsfile again on SIGHUP (libvirt refreshes it the same way).
    if (::kill(pid, SIGHUP) != 0) {
        return fail(ErrorCode::SystemError, "cannot signal dnsmasq of network '" + live.name + "'",
                    ErrorDomain::Network);
    }
    return {};
}

Result<void> NetworkManager::startDnsmasq(const conf::NetworkDef& live) {
    CORRAL_TRY(writeDnsmasqFiles(live));
    stopDnsmasq(live.name);
    // dnsmasq forks into the background only once its sockets are bound, so its launcher's exit
    // status says whether it is serving; it then runs in its own session, outliving corrald.
    CORRAL_ASSIGN_OR_RETURN(CommandResult r,
                            runCommand({"dnsmasq", "--conf-file=" + confFile(live.name),
                                        "--log-facility=" + pathForName(paths_.logDir, live.name, ".log")}));
    if (r.exitStatus != 0) {
        return fail(ErrorCode::OperationFailed, "dnsmasq for network '" + live.name + "' failed: " +
                                                    std::string(trimString(r.output)),
                    ErrorDomain::Network);
    }
    return {};
}

void NetworkManager::stopDnsmasq(const std::string& name) {
    pid_t pid = liveDnsmasq(pidFile(name), confFile(name));
    if (pid > 0) {
        ::kill(pid, SIGTERM);
        if (auto fd = openPidFd(pid)) {
            waitPidFd(fd->get(), std::chrono::seconds(5));
        }
    }
    ::unlink(pidFile(name).c_str());
}

void NetworkManager::stopLocked(Net& net) {
    if (paths_.stateOnly) {
        net.live.reset();
        return;
    }
    const std::string name = net.def->name;
    stopDnsmasq(name);
    if (auto r = host::deleteNftTable("ip", nftTableName(name)); !r) {
        logError("network '" + name + "': " + r.error().wireMessage());
    }
    if (auto r = host::deleteBridge(net.live->bridge); !r) {
        logError("network '" + name + "': " + r.error().wireMessage());
    }
    net.live.reset();
    saveStatusLocked(net);
}

void NetworkManager::saveStatusLocked(const Net& net) {
    if (store_ == nullptr) {
        return;
    }
    auto saved = net.live ? store_->putStatus(kDriver, net.def->uuid, net.def->name, conf::formatNetworkXml(*net.live))
                          : store_->removeStatus(kDriver, net.def->uuid);
    if (!saved) {
        logError("cannot record the state of network '" + net.def->name + "': " + saved.error().wireMessage());
    }
}

Result<std::string> NetworkManager::networkXml(const NetworkRef& ref, unsigned flags) {
    if ((flags & ~1u) != 0) {
        return fail(ErrorCode::InvalidArg, "unsupported flags in function networkGetXMLDesc", ErrorDomain::Network);
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    const bool inactive = (flags & 1u) != 0;
    return conf::formatNetworkXml(net->live && !inactive ? *net->live : *net->def);
}

Result<std::string> NetworkManager::networkBridge(const NetworkRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    const std::string& bridge = net->live ? net->live->bridge : net->def->bridge;
    if (bridge.empty()) {
        return fail(ErrorCode::OperationInvalid, "network '" + ref.name + "' has no bridge name until it is started",
                    ErrorDomain::Network);
    }
    return bridge;
}

Result<std::string> NetworkManager::bridgeFor(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = nets_.find(name);
    if (it == nets_.end()) {
        return noNetwork("name '" + name + "'");
    }
    if (!it->second->live) {
        return fail(ErrorCode::OperationInvalid, "network '" + name + "' is not active (start it with net-start)",
                    ErrorDomain::Network);
    }
    return it->second->live->bridge;
}

Result<bool> NetworkManager::networkAutostart(const NetworkRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    return net->autostart;
}

Result<void> NetworkManager::setNetworkAutostart(const NetworkRef& ref, bool on) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    if (!net->persistent) {
        return fail(ErrorCode::OperationInvalid, "cannot set autostart for transient network", ErrorDomain::Network);
    }
    if (store_ != nullptr) {
        CORRAL_TRY(store_->setAutostart(kDriver, net->def->uuid, on));
    }
    net->autostart = on;
    return {};
}

Result<bool> NetworkManager::networkIsActive(const NetworkRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    return net->live != nullptr;
}

Result<bool> NetworkManager::networkIsPersistent(const NetworkRef& ref) {
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    return net->persistent;
}

Result<std::vector<NetworkDhcpLease>> NetworkManager::networkDhcpLeases(const NetworkRef& ref, const std::string& mac) {
    if (paths_.stateOnly) {
        return fail(ErrorCode::NoSupport, "virNetworkGetDHCPLeases", ErrorDomain::Network);  // as libvirt's test driver
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    if (!net->live) {
        return std::vector<NetworkDhcpLease>{};
    }
    // No file yet: dnsmasq has handed nothing out.
    auto text = readTextFile(runtimeOf(*net->live).leaseFile);
    if (!text) {
        return std::vector<NetworkDhcpLease>{};
    }
    return parseDnsmasqLeases(*text, mac, static_cast<std::int64_t>(::time(nullptr)), net->live->bridge,
                              net->live->prefix);
}

Result<void> NetworkManager::updateNetwork(const NetworkRef& ref, unsigned command, unsigned section,
                                           int parentIndex, const std::string& xml, unsigned flags) {
    using namespace network_update_flags;
    if ((flags & ~(kAffectLive | kAffectConfig)) != 0) {
        return fail(ErrorCode::InvalidArg, "unsupported flags in function networkUpdate", ErrorDomain::Network);
    }
    std::lock_guard lock(mutex_);
    CORRAL_ASSIGN_OR_RETURN(auto net, findLocked(ref));
    // VIR_NETWORK_UPDATE_AFFECT_CURRENT (0): the running network when there is one.
    const bool live = (flags & kAffectLive) != 0 || (flags == 0 && net->live);
    const bool config = (flags & kAffectConfig) != 0 || (flags == 0 && !net->live);
    if (live && !net->live) {
        return fail(ErrorCode::OperationInvalid, "network '" + ref.name + "' is not active", ErrorDomain::Network);
    }
    if (config && !net->persistent) {
        return fail(ErrorCode::OperationInvalid, "cannot change persistent config of a transient network",
                    ErrorDomain::Network);
    }
    // Both results are made before anything changes: a refused update changes neither.
    std::shared_ptr<conf::NetworkDef> newDef;
    std::shared_ptr<conf::NetworkDef> newLive;
    if (config) {
        CORRAL_ASSIGN_OR_RETURN(auto d, conf::applyNetworkUpdate(*net->def, command, section, parentIndex, xml));
        newDef = std::make_shared<conf::NetworkDef>(std::move(d));
    }
    if (live) {
        CORRAL_ASSIGN_OR_RETURN(auto d, conf::applyNetworkUpdate(*net->live, command, section, parentIndex, xml));
        newLive = std::make_shared<conf::NetworkDef>(std::move(d));
    }
    if (newDef) {
        if (store_ != nullptr) {
            CORRAL_TRY(store_->putDefinition(kDriver, newDef->uuid, newDef->name, conf::formatNetworkXml(*newDef)));
        }
        net->def = newDef;
    }
    if (newLive) {
        CORRAL_TRY(refreshDnsmasq(*newLive));
        net->live = newLive;
        saveStatusLocked(*net);
    }
    return {};
}

}  // namespace corral::drivers::network
