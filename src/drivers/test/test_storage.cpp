// SPDX-License-Identifier: LGPL-2.1-or-later
// The test driver's in-memory storage pools and volumes.
#include "drivers/test/test_storage.hpp"

#include <map>
#include <mutex>

#include "conf/object_name.hpp"
#include "conf/storage_def.hpp"
#include "drivers/common/pool_event_bus.hpp"

namespace corral::drivers {

namespace {

namespace pool_event = storage_pool_event;

// libvirt's test driver defaults (src/test/test_driver.c): the pool, its size, nothing used.
constexpr const char* kDefaultPoolXml =
    "<pool type='dir'><name>default-pool</name><uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>"
    "<target><path>/default-pool</path></target></pool>";
constexpr std::uint64_t kDefaultPoolCapacity = 100ull * 1024 * 1024 * 1024;

Unexpected noPool(const std::string& what) {
    return fail(ErrorCode::NoStoragePool, "no storage pool with matching " + what, ErrorDomain::Storage);
}
Unexpected noVol(const std::string& what) {
    return fail(ErrorCode::NoStorageVol, "no storage vol with matching " + what, ErrorDomain::Storage);
}
Unexpected invalid(const std::string& message) {
    return fail(ErrorCode::OperationInvalid, message, ErrorDomain::Storage);
}

class TestStorage final : public StorageFacet {
public:
    TestStorage() {
        auto def = conf::parseStoragePoolXml(kDefaultPoolXml);
        auto pool = std::make_shared<Pool>();
        pool->def = std::move(*def);
        pool->active = true;
        pool->persistent = true;
        resetSizes(*pool);
        pools_[pool->def->name] = pool;
    }

    Result<StoragePoolRef> lookupPoolByName(const std::string& name) override {
        std::lock_guard lock(mutex_);
        auto it = pools_.find(name);
        if (it == pools_.end()) {
            return noPool("name '" + name + "'");
        }
        return refOf(*it->second);
    }
    Result<StoragePoolRef> lookupPoolByUuid(const Uuid& uuid) override {
        std::lock_guard lock(mutex_);
        for (const auto& [n, p] : pools_) {
            if (p->def->uuid == uuid) {
                return refOf(*p);
            }
        }
        return noPool("uuid '" + uuid.toString() + "'");
    }
    Result<StoragePoolRef> lookupPoolByTargetPath(const std::string& path) override {
        std::lock_guard lock(mutex_);
        for (const auto& [n, p] : pools_) {
            if (p->active && p->def->targetPath == path) {
                return refOf(*p);
            }
        }
        return noPool("target path '" + path + "'");
    }
    Result<std::vector<StoragePoolRef>> listAllPools(unsigned flags) override {
        using namespace storage_pool_list_flags;
        std::lock_guard lock(mutex_);
        auto wants = [flags](unsigned yes, unsigned no, bool value) {
            return (flags & (yes | no)) == 0 || (value ? (flags & yes) != 0 : (flags & no) != 0);
        };
        std::vector<StoragePoolRef> out;
        for (const auto& [n, p] : pools_) {
            const unsigned bit = p->def->type == "dir" ? kDir : p->def->type == "fs" ? kFs : 0;
            if (wants(kActive, kInactive, p->active) && wants(kPersistent, kTransient, p->persistent) &&
                wants(kAutostart, kNoAutostart, p->autostart) && ((flags & kAllTypes) == 0 || (flags & bit) != 0)) {
                out.push_back(refOf(*p));
            }
        }
        return out;
    }
    Result<std::string> poolCapabilities() override { return conf::formatStoragePoolCapabilities({"dir", "fs"}); }
    Result<StoragePoolRef> definePool(const std::string& xml, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto def, prepare(xml));
        auto& slot = pools_[def->name];
        if (!slot) {
            slot = std::make_shared<Pool>();
        }
        slot->def = std::move(def);
        slot->persistent = true;
        events_.lifecycle(refOf(*slot), pool_event::kDefined);
        return refOf(*slot);
    }
    Result<StoragePoolRef> createPoolXml(const std::string& xml, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto def, prepare(xml));
        if (pools_.count(def->name) != 0) {
            return invalid("storage pool '" + def->name + "' already exists");
        }
        auto pool = std::make_shared<Pool>();
        pool->def = std::move(def);
        pool->active = true;
        resetSizes(*pool);
        pools_[pool->def->name] = pool;
        events_.lifecycle(refOf(*pool), pool_event::kStarted);
        return refOf(*pool);
    }
    Result<void> buildPool(const StoragePoolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        if (p->active) {
            return invalid("storage pool '" + ref.name + "' is already active");
        }
        events_.lifecycle(refOf(*p), pool_event::kCreated);
        return {};
    }
    Result<void> undefinePool(const StoragePoolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        if (p->active) {
            return invalid("storage pool '" + ref.name + "' is still active");
        }
        events_.lifecycle(refOf(*p), pool_event::kUndefined);
        pools_.erase(p->def->name);
        return {};
    }
    Result<void> startPool(const StoragePoolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        if (p->active) {
            return invalid("storage pool '" + ref.name + "' is already active");
        }
        p->active = true;
        resetSizes(*p);
        events_.lifecycle(refOf(*p), pool_event::kStarted);
        return {};
    }
    Result<void> destroyPool(const StoragePoolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        if (!p->active) {
            return invalid("storage pool '" + ref.name + "' is not active");
        }
        p->active = false;
        p->vols.clear();
        events_.lifecycle(refOf(*p), pool_event::kStopped);
        if (!p->persistent) {
            pools_.erase(p->def->name);
        }
        return {};
    }
    Result<void> deletePool(const StoragePoolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        if (p->active) {
            return invalid("storage pool '" + ref.name + "' is still active");
        }
        events_.lifecycle(refOf(*p), pool_event::kDeleted);
        return {};
    }
    Result<void> refreshPool(const StoragePoolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        if (!p->active) {
            return invalid("storage pool '" + ref.name + "' is not active");
        }
        events_.refresh(refOf(*p));
        return {};
    }
    int addPoolEventSink(StoragePoolEventSink sink) override { return events_.subscribe(std::move(sink)); }
    void removePoolEventSink(int id) override { events_.unsubscribe(id); }
    Result<std::string> poolXml(const StoragePoolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        conf::StoragePoolDef shown = *p->def;
        if (!shown.perms.mode) {
            shown.perms.mode = 0755;
        }
        return conf::formatStoragePoolXml(shown, true);
    }
    Result<StoragePoolInfo> poolInfo(const StoragePoolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        StoragePoolInfo info;
        info.state = p->active ? StoragePoolState::Running : StoragePoolState::Inactive;
        info.capacity = p->def->capacity;
        info.allocation = p->def->allocation;
        info.available = p->def->available;
        return info;
    }
    Result<bool> poolAutostart(const StoragePoolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        return p->autostart;
    }
    Result<void> setPoolAutostart(const StoragePoolRef& ref, bool on) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        if (!p->persistent) {
            return invalid("cannot set autostart for transient pool");
        }
        p->autostart = on;
        return {};
    }
    Result<bool> poolIsActive(const StoragePoolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        return p->active;
    }
    Result<bool> poolIsPersistent(const StoragePoolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, find(ref));
        return p->persistent;
    }
    Result<std::vector<StorageVolRef>> listAllVolumes(const StoragePoolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, findActive(ref.name));
        std::vector<StorageVolRef> out;
        for (const auto& [n, v] : p->vols) {
            out.push_back(volRef(*p, v));
        }
        return out;
    }

    Result<StorageVolRef> lookupVolByName(const StoragePoolRef& ref, const std::string& name) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, findActive(ref.name));
        auto v = p->vols.find(name);
        if (v == p->vols.end()) {
            return noVol("name '" + name + "'");
        }
        return volRef(*p, v->second);
    }
    Result<StorageVolRef> lookupVolByKey(const std::string& key) override {
        auto r = lookupVolByPath(key);
        if (!r) {
            return noVol("key '" + key + "'");
        }
        return r;
    }
    Result<StorageVolRef> lookupVolByPath(const std::string& path) override {
        std::lock_guard lock(mutex_);
        for (const auto& [n, p] : pools_) {
            for (const auto& [vn, v] : p->vols) {
                if (p->active && v.path == path) {
                    return volRef(*p, v);
                }
            }
        }
        return noVol("path '" + path + "'");
    }
    Result<StoragePoolRef> poolOfVolume(const StorageVolRef& vol) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto p, findActive(vol.pool));
        return refOf(*p);
    }
    Result<StorageVolRef> createVol(const StoragePoolRef& ref, const std::string& xml, unsigned) override {
        std::lock_guard lock(mutex_);
        return addVol(ref, xml, 0);
    }
    Result<StorageVolRef> createVolFrom(const StoragePoolRef& ref, const std::string& xml, const StorageVolRef& source,
                                        unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto src, findVol(source));
        return addVol(ref, xml, src->capacity);
    }
    Result<void> deleteVol(const StorageVolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto v, findVol(ref));
        auto& p = pools_.at(ref.pool);
        p->def->allocation -= v->allocated;
        p->def->available = p->def->capacity - p->def->allocation;
        p->vols.erase(ref.name);
        return {};
    }
    Result<void> wipeVol(const StorageVolRef& ref, unsigned, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto v, findVol(ref));
        (void)v;
        return {};
    }
    Result<std::string> volXml(const StorageVolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto v, findVol(ref));
        conf::StorageVolDef shown = *v;
        shown.perms.mode = shown.perms.mode.value_or(0600);
        return conf::formatStorageVolXml(shown);
    }
    Result<StorageVolInfo> volInfo(const StorageVolRef& ref, unsigned) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto v, findVol(ref));
        return StorageVolInfo{0, v->capacity, v->allocated};
    }
    Result<std::string> volPath(const StorageVolRef& ref) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto v, findVol(ref));
        return v->path;
    }
    Result<void> resizeVol(const StorageVolRef& ref, std::uint64_t capacity, unsigned flags) override {
        std::lock_guard lock(mutex_);
        CORRAL_ASSIGN_OR_RETURN(auto v, findVol(ref));
        const std::uint64_t wanted = (flags & storage_flags::kVolResizeDelta) != 0 ? v->capacity + capacity : capacity;
        if (wanted < v->capacity && (flags & storage_flags::kVolResizeShrink) == 0) {
            return fail(ErrorCode::InvalidArg,
                        "Can't shrink capacity below current capacity unless shrink flag explicitly specified",
                        ErrorDomain::Storage);
        }
        v->capacity = wanted;
        return {};
    }

private:
    struct Pool {
        std::shared_ptr<conf::StoragePoolDef> def;
        bool active = false, persistent = false, autostart = false;
        std::map<std::string, conf::StorageVolDef> vols;
    };

    static StoragePoolRef refOf(const Pool& p) { return StoragePoolRef{p.def->name, p.def->uuid}; }
    static StorageVolRef volRef(const Pool& p, const conf::StorageVolDef& v) {
        return StorageVolRef{p.def->name, v.name, v.key};
    }
    static void resetSizes(Pool& p) {
        p.def->capacity = kDefaultPoolCapacity;
        p.def->allocation = 0;
        p.def->available = kDefaultPoolCapacity;
    }

    Result<std::shared_ptr<conf::StoragePoolDef>> prepare(const std::string& xml) {
        CORRAL_ASSIGN_OR_RETURN(auto parsed, conf::parseStoragePoolXml(xml));
        std::shared_ptr<conf::StoragePoolDef> def(std::move(parsed));
        CORRAL_TRY(conf::validateNewName(def->name, ErrorDomain::Storage));
        auto existing = pools_.find(def->name);
        if (!def->uuidGiven) {
            def->uuid = existing != pools_.end() ? existing->second->def->uuid : Uuid::generate();
        }
        return def;
    }
    Result<std::shared_ptr<Pool>> find(const StoragePoolRef& ref) {
        auto it = pools_.find(ref.name);
        if (it == pools_.end()) {
            return noPool("name '" + ref.name + "'");
        }
        return it->second;
    }
    Result<std::shared_ptr<Pool>> findActive(const std::string& name) {
        auto it = pools_.find(name);
        if (it == pools_.end()) {
            return noPool("name '" + name + "'");
        }
        if (!it->second->active) {
            return invalid("storage pool '" + name + "' is not active");
        }
        return it->second;
    }
    Result<conf::StorageVolDef*> findVol(const StorageVolRef& ref) {
        CORRAL_ASSIGN_OR_RETURN(auto p, findActive(ref.pool));
        auto v = p->vols.find(ref.name);
        if (v == p->vols.end()) {
            return noVol("name '" + ref.name + "'");
        }
        return &v->second;
    }
    /// As libvirt's test driver: the path is the pool's target plus the name, the key the path,
    /// and the allocation asked for is taken from the pool's free space.
    Result<StorageVolRef> addVol(const StoragePoolRef& ref, const std::string& xml, std::uint64_t minCapacity) {
        CORRAL_ASSIGN_OR_RETURN(auto p, findActive(ref.name));
        CORRAL_ASSIGN_OR_RETURN(auto parsed, conf::parseStorageVolXml(xml));
        conf::StorageVolDef v = std::move(*parsed);
        if (p->vols.count(v.name) != 0) {
            return fail(ErrorCode::OperationFailed, "storage vol already exists", ErrorDomain::Storage);
        }
        v.allocated = v.allocation.value_or(0);
        if (p->def->allocation + v.allocated > p->def->capacity) {
            return fail(ErrorCode::InternalError, "Not enough free space in pool for volume '" + v.name + "'",
                        ErrorDomain::Storage);
        }
        v.capacity = std::max(v.capacity, minCapacity);
        v.path = p->def->targetPath + "/" + v.name;
        v.key = v.path;
        v.physical = v.allocated;
        p->def->allocation += v.allocated;
        p->def->available = p->def->capacity - p->def->allocation;
        auto& slot = p->vols[v.name];
        slot = std::move(v);
        return volRef(*p, slot);
    }

    std::mutex mutex_;
    PoolEventBus events_;  ///< emitted with mutex_ held, so events keep the calls' order
    std::map<std::string, std::shared_ptr<Pool>> pools_;
};

}  // namespace

std::unique_ptr<StorageFacet> createTestStorage() { return std::make_unique<TestStorage>(); }

}  // namespace corral::drivers
