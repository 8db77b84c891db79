// SPDX-License-Identifier: LGPL-2.1-or-later
// Operation classes: the coarse verbs access rules grant or deny, and the classification of
// every procedure of the REMOTE, QEMU and LXC programs into one of them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "rpc/xdr.hpp"

namespace corral::access {

enum class OperationClass {
    /// Connection bookkeeping: open/close, authentication, feature probes, event and close
    /// callback (de)registration. Never denied (a client must be able to connect and say
    /// goodbye) and not nameable in rules.
    Connection,
    /// Looks without changing: every procedure a read-only connection may call, and queries
    /// that need a read-write connection only because they ask the guest agent.
    Read,
    /// Changes the running state of an existing guest: start, stop, pause, reboot, managed save.
    Lifecycle,
    /// Changes a guest's definition or devices: define/undefine, set, attach/detach, pin,
    /// block jobs, snapshots.
    Config,
    /// Reaches inside the guest: consoles, channels, graphics, monitor and agent passthrough,
    /// namespaces, guest passwords and keys. Each is as good as a shell in the guest.
    Console,
    /// The host itself: node devices, networks, storage, secrets, interfaces, nwfilters,
    /// migration, and anything that makes the daemon read or write a host path it is handed.
    Admin,
};

/// "connection", "read", "lifecycle", "config", "console", "admin".
std::string_view operationClassName(OperationClass cls);
/// The five classes a rule may name (ops=); Connection is not one of them.
std::optional<OperationClass> parseOperationClass(std::string_view word);

/// The programs a client can call (netmessage's header `prog`).
enum class Program { Remote, Qemu, Lxc };

/// The class of one procedure of `program`, from its entry in the generated table. Total: every
/// entry gets a class (unknown names fall to Admin, the safe side).
OperationClass classifyProcedure(Program program, const rpc::proto::ProcedureInfo& info);

/// A call whose flags change what it reveals: with any bit of `flags` set it needs one of
/// `classes` (either is enough) instead of its procedure's own class, and it is never served on
/// a read-only connection.
struct FlaggedOperation {
    std::string_view procedure;  ///< "DOMAIN_GET_XML_DESC"
    std::uint32_t flags;         ///< the bits, e.g. VIR_DOMAIN_XML_SECURE
    std::string_view flagName;   ///< "VIR_DOMAIN_XML_SECURE", for denial messages
    std::span<const OperationClass> classes;
};

/// The entry for a call of `info` with these `flags`, when its flags matter; nullptr otherwise.
/// Today: the XML calls' secure flag, which puts graphics passwords in the XML. A password is a
/// console (it opens the guest's screen) that config could also set, so either class may read it.
const FlaggedOperation* flaggedOperation(Program program, const rpc::proto::ProcedureInfo& info,
                                         std::uint32_t flags);

/// The table entry of `procedure` in `program`; nullptr when the number is not defined.
const rpc::proto::ProcedureInfo* findProcedure(Program program, std::int32_t procedure);

}  // namespace corral::access
