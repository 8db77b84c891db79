// SPDX-License-Identifier: LGPL-2.1-or-later
// The DAC driver on real files (identities, journaled owners, shared files, unreachable
// directories, restart and crash recovery), the SELinux driver's label decisions, and the
// <seclabel> elements the stack writes into the live definition.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "security/dac_driver.hpp"
#include "security/lsm_drivers.hpp"
#include "security/security_manager.hpp"

namespace corral::security {
namespace {

/// The journal as the store keeps it, in memory.
class MemoryJournal final : public OwnerJournal {
public:
    Result<void> remember(const std::string& path, const std::string& holder, const Owner& original) override {
        owners.try_emplace(path, original);
        held[path].insert(holder);
        return {};
    }
    Result<std::optional<Owner>> release(const std::string& path, const std::string& holder) override {
        auto it = held.find(path);
        if (it == held.end() || it->second.erase(holder) == 0) {
            return std::optional<Owner>{};
        }
        if (!it->second.empty()) {
            return std::optional<Owner>{};
        }
        held.erase(it);
        auto owner = owners.at(path);
        owners.erase(path);
        return std::optional<Owner>(owner);
    }
    Result<std::vector<std::string>> pathsHeldBy(const std::string& holder) override {
        std::vector<std::string> out;
        for (const auto& [path, who] : held) {
            if (who.contains(holder)) {
                out.push_back(path);
            }
        }
        return out;
    }
    Result<std::vector<std::string>> holders() override {
        std::set<std::string> all;
        for (const auto& [path, who] : held) {
            all.insert(who.begin(), who.end());
        }
        return std::vector<std::string>(all.begin(), all.end());
    }
    std::map<std::string, Owner> owners;
    std::map<std::string, std::set<std::string>> held;
};

conf::DomainDef guest(int n) {
    conf::DomainDef def;
    def.name = "g" + std::to_string(n);
    def.uuid.bytes[15] = static_cast<std::uint8_t>(n);
    return def;
}

class DacTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "giving files to other uids needs root";
        }
        char tmpl[] = "/tmp/corral-dac-XXXXXX";
        dir_ = mkdtemp(tmpl);
        ::chmod(dir_.c_str(), 0711);
        config_.idMin = 300000;
        config_.idCount = 16;
    }
    void TearDown() override {
        if (!dir_.empty()) {
            std::filesystem::remove_all(dir_);
        }
    }
    std::string file(const std::string& name, uid_t uid, gid_t gid, mode_t mode) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path) << "x";
        EXPECT_EQ(::chown(path.c_str(), uid, gid), 0);
        EXPECT_EQ(::chmod(path.c_str(), mode), 0);
        return path;
    }
    static struct stat statOf(const std::string& path) {
        struct stat st {};
        ::stat(path.c_str(), &st);
        return st;
    }
    std::string dir_;
    DacConfig config_;
    MemoryJournal journal_;
};

TEST_F(DacTest, EachGuestGetsItsOwnIdentityAndItsFilesBack) {
    DacDriver dac(config_, &journal_);
    std::string a = file("a.img", 1000, 100, 0600);
    std::string b = file("b.img", 0, 0, 0600);
    GuestSecurity secA, secB;
    conf::DomainDef ga = guest(1), gb = guest(2);
    ASSERT_TRUE(dac.prepare(ga, {{a, true}}, secA));
    ASSERT_TRUE(dac.prepare(gb, {{b, true}}, secB));
    EXPECT_NE(secA.confinement.uid, secB.confinement.uid);
    EXPECT_GE(secA.confinement.uid, 300000u);
    EXPECT_TRUE(secA.confinement.changeIdentity);
    EXPECT_EQ(statOf(a).st_uid, secA.confinement.uid);
    EXPECT_EQ(statOf(b).st_uid, secB.confinement.uid);
    ASSERT_EQ(secA.labels.size(), 1u);
    EXPECT_EQ(secA.labels[0].label, dacLabel(secA.confinement.uid, secA.confinement.gid));

    writeSeclabels(ga, secA.labels);
    dac.release(ga, {{a, true}});
    EXPECT_EQ(statOf(a).st_uid, 1000u);
    EXPECT_EQ(statOf(a).st_gid, 100u);
    EXPECT_TRUE(journal_.pathsHeldBy(ga.uuid.toString())->empty());
}

TEST_F(DacTest, WorldReadableSharedFilesStayAsTheyAre) {
    DacDriver dac(config_, &journal_);
    std::string iso = file("boot.iso", 0, 0, 0644);
    GuestSecurity sec;
    ASSERT_TRUE(dac.prepare(guest(3), {{iso, false, true}}, sec));
    EXPECT_EQ(statOf(iso).st_uid, 0u);
    EXPECT_TRUE(journal_.owners.empty());
}

TEST_F(DacTest, AnUnreachableDirectoryIsNamedWithTheFix) {
    std::string closed = dir_ + "/closed";
    ::mkdir(closed.c_str(), 0700);
    std::ofstream(closed + "/disk.img") << "x";
    DacDriver dac(config_, &journal_);
    GuestSecurity sec;
    auto r = dac.prepare(guest(4), {{closed + "/disk.img", true}}, sec);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("directory '" + closed + "' is not searchable"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("chmod o+x"), std::string::npos);
    EXPECT_TRUE(journal_.owners.empty());
}

TEST_F(DacTest, ASharedWritableDiskOfAnotherGuestIsRefused) {
    DacDriver dac(config_, &journal_);
    std::string shared = file("shared.img", 0, 0, 0600);
    GuestSecurity first, second;
    ASSERT_TRUE(dac.prepare(guest(5), {{shared, true, true}}, first));
    auto r = dac.prepare(guest(6), {{shared, true, true}}, second);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("already given to another running guest"), std::string::npos);
}

TEST_F(DacTest, ANewDaemonKeepsRunningGuestsAndGivesBackTheRest) {
    std::string running = file("running.img", 0, 0, 0600);
    std::string crashed = file("crashed.img", 1000, 1000, 0640);
    conf::DomainDef keep = guest(7), gone = guest(8);
    {
        DacDriver before(config_, &journal_);
        GuestSecurity s1, s2;
        ASSERT_TRUE(before.prepare(keep, {{running, true}}, s1));
        ASSERT_TRUE(before.prepare(gone, {{crashed, true}}, s2));
        writeSeclabels(keep, s1.labels);
    }
    // The daemon died; the new one takes the running guest's identity back first.
    DacDriver after(config_, &journal_);
    ASSERT_TRUE(after.reserve(keep));
    after.restoreOrphans({keep.uuid.toString()});
    EXPECT_EQ(statOf(crashed).st_uid, 1000u);
    EXPECT_EQ(statOf(crashed).st_mode & 0777, 0640u);
    EXPECT_GE(statOf(running).st_uid, 300000u);
    // Its uid is not handed out again while it runs.
    GuestSecurity another;
    ASSERT_TRUE(after.prepare(guest(9), {}, another));
    EXPECT_NE(another.confinement.uid, statOf(running).st_uid);
}

TEST_F(DacTest, TheModeAGuestChangedGoesBackWithTheOwner) {
    DacDriver dac(config_, &journal_);
    std::string img = file("mode.img", 1000, 100, 0600);
    conf::DomainDef def = guest(11);
    GuestSecurity sec;
    ASSERT_TRUE(dac.prepare(def, {{img, true}}, sec));
    // The guest owns its image for the run and may open it up to everyone.
    ASSERT_EQ(::chmod(img.c_str(), 0666), 0);
    writeSeclabels(def, sec.labels);
    dac.release(def, {{img, true}});
    EXPECT_EQ(statOf(img).st_uid, 1000u);
    EXPECT_EQ(statOf(img).st_gid, 100u);
    EXPECT_EQ(statOf(img).st_mode & 07777, 0600u);
}

TEST_F(DacTest, ALinkRepointedDuringTheRunIsNotFollowedWhenGivingBack) {
    std::string real = file("real.img", 1000, 100, 0600);
    std::string victim = file("victim", 4321, 4321, 0640);
    std::string link = dir_ + "/disk.img";
    ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
    conf::DomainDef def = guest(12);
    DacDriver dac(config_, &journal_);
    GuestSecurity sec;
    ASSERT_TRUE(dac.prepare(def, {{link, true}}, sec));
    EXPECT_EQ(statOf(real).st_uid, sec.confinement.uid);
    // Whoever can write the link's directory points it elsewhere while the guest runs.
    ASSERT_EQ(::unlink(link.c_str()), 0);
    ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
    writeSeclabels(def, sec.labels);
    dac.release(def, {{link, true}});
    EXPECT_EQ(statOf(victim).st_uid, 4321u);
    EXPECT_EQ(statOf(victim).st_mode & 07777, 0640u);
    // The inode that was given goes back all the same (reached where it was, not by the link).
    EXPECT_EQ(statOf(real).st_uid, 1000u);
    EXPECT_EQ(statOf(real).st_mode & 07777, 0600u);
}

TEST_F(DacTest, AFileReplacedDuringTheRunIsLeftAlone) {
    std::string img = file("replaced.img", 1000, 100, 0600);
    conf::DomainDef def = guest(13);
    DacDriver dac(config_, &journal_);
    GuestSecurity sec;
    ASSERT_TRUE(dac.prepare(def, {{img, true}}, sec));
    ASSERT_EQ(::unlink(img.c_str()), 0);
    file("replaced.img", 4321, 4321, 0644);  // another inode at the same path
    writeSeclabels(def, sec.labels);
    dac.release(def, {{img, true}});
    EXPECT_EQ(statOf(img).st_uid, 4321u);
    EXPECT_EQ(statOf(img).st_mode & 07777, 0644u);
    EXPECT_TRUE(journal_.owners.empty());  // the entry is settled either way
}

TEST_F(DacTest, AfterACrashTheNextDaemonAlsoChecksTheInode) {
    std::string real = file("crash-real.img", 1000, 100, 0600);
    std::string victim = file("crash-victim", 4321, 4321, 0640);
    std::string link = dir_ + "/crash.img";
    ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
    conf::DomainDef def = guest(14);
    {
        DacDriver before(config_, &journal_);
        GuestSecurity sec;
        ASSERT_TRUE(before.prepare(def, {{link, true}}, sec));
        ASSERT_EQ(::chmod(real.c_str(), 0666), 0);
    }
    ASSERT_EQ(::unlink(link.c_str()), 0);
    ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
    // The daemon and the guest died; the next daemon gives back what the journal holds.
    DacDriver after(config_, &journal_);
    after.restoreOrphans({});
    EXPECT_EQ(statOf(victim).st_uid, 4321u);
    EXPECT_EQ(statOf(victim).st_mode & 07777, 0640u);
    EXPECT_EQ(statOf(real).st_uid, 1000u);
    EXPECT_EQ(statOf(real).st_mode & 07777, 0600u);
}

TEST_F(DacTest, AnOlderJournalEntryIsNeverGivenBackThroughALink) {
    // Journaled by a corrald that recorded no inode (schema version 2): the path only, as is.
    std::string victim = file("old-victim", 4321, 4321, 0640);
    std::string link = dir_ + "/old.img";
    ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
    std::string plain = file("old-plain.img", 300001, 300001, 0666);
    ASSERT_TRUE(journal_.remember(link, "gone", {1000, 100, 0600, 0, 0, "", 0, 0}));
    ASSERT_TRUE(journal_.remember(plain, "gone", {1000, 100, 0600, 0, 0, "", 0, 0}));
    DacDriver dac(config_, &journal_);
    dac.restoreOrphans({});
    EXPECT_EQ(statOf(victim).st_uid, 4321u);
    EXPECT_EQ(statOf(plain).st_uid, 1000u);
    EXPECT_EQ(statOf(plain).st_mode & 07777, 0600u);
}

TEST_F(DacTest, TypeNoneLeavesTheGuestRootAndItsFilesAlone) {
    DacDriver dac(config_, &journal_);
    std::string img = file("none.img", 0, 0, 0600);
    conf::DomainDef def = guest(10);
    conf::XmlNode seclabel;
    seclabel.name = "seclabel";
    seclabel.setAttr("type", "none");
    seclabel.setAttr("model", "dac");
    def.elements.push_back(seclabel);
    GuestSecurity sec;
    ASSERT_TRUE(dac.prepare(def, {{img, true}}, sec));
    EXPECT_FALSE(sec.confinement.changeIdentity);
    EXPECT_EQ(statOf(img).st_uid, 0u);
}

TEST(DacLabel, ParsesLibvirtsForm) {
    auto id = parseDacLabel("+107:+994");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->first, 107u);
    EXPECT_EQ(id->second, 994u);
    EXPECT_FALSE(parseDacLabel("qemu"));
    EXPECT_FALSE(parseDacLabel("+1:+2:+3"));
}

TEST(SelinuxDriver, DynamicLabelsAreUniqueAndStaticOnesChecked) {
    std::uint32_t seed = 1;
    SelinuxDriver selinux([&seed] { return seed = seed * 1103515245u + 12345u; });
    auto a = selinux.chooseLabels(guest(1));
    auto b = selinux.chooseLabels(guest(2));
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->label.starts_with("system_u:system_r:svirt_t:s0:c"));
    EXPECT_TRUE(a->imageLabel.starts_with("system_u:object_r:svirt_image_t:s0:c"));
    EXPECT_EQ(selinuxRangeOf(a->label), selinuxRangeOf(a->imageLabel));
    EXPECT_NE(selinuxRangeOf(a->label), selinuxRangeOf(b->label));

    conf::DomainDef fixed = guest(3);
    conf::XmlNode seclabel;
    seclabel.name = "seclabel";
    seclabel.setAttr("type", "static");
    seclabel.setAttr("model", "selinux");
    seclabel.children.push_back(conf::XmlNode{"label", {}, {}, "system_u:system_r:svirt_t:s0:c1,c2", 0});
    fixed.elements.push_back(seclabel);
    auto s = selinux.chooseLabels(fixed);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->type, "static");
    EXPECT_FALSE(s->relabel);  // libvirt: static labels default to relabel='no'
    EXPECT_EQ(s->imageLabel, "system_u:object_r:svirt_image_t:s0:c1,c2");
    fixed.elements.back().children[0].text = "not a context";
    EXPECT_FALSE(selinux.chooseLabels(fixed));
}

TEST(SecurityManager, SeclabelsReplaceTheDefinitionsOwn) {
    conf::DomainDef def = guest(1);
    conf::XmlNode asked;
    asked.name = "seclabel";
    asked.setAttr("type", "dynamic");
    asked.setAttr("model", "dac");
    def.elements.push_back(asked);
    writeSeclabels(def, {{"dac", "dynamic", true, "+300001:+300001", "+300001:+300001"}, {"apparmor", "none", false, "", ""}});
    std::string xml;
    for (const auto& e : def.elements) {
        conf::formatXmlNode(e, 0, xml);
    }
    EXPECT_EQ(xml,
              "<seclabel type='dynamic' model='dac' relabel='yes'>\n"
              "  <label>+300001:+300001</label>\n"
              "  <imagelabel>+300001:+300001</imagelabel>\n"
              "</seclabel>\n"
              "<seclabel type='none' model='apparmor'/>\n");
}

TEST(SecurityManager, AnLsmTheHostLacksIsRefusedWithTheReason) {
    if (!SelinuxDriver::unavailableReason().empty()) {
        SecurityConfig config;
        config.drivers = {"selinux"};
        auto manager = SecurityManager::create(config, nullptr);
        ASSERT_FALSE(manager);
        EXPECT_NE(manager.error().message.find("security driver 'selinux' is not available: SELinux is not enabled"),
                  std::string::npos)
            << manager.error().message;
        // Automatic selection simply leaves it out, and a definition asking for it is refused.
        auto automatic = SecurityManager::create({}, nullptr);
        ASSERT_TRUE(automatic);
        conf::DomainDef def = guest(1);
        conf::XmlNode asked;
        asked.name = "seclabel";
        asked.setAttr("type", "dynamic");
        asked.setAttr("model", "selinux");
        def.elements.push_back(asked);
        auto checked = (*automatic)->checkDefinition(def);
        ASSERT_FALSE(checked);
        EXPECT_NE(checked.error().message.find("security model 'selinux' is not available on this host"),
                  std::string::npos);
    }
}

}  // namespace
}  // namespace corral::security
