// SPDX-License-Identifier: LGPL-2.1-or-later
// The one error type of Corral: a libvirt error code and domain, a message and where it came from.
#pragma once

#include "util/source_location.hpp"
#include <string>
#include <string_view>

namespace corral {

/// libvirt's public virErrorNumber values: the wire carries them as they are, so virsh and
/// python3-libvirt branch on them exactly as they do against libvirtd.
enum class ErrorCode : int {
    Ok = 0,
    InternalError = 1,
    NoMemory = 2,
    NoSupport = 3,
    NoConnect = 5,
    InvalidConn = 6,
    InvalidDomain = 7,
    InvalidArg = 8,
    OperationFailed = 9,
    OsType = 16,
    NoName = 21,
    XmlError = 27,
    DomExist = 28,
    OperationDenied = 29,
    OpenFailed = 30,
    ReadFailed = 31,
    ParseFailed = 32,
    ConfSyntax = 33,
    WriteFailed = 34,
    XmlDetail = 35,
    SystemError = 38,
    Rpc = 39,
    NoDomain = 42,
    NoNetwork = 43,
    InvalidMac = 44,
    AuthFailed = 45,
    NoStoragePool = 49,
    NoStorageVol = 50,
    NoNodeDevice = 53,
    NoSecurityModel = 54,
    OperationInvalid = 55,
    NoInterface = 57,
    NoNwfilter = 62,
    InvalidSecret = 65,
    NoSecret = 66,
    ConfigUnsupported = 67,
    OperationTimeout = 68,
    ArgumentUnsupported = 74,
    OperationAborted = 78,
    NoDomainMetadata = 80,
    OperationUnsupported = 84,
    AgentUnresponsive = 86,
    ResourceBusy = 87,
    AccessDenied = 88,
    StorageVolExist = 90,
    XmlInvalidSchema = 92,
    DeviceMissing = 99,
    NoHostname = 108,
};

/// libvirt's public virErrorDomain values (which subsystem raised the error).
enum class ErrorDomain : int {
    None = 0,
    Xml = 5,
    Rpc = 7,
    Qemu = 10,
    Config = 9,  ///< VIR_FROM_CONF: configuration files
    Remote = 13,
    Test = 12,
    Domain = 20,
    Lxc = 17,
    NodeDev = 22,
    Interface = 26,
    Nwfilter = 33,
    Secret = 30,
    Security = 24,
    Storage = 18,
    Network = 19,
    Access = 55,
};

/// An error travelling up to the user. `message` is the detail; the libvirt prefix that goes
/// with `code` ("Domain not found: ...") is added by wireMessage(), as libvirt does.
struct Error {
    ErrorCode code = ErrorCode::InternalError;
    ErrorDomain domain = ErrorDomain::None;
    std::string message;
    int sysErrno = 0;
    SourceLocation where = SourceLocation::current();
    /// The message is already complete (a daemon's error received by a client): no prefix.
    bool verbatim = false;

    /// Prepends `context` ("starting domain 'web1'") to the message: "context: message".
    Error& withContext(std::string_view context);

    /// The full text libvirt would put in virError.message, e.g.
    /// "Requested operation is not valid: domain is not running".
    [[nodiscard]] std::string wireMessage() const;
};

/// The fixed phrase libvirt prints for `code` ("Domain not found", "internal error", ...).
std::string_view errorCodePrefix(ErrorCode code);

}  // namespace corral
