// SPDX-License-Identifier: LGPL-2.1-or-later
#include "daemon/access_check.hpp"

#include <array>

#include "conf/domain_def.hpp"

namespace corral::daemon {

namespace {

bool startsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

/// Calls whose arguments carry a new definition's XML first.
constexpr std::array kDefiningCalls = {std::string_view("DOMAIN_DEFINE_XML"), std::string_view("DOMAIN_DEFINE_XML_FLAGS"),
                                       std::string_view("DOMAIN_CREATE_XML"),
                                       std::string_view("DOMAIN_CREATE_XML_WITH_FILES")};

/// DOMAIN_ calls whose first field is not the domain: by UUID or id (the calls that follow
/// name the domain), saved images and migration streams (a path or a cookie), events.
bool firstFieldIsNotTheDomain(std::string_view name) {
    for (std::string_view marker : {"LOOKUP_BY_UUID", "LOOKUP_BY_ID", "RESTORE", "SAVE_IMAGE", "MIGRATE_PREPARE",
                                    "MIGRATE_FINISH", "EVENT", "CREATE_LINUX", "XML_FROM_NATIVE", "XML_TO_NATIVE"}) {
        if (name.find(marker) != std::string_view::npos) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> firstString(std::span<const std::uint8_t> payload) {
    rpc::proto::XdrDecoder dec(payload);
    std::string value;
    constexpr std::uint32_t kStringMax = 4194304;  // REMOTE_STRING_MAX
    if (!dec.getString(value, kStringMax)) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

access::Identity identityOf(const ClientSession& session) {
    access::Identity id;
    const auto& peer = session.peer();
    id.transport = peer.transport == "tls"   ? access::Transport::Tls
                   : peer.transport == "tcp" ? access::Transport::Tcp
                                             : access::Transport::Unix;
    if (peer.uid != static_cast<uid_t>(-1)) {
        id.uid = peer.uid;
        id.gid = peer.gid;
    }
    std::lock_guard lock(session.stateMutex());
    id.readOnly = session.readOnly;
    id.saslUser = session.saslUser;
    id.x509Dn = session.x509Dn;
    return id;
}

std::optional<std::string> domainNameOfCall(const rpc::proto::ProcedureInfo& procedure,
                                            std::span<const std::uint8_t> payload, const DomainNameByUuid& byUuid) {
    std::string_view name = procedure.name;
    for (std::string_view defining : kDefiningCalls) {
        if (name == defining) {
            auto xml = firstString(payload);
            if (!xml) {
                return std::nullopt;
            }
            // The same parser the driver uses, so the rules judge the name it will define.
            auto def = conf::parseDomainXml(*xml);
            return def ? (*def)->name : std::string();
        }
    }
    if (!startsWith(name, "DOMAIN_") || firstFieldIsNotTheDomain(name)) {
        return std::nullopt;
    }
    // remote_nonnull_domain: name, 16-byte UUID, id. Lookup by name has the name alone.
    rpc::proto::XdrDecoder dec(payload);
    std::string given;
    std::array<std::uint8_t, 16> raw{};
    constexpr std::uint32_t kStringMax = 4194304;
    if (!dec.getString(given, kStringMax)) {
        return std::nullopt;
    }
    if (name == "DOMAIN_LOOKUP_BY_NAME" || !dec.getFixedOpaque(raw.data(), raw.size())) {
        return given;
    }
    Uuid uuid;
    uuid.bytes = raw;
    auto actual = byUuid(uuid);
    // An unknown UUID fails in the driver anyway; judge the name given meanwhile.
    return actual ? *actual : given;
}

std::uint32_t flagsOfCall(const rpc::proto::ProcedureInfo& procedure, std::span<const std::uint8_t> payload) {
    if (procedure.readonlyDeniedFlags == 0 || payload.size() < 4) {
        return 0;
    }
    // XDR: an unsigned int is four bytes, big-endian, and nothing follows the last field.
    const std::uint8_t* p = payload.data() + payload.size() - 4;
    return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
           static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

}  // namespace corral::daemon
