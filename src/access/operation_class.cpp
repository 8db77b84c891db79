// SPDX-License-Identifier: LGPL-2.1-or-later
// Which operation class each procedure belongs to. Order of the decision, per program:
//   1. connection bookkeeping (an explicit list)      -> Connection
//   2. explicit exceptions, by exact name             -> the class they name
//   3. allowed on a read-only connection              -> Read
//   4. name families (DOMAIN_DESTROY*, DOMAIN_SET_*)  -> the family's class
//   5. everything else                                -> Admin
// Step 5 is the safe side: a procedure nobody classified (a new .x entry) needs the widest
// grant until someone writes it down here. The unit test walks the whole generated table.
#include "access/operation_class.hpp"

#include <span>

#include "rpc/generated/lxc_protocol.hpp"
#include "rpc/generated/qemu_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"

namespace corral::access {

namespace {

using OC = OperationClass;

struct NamedClass {
    std::string_view name;
    OperationClass cls;
};

struct ProgramTables {
    std::span<const std::string_view> connection;
    std::span<const NamedClass> exceptions;
    std::span<const NamedClass> families;
};

// A client must be able to connect, authenticate, probe features, manage its own callbacks
// and disconnect whatever the rules say, or a denied client could not even be told why.
// Registering for events is listed here on purpose: which events reach a client is the
// event filter's business, not a reason to refuse the registration.
constexpr std::string_view kRemoteConnection[] = {
    "CONNECT_OPEN",
    "CONNECT_CLOSE",
    "CONNECT_SUPPORTS_FEATURE",
    "AUTH_LIST",
    "AUTH_SASL_INIT",
    "AUTH_SASL_START",
    "AUTH_SASL_STEP",
    "AUTH_POLKIT",
    "CONNECT_REGISTER_CLOSE_CALLBACK",
    "CONNECT_UNREGISTER_CLOSE_CALLBACK",
    "CONNECT_DOMAIN_EVENT_REGISTER",
    "CONNECT_DOMAIN_EVENT_DEREGISTER",
    "CONNECT_DOMAIN_EVENT_REGISTER_ANY",
    "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY",
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
    "CONNECT_NETWORK_EVENT_REGISTER_ANY",
    "CONNECT_NETWORK_EVENT_DEREGISTER_ANY",
    "CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY",
    "CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY",
    "CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY",
    "CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY",
    "CONNECT_SECRET_EVENT_REGISTER_ANY",
    "CONNECT_SECRET_EVENT_DEREGISTER_ANY",
};

// Where the read-only flag or the name family gives the wrong answer.
constexpr NamedClass kRemoteExceptions[] = {
    // remote.x marks it "ro", but it changes the scheduler tunables (libvirt refuses it on a
    // read-only connection too): the annotation is wrong, the class must not follow it.
    {"DOMAIN_SET_SCHEDULER_PARAMETERS", OC::Config},

    // They bring a new definition into being (any disk, any host device) and start it: that is
    // the power of config, not of starting an existing guest.
    {"DOMAIN_CREATE_XML", OC::Config},
    {"DOMAIN_CREATE_XML_WITH_FILES", OC::Config},
    {"DOMAIN_MANAGED_SAVE_DEFINE_XML", OC::Config},

    // The client names a host path that the daemon writes (save, core dump) or reads and
    // trusts (restore, save images): as the daemon's user, that is power over the host. The
    // managed-save forms, whose path the daemon chooses, stay lifecycle.
    {"DOMAIN_SAVE", OC::Admin},
    {"DOMAIN_SAVE_FLAGS", OC::Admin},
    {"DOMAIN_SAVE_PARAMS", OC::Admin},
    {"DOMAIN_RESTORE", OC::Admin},
    {"DOMAIN_RESTORE_FLAGS", OC::Admin},
    {"DOMAIN_RESTORE_PARAMS", OC::Admin},
    {"DOMAIN_SAVE_IMAGE_GET_XML_DESC", OC::Admin},
    {"DOMAIN_SAVE_IMAGE_DEFINE_XML", OC::Admin},
    {"DOMAIN_CORE_DUMP", OC::Admin},
    {"DOMAIN_CORE_DUMP_WITH_FORMAT", OC::Admin},

    // Shell-equivalent: a console or channel is a login prompt or an agent socket; graphics
    // and screenshots show (and send-key types into) the guest's screen; peeking reads the
    // guest's memory and disks, secrets included; a guest password or ssh key is a login.
    {"DOMAIN_OPEN_CONSOLE", OC::Console},
    {"DOMAIN_OPEN_CHANNEL", OC::Console},
    {"DOMAIN_OPEN_GRAPHICS", OC::Console},
    {"DOMAIN_OPEN_GRAPHICS_FD", OC::Console},
    {"DOMAIN_SCREENSHOT", OC::Console},
    {"DOMAIN_SEND_KEY", OC::Console},
    {"DOMAIN_MEMORY_PEEK", OC::Console},
    {"DOMAIN_BLOCK_PEEK", OC::Console},
    {"DOMAIN_SET_USER_PASSWORD", OC::Console},
    {"DOMAIN_AUTHORIZED_SSH_KEYS_SET", OC::Console},

    // Queries that need a read-write connection only because the guest agent answers them.
    {"DOMAIN_GET_HOSTNAME", OC::Read},
    {"DOMAIN_GET_TIME", OC::Read},
    {"DOMAIN_GET_FSINFO", OC::Read},
    {"DOMAIN_GET_GUEST_INFO", OC::Read},
    {"DOMAIN_GET_GUEST_VCPUS", OC::Read},
    {"DOMAIN_INTERFACE_ADDRESSES", OC::Read},
    {"DOMAIN_AUTHORIZED_SSH_KEYS_GET", OC::Read},

    // Starting a defined guest; CREATE_XML above is the exception to this family.
    {"DOMAIN_CREATE", OC::Lifecycle},
    {"DOMAIN_CREATE_WITH_FLAGS", OC::Lifecycle},
    {"DOMAIN_CREATE_WITH_FILES", OC::Lifecycle},
    // Freezing filesystems or signalling a container's process acts on what runs, like suspend.
    {"DOMAIN_FSFREEZE", OC::Lifecycle},
    {"DOMAIN_FSTHAW", OC::Lifecycle},
    {"DOMAIN_FSTRIM", OC::Lifecycle},
    {"DOMAIN_SEND_PROCESS_SIGNAL", OC::Lifecycle},

    // Runtime settings with no SET_ in their name.
    {"DOMAIN_RENAME", OC::Config},
    {"DOMAIN_REVERT_TO_SNAPSHOT", OC::Config},
    {"DOMAIN_AGENT_SET_RESPONSE_TIMEOUT", OC::Config},
    {"DOMAIN_FD_ASSOCIATE", OC::Config},
    {"DOMAIN_START_DIRTY_RATE_CALC", OC::Config},
};

// Families of domain procedures, by name prefix (a prefix ending in '_' matches what follows;
// otherwise the name itself or the name followed by '_'). First match wins.
constexpr NamedClass kRemoteFamilies[] = {
    // Migration hands the guest to another host or accepts one from it, over connections the
    // daemon opens to places the client names: whole-host trust, whatever the verb.
    {"DOMAIN_MIGRATE_", OC::Admin},

    {"DOMAIN_DESTROY", OC::Lifecycle},
    {"DOMAIN_SHUTDOWN", OC::Lifecycle},
    {"DOMAIN_REBOOT", OC::Lifecycle},
    {"DOMAIN_RESET", OC::Lifecycle},
    {"DOMAIN_SUSPEND", OC::Lifecycle},
    {"DOMAIN_RESUME", OC::Lifecycle},
    {"DOMAIN_MANAGED_SAVE", OC::Lifecycle},
    {"DOMAIN_PM_", OC::Lifecycle},
    {"DOMAIN_INJECT_NMI", OC::Lifecycle},
    {"DOMAIN_ABORT_JOB", OC::Lifecycle},

    {"DOMAIN_DEFINE_", OC::Config},
    {"DOMAIN_UNDEFINE", OC::Config},
    {"DOMAIN_SET_", OC::Config},
    {"DOMAIN_ATTACH_", OC::Config},
    {"DOMAIN_DETACH_", OC::Config},
    {"DOMAIN_UPDATE_", OC::Config},
    {"DOMAIN_PIN_", OC::Config},
    {"DOMAIN_ADD_", OC::Config},
    {"DOMAIN_DEL_", OC::Config},
    {"DOMAIN_BLOCK_", OC::Config},  // resize, pull, rebase, commit, copy, job control
    {"DOMAIN_SNAPSHOT_", OC::Config},
    {"DOMAIN_CHECKPOINT_", OC::Config},
    {"DOMAIN_BACKUP_", OC::Config},
};

constexpr std::string_view kQemuConnection[] = {
    "CONNECT_DOMAIN_MONITOR_EVENT_DEREGISTER",
};

constexpr NamedClass kQemuExceptions[] = {
    // A raw QMP command is the QEMU process's full control: it adds devices and backends no
    // definition was checked for, reads and writes guest memory, opens what QEMU may open,
    // migrates to a file or a command, and leaves the daemon's view of the guest stale (libvirt
    // taints the domain). It bypasses every check the other classes stand for, config and
    // console together, so it takes the strongest right.
    {"DOMAIN_MONITOR_COMMAND", OC::Admin},
    {"DOMAIN_MONITOR_COMMAND_WITH_FILES", OC::Admin},
    // Raw QMP events: everything QEMU says about the guest, at least what a console shows.
    {"CONNECT_DOMAIN_MONITOR_EVENT_REGISTER", OC::Console},
    // guest-exec and guest-file-* run commands and write files in the guest as root: the whole
    // guest system, beyond what a console gives (a login prompt), so the strongest right too.
    {"DOMAIN_AGENT_COMMAND", OC::Admin},
    // Adopts an arbitrary host process, by pid, as a guest.
    {"DOMAIN_ATTACH", OC::Admin},
};

constexpr NamedClass kLxcExceptions[] = {
    // Hands over the container's namespace fds: setns() into them is a shell in the container.
    {"DOMAIN_OPEN_NAMESPACE", OC::Console},
};

// The secure flag puts the graphics passwords (VNC, SPICE) into the XML. libvirt asks for
// domain:read-secure; here the password counts as what it opens: a console, which whoever holds
// config could give themselves anyway by setting a new password (and `edit` needs it to keep
// the password when it redefines). Each call names its own flag; all have the value 1.
constexpr OperationClass kPasswordReaders[] = {OC::Console, OC::Config};
constexpr FlaggedOperation kRemoteFlagged[] = {
    {"DOMAIN_GET_XML_DESC", 0x1, "VIR_DOMAIN_XML_SECURE", kPasswordReaders},
    {"DOMAIN_SNAPSHOT_GET_XML_DESC", 0x1, "VIR_DOMAIN_SNAPSHOT_XML_SECURE", kPasswordReaders},
    {"DOMAIN_MANAGED_SAVE_GET_XML_DESC", 0x1, "VIR_DOMAIN_SAVE_IMAGE_XML_SECURE", kPasswordReaders},
    {"DOMAIN_CHECKPOINT_GET_XML_DESC", 0x1, "VIR_DOMAIN_CHECKPOINT_XML_SECURE", kPasswordReaders},
};

ProgramTables tablesFor(Program program) {
    switch (program) {
        case Program::Remote:
            return {kRemoteConnection, kRemoteExceptions, kRemoteFamilies};
        case Program::Qemu:
            return {kQemuConnection, kQemuExceptions, {}};
        case Program::Lxc:
            return {{}, kLxcExceptions, {}};
    }
    return {};
}

bool inFamily(std::string_view name, std::string_view prefix) {
    if (!name.starts_with(prefix)) {
        return false;
    }
    return prefix.back() == '_' || name.size() == prefix.size() || name[prefix.size()] == '_';
}

}  // namespace

std::string_view operationClassName(OperationClass cls) {
    switch (cls) {
        case OC::Connection:
            return "connection";
        case OC::Read:
            return "read";
        case OC::Lifecycle:
            return "lifecycle";
        case OC::Config:
            return "config";
        case OC::Console:
            return "console";
        case OC::Admin:
            return "admin";
    }
    return "admin";
}

std::optional<OperationClass> parseOperationClass(std::string_view word) {
    for (OC cls : {OC::Read, OC::Lifecycle, OC::Config, OC::Console, OC::Admin}) {
        if (operationClassName(cls) == word) {
            return cls;
        }
    }
    return std::nullopt;
}

OperationClass classifyProcedure(Program program, const rpc::proto::ProcedureInfo& info) {
    ProgramTables tables = tablesFor(program);
    for (std::string_view name : tables.connection) {
        if (name == info.name) {
            return OC::Connection;
        }
    }
    for (const NamedClass& entry : tables.exceptions) {
        if (entry.name == info.name) {
            return entry.cls;
        }
    }
    if (info.readonlyAllowed) {
        return OC::Read;
    }
    for (const NamedClass& entry : tables.families) {
        if (inFamily(info.name, entry.name)) {
            return entry.cls;
        }
    }
    return OC::Admin;
}

const FlaggedOperation* flaggedOperation(Program program, const rpc::proto::ProcedureInfo& info,
                                         std::uint32_t flags) {
    if (program != Program::Remote || flags == 0) {
        return nullptr;
    }
    for (const FlaggedOperation& entry : kRemoteFlagged) {
        if (entry.procedure == info.name && (flags & entry.flags) != 0) {
            return &entry;
        }
    }
    return nullptr;
}

const rpc::proto::ProcedureInfo* findProcedure(Program program, std::int32_t procedure) {
    switch (program) {
        case Program::Remote:
            return rpc::proto::findRemoteProcedure(procedure);
        case Program::Qemu:
            return rpc::proto::findQemuProcedure(procedure);
        case Program::Lxc:
            return rpc::proto::findLxcProcedure(procedure);
    }
    return nullptr;
}

}  // namespace corral::access
