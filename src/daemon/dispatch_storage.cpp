// SPDX-License-Identifier: LGPL-2.1-or-later
// Storage pool and volume procedures (virsh pool-*, vol-*), served by the host's storage driver
// on qemu and lxc connections and by the test driver's in-memory pools.
#include "daemon/client_session.hpp"
#include "daemon/dispatcher.hpp"
#include "daemon/volume_stream.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/storage.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;
using drivers::StoragePoolRef;
using drivers::StorageVolRef;

namespace {

Result<drivers::StorageFacet*> storageFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().storage(), api);
}

proto::remote_nonnull_storage_pool toWire(const StoragePoolRef& ref) {
    proto::remote_nonnull_storage_pool p;
    p.name = ref.name;
    p.uuid = ref.uuid.bytes;
    return p;
}

StoragePoolRef fromWire(const proto::remote_nonnull_storage_pool& p) {
    StoragePoolRef ref;
    ref.name = p.name;
    ref.uuid.bytes = p.uuid;
    return ref;
}

proto::remote_nonnull_storage_vol toWire(const StorageVolRef& ref) {
    proto::remote_nonnull_storage_vol v;
    v.pool = ref.pool;
    v.name = ref.name;
    v.key = ref.key;
    return v;
}

StorageVolRef fromWire(const proto::remote_nonnull_storage_vol& v) { return StorageVolRef{v.pool, v.name, v.key}; }

template <class Ret>
Ret withPool(const StoragePoolRef& ref) {
    Ret ret;
    ret.pool = toWire(ref);
    return ret;
}

template <class Ret>
Ret withVol(const StorageVolRef& ref) {
    Ret ret;
    ret.vol = toWire(ref);
    return ret;
}

/// At most `maxnames` names of the pools `flags` selects, as the old list calls answer.
Result<std::vector<std::string>> poolNames(CallContext& ctx, std::int32_t maxnames, unsigned flags,
                                           std::string_view api) {
    if (maxnames < 0 || maxnames > static_cast<std::int32_t>(proto::REMOTE_STORAGE_POOL_LIST_MAX)) {
        return fail(ErrorCode::Rpc, "maxnames > REMOTE_STORAGE_POOL_LIST_MAX", ErrorDomain::Rpc);
    }
    CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, api));
    CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllPools(flags));
    std::vector<std::string> names;
    for (const auto& r : refs) {
        if (static_cast<std::int32_t>(names.size()) >= maxnames) {
            break;
        }
        names.push_back(r.name);
    }
    return names;
}

void registerPoolLists(Dispatcher& d) {
    using namespace drivers::storage_pool_list_flags;
    d.add<proto::REMOTE_PROC_CONNECT_LIST_ALL_STORAGE_POOLS>(
        [](CallContext& ctx, const proto::remote_connect_list_all_storage_pools_args& a)
            -> Result<proto::remote_connect_list_all_storage_pools_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virConnectListAllStoragePools"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllPools(a.flags));
            proto::remote_connect_list_all_storage_pools_ret ret;
            if (a.need_results != 0) {
                for (const auto& r : refs) {
                    ret.pools.push_back(toWire(r));
                }
            }
            ret.ret = static_cast<unsigned>(refs.size());
            return ret;
        });
    // The lists before virConnectListAllStoragePools (ansible's virt_pool, older clients).
    d.add<proto::REMOTE_PROC_CONNECT_NUM_OF_STORAGE_POOLS>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_num_of_storage_pools_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virConnectNumOfStoragePools"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllPools(kActive));
            return proto::remote_connect_num_of_storage_pools_ret{static_cast<std::int32_t>(refs.size())};
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_STORAGE_POOLS>(
        [](CallContext& ctx, const proto::remote_connect_list_storage_pools_args& a)
            -> Result<proto::remote_connect_list_storage_pools_ret> {
            proto::remote_connect_list_storage_pools_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.names, poolNames(ctx, a.maxnames, kActive, "virConnectListStoragePools"));
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_NUM_OF_DEFINED_STORAGE_POOLS>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_num_of_defined_storage_pools_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virConnectNumOfDefinedStoragePools"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllPools(kInactive));
            return proto::remote_connect_num_of_defined_storage_pools_ret{static_cast<std::int32_t>(refs.size())};
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_DEFINED_STORAGE_POOLS>(
        [](CallContext& ctx, const proto::remote_connect_list_defined_storage_pools_args& a)
            -> Result<proto::remote_connect_list_defined_storage_pools_ret> {
            proto::remote_connect_list_defined_storage_pools_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.names,
                                    poolNames(ctx, a.maxnames, kInactive, "virConnectListDefinedStoragePools"));
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_GET_STORAGE_POOL_CAPABILITIES>(
        [](CallContext& ctx, const proto::remote_connect_get_storage_pool_capabilities_args& a)
            -> Result<proto::remote_connect_get_storage_pool_capabilities_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virConnectGetStoragePoolCapabilities"));
            if (a.flags != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function virConnectGetStoragePoolCapabilities",
                            ErrorDomain::Storage);
            }
            proto::remote_connect_get_storage_pool_capabilities_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.capabilities, f->poolCapabilities());
            return ret;
        });
}

void registerPoolLookups(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_NAME>(
        [](CallContext& ctx, const proto::remote_storage_pool_lookup_by_name_args& a)
            -> Result<proto::remote_storage_pool_lookup_by_name_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolLookupByName"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupPoolByName(a.name));
            return withPool<proto::remote_storage_pool_lookup_by_name_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_UUID>(
        [](CallContext& ctx, const proto::remote_storage_pool_lookup_by_uuid_args& a)
            -> Result<proto::remote_storage_pool_lookup_by_uuid_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolLookupByUUID"));
            Uuid uuid;
            uuid.bytes = a.uuid;
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupPoolByUuid(uuid));
            return withPool<proto::remote_storage_pool_lookup_by_uuid_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_VOLUME>(
        [](CallContext& ctx, const proto::remote_storage_pool_lookup_by_volume_args& a)
            -> Result<proto::remote_storage_pool_lookup_by_volume_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolLookupByVolume"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->poolOfVolume(fromWire(a.vol)));
            return withPool<proto::remote_storage_pool_lookup_by_volume_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_LOOKUP_BY_TARGET_PATH>(
        [](CallContext& ctx, const proto::remote_storage_pool_lookup_by_target_path_args& a)
            -> Result<proto::remote_storage_pool_lookup_by_target_path_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolLookupByTargetPath"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupPoolByTargetPath(a.path));
            return withPool<proto::remote_storage_pool_lookup_by_target_path_ret>(ref);
        });
}

void registerPoolConfig(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_STORAGE_POOL_DEFINE_XML>(
        [](CallContext& ctx, const proto::remote_storage_pool_define_xml_args& a)
            -> Result<proto::remote_storage_pool_define_xml_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolDefineXML"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->definePool(a.xml, a.flags));
            return withPool<proto::remote_storage_pool_define_xml_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_CREATE_XML>(
        [](CallContext& ctx, const proto::remote_storage_pool_create_xml_args& a)
            -> Result<proto::remote_storage_pool_create_xml_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolCreateXML"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->createPoolXml(a.xml, a.flags));
            return withPool<proto::remote_storage_pool_create_xml_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_BUILD>(
        [](CallContext& ctx, const proto::remote_storage_pool_build_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolBuild"));
            CORRAL_TRY(f->buildPool(fromWire(a.pool), a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_UNDEFINE>(
        [](CallContext& ctx, const proto::remote_storage_pool_undefine_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolUndefine"));
            CORRAL_TRY(f->undefinePool(fromWire(a.pool)));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_CREATE>(
        [](CallContext& ctx, const proto::remote_storage_pool_create_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolCreate"));
            CORRAL_TRY(f->startPool(fromWire(a.pool), a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_DESTROY>(
        [](CallContext& ctx, const proto::remote_storage_pool_destroy_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolDestroy"));
            CORRAL_TRY(f->destroyPool(fromWire(a.pool)));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_DELETE>(
        [](CallContext& ctx, const proto::remote_storage_pool_delete_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolDelete"));
            CORRAL_TRY(f->deletePool(fromWire(a.pool), a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_REFRESH>(
        [](CallContext& ctx, const proto::remote_storage_pool_refresh_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolRefresh"));
            CORRAL_TRY(f->refreshPool(fromWire(a.pool), a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_SET_AUTOSTART>(
        [](CallContext& ctx, const proto::remote_storage_pool_set_autostart_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolSetAutostart"));
            CORRAL_TRY(f->setPoolAutostart(fromWire(a.pool), a.autostart != 0));
            return xdr_void{};
        });
}

void registerPoolQueries(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_STORAGE_POOL_GET_XML_DESC>(
        [](CallContext& ctx, const proto::remote_storage_pool_get_xml_desc_args& a)
            -> Result<proto::remote_storage_pool_get_xml_desc_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolGetXMLDesc"));
            proto::remote_storage_pool_get_xml_desc_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.xml, f->poolXml(fromWire(a.pool), a.flags));
            return ret;
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_GET_INFO>(
        [](CallContext& ctx, const proto::remote_storage_pool_get_info_args& a)
            -> Result<proto::remote_storage_pool_get_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolGetInfo"));
            CORRAL_ASSIGN_OR_RETURN(auto info, f->poolInfo(fromWire(a.pool)));
            proto::remote_storage_pool_get_info_ret ret{};
            ret.state = static_cast<std::uint8_t>(info.state);
            ret.capacity = info.capacity;
            ret.allocation = info.allocation;
            ret.available = info.available;
            return ret;
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_GET_AUTOSTART>(
        [](CallContext& ctx, const proto::remote_storage_pool_get_autostart_args& a)
            -> Result<proto::remote_storage_pool_get_autostart_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolGetAutostart"));
            CORRAL_ASSIGN_OR_RETURN(bool on, f->poolAutostart(fromWire(a.pool)));
            return proto::remote_storage_pool_get_autostart_ret{on ? 1 : 0};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_IS_ACTIVE>(
        [](CallContext& ctx, const proto::remote_storage_pool_is_active_args& a)
            -> Result<proto::remote_storage_pool_is_active_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolIsActive"));
            CORRAL_ASSIGN_OR_RETURN(bool on, f->poolIsActive(fromWire(a.pool)));
            return proto::remote_storage_pool_is_active_ret{on ? 1 : 0};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_IS_PERSISTENT>(
        [](CallContext& ctx, const proto::remote_storage_pool_is_persistent_args& a)
            -> Result<proto::remote_storage_pool_is_persistent_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolIsPersistent"));
            CORRAL_ASSIGN_OR_RETURN(bool on, f->poolIsPersistent(fromWire(a.pool)));
            return proto::remote_storage_pool_is_persistent_ret{on ? 1 : 0};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_NUM_OF_VOLUMES>(
        [](CallContext& ctx, const proto::remote_storage_pool_num_of_volumes_args& a)
            -> Result<proto::remote_storage_pool_num_of_volumes_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolNumOfVolumes"));
            CORRAL_ASSIGN_OR_RETURN(auto vols, f->listAllVolumes(fromWire(a.pool)));
            return proto::remote_storage_pool_num_of_volumes_ret{static_cast<std::int32_t>(vols.size())};
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_LIST_VOLUMES>(
        [](CallContext& ctx, const proto::remote_storage_pool_list_volumes_args& a)
            -> Result<proto::remote_storage_pool_list_volumes_ret> {
            if (a.maxnames < 0 || a.maxnames > static_cast<std::int32_t>(proto::REMOTE_STORAGE_VOL_LIST_MAX)) {
                return fail(ErrorCode::Rpc, "maxnames > REMOTE_STORAGE_VOL_LIST_MAX", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolListVolumes"));
            CORRAL_ASSIGN_OR_RETURN(auto vols, f->listAllVolumes(fromWire(a.pool)));
            proto::remote_storage_pool_list_volumes_ret ret;
            for (const auto& v : vols) {
                if (static_cast<std::int32_t>(ret.names.size()) >= a.maxnames) {
                    break;
                }
                ret.names.push_back(v.name);
            }
            return ret;
        });
    d.add<proto::REMOTE_PROC_STORAGE_POOL_LIST_ALL_VOLUMES>(
        [](CallContext& ctx, const proto::remote_storage_pool_list_all_volumes_args& a)
            -> Result<proto::remote_storage_pool_list_all_volumes_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStoragePoolListAllVolumes"));
            if (a.flags != 0) {
                return fail(ErrorCode::InvalidArg, "unsupported flags in function virStoragePoolListAllVolumes",
                            ErrorDomain::Storage);
            }
            CORRAL_ASSIGN_OR_RETURN(auto vols, f->listAllVolumes(fromWire(a.pool)));
            proto::remote_storage_pool_list_all_volumes_ret ret;
            if (a.need_results != 0) {
                for (const auto& v : vols) {
                    ret.vols.push_back(toWire(v));
                }
            }
            ret.ret = static_cast<unsigned>(vols.size());
            return ret;
        });
}

void registerVolumeLookups(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_NAME>(
        [](CallContext& ctx, const proto::remote_storage_vol_lookup_by_name_args& a)
            -> Result<proto::remote_storage_vol_lookup_by_name_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolLookupByName"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupVolByName(fromWire(a.pool), a.name));
            return withVol<proto::remote_storage_vol_lookup_by_name_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_KEY>(
        [](CallContext& ctx, const proto::remote_storage_vol_lookup_by_key_args& a)
            -> Result<proto::remote_storage_vol_lookup_by_key_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolLookupByKey"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupVolByKey(a.key));
            return withVol<proto::remote_storage_vol_lookup_by_key_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_LOOKUP_BY_PATH>(
        [](CallContext& ctx, const proto::remote_storage_vol_lookup_by_path_args& a)
            -> Result<proto::remote_storage_vol_lookup_by_path_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolLookupByPath"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupVolByPath(a.path));
            return withVol<proto::remote_storage_vol_lookup_by_path_ret>(ref);
        });
}

void registerVolumeChanges(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_STORAGE_VOL_CREATE_XML>(
        [](CallContext& ctx, const proto::remote_storage_vol_create_xml_args& a)
            -> Result<proto::remote_storage_vol_create_xml_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolCreateXML"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->createVol(fromWire(a.pool), a.xml, a.flags));
            return withVol<proto::remote_storage_vol_create_xml_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_CREATE_XML_FROM>(
        [](CallContext& ctx, const proto::remote_storage_vol_create_xml_from_args& a)
            -> Result<proto::remote_storage_vol_create_xml_from_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolCreateXMLFrom"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->createVolFrom(fromWire(a.pool), a.xml, fromWire(a.clonevol), a.flags));
            return withVol<proto::remote_storage_vol_create_xml_from_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_DELETE>(
        [](CallContext& ctx, const proto::remote_storage_vol_delete_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolDelete"));
            CORRAL_TRY(f->deleteVol(fromWire(a.vol), a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_WIPE>(
        [](CallContext& ctx, const proto::remote_storage_vol_wipe_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolWipe"));
            CORRAL_TRY(f->wipeVol(fromWire(a.vol), 0, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_WIPE_PATTERN>(
        [](CallContext& ctx, const proto::remote_storage_vol_wipe_pattern_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolWipePattern"));
            CORRAL_TRY(f->wipeVol(fromWire(a.vol), a.algorithm, a.flags));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_RESIZE>(
        [](CallContext& ctx, const proto::remote_storage_vol_resize_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolResize"));
            CORRAL_TRY(f->resizeVol(fromWire(a.vol), a.capacity, a.flags));
            return xdr_void{};
        });
}

void registerVolumeStreams(Dispatcher& d) {
    // The reply goes out first, then the stream's data: the stream is known to the session
    // before the reply (the client may send data as soon as it has it) and starts after it.
    d.add<proto::REMOTE_PROC_STORAGE_VOL_UPLOAD>(
        [](CallContext& ctx, const proto::remote_storage_vol_upload_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolUpload"));
            CORRAL_ASSIGN_OR_RETURN(auto upload, f->openVolUpload(fromWire(a.vol), a.offset, a.length, a.flags));
            const bool sparse = (a.flags & drivers::storage_flags::kVolUploadSparse) != 0;
            auto stream = std::make_shared<VolumeUploadStream>(ctx.session, ctx.header, std::move(upload), sparse);
            ctx.session->addStream(stream);
            ctx.afterReply = [stream] { stream->start(); };
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_DOWNLOAD>(
        [](CallContext& ctx, const proto::remote_storage_vol_download_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolDownload"));
            CORRAL_ASSIGN_OR_RETURN(auto download,
                                    f->openVolDownload(fromWire(a.vol), a.offset, a.length, a.flags));
            auto stream = std::make_shared<VolumeDownloadStream>(ctx.session, ctx.header, std::move(download));
            ctx.session->addStream(stream);
            ctx.afterReply = [stream] { stream->start(); };
            return xdr_void{};
        });
}

void registerVolumeQueries(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_STORAGE_VOL_GET_XML_DESC>(
        [](CallContext& ctx, const proto::remote_storage_vol_get_xml_desc_args& a)
            -> Result<proto::remote_storage_vol_get_xml_desc_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolGetXMLDesc"));
            proto::remote_storage_vol_get_xml_desc_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.xml, f->volXml(fromWire(a.vol), a.flags));
            return ret;
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_GET_INFO>(
        [](CallContext& ctx, const proto::remote_storage_vol_get_info_args& a)
            -> Result<proto::remote_storage_vol_get_info_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolGetInfo"));
            CORRAL_ASSIGN_OR_RETURN(auto info, f->volInfo(fromWire(a.vol), 0));
            proto::remote_storage_vol_get_info_ret ret{};
            ret.type = static_cast<char>(info.type);
            ret.capacity = info.capacity;
            ret.allocation = info.allocation;
            return ret;
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_GET_INFO_FLAGS>(
        [](CallContext& ctx, const proto::remote_storage_vol_get_info_flags_args& a)
            -> Result<proto::remote_storage_vol_get_info_flags_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolGetInfoFlags"));
            CORRAL_ASSIGN_OR_RETURN(auto info, f->volInfo(fromWire(a.vol), a.flags));
            proto::remote_storage_vol_get_info_flags_ret ret{};
            ret.type = static_cast<char>(info.type);
            ret.capacity = info.capacity;
            ret.allocation = info.allocation;
            return ret;
        });
    d.add<proto::REMOTE_PROC_STORAGE_VOL_GET_PATH>(
        [](CallContext& ctx, const proto::remote_storage_vol_get_path_args& a)
            -> Result<proto::remote_storage_vol_get_path_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, storageFacet(ctx, "virStorageVolGetPath"));
            proto::remote_storage_vol_get_path_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.name, f->volPath(fromWire(a.vol)));
            return ret;
        });
}

}  // namespace

void registerStorageHandlers(Dispatcher& d) {
    registerPoolLists(d);
    registerPoolLookups(d);
    registerPoolConfig(d);
    registerPoolQueries(d);
    registerVolumeLookups(d);
    registerVolumeChanges(d);
    registerVolumeStreams(d);
    registerVolumeQueries(d);
}

}  // namespace corral::daemon
