// SPDX-License-Identifier: LGPL-2.1-or-later
// DriverRegistry with a real store: URIs map to drivers; definitions survive a new registry.
#include "drivers/registry.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "objects/store.hpp"

using namespace corral;
using namespace corral::drivers;

namespace {
struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/corral-registry-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

const char* kQemuXml =
    "<domain type='qemu'><name>vm1</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
    "<os><type arch='x86_64'>hvm</type></os>"
    "<devices><interface type='network'><source network='default'/></interface></devices></domain>";
}  // namespace

TEST(DriverRegistry, MapsUris) {
    auto reg = DriverRegistry::create(nullptr);
    ASSERT_TRUE(reg) << reg.error().wireMessage();
    EXPECT_EQ((*(*reg)->driverForUri("qemu:///system"))->name(), "qemu");
    EXPECT_EQ((*(*reg)->driverForUri("lxc:///"))->name(), "lxc");
    EXPECT_EQ((*(*reg)->driverForUri("test:///default"))->name(), "test");
    auto bad = (*reg)->driverForUri("xen:///");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::NoConnect);
}

TEST(DriverRegistry, DefinitionsAndAutostartSurviveRestart) {
    TempDir dir;
    std::string uuid;
    {
        auto store = objects::Store::open(dir.path + "/corral.db");
        ASSERT_TRUE(store) << store.error().wireMessage();
        auto reg = DriverRegistry::create(store->get());
        ASSERT_TRUE(reg);
        auto* qemu = *(*reg)->driverForUri("qemu:///system");
        auto ref = qemu->config()->defineXml(kQemuXml, 0);
        ASSERT_TRUE(ref) << ref.error().wireMessage();
        uuid = ref->uuid.toString();
        ASSERT_TRUE(qemu->config()->setAutostart(*ref, true));
        // QEMU guests cannot be started by this build: a clear NoSupport, never a fake start.
        auto start = qemu->lifecycle()->create(*ref, 0);
        ASSERT_FALSE(start);
        EXPECT_EQ(start.error().code, ErrorCode::NoSupport);
    }
    auto store = objects::Store::open(dir.path + "/corral.db");
    ASSERT_TRUE(store);
    auto reg = DriverRegistry::create(store->get());
    ASSERT_TRUE(reg);
    auto* qemu = *(*reg)->driverForUri("qemu:///system");
    auto ref = qemu->lookup()->lookupByName("vm1");
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->uuid.toString(), uuid);
    EXPECT_EQ(ref->id, -1);
    EXPECT_TRUE(*qemu->config()->getAutostart(*ref));
    // The generated MAC was stored too: the XML is identical after the restart.
    auto xml = qemu->config()->getXmlDesc(*ref, 0);
    ASSERT_TRUE(xml);
    EXPECT_NE(xml->find("52:54:00:"), std::string::npos);
    // Not visible through the other drivers: the domain lists are separate, as in libvirt.
    auto* lxc = *(*reg)->driverForUri("lxc:///");
    EXPECT_FALSE(lxc->lookup()->lookupByName("vm1"));
}
