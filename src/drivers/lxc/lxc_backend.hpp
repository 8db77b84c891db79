// SPDX-License-Identifier: LGPL-2.1-or-later
// LxcBackend: the GuestBackend of lxc:///. Each container is run by its own corral-lxc
// controller (a separate program in its own session, so containers outlive the daemon): the
// daemon writes the container's plan, puts the controller in the container's cgroup, and then
// only watches it (a pidfd) and signals init. A restarted daemon finds each controller again
// through its state file.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "drivers/common/guest_backend.hpp"
#include "drivers/lxc/container_plan.hpp"
#include "drivers/lxc/lxc_config.hpp"
#include "host/cgroup.hpp"

namespace corral::drivers::lxc {

struct LxcPaths {
    std::string runDir;      ///< run/corral/lxc: plans, controller state
    std::string logDir;      ///< log/corral/lxc: each container's console
    std::string controller;  ///< the corral-lxc program
    std::string cgroupPartition = "corral";
};

class LxcBackend final : public GuestBackend {
public:
    LxcBackend(LxcPaths paths, LxcDriverConfig config);
    ~LxcBackend() override;

    void attach(GuestEventSink& sink) override { sink_ = &sink; }
    /// How <interface type='network'> finds its bridge (the network driver's bridgeFor).
    void setNetworkResolver(std::function<Result<std::string>(const std::string&)> resolver) {
        networkBridge_ = std::move(resolver);
    }
    Result<void> checkDefinition(const conf::DomainDef& def) override;
    Result<void> start(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused) override;
    bool takesPassedFiles() const override { return true; }
    std::vector<std::string> cpuBandwidthGroups() const override { return {"vcpu"}; }
    Result<void> startWithFiles(objects::DomainObj& dom, conf::DomainDef& liveDef, bool paused,
                                std::span<const int> files) override;
    std::optional<int> runningId(const objects::DomainObj& dom) override;
    Result<std::vector<UniqueFd>> openNamespaces(objects::DomainObj& dom) override;
    Result<void> destroy(objects::DomainObj& dom, bool graceful) override;
    Result<bool> shutdown(objects::DomainObj& dom, unsigned flags) override;
    Result<void> reboot(objects::DomainObj& dom, unsigned flags) override;
    Result<void> suspend(objects::DomainObj& dom) override;
    Result<void> resume(objects::DomainObj& dom) override;
    Result<std::vector<MemoryStat>> memoryStats(objects::DomainObj& dom) override;
    Result<UniqueFd> openConsole(objects::DomainObj& dom, const std::string& devName, bool force) override;
    Result<void> applyTuning(objects::DomainObj& dom, const conf::DomainDef& liveDef) override;
    Result<conf::DomainTuning> readLiveTuning(objects::DomainObj& dom) override;
    std::uint64_t cpuTimeNs(const objects::DomainObj& dom) override;
    Result<bool> reconnect(objects::DomainObj& dom, conf::DomainDef& liveDef) override;
    std::optional<std::pair<objects::DomainState, int>> stateAfterReconnect(objects::DomainObj& dom) override;
    std::string osType(const conf::DomainDef&) override { return "exe"; }

    struct Runtime;

private:
    /// `component`: the name as the container's files are named (escapePathComponent, or the
    /// bare name of a container an older daemon started).
    std::shared_ptr<Runtime> newRuntime(const conf::DomainDef& liveDef, const std::string& component) const;
    std::shared_ptr<Runtime> runtimeOf(const objects::DomainObj& dom) const;
    Result<std::shared_ptr<Runtime>> requireRuntime(const objects::DomainObj& dom) const;
    Result<host::Cgroup> createCgroup(const conf::DomainDef& def);
    /// One veth pair per <interface>, the host end on its bridge and named in the live XML;
    /// the plan learns both names. `created` lists the host ends made so far (for cleanup).
    Result<void> prepareInterfaces(conf::DomainDef& liveDef, ContainerPlan& plan,
                                   std::vector<std::string>& created);
    /// Waits for the controller to end on a thread of its own, then reports how init ended.
    void watch(const std::shared_ptr<Runtime>& rt);
    void release(Runtime& rt);
    /// Gives an unprivileged container (plan.autoIdRange) its id maps and writes its plan; the
    /// ranges of running containers are read from their plans, under idsMutex_ so that two
    /// starts never take the same one.
    Result<void> writePlan(ContainerPlan& plan, const Runtime& rt, const Uuid& uuid);
    Result<void> setFrozen(objects::DomainObj& dom, bool frozen);
    /// RUN_DIR/COMPONENT+SUFFIX (see newRuntime).
    std::string filePath(const std::string& component, const char* suffix) const;

    LxcPaths paths_;
    LxcDriverConfig config_;
    GuestEventSink* sink_ = nullptr;
    std::function<Result<std::string>(const std::string&)> networkBridge_;
    std::mutex idsMutex_;  ///< held from picking a container's ids until its plan is written
    /// Cleared when the backend goes: a watcher thread outliving it reports nothing.
    std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace corral::drivers::lxc
