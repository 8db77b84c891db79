// SPDX-License-Identifier: LGPL-2.1-or-later
// Secret procedures (virsh secret-*), served by the host's secret driver on qemu and lxc
// connections and by the test driver's in-memory one. GET_VALUE and SET_VALUE are not marked
// read-only in remote.x, so a read-only connection never reaches them (dispatcher.cpp), and the
// access rules class them as admin (operation_class.cpp) like every other secret write.
#include <algorithm>

#include "daemon/dispatcher.hpp"
#include "daemon/wire_convert.hpp"
#include "drivers/interfaces/secret.hpp"

namespace corral::daemon {

namespace proto = rpc::proto;
using proto::xdr_void;

namespace {

Result<drivers::SecretFacet*> secretFacet(CallContext& ctx, std::string_view api) {
    return requireFacet(ctx.driver().secrets(), api);
}

proto::remote_nonnull_secret toWire(const drivers::SecretRef& ref) {
    proto::remote_nonnull_secret s;
    s.uuid = ref.uuid.bytes;
    s.usageType = ref.usageType;
    s.usageID = ref.usageId;
    return s;
}

drivers::SecretRef fromWire(const proto::remote_nonnull_secret& s) {
    drivers::SecretRef ref;
    ref.uuid.bytes = s.uuid;
    ref.usageType = s.usageType;
    ref.usageId = s.usageID;
    return ref;
}

template <class Ret>
Ret withSecret(const drivers::SecretRef& ref) {
    Ret ret;
    ret.secret = toWire(ref);
    return ret;
}

void registerLookupsAndLists(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_SECRET_LOOKUP_BY_UUID>(
        [](CallContext& ctx, const proto::remote_secret_lookup_by_uuid_args& a)
            -> Result<proto::remote_secret_lookup_by_uuid_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virSecretLookupByUUID"));
            Uuid uuid;
            uuid.bytes = a.uuid;
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupSecretByUuid(uuid));
            return withSecret<proto::remote_secret_lookup_by_uuid_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_SECRET_LOOKUP_BY_USAGE>(
        [](CallContext& ctx, const proto::remote_secret_lookup_by_usage_args& a)
            -> Result<proto::remote_secret_lookup_by_usage_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virSecretLookupByUsage"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->lookupSecretByUsage(a.usageType, a.usageID));
            return withSecret<proto::remote_secret_lookup_by_usage_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_ALL_SECRETS>(
        [](CallContext& ctx, const proto::remote_connect_list_all_secrets_args& a)
            -> Result<proto::remote_connect_list_all_secrets_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virConnectListAllSecrets"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllSecrets(a.flags));
            proto::remote_connect_list_all_secrets_ret ret;
            if (a.need_results != 0) {
                for (const auto& r : refs) {
                    ret.secrets.push_back(toWire(r));
                }
            }
            ret.ret = static_cast<unsigned>(refs.size());
            return ret;
        });
    // The calls before virConnectListAllSecrets (python's listSecrets(), older tools).
    d.add<proto::REMOTE_PROC_CONNECT_NUM_OF_SECRETS>(
        [](CallContext& ctx, const xdr_void&) -> Result<proto::remote_connect_num_of_secrets_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virConnectNumOfSecrets"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllSecrets(0));
            proto::remote_connect_num_of_secrets_ret ret{};
            ret.num = static_cast<std::int32_t>(refs.size());
            return ret;
        });
    d.add<proto::REMOTE_PROC_CONNECT_LIST_SECRETS>(
        [](CallContext& ctx, const proto::remote_connect_list_secrets_args& a)
            -> Result<proto::remote_connect_list_secrets_ret> {
            if (a.maxuuids < 0 || a.maxuuids > static_cast<std::int32_t>(proto::REMOTE_SECRET_LIST_MAX)) {
                return fail(ErrorCode::Rpc, "maxuuids > REMOTE_SECRET_LIST_MAX", ErrorDomain::Rpc);
            }
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virConnectListSecrets"));
            CORRAL_ASSIGN_OR_RETURN(auto refs, f->listAllSecrets(0));
            proto::remote_connect_list_secrets_ret ret;
            for (const auto& r : refs) {
                if (static_cast<std::int32_t>(ret.uuids.size()) >= a.maxuuids) {
                    break;
                }
                ret.uuids.push_back(r.uuid.toString());
            }
            return ret;
        });
}

void registerDefinitionsAndValues(Dispatcher& d) {
    d.add<proto::REMOTE_PROC_SECRET_DEFINE_XML>(
        [](CallContext& ctx, const proto::remote_secret_define_xml_args& a)
            -> Result<proto::remote_secret_define_xml_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virSecretDefineXML"));
            CORRAL_ASSIGN_OR_RETURN(auto ref, f->defineSecret(a.xml, a.flags));
            return withSecret<proto::remote_secret_define_xml_ret>(ref);
        });
    d.add<proto::REMOTE_PROC_SECRET_UNDEFINE>(
        [](CallContext& ctx, const proto::remote_secret_undefine_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virSecretUndefine"));
            CORRAL_TRY(f->undefineSecret(fromWire(a.secret)));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_SECRET_GET_XML_DESC>(
        [](CallContext& ctx, const proto::remote_secret_get_xml_desc_args& a)
            -> Result<proto::remote_secret_get_xml_desc_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virSecretGetXMLDesc"));
            proto::remote_secret_get_xml_desc_ret ret;
            CORRAL_ASSIGN_OR_RETURN(ret.xml, f->secretXml(fromWire(a.secret), a.flags));
            return ret;
        });
    d.add<proto::REMOTE_PROC_SECRET_SET_VALUE>(
        [](CallContext& ctx, const proto::remote_secret_set_value_args& a) -> Result<xdr_void> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virSecretSetValue"));
            std::span<const std::uint8_t> value(reinterpret_cast<const std::uint8_t*>(a.value.data()), a.value.size());
            auto done = f->setSecretValue(fromWire(a.secret), value, a.flags);
            // The decoded arguments are the caller's copy of the value: wipe it once it is stored.
            auto& bytes = const_cast<proto::remote_secret_set_value_args&>(a).value;
            std::fill(bytes.begin(), bytes.end(), 0);
            CORRAL_TRY(std::move(done));
            return xdr_void{};
        });
    d.add<proto::REMOTE_PROC_SECRET_GET_VALUE>(
        [](CallContext& ctx, const proto::remote_secret_get_value_args& a)
            -> Result<proto::remote_secret_get_value_ret> {
            CORRAL_ASSIGN_OR_RETURN(auto* f, secretFacet(ctx, "virSecretGetValue"));
            CORRAL_ASSIGN_OR_RETURN(auto value, f->secretValue(fromWire(a.secret), a.flags));
            proto::remote_secret_get_value_ret ret;
            ret.value.assign(value.bytes().begin(), value.bytes().end());
            return ret;
        });
}

}  // namespace

void registerSecretHandlers(Dispatcher& d) {
    registerLookupsAndLists(d);
    registerDefinitionsAndValues(d);
}

}  // namespace corral::daemon
