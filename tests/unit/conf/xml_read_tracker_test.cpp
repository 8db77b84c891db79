// SPDX-License-Identifier: LGPL-2.1-or-later
// XmlReadTracker: what the accessors record, on which thread, and the walk that names what
// nobody read.
#include <gtest/gtest.h>

#include <thread>

#include "conf/xml_node.hpp"
#include "conf/xml_read_tracker.hpp"

namespace corral::conf {
namespace {

XmlNode parse(const char* text) {
    auto doc = parseXmlDocument(text, "(test)");
    EXPECT_TRUE(doc) << doc.error().message;
    return *doc;
}

std::vector<std::string> unreadOf(const XmlNode& root, const XmlReadTracker& t,
                                  const std::function<bool(std::string_view)>& descriptive =
                                      [](std::string_view) { return false; }) {
    std::vector<UnreadPart> parts;
    collectUnreadParts(root, t, "", descriptive, parts);
    std::vector<std::string> out;
    for (const auto& p : parts) {
        out.push_back(p.where + "@" + std::to_string(p.line));
    }
    return out;
}

TEST(XmlReadTracker, AccessorsRecordWhatTheyTouch) {
    XmlNode iface = parse("<interface type='bridge'>\n<source bridge='br0'/>\n<model type='virtio'/>\n"
                          "<filterref filter='clean-traffic'/>\n</interface>");
    XmlReadTracker t;
    EXPECT_EQ(iface.attrOr("type"), "bridge");
    EXPECT_EQ(iface.childAttr("source", "bridge"), "br0");
    EXPECT_EQ(iface.childAttr("model", "type"), "virtio");
    EXPECT_EQ(unreadOf(iface, t), std::vector<std::string>{"<interface><filterref>@4"});
}

TEST(XmlReadTracker, AnUnreadAttributeIsNamedWithItsValue) {
    XmlNode g = parse("<graphics type='vnc' keymap='fr' port='5900'/>");
    XmlReadTracker t;
    (void)g.attr("type");
    (void)g.attr("port");
    EXPECT_EQ(unreadOf(g, t), std::vector<std::string>{"<graphics keymap='fr'>@1"});
}

TEST(XmlReadTracker, LookingForAnAbsentAttributeStillReadsTheElement) {
    XmlNode root = parse("<features><acpi/></features>");
    XmlReadTracker t;
    EXPECT_EQ(root.child("acpi")->attr("state"), nullptr);
    EXPECT_TRUE(unreadOf(root, t).empty());
}

TEST(XmlReadTracker, MarkReadAndMarkSubtreeRead) {
    XmlNode root = parse("<r><text>x</text><opaque a='1'><deep b='2'/></opaque><left/></r>");
    XmlReadTracker t;
    root.markRead();
    root.children[0].markRead();
    root.children[1].markSubtreeRead();
    EXPECT_EQ(unreadOf(root, t), std::vector<std::string>{"<r><left>@1"});
}

TEST(XmlReadTracker, AReadChildMakesItsParentRead) {
    // Code that walks children directly and reads one of them has read the parent too.
    XmlNode root = parse("<cputune><shares>10</shares><vcpusched scheduler='fifo'/></cputune>");
    XmlReadTracker t;
    root.children[0].markRead();
    EXPECT_EQ(unreadOf(root, t), std::vector<std::string>{"<cputune><vcpusched>@1"});
}

TEST(XmlReadTracker, DescriptiveElementsAreSkippedWithEverythingInThem) {
    XmlNode root = parse("<disk><alias name='ua-x'><odd/></alias><target dev='vda'/></disk>");
    XmlReadTracker t;
    (void)root.childAttr("target", "dev");
    EXPECT_TRUE(unreadOf(root, t, [](std::string_view n) { return n == "alias"; }).empty());
    EXPECT_EQ(unreadOf(root, t).size(), 1u);
}

TEST(XmlReadTracker, NamespaceDeclarationsAreNeverParts) {
    XmlNode root = parse("<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>");
    XmlReadTracker t;
    root.markRead();
    EXPECT_TRUE(unreadOf(root, t).empty());
}

TEST(XmlReadTracker, NothingIsRecordedWithoutATrackerOrOnAnotherThread) {
    XmlNode root = parse("<a b='c'/>");
    (void)root.attr("b");  // no tracker yet: not recorded anywhere
    XmlReadTracker t;
    std::thread other([&] { (void)root.attr("b"); });
    other.join();
    EXPECT_FALSE(t.wasRead(root));
    EXPECT_FALSE(t.attrWasRead(root, 0));
}

TEST(XmlReadTracker, NestedTrackersEachRecordWhatWasReadWhileTheyLived) {
    XmlNode root = parse("<a b='c' d='e'/>");
    XmlReadTracker outer;
    {
        XmlReadTracker inner;
        (void)root.attr("b");
        EXPECT_TRUE(inner.attrWasRead(root, 0));
        EXPECT_TRUE(outer.attrWasRead(root, 0));
    }
    (void)root.attr("d");
    EXPECT_TRUE(outer.attrWasRead(root, 1));
}

}  // namespace
}  // namespace corral::conf
