// SPDX-License-Identifier: LGPL-2.1-or-later
// Error context chaining and libvirt's per-code message prefixes.
#include "util/error.hpp"

namespace corral {

Error& Error::withContext(std::string_view context) {
    message.insert(0, std::string(context) + ": ");
    return *this;
}

std::string_view errorCodePrefix(ErrorCode code) {
    // The phrases are libvirt's (virErrorMsg), so a user reading "error: Domain not found: ..."
    // sees the same words whichever daemon answered.
    switch (code) {
        case ErrorCode::Ok: return "";
        case ErrorCode::InternalError: return "internal error";
        case ErrorCode::NoMemory: return "out of memory";
        case ErrorCode::NoSupport: return "this function is not supported by the connection driver";
        case ErrorCode::NoConnect: return "";  // messages say "no connection driver available for URI"
        case ErrorCode::InvalidConn: return "invalid connection pointer in";
        case ErrorCode::InvalidDomain: return "invalid domain pointer in";
        case ErrorCode::InvalidArg: return "invalid argument";
        case ErrorCode::OperationFailed: return "operation failed";
        case ErrorCode::OsType: return "unknown OS type";
        case ErrorCode::NoName: return "missing name information";
        case ErrorCode::XmlError: return "XML error";
        case ErrorCode::DomExist: return "operation failed";
        case ErrorCode::OperationDenied: return "operation forbidden";
        case ErrorCode::OpenFailed: return "failed to open configuration file";
        case ErrorCode::ReadFailed: return "failed to read configuration file";
        case ErrorCode::ParseFailed: return "failed to parse configuration file";
        case ErrorCode::ConfSyntax: return "configuration file syntax error";
        case ErrorCode::WriteFailed: return "failed to write configuration file";
        case ErrorCode::XmlDetail: return "";  // the XML reader's messages carry their own location
        case ErrorCode::SystemError: return "";
        case ErrorCode::Rpc: return "";
        case ErrorCode::NoDomain: return "Domain not found";
        case ErrorCode::NoNetwork: return "Network not found";
        case ErrorCode::NoStoragePool: return "Storage pool not found";
        case ErrorCode::NoStorageVol: return "Storage volume not found";
        case ErrorCode::StorageVolExist: return "this storage volume exists already";
        case ErrorCode::InvalidMac: return "invalid MAC address";
        case ErrorCode::AuthFailed: return "authentication failed";
        case ErrorCode::NoSecurityModel: return "Security model not found";
        case ErrorCode::OperationInvalid: return "Requested operation is not valid";
        case ErrorCode::NoNwfilter: return "Network filter not found";
        case ErrorCode::InvalidSecret: return "Invalid secret";
        case ErrorCode::NoSecret: return "Secret not found";
        case ErrorCode::ConfigUnsupported: return "unsupported configuration";
        case ErrorCode::OperationTimeout: return "Timed out during operation";
        case ErrorCode::ArgumentUnsupported: return "argument unsupported";
        case ErrorCode::OperationAborted: return "operation aborted";
        case ErrorCode::NoDomainMetadata: return "metadata not found";
        case ErrorCode::OperationUnsupported: return "Operation not supported";
        case ErrorCode::AgentUnresponsive: return "Guest agent is not responding";
        case ErrorCode::ResourceBusy: return "resource busy";
        case ErrorCode::AccessDenied: return "access denied";
        case ErrorCode::XmlInvalidSchema: return "XML document failed to validate against schema";
        case ErrorCode::DeviceMissing: return "device not found";
        case ErrorCode::NoHostname: return "no hostname found";
        case ErrorCode::NoNodeDevice: return "Node device not found";
        case ErrorCode::NoInterface: return "Interface not found";
    }
    return "";
}

std::string Error::wireMessage() const {
    std::string_view prefix = verbatim ? std::string_view() : errorCodePrefix(code);
    if (prefix.empty()) {
        return message;
    }
    if (message.empty()) {
        return std::string(prefix);
    }
    std::string out(prefix);
    out += ": ";
    out += message;
    return out;
}

}  // namespace corral
