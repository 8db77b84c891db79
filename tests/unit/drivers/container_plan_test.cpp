// SPDX-License-Identifier: LGPL-2.1-or-later
// What a container definition turns into (the plan corral-lxc carries out), its JSON form, and
// how an init's end is read.
#include <gtest/gtest.h>
#include <signal.h>

#include <linux/capability.h>

#include <algorithm>

#include "drivers/lxc/container_definition.hpp"
#include "drivers/lxc/container_init.hpp"
#include "drivers/lxc/container_privileges.hpp"

namespace corral::drivers::lxc {
namespace {

std::unique_ptr<conf::DomainDef> parsed(const std::string& devices, const std::string& os = "",
                                        const std::string& extra = "") {
    auto def = conf::parseDomainXml("<domain type='lxc'><name>web</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
                                    "<memory>65536</memory><os><type>exe</type>" + os + "</os>" + extra + "<devices>" +
                                    devices + "</devices></domain>");
    EXPECT_TRUE(def) << def.error().message;
    return std::move(*def);
}

TEST(ContainerPlan, RootMountsInitAndEnvironmentFollowTheDefinition) {
    auto def = parsed(
        "<filesystem type='mount'><source dir='/srv/web'/><target dir='/'/></filesystem>"
        "<filesystem type='mount'><source dir='/srv/data'/><target dir='/data'/><readonly/></filesystem>",
        "<init>/bin/app</init><initarg>--port</initarg><initarg>80</initarg>");
    auto plan = planContainer(*def);
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(plan->rootSource, "/srv/web");
    ASSERT_EQ(plan->mounts.size(), 1u);
    EXPECT_EQ(plan->mounts[0].target, "/data");
    EXPECT_TRUE(plan->mounts[0].readonly);
    EXPECT_EQ(plan->argv, (std::vector<std::string>{"/bin/app", "--port", "80"}));
    for (const char* want : {"container=lxc-libvirt", "container_uuid=6695eb01-f6a4-8304-79aa-97f2502e193f",
                             "PATH=/bin:/usr/bin", "TERM=linux", "LIBVIRT_LXC_NAME=web", "CORRAL_LXC_NAME=web",
                             "CORRAL_LXC_UUID=6695eb01-f6a4-8304-79aa-97f2502e193f", "LIBVIRT_LXC_CMDLINE=--port 80"}) {
        EXPECT_NE(std::find(plan->env.begin(), plan->env.end(), want), plan->env.end()) << want;
    }
}

TEST(ContainerPlan, NoFilesystemSharesTheHostRootAndInitDefaults) {
    auto plan = planContainer(*parsed(""));
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->rootSource, "");
    EXPECT_EQ(plan->argv, std::vector<std::string>{"/sbin/init"});
}

TEST(ContainerPlan, WhatIsNotSupportedYetIsNamed) {
    auto direct = planContainer(*parsed("<interface type='direct'><source dev='eth0'/></interface>"));
    ASSERT_FALSE(direct);
    EXPECT_NE(direct.error().message.find("<interface type='direct'> is not supported"), std::string::npos);
    // A user namespace needs someone to be root inside.
    auto def = parsed("");
    conf::XmlNode idmap{"idmap", {}, {}, "", 0};
    idmap.children.push_back(conf::XmlNode{"uid", {{"start", "1"}, {"target", "1000"}, {"count", "10"}}, {}, "", 0});
    def->elements.push_back(idmap);
    auto noRoot = planContainer(*def);
    ASSERT_FALSE(noRoot);
    EXPECT_NE(noRoot.error().message.find("start='0'"), std::string::npos);
    auto relative = planContainer(*parsed("<filesystem type='mount'><source dir='srv'/><target dir='/'/></filesystem>"));
    ASSERT_FALSE(relative);
    EXPECT_NE(relative.error().message.find("absolute"), std::string::npos);
}

TEST(ContainerPlan, AMountTargetCannotClimbOutOfTheContainersRoot) {
    // The target is joined to the root on the host: "/../../etc" would mount (and create
    // directories or a file) on the host's /etc.
    for (const char* target : {"/../../etc", "/data/../../x", "/./data", "/data/.."}) {
        auto def = parsed(std::string("<filesystem type='mount'><source dir='/srv/data'/><target dir='") + target +
                          "'/></filesystem>");
        auto plan = planContainer(*def);
        ASSERT_FALSE(plan) << target;
        EXPECT_NE(plan.error().message.find("'.' or '..' components"), std::string::npos) << plan.error().message;
    }
    auto fine = parsed("<filesystem type='mount'><source dir='/srv/data'/><target dir='/data..x/y.'/></filesystem>");
    EXPECT_TRUE(planContainer(*fine));
}

TEST(ContainerPlan, InterfacesGiveTheContainerItsOwnNetwork) {
    auto plan = planContainer(*parsed("<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
                                      "<source bridge='br0'/></interface>"
                                      "<interface type='network'><mac address='52:54:00:00:00:02'/>"
                                      "<source network='default'/></interface>"));
    ASSERT_TRUE(plan) << plan.error().message;
    ASSERT_EQ(plan->interfaces.size(), 2u);
    EXPECT_EQ(plan->interfaces[0].name, "eth0");
    EXPECT_EQ(plan->interfaces[1].name, "eth1");
    EXPECT_EQ(plan->interfaces[1].mac, "52:54:00:00:00:02");
    plan->interfaces[0].hostName = "veth3";
    plan->interfaces[0].peerName = "vpeer3";
    auto back = planFromJson(planToJson(*plan));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->interfaces[0].hostName, "veth3");
    EXPECT_EQ(back->interfaces[0].peerName, "vpeer3");
    EXPECT_EQ(back->interfaces[1].name, "eth1");
}

TEST(ContainerPlan, IdmapBecomesTheUserNamespacesMaps) {
    auto def = conf::parseDomainXml(
        "<domain type='lxc'><name>m</name><memory>65536</memory><os><type>exe</type></os>"
        "<idmap><uid start='0' target='300000' count='65536'/><gid start='0' target='300000' count='65536'/></idmap>"
        "<devices/></domain>");
    ASSERT_TRUE(def) << def.error().message;
    auto plan = planContainer(**def);
    ASSERT_TRUE(plan) << plan.error().message;
    ASSERT_EQ(plan->uidMap.size(), 1u);
    EXPECT_EQ(plan->uidMap[0].target, 300000u);
    EXPECT_EQ(plan->gidMap[0].count, 65536u);
    auto back = planFromJson(planToJson(*plan));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->uidMap[0].target, 300000u);
    EXPECT_EQ(back->gidMap[0].count, 65536u);
}

TEST(ContainerPlan, JsonRoundTripAndUnknownMembersRefused) {
    auto plan = planContainer(*parsed("<filesystem type='mount'><source dir='/r'/><target dir='/'/></filesystem>"
                                      "<filesystem type='mount'><source dir='/a b'/><target dir='/x'/></filesystem>"));
    ASSERT_TRUE(plan);
    plan->cgroupJoinFiles = {"/sys/fs/cgroup/memory/corral/lxc/web/cgroup.procs"};
    plan->consoleLog = "/var/log/corral/lxc/web.log";
    plan->rootStaging = "/run/corral/lxc-roots/web";
    plan->uidMap = {{0, 0x10000000, 65536}};
    auto back = planFromJson(planToJson(*plan));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->rootSource, "/r");
    EXPECT_EQ(back->mounts[0].source, "/a b");
    EXPECT_EQ(back->env, plan->env);
    EXPECT_EQ(back->cgroupJoinFiles, plan->cgroupJoinFiles);
    EXPECT_EQ(back->consoleLog, plan->consoleLog);
    EXPECT_EQ(back->rootStaging, plan->rootStaging);
    EXPECT_TRUE(back->autoIdRange);
    EXPECT_EQ(back->uidMap[0].target, 0x10000000u);
    EXPECT_EQ(back->capabilities, plan->capabilities);
    EXPECT_FALSE(planFromJson(R"({"name":"x","argv":["/init"],"extra":1})"));
    EXPECT_FALSE(planFromJson("{\"name\":\"x\",\"argv\":[]}"));
    EXPECT_FALSE(planFromJson("not json"));
}

bool keeps(const ContainerPlan& plan, int cap) {
    return std::find(plan.capabilities.begin(), plan.capabilities.end(), cap) != plan.capabilities.end();
}

TEST(ContainerPlan, WithoutIdmapAContainerIsUnprivileged) {
    auto plan = planContainer(*parsed("<filesystem type='mount'><source dir='/r'/><target dir='/'/><readonly/>"
                                      "</filesystem>"));
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_TRUE(plan->autoIdRange);   // the daemon picks its ids at start
    EXPECT_TRUE(plan->uidMap.empty());
    EXPECT_TRUE(plan->rootReadonly);
    EXPECT_TRUE(keeps(*plan, CAP_SYS_ADMIN));  // over its own namespaces only
    EXPECT_FALSE(keeps(*plan, CAP_SYS_MODULE));
    // Asked for with the DAC words that run a QEMU guest as root: the host's root, without the
    // capabilities that would reach the host.
    auto privileged = planContainer(*parsed("", "", "<seclabel type='none' model='dac'/>"));
    ASSERT_TRUE(privileged) << privileged.error().message;
    EXPECT_FALSE(privileged->autoIdRange);
    EXPECT_TRUE(privileged->uidMap.empty());
    EXPECT_FALSE(keeps(*privileged, CAP_SYS_ADMIN));
    EXPECT_FALSE(keeps(*privileged, CAP_DAC_READ_SEARCH));
    EXPECT_FALSE(keeps(*privileged, CAP_NET_ADMIN));  // the host's network
    EXPECT_TRUE(keeps(*privileged, CAP_SYS_BOOT));
    auto dynamic = planContainer(*parsed("", "", "<seclabel type='dynamic' model='dac'/>"));
    ASSERT_TRUE(dynamic);
    EXPECT_TRUE(dynamic->autoIdRange);
    auto fixed = planContainer(*parsed("", "", "<seclabel type='static' model='dac'><label>+1:+1</label></seclabel>"));
    ASSERT_FALSE(fixed);
    EXPECT_NE(fixed.error().message.find("<idmap>"), std::string::npos) << fixed.error().message;
    auto both = planContainer(*parsed("", "", "<idmap><uid start='0' target='300000' count='65536'/>"
                                              "<gid start='0' target='300000' count='65536'/></idmap>"
                                              "<seclabel type='none' model='dac'/>"));
    ASSERT_FALSE(both);
    EXPECT_EQ(both.error().code, ErrorCode::ConfigUnsupported);
}

TEST(ContainerPlan, PrivnetGivesANetworkNamespaceWithoutInterfaces) {
    auto shared = planContainer(*parsed(""));
    ASSERT_TRUE(shared);
    EXPECT_FALSE(shared->privateNetwork);
    auto privnet = planContainer(*parsed("", "", "<features><privnet/></features>"));
    ASSERT_TRUE(privnet) << privnet.error().message;
    EXPECT_TRUE(privnet->privateNetwork);
    EXPECT_TRUE(privnet->interfaces.empty());
    auto back = planFromJson(planToJson(*privnet));
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->privateNetwork);
    auto withInterface = planContainer(*parsed("<interface type='bridge'><source bridge='br0'/></interface>"));
    ASSERT_TRUE(withInterface);
    EXPECT_TRUE(withInterface->privateNetwork);
}

TEST(ContainerPlan, CapabilitiesPolicyIsHonoured) {
    auto denyAll = planContainer(*parsed("", "", "<seclabel type='none' model='dac'/><features>"
                                                 "<capabilities policy='deny'><mknod state='on'/></capabilities>"
                                                 "</features>"));
    ASSERT_TRUE(denyAll) << denyAll.error().message;
    EXPECT_EQ(denyAll->capabilities, std::vector<int>{CAP_MKNOD});
    auto allow = planContainer(*parsed("", "", "<features><capabilities policy='allow'>"
                                               "<sys_module state='off'/></capabilities></features>"));
    ASSERT_TRUE(allow);
    EXPECT_FALSE(keeps(*allow, CAP_SYS_MODULE));
    EXPECT_TRUE(keeps(*allow, CAP_SYS_RAWIO));
    auto onByDefault = planContainer(*parsed("", "", "<seclabel type='none' model='dac'/><features>"
                                                     "<capabilities policy='default'><sys_admin state='on'/>"
                                                     "</capabilities></features>"));
    ASSERT_TRUE(onByDefault);
    EXPECT_TRUE(keeps(*onByDefault, CAP_SYS_ADMIN));
    EXPECT_TRUE(keeps(*onByDefault, CAP_CHOWN));
    auto back = planFromJson(planToJson(*onByDefault));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->capabilities, onByDefault->capabilities);
    // Refused, naming what is wrong.
    for (const auto& [xml, words] :
         {std::pair{"<capabilities policy='most'/>", "'most' for <capabilities policy>"},
          {"<capabilities><sys_everything state='on'/></capabilities>", "unknown capability <sys_everything>"},
          {"<capabilities><mknod/></capabilities>", "state='on' or state='off'"},
          {"<capabilities><mknod state='yes'/></capabilities>", "not 'yes'"}}) {
        auto bad = planContainer(*parsed("", "", std::string("<features>") + xml + "</features>"));
        ASSERT_FALSE(bad) << xml;
        EXPECT_EQ(bad.error().code, ErrorCode::XmlError);
        EXPECT_NE(bad.error().message.find(words), std::string::npos) << bad.error().message;
    }
}

TEST(InitExit, SignalsFromRebootAndHaltAreRecognised) {
    EXPECT_EQ(classifyInitExit(0), InitExit::Shutdown);          // exited 0
    EXPECT_EQ(classifyInitExit(3 << 8), InitExit::Shutdown);     // exited 3
    EXPECT_EQ(classifyInitExit(SIGHUP), InitExit::Reboot);       // reboot(2) in a pid namespace
    EXPECT_EQ(classifyInitExit(SIGINT), InitExit::Shutdown);     // halt / power-off
    EXPECT_EQ(classifyInitExit(SIGKILL), InitExit::Killed);
    EXPECT_EQ(classifyInitExit(SIGSEGV), InitExit::Crashed);
}

}  // namespace
}  // namespace corral::drivers::lxc
