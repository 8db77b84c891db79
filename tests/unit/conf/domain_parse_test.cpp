// SPDX-License-Identifier: LGPL-2.1-or-later
// Domain XML: errors that name what is wrong, post-parse defaults, validation, escaping.
#include <gtest/gtest.h>

#include "conf/domain_def.hpp"

using namespace corral;
using namespace corral::conf;

namespace {
const char* kMinimal =
    "<domain type='kvm'><name>web1</name><memory unit='GiB'>1</memory><vcpu>2</vcpu>"
    "<os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os></domain>";

PostParseContext fixedContext() {
    PostParseContext ctx;
    ctx.generateUuid = [] { return *Uuid::parse("00000000-0000-4000-8000-000000000001"); };
    std::uint32_t counter = 0;
    ctx.random32 = [counter]() mutable { return 0x000a0b00u + counter++; };
    ctx.macInUse = [](const std::string&) { return false; };
    return ctx;
}
}  // namespace

TEST(DomainParse, ParsesCoreFieldsAndUnits) {
    auto def = parseDomainXml(kMinimal);
    ASSERT_TRUE(def) << def.error().wireMessage();
    EXPECT_EQ((*def)->type, "kvm");
    EXPECT_EQ((*def)->name, "web1");
    EXPECT_EQ((*def)->memoryKiB, 1048576u);
    EXPECT_EQ((*def)->vcpus, 2u);
    EXPECT_EQ((*def)->os.type, "hvm");
    EXPECT_EQ((*def)->os.machine, "q35");
}

TEST(DomainParse, UnitsFollowLibvirt) {
    EXPECT_EQ(*scaledToKiB("1", "KB", "memory"), 1u);     // 1000 bytes rounds up
    EXPECT_EQ(*scaledToKiB("1", "MB", "memory"), 977u);   // 1,000,000 bytes
    EXPECT_EQ(*scaledToKiB("1", "M", "memory"), 1024u);
    EXPECT_EQ(*scaledToKiB("2048", "b", "memory"), 2u);
    auto bad = scaledToKiB("1", "furlongs", "memory");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().wireMessage(), "XML error: unknown unit 'furlongs' for element 'memory'");
    EXPECT_FALSE(scaledToKiB("-5", "KiB", "memory"));
    EXPECT_FALSE(scaledToKiB("99999999999999999", "EiB", "memory"));
}

TEST(DomainParse, MalformedXmlNamesTheLineAndElement) {
    auto def = parseDomainXml("<domain type='kvm'>\n  <name>x</name>\n  <memory>1</memroy>\n</domain>\n");
    ASSERT_FALSE(def);
    EXPECT_EQ(def.error().code, ErrorCode::XmlDetail);
    std::string msg = def.error().wireMessage();
    EXPECT_NE(msg.find("(domain_definition):3:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("memory"), std::string::npos) << msg;
}

TEST(DomainParse, WrongRootAndMissingPieces) {
    auto root = parseDomainXml("<network/>");
    ASSERT_FALSE(root);
    EXPECT_EQ(root.error().wireMessage(), "XML error: unexpected root element <network>, expecting <domain>");
    auto type = parseDomainXml("<domain><name>x</name></domain>");
    ASSERT_FALSE(type);
    auto badType = parseDomainXml("<domain type='warp'><name>x</name></domain>");
    ASSERT_FALSE(badType);
    EXPECT_NE(badType.error().message.find("'warp'"), std::string::npos);
    auto uuid = parseDomainXml("<domain type='kvm'><name>x</name><uuid>nope</uuid></domain>");
    ASSERT_FALSE(uuid);
    EXPECT_NE(uuid.error().message.find("malformed uuid"), std::string::npos);
    auto action = parseDomainXml("<domain type='kvm'><name>x</name><on_crash>explode</on_crash></domain>");
    ASSERT_FALSE(action);
    EXPECT_NE(action.error().message.find("'explode' for element 'on_crash'"), std::string::npos);
}

TEST(DomainParse, EntitiesAndDoctypesAreRefused) {
    auto xxe = parseDomainXml(
        "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
        "<domain type='kvm'><name>&x;</name></domain>");
    ASSERT_FALSE(xxe);
    auto laughs = parseDomainXml(
        "<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
        "<domain type='kvm'><name>&b;</name></domain>");
    ASSERT_FALSE(laughs);
}

TEST(DomainParse, StrictModeRefusesUnknownElements) {
    std::string xml = "<domain type='kvm'><name>x</name><memory>1024</memory><frobnicate/></domain>";
    auto lax = parseDomainXml(xml);
    ASSERT_TRUE(lax);
    ASSERT_EQ(describeUnknownElements(**lax).size(), 1u);
    ParseOptions strict;
    strict.validateSchemaStrict = true;
    auto refused = parseDomainXml(xml, strict);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("'frobnicate'"), std::string::npos);
}

TEST(DomainPostParse, FillsLibvirtDefaults) {
    auto def = parseDomainXml(
        "<domain type='kvm'><name>x</name><memory unit='MiB'>512</memory><currentMemory unit='MiB'>1024</currentMemory>"
        "<devices><interface type='network'><source network='default'/></interface>"
        "<interface type='bridge'><mac address='52:54:00:0a:0b:00'/><source bridge='br0'/></interface>"
        "<console type='pty'/></devices></domain>");
    ASSERT_TRUE(def);
    ASSERT_TRUE(postParseDomainDef(**def, fixedContext()));
    EXPECT_EQ((*def)->uuid.toString(), "00000000-0000-4000-8000-000000000001");
    EXPECT_EQ((*def)->currentMemoryKiB, 524288u);  // clamped to memory
    EXPECT_EQ((*def)->vcpus, 1u);
    EXPECT_EQ((*def)->onPoweroff, "destroy");
    EXPECT_EQ((*def)->onReboot, "restart");
    EXPECT_EQ((*def)->os.type, "hvm");
    auto macs = (*def)->macAddresses();
    ASSERT_EQ(macs.size(), 2u);
    // The first generated candidate equals the second interface's MAC: it must be skipped.
    EXPECT_EQ(macs[0], "52:54:00:0a:0b:01");
    std::string xml = formatDomainXml(**def);
    EXPECT_NE(xml.find("<serial type='pty'>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<target type='serial' port='0'/>"), std::string::npos) << xml;
}

TEST(DomainPostParse, AvoidsMacsUsedOnTheHost) {
    auto def = parseDomainXml("<domain type='kvm'><name>x</name><memory>1024</memory><devices>"
                              "<interface type='network'><source network='default'/></interface></devices></domain>");
    ASSERT_TRUE(def);
    auto ctx = fixedContext();
    ctx.macInUse = [](const std::string& mac) { return mac == "52:54:00:0a:0b:00"; };
    ASSERT_TRUE(postParseDomainDef(**def, ctx));
    EXPECT_EQ((*def)->macAddresses()[0], "52:54:00:0a:0b:01");
}

TEST(DomainPostParse, BootOrderFollowsLibvirt) {
    // Neither os/boot nor a device's boot order: the first disk boots (libvirt's default).
    auto none = parseDomainXml("<domain type='qemu'><name>x</name><memory>1024</memory>"
                               "<os><type>hvm</type><kernel>/k</kernel></os></domain>");
    ASSERT_TRUE(none);
    ASSERT_TRUE(postParseDomainDef(**none, fixedContext()));
    std::string xml = formatDomainXml(**none);
    EXPECT_NE(xml.find("<kernel>/k</kernel>\n    <boot dev='hd'/>"), std::string::npos) << xml;
    // A device's boot order is kept as the only boot order: no os/boot is added.
    auto device = parseDomainXml("<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                                 "<devices><disk type='file'><source file='/d'/><target dev='vda'/>"
                                 "<boot order='1'/></disk></devices></domain>");
    ASSERT_TRUE(device);
    ASSERT_TRUE(postParseDomainDef(**device, fixedContext()));
    EXPECT_EQ(formatDomainXml(**device).find("<boot dev="), std::string::npos);
    // Both: refused with libvirt's words (its qemuxml2argvdata/boot-dev+order).
    auto both = parseDomainXml("<domain type='qemu'><name>x</name><memory>1024</memory>"
                               "<os><type>hvm</type><boot dev='hd'/></os>"
                               "<devices><disk type='file'><source file='/d'/><target dev='vda'/>"
                               "<boot order='1'/></disk></devices></domain>");
    ASSERT_TRUE(both);
    auto refused = postParseDomainDef(**both, fixedContext());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().wireMessage(),
              "unsupported configuration: per-device boot elements cannot be used together with os/boot elements");
    // Containers have no boot devices.
    auto lxc = parseDomainXml("<domain type='lxc'><name>x</name><memory>1024</memory>"
                              "<os><type>exe</type><init>/sbin/init</init></os></domain>");
    ASSERT_TRUE(lxc);
    ASSERT_TRUE(postParseDomainDef(**lxc, fixedContext()));
    EXPECT_EQ(formatDomainXml(**lxc).find("<boot"), std::string::npos);
}

TEST(DomainValidate, RefusesBadDefinitions) {
    auto check = [](const std::string& xml) {
        auto def = parseDomainXml(xml);
        EXPECT_TRUE(def) << xml;
        EXPECT_TRUE(postParseDomainDef(**def, fixedContext()));
        return validateDomainDef(**def);
    };
    auto noName = check("<domain type='kvm'><memory>1024</memory></domain>");
    ASSERT_FALSE(noName);
    EXPECT_EQ(noName.error().code, ErrorCode::NoName);
    EXPECT_FALSE(check("<domain type='kvm'><name>a/b</name><memory>1024</memory></domain>"));
    EXPECT_FALSE(check("<domain type='kvm'><name>a</name></domain>"));
    EXPECT_FALSE(check("<domain type='kvm'><name>a</name><memory>1</memory><vcpu current='4'>2</vcpu></domain>"));
    auto dup = check(
        "<domain type='kvm'><name>a</name><memory>1</memory><devices>"
        "<disk type='file'><source file='/a.img'/><target dev='vda'/></disk>"
        "<disk type='file'><source file='/b.img'/><target dev='vda'/></disk></devices></domain>");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().message, "target 'vda' duplicated for disk sources '/a.img' and '/b.img'");
    EXPECT_FALSE(check("<domain type='kvm'><name>a</name><memory>1</memory><devices>"
                       "<graphics type='vnc' port='99999'/></devices></domain>"));
}

TEST(DomainFormat, EscapesAndHidesSecrets) {
    auto def = parseDomainXml(
        "<domain type='kvm'><name>a&amp;b</name><title>it's &lt;here&gt;</title><memory>1024</memory>"
        "<devices><graphics type='vnc' passwd='s3cret' autoport='yes' port='5901'/></devices></domain>");
    ASSERT_TRUE(def);
    ASSERT_TRUE(postParseDomainDef(**def, fixedContext()));
    std::string plain = formatDomainXml(**def);
    EXPECT_NE(plain.find("<name>a&amp;b</name>"), std::string::npos);
    EXPECT_NE(plain.find("<title>it&apos;s &lt;here&gt;</title>"), std::string::npos);
    EXPECT_EQ(plain.find("s3cret"), std::string::npos);
    EXPECT_NE(plain.find("port='5901'"), std::string::npos);
    FormatOptions secure;
    secure.secure = true;
    EXPECT_NE(formatDomainXml(**def, secure).find("passwd='s3cret'"), std::string::npos);
    FormatOptions inactive;
    inactive.inactive = true;
    EXPECT_NE(formatDomainXml(**def, inactive).find("port='-1'"), std::string::npos);
    EXPECT_NE(formatDomainXml(**def, {}, 7).find("<domain type='kvm' id='7'>"), std::string::npos);
    // What we format parses back to the same thing.
    auto again = parseDomainXml(formatDomainXml(**def, secure));
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->name, "a&b");
}

namespace {
Result<void> validateWith(const std::string& body) {
    auto def = parseDomainXml("<domain type='kvm'><name>v</name><memory>1024</memory><vcpu>2</vcpu>" + body +
                              "</domain>");
    if (!def) {
        return unexpected(def.error());
    }
    CORRAL_TRY(postParseDomainDef(**def, fixedContext()));
    return validateDomainDef(**def);
}

void expectRefused(const std::string& body, const std::string& fragment) {
    auto r = validateWith(body);
    ASSERT_FALSE(r) << body;
    EXPECT_NE(r.error().wireMessage().find(fragment), std::string::npos) << r.error().wireMessage();
}
}  // namespace

TEST(DomainValidate, KeptElementsAreChecked) {
    EXPECT_TRUE(validateWith("<devices><interface type='network'><mac address='52:54:00:12:34:56'/>"
                             "<filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.1'/></filterref>"
                             "</interface></devices>"));
    expectRefused("<devices><interface type='warp'/></devices>", "invalid value 'warp' for attribute 'type' of element 'interface'");
    expectRefused("<devices><interface type='network'><mac address='52:54:00:zz:34:56'/></interface></devices>",
                  "unable to parse mac address '52:54:00:zz:34:56'");
    expectRefused("<devices><interface type='network'><mac address='01:00:5e:00:00:01'/></interface></devices>",
                  "expected unicast mac address, found multicast '01:00:5e:00:00:01'");
    expectRefused("<devices><interface type='network'><filterref/></interface></devices>", "missing attribute 'filter'");
    expectRefused("<devices><disk type='file'><target dev='vda' bus='warp'/></disk></devices>",
                  "invalid value 'warp' for attribute 'bus' of element 'target'");
    expectRefused("<devices><graphics type='hologram'/></devices>", "'hologram'");
    expectRefused("<devices><graphics type='vnc' port='70000'/></devices>", "'70000' for attribute 'port'");
    expectRefused("<devices><filesystem type='mount'><source dir='/x'/></filesystem></devices>", "missing target dir");
    expectRefused("<devices><console type='teleport'/></devices>", "'teleport'");
    expectRefused("<cputune><shares>lots</shares></cputune>", "invalid value 'lots' for element 'shares'");
    expectRefused("<cputune><vcpupin vcpu='5' cpuset='0'/></cputune>", "'5' for attribute 'vcpu' of element 'vcpupin'");
    expectRefused("<cputune><emulatorpin cpuset='zero'/></cputune>", "'zero' for attribute 'cpuset'");
    expectRefused("<blkiotune><weight>5000</weight></blkiotune>", "invalid value '5000' for element 'weight'");
    expectRefused("<idmap><uid start='0' target='1000'/></idmap>", "missing attribute 'count'");
    expectRefused("<seclabel type='static' model='selinux'/>", "a static seclabel needs <label>");
    expectRefused("<clock offset='mars'/>", "'mars' for attribute 'offset' of element 'clock'");
    expectRefused("<memtune><hard_limit unit='KiB'>many</hard_limit></memtune>", "'many'");
}

TEST(DomainDevices, PciAddressesReadAsNumbers) {
    auto device = [](const std::string& address) {
        auto doc = parseXmlDocument("<disk>" + address + "</disk>", "(test)");
        return *doc;
    };
    auto given = pciAddressOf(device("<address type='pci' domain='0x0000' bus='0' slot='0x0a' function='0x0'/>"));
    ASSERT_TRUE(given && *given);
    EXPECT_EQ((*given)->slot, 10u);
    EXPECT_FALSE((*given)->unassigned());
    auto zeros = pciAddressOf(device("<address type='pci'/>"));
    ASSERT_TRUE(zeros && *zeros);
    EXPECT_TRUE((*zeros)->unassigned());  // libvirt: no address asked for
    auto none = pciAddressOf(device("<address type='drive' controller='0'/>"));
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    auto bad = pciAddressOf(device("<address type='pci' slot='ten'/>"));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, "<disk> <address type='pci'>: slot 'ten' is not a number");
    EXPECT_FALSE(pciAddressOf(device("<address type='pci' slot='-1'/>")));
}

TEST(DomainPostParse, PciControllersWithoutIndexTakeTheNextOne) {
    // virt-install writes q35's root ports without an index; libvirt numbers them after the
    // highest PCI index before them, and a root bus without one is index 0.
    auto def = parseDomainXml("<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                              "<devices><controller type='pci' model='pcie-root'/>"
                              "<controller type='pci' model='pcie-root-port'/>"
                              "<controller type='pci' index='5' model='pcie-root-port'/>"
                              "<controller type='pci' model='pcie-root-port'/>"
                              "<controller type='usb' model='qemu-xhci'/></devices></domain>");
    ASSERT_TRUE(def);
    ASSERT_TRUE(postParseDomainDef(**def, fixedContext()));
    std::vector<std::string> indexes;
    for (const auto& dev : (*def)->devices) {
        indexes.push_back(dev.attrOr("index", "-"));
    }
    EXPECT_EQ(indexes, (std::vector<std::string>{"0", "1", "5", "6", "-"}));
}
