// SPDX-License-Identifier: LGPL-2.1-or-later
// XmlReadTracker: the thread's current tracker and the walk that lists what nobody read.
#include "conf/xml_read_tracker.hpp"

#include "conf/xml_node.hpp"

namespace corral::conf {

namespace {

// One per thread: a driver plans a definition on one worker thread, and other threads reading
// the same shared definition (dumpxml) must neither record into nor race with its tracker.
thread_local XmlReadTracker* tCurrent = nullptr;

// More than this many parts in one message would bury the first; the count says the rest.
constexpr std::size_t kPartsNamed = 5;

/// Walks `node`'s subtree; returns whether anything in it was read. Unread parts below a read
/// element are appended to `out`.
bool walk(const XmlNode& node, const XmlReadTracker& tracker, const std::string& path,
          const std::function<bool(std::string_view)>& descriptive, std::vector<UnreadPart>& out) {
    const std::string here = path + "<" + node.name + ">";
    std::vector<UnreadPart> below;
    bool anyRead = tracker.wasRead(node);
    for (std::size_t i = 0; i < node.attrs.size(); ++i) {
        const auto& [key, value] = node.attrs[i];
        if (tracker.attrWasRead(node, i)) {
            anyRead = true;
        } else if (!isNamespaceDeclaration(key)) {
            below.push_back({path + "<" + node.name + " " + key + "='" + value + "'>", node.line});
        }
    }
    for (const auto& child : node.children) {
        if (descriptive(child.name)) {
            continue;
        }
        if (walk(child, tracker, here, descriptive, below)) {
            anyRead = true;
        }
    }
    if (!anyRead) {
        // Nothing of it was looked at: the element itself is what was ignored.
        out.push_back({here, node.line});
        return false;
    }
    out.insert(out.end(), std::make_move_iterator(below.begin()), std::make_move_iterator(below.end()));
    return true;
}

}  // namespace

XmlReadTracker::XmlReadTracker() : outer_(tCurrent) { tCurrent = this; }

XmlReadTracker::~XmlReadTracker() { tCurrent = outer_; }

bool XmlReadTracker::wasRead(const XmlNode& node) const { return nodes_.contains(&node); }

bool XmlReadTracker::attrWasRead(const XmlNode& node, std::size_t index) const {
    return attrs_.contains(AttrKey{&node, index});
}

void XmlReadTracker::noteNode(const XmlNode& node) {
    for (XmlReadTracker* t = tCurrent; t != nullptr; t = t->outer_) {
        t->nodes_.insert(&node);
    }
}

void XmlReadTracker::noteAttr(const XmlNode& node, std::size_t index) {
    for (XmlReadTracker* t = tCurrent; t != nullptr; t = t->outer_) {
        t->nodes_.insert(&node);
        t->attrs_.insert(AttrKey{&node, index});
    }
}

bool isNamespaceDeclaration(std::string_view attribute) {
    return attribute == "xmlns" || attribute.starts_with("xmlns:");
}

std::string describeUnreadParts(const std::vector<UnreadPart>& parts, std::string_view who) {
    std::string message;
    for (std::size_t i = 0; i < parts.size() && i < kPartsNamed; ++i) {
        message += (i == 0 ? "" : ", ") + parts[i].where;
        if (parts[i].line > 0) {
            message += " (line " + std::to_string(parts[i].line) + ")";
        }
    }
    if (parts.size() > kPartsNamed) {
        message += " and " + std::to_string(parts.size() - kPartsNamed) + " more";
    }
    message += parts.size() == 1 ? " is" : " are";
    return message + " not supported by " + std::string(who);
}

void collectUnreadParts(const XmlNode& node, const XmlReadTracker& tracker, const std::string& path,
                        const std::function<bool(std::string_view)>& descriptive, std::vector<UnreadPart>& out) {
    if (!descriptive(node.name)) {
        walk(node, tracker, path, descriptive, out);
    }
}

}  // namespace corral::conf
