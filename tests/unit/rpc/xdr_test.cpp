// SPDX-License-Identifier: LGPL-2.1-or-later
// Generated XDR codec against byte vectors observed from libvirt on the wire.
#include <gtest/gtest.h>

#include "rpc/generated/netmessage_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"

using namespace corral::rpc::proto;

namespace {
std::vector<std::uint8_t> hex(const std::string& h) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        if (h[i] == ' ') {
            --i;
            continue;
        }
        out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    }
    return out;
}
}  // namespace

TEST(Xdr, DomainHandleMatchesLibvirt) {
    remote_nonnull_domain d;
    d.name = "test";
    d.uuid = {0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e, 0x19, 0x3f};
    d.id = 1;
    EXPECT_EQ(encodeToBytes(d), hex("00000004 74657374 6695eb01f6a4830479aa97f2502e193f 00000001"));
    remote_nonnull_domain back;
    ASSERT_TRUE(decodeFromBytes(encodeToBytes(d), back));
    EXPECT_EQ(back.name, "test");
    EXPECT_EQ(back.id, 1);
}

TEST(Xdr, NodeInfoTakes160Bytes) {
    // char model[32] is 32 four-byte words: the reply packet is 188 bytes, as observed.
    remote_node_get_info_ret r{};
    EXPECT_EQ(encodeToBytes(r).size(), 128u + 8 + 6 * 4);
}

TEST(Xdr, TypedParamUnion) {
    remote_typed_param p;
    p.field = "weight";
    p.value.type = VIR_TYPED_PARAM_UINT;
    p.value.ui = 50;
    EXPECT_EQ(encodeToBytes(p), hex("00000006 776569676874 0000 00000002 00000032"));
    remote_typed_param back;
    ASSERT_TRUE(decodeFromBytes(encodeToBytes(p), back));
    EXPECT_EQ(back.value.ui, 50u);
    auto bad = encodeToBytes(p);
    bad[bad.size() - 5] = 9;  // an unknown discriminant
    EXPECT_FALSE(decodeFromBytes(bad, back));
}

TEST(Xdr, CharArraysUseFourBytesPerChar) {
    remote_node_get_security_model_ret r;
    r.model = {'n', 'o', 'n', 'e', '\0'};
    r.doi = {'0', '\0'};
    auto bytes = encodeToBytes(r);
    EXPECT_EQ(bytes.size(), 4u + 5 * 4 + 4 + 2 * 4);
    remote_node_get_security_model_ret back;
    ASSERT_TRUE(decodeFromBytes(bytes, back));
    EXPECT_EQ(std::string(back.model.data()), "none");
}

TEST(Xdr, OptionalStringAndErrorStruct) {
    remote_error e{};
    e.code = 3;
    e.domain = 20;
    e.message = "this function is not supported by the connection driver: virDomainBlockStatsFlags";
    e.level = 2;
    auto bytes = encodeToBytes(e);
    std::vector<std::uint8_t> prefix(bytes.begin(), bytes.begin() + 12);
    EXPECT_EQ(prefix, hex("00000003 00000014 00000001"));
    remote_error back{};
    ASSERT_TRUE(decodeFromBytes(bytes, back));
    EXPECT_EQ(*back.message, *e.message);
    EXPECT_FALSE(back.str1.has_value());
    EXPECT_FALSE(back.dom.has_value());
}

TEST(Xdr, RejectsTruncationBoundsAndTrailingBytes) {
    remote_domain_lookup_by_name_args a;
    a.name = "abcdef";
    auto bytes = encodeToBytes(a);
    remote_domain_lookup_by_name_args back;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        EXPECT_FALSE(decodeFromBytes(std::span<const std::uint8_t>(bytes.data(), n), back)) << n;
    }
    auto longer = bytes;
    longer.push_back(0);
    longer.push_back(0);
    longer.push_back(0);
    longer.push_back(0);
    EXPECT_FALSE(decodeFromBytes(longer, back));  // trailing garbage
    // A list count above REMOTE_DOMAIN_LIST_MAX is refused before anything is allocated.
    remote_connect_list_all_domains_ret big;
    auto over = hex("00004001");  // 16385 domains
    over.resize(over.size() + 64, 0);
    EXPECT_FALSE(decodeFromBytes(over, big));
    // An optional flag other than 0 or 1 is malformed.
    remote_connect_open_args open;
    EXPECT_FALSE(decodeFromBytes(hex("00000002 00000000"), open));
}

TEST(Xdr, ProcedureTable) {
    const ProcedureInfo* open = findRemoteProcedure(REMOTE_PROC_CONNECT_OPEN);
    ASSERT_NE(open, nullptr);
    EXPECT_EQ(open->name, "CONNECT_OPEN");
    EXPECT_TRUE(open->readonlyAllowed);
    EXPECT_TRUE(open->highPriority);
    const ProcedureInfo* destroy = findRemoteProcedure(REMOTE_PROC_DOMAIN_DESTROY);
    ASSERT_NE(destroy, nullptr);
    EXPECT_FALSE(destroy->readonlyAllowed);
    const ProcedureInfo* xml = findRemoteProcedure(REMOTE_PROC_DOMAIN_GET_XML_DESC);
    ASSERT_NE(xml, nullptr);
    EXPECT_TRUE(xml->readonlyAllowed);
    EXPECT_EQ(xml->readonlyDeniedFlags, 1u);
    EXPECT_EQ(findRemoteProcedure(443)->name, "DOMAIN_FD_ASSOCIATE");
    EXPECT_EQ(findRemoteProcedure(0), nullptr);
    EXPECT_EQ(findRemoteProcedure(444), nullptr);
    for (std::int32_t n = 1; n <= 443; ++n) {
        EXPECT_NE(findRemoteProcedure(n), nullptr) << "procedure " << n << " missing";
    }
    EXPECT_EQ(RemoteProc<REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME>::name, "DOMAIN_LOOKUP_BY_NAME");
}
