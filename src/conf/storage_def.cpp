// SPDX-License-Identifier: LGPL-2.1-or-later
// Storage pool and volume XML <-> StoragePoolDef, StorageVolDef.
#include "conf/storage_def.hpp"

#include <cctype>
#include <cstdio>

#include "conf/object_name.hpp"
#include "conf/xml_node.hpp"
#include "conf/xml_read_tracker.hpp"
#include "util/strings.hpp"

namespace corral::conf {

namespace {

Unexpected xmlError(const std::string& message) { return fail(ErrorCode::XmlError, message, ErrorDomain::Storage); }

Unexpected unsupported(const std::string& message) {
    return fail(ErrorCode::ConfigUnsupported, message, ErrorDomain::Storage);
}

/// Refuses whatever under `root` the parser did not read ("accepted means enforced").
Result<void> refuseUnread(const XmlNode& root, const XmlReadTracker& reads, std::string_view who) {
    std::vector<UnreadPart> unread;
    for (const auto& c : root.children) {
        collectUnreadParts(c, reads, "", [](std::string_view) { return false; }, unread);
    }
    for (std::size_t i = 0; i < root.attrs.size(); ++i) {
        const auto& [key, value] = root.attrs[i];
        if (!isNamespaceDeclaration(key) && !reads.attrWasRead(root, i)) {
            unread.push_back({"<" + root.name + " " + key + "='" + value + "'>", root.line});
        }
    }
    if (!unread.empty()) {
        return unsupported(describeUnreadParts(unread, who));
    }
    return {};
}

/// An id in <owner> or <group>: a number, or -1 for "the default".
Result<std::optional<std::uint32_t>> parseId(const XmlNode& node, std::string_view what) {
    const std::string text(trimString(node.text));
    if (text == "-1") {
        return std::optional<std::uint32_t>{};
    }
    auto v = parseUnsigned(text);
    if (!v || *v >= 0xffffffffu || text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
        return xmlError("malformed " + std::string(what) + " '" + printableText(text) + "' in <permissions>");
    }
    return std::optional<std::uint32_t>(static_cast<std::uint32_t>(*v));
}

Result<StoragePerms> parsePerms(const XmlNode& perms) {
    StoragePerms out;
    for (const auto& c : perms.children) {
        if (c.name == "mode" || c.name == "owner" || c.name == "group") {
            c.markRead();
        }
        if (c.name == "mode") {
            const std::string text(trimString(c.text));
            unsigned mode = 0;
            bool ok = !text.empty() && text.size() <= 5;
            for (char ch : text) {
                ok = ok && ch >= '0' && ch <= '7';
                mode = mode * 8 + static_cast<unsigned>(ch - '0');
            }
            if (!ok || (mode & ~0777u) != 0) {
                return xmlError("malformed octal mode '" + printableText(text) + "' in <permissions>");
            }
            out.mode = mode;
        } else if (c.name == "owner") {
            CORRAL_ASSIGN_OR_RETURN(out.uid, parseId(c, "owner"));
        } else if (c.name == "group") {
            CORRAL_ASSIGN_OR_RETURN(out.gid, parseId(c, "group"));
        }
        // <label> is left unread: no SELinux on this host's driver, so refused by name.
    }
    return out;
}

void formatPerms(const StoragePerms& p, int indent, std::string& out) {
    const std::string pad(static_cast<std::size_t>(indent), ' ');
    out += pad + "<permissions>\n";
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", p.mode.value_or(0));
    if (p.mode) {
        out += pad + "  <mode>" + mode + "</mode>\n";
    }
    out += pad + "  <owner>" + (p.uid ? std::to_string(*p.uid) : std::string("-1")) + "</owner>\n";
    out += pad + "  <group>" + (p.gid ? std::to_string(*p.gid) : std::string("-1")) + "</group>\n";
    out += pad + "</permissions>\n";
}

std::string sizeElement(const char* name, std::uint64_t bytes) {
    return std::string("  <") + name + " unit='bytes'>" + std::to_string(bytes) + "</" + name + ">\n";
}

}  // namespace

const std::vector<std::string>& knownStoragePoolTypes() {
    static const std::vector<std::string> types = {"dir",  "fs",    "netfs",   "logical", "disk",
                                                   "iscsi", "iscsi-direct", "scsi", "mpath", "rbd",
                                                   "sheepdog", "gluster", "zfs", "vstorage"};
    return types;
}

bool isNormalAbsolutePath(std::string_view path) {
    if (path.empty() || path[0] != '/') {
        return false;
    }
    if (path == "/") {
        return true;
    }
    for (const auto& part : splitString(path.substr(1), '/')) {
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
    }
    for (char ch : path) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
            return false;
        }
    }
    return true;
}

Result<void> checkVolumeName(std::string_view name) {
    if (name.empty()) {
        return xmlError("missing volume name");
    }
    if (name == "." || name == ".." || name.find('/') != std::string_view::npos) {
        return xmlError("volume name '" + printableText(name) + "' cannot contain '/' or be '.' or '..'");
    }
    if (name.size() > 255) {
        return xmlError("volume name '" + printableText(name.substr(0, 32)) + "...' is longer than 255 bytes");
    }
    for (char ch : name) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
            return xmlError("volume name '" + printableText(name) + "' contains a control character");
        }
    }
    return {};
}

Result<std::uint64_t> parseScaledBytes(std::string_view value, std::string_view unit, std::string_view what) {
    auto bad = [&] {
        return xmlError("malformed " + std::string(what) + " '" + printableText(value) + "' (unit '" +
                        printableText(unit) + "')");
    };
    auto number = parseUnsigned(trimString(value));
    if (!number || value.empty()) {
        return bad();
    }
    std::string u;
    for (char ch : unit) {
        u += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    std::uint64_t scale = 1;
    if (!u.empty() && u != "b" && u != "byte" && u != "bytes") {
        static const std::string prefixes = "kmgtpe";
        auto pos = prefixes.find(u[0]);
        if (pos == std::string::npos) {
            return bad();
        }
        const std::string rest = u.substr(1);
        std::uint64_t base = 0;
        if (rest.empty() || rest == "ib") {
            base = 1024;
        } else if (rest == "b") {
            base = 1000;
        } else {
            return bad();
        }
        for (std::size_t i = 0; i <= pos; ++i) {
            scale *= base;
        }
    }
    if (*number != 0 && scale > UINT64_MAX / *number) {
        return xmlError(std::string(what) + " '" + printableText(value) + "' overflows 64 bits");
    }
    return *number * scale;
}

Result<std::unique_ptr<StoragePoolDef>> parseStoragePoolXml(std::string_view xml) {
    CORRAL_ASSIGN_OR_RETURN(XmlNode root, parseXmlDocument(xml, "(storage_pool_definition)"));
    if (root.name != "pool") {
        return xmlError("expected root element <pool>, found <" + root.name + ">");
    }
    XmlReadTracker reads;
    auto def = std::make_unique<StoragePoolDef>();
    def->type = root.attrOr("type");
    if (def->type.empty()) {
        return xmlError("storage pool missing type attribute");
    }
    bool known = false;
    for (const auto& t : knownStoragePoolTypes()) {
        known = known || t == def->type;
    }
    if (!known) {
        return xmlError("unknown storage pool type '" + printableText(def->type) + "'");
    }
    // Refused before its parts are read: the type is the reason, not its <source> elements.
    if (def->type != "dir" && def->type != "fs") {
        return unsupported("storage pool type '" + def->type + "' is not supported (dir, fs)");
    }
    for (const auto& c : root.children) {
        if (c.name == "name") {
            c.markRead();
            def->name = std::string(trimString(c.text));
        } else if (c.name == "uuid") {
            c.markRead();
            auto u = Uuid::parse(trimString(c.text));
            if (!u) {
                return xmlError("<uuid>: '" + printableText(c.text) + "' is not a UUID");
            }
            def->uuid = *u;
            def->uuidGiven = true;
        } else if (c.name == "capacity" || c.name == "allocation" || c.name == "available") {
            // Output of an earlier dumpxml: recomputed from the file system, as libvirt does.
            c.markSubtreeRead();
        } else if (c.name == "source") {
            c.markRead();
            if (const XmlNode* dev = c.child("device")) {
                def->sourceDevice = dev->attrOr("path");
            }
            if (const XmlNode* fmt = c.child("format")) {
                def->sourceFormat = fmt->attrOr("type");
            }
        } else if (c.name == "target") {
            c.markRead();
            const XmlNode* path = c.child("path");
            if (path != nullptr) {
                def->targetPath = std::string(trimString(path->text));
            }
            if (const XmlNode* perms = c.child("permissions")) {
                CORRAL_ASSIGN_OR_RETURN(def->perms, parsePerms(*perms));
            }
        }
    }
    if (def->name.empty()) {
        return xmlError("missing pool source name element");
    }
    if (def->name.find('/') != std::string::npos) {
        return xmlError("name " + def->name + " cannot contain '/'");
    }
    CORRAL_TRY(refuseUnread(root, reads, "the storage driver"));
    if (def->type == "dir" || def->type == "fs") {
        if (def->targetPath.empty()) {
            return xmlError("missing storage pool target path");
        }
        if (!isNormalAbsolutePath(def->targetPath)) {
            return xmlError("storage pool target path '" + printableText(def->targetPath) +
                            "' must be absolute, without '.', '..' or repeated '/'");
        }
    }
    if (def->type == "fs" && def->sourceDevice.empty()) {
        return xmlError("missing storage pool source device path");
    }
    return def;
}

std::string formatStoragePoolXml(const StoragePoolDef& def, bool withSizes) {
    std::string out = "<pool type='" + xmlEscape(def.type) + "'>\n";
    out += "  <name>" + xmlEscape(def.name) + "</name>\n";
    out += "  <uuid>" + def.uuid.toString() + "</uuid>\n";
    if (withSizes) {
        out += sizeElement("capacity", def.capacity);
        out += sizeElement("allocation", def.allocation);
        out += sizeElement("available", def.available);
    }
    if (def.sourceDevice.empty() && def.sourceFormat.empty()) {
        out += "  <source>\n  </source>\n";
    } else {
        out += "  <source>\n";
        if (!def.sourceDevice.empty()) {
            out += "    <device path='" + xmlEscape(def.sourceDevice) + "'/>\n";
        }
        if (!def.sourceFormat.empty()) {
            out += "    <format type='" + xmlEscape(def.sourceFormat) + "'/>\n";
        }
        out += "  </source>\n";
    }
    out += "  <target>\n";
    out += "    <path>" + xmlEscape(def.targetPath) + "</path>\n";
    formatPerms(def.perms, 4, out);
    out += "  </target>\n";
    out += "</pool>\n";
    return out;
}

Result<std::unique_ptr<StorageVolDef>> parseStorageVolXml(std::string_view xml) {
    CORRAL_ASSIGN_OR_RETURN(XmlNode root, parseXmlDocument(xml, "(storage_volume_definition)"));
    if (root.name != "volume") {
        return xmlError("expected root element <volume>, found <" + root.name + ">");
    }
    XmlReadTracker reads;
    auto def = std::make_unique<StorageVolDef>();
    const std::string type = root.attrOr("type", "file");
    if (type != "file") {
        return unsupported("<volume type='" + printableText(type) + "'>: a directory pool holds files only");
    }
    for (const auto& c : root.children) {
        if (c.name == "name") {
            c.markRead();
            def->name = std::string(trimString(c.text));
        } else if (c.name == "capacity" || c.name == "allocation") {
            c.markRead();
            CORRAL_ASSIGN_OR_RETURN(auto bytes, parseScaledBytes(c.text, c.attrOr("unit"), c.name));
            if (c.name == "capacity") {
                def->capacity = bytes;
                def->capacityGiven = true;
            } else {
                def->allocation = bytes;
            }
        } else if (c.name == "key" || c.name == "physical") {
            // Output of an earlier dumpxml (vol-clone sends it back): recomputed.
            c.markSubtreeRead();
        } else if (c.name == "target") {
            c.markRead();
            if (const XmlNode* path = c.child("path")) {
                (void)path;  // where the volume lives is the pool's to say: recomputed
            }
            if (const XmlNode* fmt = c.child("format")) {
                def->format = fmt->attrOr("type");
            }
            if (const XmlNode* perms = c.child("permissions")) {
                CORRAL_ASSIGN_OR_RETURN(def->perms, parsePerms(*perms));
            }
            if (const XmlNode* compat = c.child("compat")) {
                def->compat = std::string(trimString(compat->text));
            }
            if (const XmlNode* features = c.child("features")) {
                if (const XmlNode* lazy = features->child("lazy_refcounts")) {
                    (void)lazy;
                    def->lazyRefcounts = true;
                }
            }
            if (const XmlNode* ts = c.child("timestamps")) {
                ts->markSubtreeRead();  // output only: the file's times
            }
            if (const XmlNode* enc = c.child("encryption")) {
                // Only the format and the passphrase's secret: <cipher>, <ivgen> and the
                // engine stay unread, so refused (qemu-img's defaults are what is made).
                def->encryptionFormat = enc->attrOr("format");
                if (def->encryptionFormat != "luks") {
                    return unsupported("<encryption format='" + printableText(def->encryptionFormat) +
                                       "'>: only 'luks' volumes can be created");
                }
                const XmlNode* secret = enc->child("secret");
                if (secret == nullptr || secret->attrOr("type") != "passphrase") {
                    return xmlError("<encryption format='luks'> needs <secret type='passphrase' uuid='...'/>");
                }
                def->encryptionSecretUuid = secret->attrOr("uuid");
                def->encryptionSecretUsage = secret->attrOr("usage");
                if (def->encryptionSecretUuid.empty() == def->encryptionSecretUsage.empty()) {
                    return xmlError("<encryption><secret> needs either uuid or usage");
                }
            }
            if (const XmlNode* cluster = c.child("clusterSize")) {
                cluster->markSubtreeRead();  // output only
            }
        } else if (c.name == "backingStore") {
            c.markRead();
            if (const XmlNode* path = c.child("path")) {
                def->backingPath = std::string(trimString(path->text));
            }
            if (const XmlNode* fmt = c.child("format")) {
                def->backingFormat = fmt->attrOr("type");
            }
            if (const XmlNode* perms = c.child("permissions")) {
                perms->markSubtreeRead();  // output only: the backing file's owner
            }
            if (const XmlNode* ts = c.child("timestamps")) {
                ts->markSubtreeRead();
            }
        }
    }
    CORRAL_TRY(checkVolumeName(def->name));
    if (!def->capacityGiven) {
        return xmlError("missing capacity element in volume '" + printableText(def->name) + "'");
    }
    CORRAL_TRY(refuseUnread(root, reads, "the storage driver"));
    if (def->format.empty() || def->format == "none") {
        def->format = "raw";
    }
    if (def->format != "raw" && def->format != "qcow2") {
        return unsupported("volume format '" + printableText(def->format) +
                           "' is not supported by this storage driver (raw, qcow2)");
    }
    if (!def->compat.empty() && def->compat != "0.10" && def->compat != "1.1") {
        return xmlError("unsupported qcow2 compat '" + printableText(def->compat) + "' (0.10 or 1.1)");
    }
    if (def->format != "qcow2" && (def->lazyRefcounts || !def->compat.empty() || !def->backingPath.empty())) {
        return unsupported("compat, lazy_refcounts and a backing store need format 'qcow2'");
    }
    if (def->lazyRefcounts && def->compat == "0.10") {
        return xmlError("lazy_refcounts need qcow2 compat 1.1");
    }
    if (!def->backingPath.empty() && !isNormalAbsolutePath(def->backingPath)) {
        return xmlError("backing store path '" + printableText(def->backingPath) + "' must be absolute and normal");
    }
    if (!def->encryptionFormat.empty() && (!def->backingPath.empty() || def->allocation)) {
        return unsupported("an encrypted volume with a backing store or an <allocation> is not supported");
    }
    if (!def->backingFormat.empty() && def->backingFormat != "raw" && def->backingFormat != "qcow2") {
        return unsupported("backing store format '" + printableText(def->backingFormat) +
                           "' is not supported (raw, qcow2)");
    }
    return def;
}

std::string formatStorageVolXml(const StorageVolDef& def) {
    std::string out = "<volume type='file'>\n";
    out += "  <name>" + xmlEscape(def.name) + "</name>\n";
    out += "  <key>" + xmlEscape(def.key) + "</key>\n";
    out += sizeElement("capacity", def.capacity);
    out += sizeElement("allocation", def.allocated);
    out += sizeElement("physical", def.physical);
    out += "  <target>\n";
    out += "    <path>" + xmlEscape(def.path) + "</path>\n";
    out += "    <format type='" + xmlEscape(def.format) + "'/>\n";
    formatPerms(def.perms, 4, out);
    if (def.format == "qcow2" && !def.compat.empty()) {
        out += "    <compat>" + xmlEscape(def.compat) + "</compat>\n";
    }
    if (def.lazyRefcounts) {
        out += "    <features>\n      <lazy_refcounts/>\n    </features>\n";
    }
    if (!def.encryptionFormat.empty()) {
        out += "    <encryption format='" + xmlEscape(def.encryptionFormat) + "'";
        if (def.encryptionSecretUuid.empty() && def.encryptionSecretUsage.empty()) {
            out += "/>\n";  // found by a refresh: the file does not say which secret opens it
        } else {
            out += ">\n      <secret type='passphrase' " +
                   (def.encryptionSecretUuid.empty() ? "usage='" + xmlEscape(def.encryptionSecretUsage)
                                                     : "uuid='" + xmlEscape(def.encryptionSecretUuid)) +
                   "'/>\n    </encryption>\n";
        }
    }
    out += "  </target>\n";
    if (!def.backingPath.empty()) {
        out += "  <backingStore>\n";
        out += "    <path>" + xmlEscape(def.backingPath) + "</path>\n";
        out += "    <format type='" + xmlEscape(def.backingFormat.empty() ? "raw" : def.backingFormat) + "'/>\n";
        out += "  </backingStore>\n";
    }
    out += "</volume>\n";
    return out;
}

std::string formatStoragePoolCapabilities(const std::vector<std::string>& supported) {
    std::string out = "<storagepoolCapabilities>\n";
    for (const auto& type : knownStoragePoolTypes()) {
        bool yes = false;
        for (const auto& s : supported) {
            yes = yes || s == type;
        }
        if (!yes) {
            out += "  <pool type='" + type + "' supported='no'/>\n";
            continue;
        }
        out += "  <pool type='" + type + "' supported='yes'>\n";
        if (type == "fs") {
            out += "    <poolOptions>\n      <defaultFormat type='auto'/>\n";
            out += "      <enum name='sourceFormatType'>\n";
            for (const char* f : {"auto", "ext2", "ext3", "ext4", "xfs"}) {
                out += std::string("        <value>") + f + "</value>\n";
            }
            out += "      </enum>\n    </poolOptions>\n";
        }
        out += "    <volOptions>\n      <defaultFormat type='raw'/>\n";
        out += "      <enum name='targetFormatType'>\n";
        for (const char* f : {"none", "raw", "qcow2"}) {
            out += std::string("        <value>") + f + "</value>\n";
        }
        out += "      </enum>\n    </volOptions>\n";
        out += "  </pool>\n";
    }
    out += "</storagepoolCapabilities>\n";
    return out;
}

}  // namespace corral::conf
