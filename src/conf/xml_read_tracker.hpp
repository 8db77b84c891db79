// SPDX-License-Identifier: LGPL-2.1-or-later
// XmlReadTracker: which parts of XmlNode trees a piece of code read, so a driver can refuse the
// parts of a definition its plan never looked at ("accepted means enforced").
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace corral::conf {

struct XmlNode;

/// While an XmlReadTracker lives, the XmlNode accessors of its thread (attr, attrOr, child,
/// childText, childAttr, markRead) record what they touched in it: the element they were called
/// on, the child they returned, the attribute they looked up. Code that reads a node's fields
/// directly (text, children) says so with XmlNode::markRead(). Trackers nest: an inner one
/// records on its own, the outer one resumes when it ends. Only the creating thread records
/// into a tracker, so the trees read may be shared with other threads.
class XmlReadTracker {
public:
    XmlReadTracker();
    ~XmlReadTracker();
    XmlReadTracker(const XmlReadTracker&) = delete;
    XmlReadTracker& operator=(const XmlReadTracker&) = delete;

    /// Whether the element (its presence and its text) was read.
    [[nodiscard]] bool wasRead(const XmlNode& node) const;
    /// Whether attribute number `index` of `node` was read.
    [[nodiscard]] bool attrWasRead(const XmlNode& node, std::size_t index) const;

    /// Called by XmlNode's accessors: records into the thread's current tracker, if any.
    static void noteNode(const XmlNode& node);
    static void noteAttr(const XmlNode& node, std::size_t index);

private:
    struct AttrKey {
        const XmlNode* node;
        std::size_t index;
        bool operator==(const AttrKey&) const = default;
    };
    struct AttrKeyHash {
        std::size_t operator()(const AttrKey& k) const noexcept {
            return std::hash<const void*>()(k.node) ^ (k.index * 0x9e3779b97f4a7c15ULL);
        }
    };
    std::unordered_set<const XmlNode*> nodes_;
    std::unordered_set<AttrKey, AttrKeyHash> attrs_;
    XmlReadTracker* outer_;
};

/// One part of a tree nobody read: `where` names it the way error messages do
/// ("<interface><filterref>", "<graphics keymap='fr'>"), with the line it came from.
struct UnreadPart {
    std::string where;
    int line = 0;
};

/// Appends to `out` the parts of `node` (itself, its attributes, its children, recursively) that
/// `tracker` did not see read. `path` is how the parents are written ("<devices>"); an element
/// whose name `descriptive` accepts is skipped with everything under it (title, metadata...).
void collectUnreadParts(const XmlNode& node, const XmlReadTracker& tracker, const std::string& path,
                        const std::function<bool(std::string_view)>& descriptive, std::vector<UnreadPart>& out);

/// xmlns and xmlns:* declare prefixes: never a part of a definition to act on.
bool isNamespaceDeclaration(std::string_view attribute);

/// The refusal's text: "<a> (line 3), <b x='y'> (line 5) and 2 more are not supported by WHO",
/// naming the first few parts of a non-empty `parts`.
std::string describeUnreadParts(const std::vector<UnreadPart>& parts, std::string_view who);

}  // namespace corral::conf
