// SPDX-License-Identifier: LGPL-2.1-or-later
// qemu.conf and lxc.conf loading and the disk-name arithmetic the QEMU command line depends on.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "drivers/qemu/qemu_command.hpp"
#include "drivers/lxc/lxc_config.hpp"
#include "drivers/qemu/qemu_config.hpp"

using namespace corral;
using namespace corral::drivers::qemu;

namespace {

class TempConf {
public:
    explicit TempConf(const std::string& text) {
        char tmpl[] = "/tmp/corral-qemu-conf-XXXXXX";
        int fd = mkstemp(tmpl);
        path_ = tmpl;
        close(fd);
        std::ofstream(path_) << text;
    }
    ~TempConf() { unlink(path_.c_str()); }
    TempConf(const TempConf&) = delete;
    TempConf& operator=(const TempConf&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace

TEST(QemuConfig, MissingFileGivesDefaults) {
    auto cfg = loadQemuConfig("/nonexistent/qemu.conf");
    ASSERT_TRUE(cfg) << cfg.error().wireMessage();
    EXPECT_EQ(cfg->vncListen, "127.0.0.1");
    EXPECT_TRUE(cfg->seccompSandbox);
    EXPECT_EQ(cfg->destroyGraceSeconds, 10u);
}

TEST(QemuConfig, ReadsTheKeysItActsOn) {
    TempConf conf(
        "# libvirt's syntax\n"
        "vnc_listen = \"0.0.0.0\"\n"
        "seccomp_sandbox = 0\n"
        "destroy_grace_seconds = 3\n"
        "emulator = \"/opt/qemu/bin/qemu-system-x86_64\"\n"
        "user = \"qemu\"\n"
        "cgroup_controllers = [ \"cpu\", \"memory\" ]\n");
    auto cfg = loadQemuConfig(conf.path());
    ASSERT_TRUE(cfg) << cfg.error().wireMessage();
    EXPECT_EQ(cfg->vncListen, "0.0.0.0");
    EXPECT_FALSE(cfg->seccompSandbox);
    EXPECT_EQ(cfg->destroyGraceSeconds, 3u);
    EXPECT_EQ(cfg->emulator, "/opt/qemu/bin/qemu-system-x86_64");
}

TEST(QemuConfig, UnknownKeyNamesFileAndLine) {
    TempConf conf("vnc_listen = \"::1\"\nvnc_lisen = \"0.0.0.0\"\n");
    auto cfg = loadQemuConfig(conf.path());
    ASSERT_FALSE(cfg);
    const std::string msg = cfg.error().wireMessage();
    EXPECT_NE(msg.find(conf.path() + ":2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("vnc_lisen"), std::string::npos) << msg;
}

TEST(QemuConfig, BadValuesAreRefused) {
    for (const char* text : {"seccomp_sandbox = 2\n", "seccomp_sandbox = \"yes\"\n", "vnc_listen = 5\n",
                             "destroy_grace_seconds = 100000\n", "emulator = \"\"\n"}) {
        TempConf conf(text);
        auto cfg = loadQemuConfig(conf.path());
        EXPECT_FALSE(cfg) << "accepted: " << text;
    }
}

TEST(QemuCommand, DiskNamesToIndexes) {
    EXPECT_EQ(diskNameToIndex("vda"), 0);
    EXPECT_EQ(diskNameToIndex("sdb"), 1);
    EXPECT_EQ(diskNameToIndex("hdc"), 2);
    EXPECT_EQ(diskNameToIndex("vdz"), 25);
    EXPECT_EQ(diskNameToIndex("vdaa"), 26);
    EXPECT_EQ(diskNameToIndex("sdab"), 27);
    EXPECT_EQ(diskNameToIndex("xvda"), 0);
    EXPECT_EQ(diskNameToIndex("vd"), -1);
    EXPECT_EQ(diskNameToIndex("vda1"), -1);
    EXPECT_EQ(diskNameToIndex(""), -1);
    EXPECT_EQ(diskNameToIndex("VDA"), -1);
}

TEST(QemuConfig, ConfinementKeysAreReadWithLibvirtsNames) {
    TempConf conf(
        "user = \"+107\"\ngroup = \"kvm\"\ndynamic_ownership = 0\nsecurity_driver = [ \"dac\", \"landlock\" ]\n"
        "cgroup_controllers = [ \"cpu\", \"memory\" ]\nnamespaces = [ ]\nmax_threads_per_process = 512\n"
        "guest_id_min = 300000\nguest_id_count = 100\nlandlock = 0\n");
    auto cfg = loadQemuConfig(conf.path());
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->user, "+107");
    EXPECT_EQ(cfg->group, "kvm");
    EXPECT_FALSE(cfg->dynamicOwnership);
    EXPECT_EQ(cfg->securityDrivers, (std::vector<std::string>{"dac", "landlock"}));
    EXPECT_EQ(cfg->cgroupControllers, (std::vector<std::string>{"cpu", "memory"}));
    EXPECT_TRUE(cfg->cgroups);
    EXPECT_FALSE(cfg->privateDevices);
    EXPECT_EQ(cfg->maxThreadsPerProcess, 512u);
    EXPECT_EQ(cfg->guestIdMin, 300000u);
    EXPECT_EQ(cfg->guestIdCount, 100u);
    EXPECT_FALSE(cfg->landlock);
}

TEST(QemuConfig, EmptyControllerListTurnsCgroupsOff) {
    TempConf conf("cgroup_controllers = [ ]\n");
    auto cfg = loadQemuConfig(conf.path());
    ASSERT_TRUE(cfg);
    EXPECT_FALSE(cfg->cgroups);
}

TEST(QemuConfig, BadConfinementValuesNameTheKey) {
    for (const char* text : {"security_driver = \"smack\"\n", "cgroup_controllers = [ \"gpu\" ]\n",
                             "user = \"\"\n", "namespaces = [ \"net\" ]\n", "guest_id_min = 0\n"}) {
        TempConf conf(text);
        auto cfg = loadQemuConfig(conf.path());
        ASSERT_FALSE(cfg) << text;
        EXPECT_NE(cfg.error().message.find(std::string(text).substr(0, std::string(text).find(' '))), std::string::npos)
            << cfg.error().message;
    }
}

TEST(LxcConfig, ProcessLimitByDefaultConfigurableAndCheckedKeys) {
    auto defaults = drivers::lxc::loadLxcConfig("/nonexistent/lxc.conf");
    ASSERT_TRUE(defaults) << defaults.error().message;
    EXPECT_EQ(defaults->maxProcesses, std::optional<std::uint64_t>(16384));

    TempConf tuned("# containers of this host run few processes\nmax_processes = 64\nsecurity_driver = \"none\"\n");
    auto cfg = drivers::lxc::loadLxcConfig(tuned.path());
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->maxProcesses, std::optional<std::uint64_t>(64));

    TempConf unlimited("max_processes = 0\n");
    EXPECT_EQ(drivers::lxc::loadLxcConfig(unlimited.path())->maxProcesses, std::nullopt);

    TempConf bad("max_processes = \"many\"\n");
    auto badValue = drivers::lxc::loadLxcConfig(bad.path());
    ASSERT_FALSE(badValue);
    EXPECT_NE(badValue.error().message.find(":1: max_processes"), std::string::npos) << badValue.error().message;

    EXPECT_EQ(defaults->containerIdMin, 0x10000000u);
    EXPECT_EQ(defaults->containerIdCount, 1024u * 65536u);
    TempConf ids("container_id_min = 1000000\ncontainer_id_count = 655360\n");
    auto pool = drivers::lxc::loadLxcConfig(ids.path());
    ASSERT_TRUE(pool) << pool.error().message;
    EXPECT_EQ(pool->containerIdMin, 1000000u);
    EXPECT_EQ(pool->containerIdCount, 655360u);
    TempConf tooSmall("container_id_count = 100\n");
    EXPECT_FALSE(drivers::lxc::loadLxcConfig(tooSmall.path()));
    TempConf pastTheEnd("container_id_min = 4294000000\ncontainer_id_count = 1000000\n");
    EXPECT_FALSE(drivers::lxc::loadLxcConfig(pastTheEnd.path()));

    TempConf unknown("\nmax_procs = 5\n");
    auto unknownKey = drivers::lxc::loadLxcConfig(unknown.path());
    ASSERT_FALSE(unknownKey);
    EXPECT_NE(unknownKey.error().message.find(":2: unknown setting 'max_procs'"), std::string::npos);
}

// Settings libvirt knows that this driver does not act on: a value that asks for something
// (TLS on the console, a default password) stops the daemon instead of being believed.
TEST(QemuConfig, ConsoleTlsThatWouldNotBeEnforcedIsRefused) {
    for (const char* text : {"spice_password = \"secret\"\n", "nvram = [ \"/a:/b\" ]\n", "max_files = 100\n",
                             "security_default_confined = 0\n", "cgroup_device_acl = [ \"/dev/null\" ]\n"}) {
        TempConf conf(text);
        auto cfg = loadQemuConfig(conf.path());
        ASSERT_FALSE(cfg) << text;
        EXPECT_EQ(cfg.error().code, ErrorCode::ConfigUnsupported) << text;
        EXPECT_NE(cfg.error().message.find(std::string(text).substr(0, std::string(text).find(' '))), std::string::npos)
            << cfg.error().message;
    }
    TempConf off("vnc_tls = 0\nspice_tls = 0\nvnc_password = \"\"\nsecurity_default_confined = 1\nlog_timestamp = 0\n");
    EXPECT_TRUE(loadQemuConfig(off.path()));
}

// VNC over TLS as libvirt reads it: the directory falls back to default_tls_x509_cert_dir, the
// verification to default_tls_x509_verify and then to on; a directory without the server's
// files stops the daemon naming the missing one.
TEST(QemuConfig, VncTlsKeysFallBackAsLibvirtsAndNeedTheirCertificates) {
    char dirTemplate[] = "/tmp/corral-vnc-pki-XXXXXX";
    const std::string dir = mkdtemp(dirTemplate);
    for (const char* name : {"ca-cert.pem", "server-cert.pem", "server-key.pem"}) {
        std::ofstream(dir + "/" + name) << "x";
    }
    TempConf plain("vnc_tls = 1\ndefault_tls_x509_cert_dir = \"" + dir + "\"\n");
    auto cfg = loadQemuConfig(plain.path());
    ASSERT_TRUE(cfg) << cfg.error().wireMessage();
    EXPECT_TRUE(cfg->vncTls);
    EXPECT_EQ(cfg->vncTlsCertDir, dir);
    EXPECT_TRUE(cfg->vncTlsVerify);

    TempConf noVerify("vnc_tls = 1\nvnc_tls_x509_cert_dir = \"" + dir + "\"\ndefault_tls_x509_verify = 0\n");
    cfg = loadQemuConfig(noVerify.path());
    ASSERT_TRUE(cfg) << cfg.error().wireMessage();
    EXPECT_FALSE(cfg->vncTlsVerify);
    TempConf overridden("vnc_tls = 1\nvnc_tls_x509_cert_dir = \"" + dir +
                        "\"\ndefault_tls_x509_verify = 0\nvnc_tls_x509_verify = 1\nvnc_password = \"pw\"\n");
    cfg = loadQemuConfig(overridden.path());
    ASSERT_TRUE(cfg) << cfg.error().wireMessage();
    EXPECT_TRUE(cfg->vncTlsVerify);
    EXPECT_EQ(cfg->vncPassword, "pw");

    unlink((dir + "/server-key.pem").c_str());
    cfg = loadQemuConfig(plain.path());
    ASSERT_FALSE(cfg);
    EXPECT_NE(cfg.error().message.find("vnc_tls = 1 needs '" + dir + "/server-key.pem'"), std::string::npos)
        << cfg.error().message;
    TempConf relative("vnc_tls_x509_cert_dir = \"pki\"\n");
    EXPECT_FALSE(loadQemuConfig(relative.path()));
    for (const char* name : {"ca-cert.pem", "server-cert.pem"}) {
        unlink((dir + "/" + name).c_str());
    }
    rmdir(dir.c_str());
}

TEST(LxcConfig, AnLsmThatWouldNotLabelContainersIsRefused) {
    TempConf selinux("security_driver = \"selinux\"\n");
    auto cfg = drivers::lxc::loadLxcConfig(selinux.path());
    ASSERT_FALSE(cfg);
    EXPECT_EQ(cfg.error().code, ErrorCode::ConfigUnsupported);
    TempConf none("security_driver = \"none\"\nlog_with_libvirtd = 1\n");
    EXPECT_TRUE(drivers::lxc::loadLxcConfig(none.path()));
}
