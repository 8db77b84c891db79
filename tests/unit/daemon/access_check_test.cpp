// SPDX-License-Identifier: LGPL-2.1-or-later
// What the dispatcher reads from a call's arguments for the access rules: the flags of the
// procedures whose flags decide access (the secure XML).
#include "daemon/access_check.hpp"

#include <gtest/gtest.h>

#include <set>

#include "rpc/generated/remote_protocol.hpp"

using namespace corral;
namespace proto = corral::rpc::proto;

namespace {

proto::remote_nonnull_domain someDomain() {
    proto::remote_nonnull_domain dom{};
    dom.name = "web1";
    dom.id = 7;
    return dom;
}

}  // namespace

TEST(FlagsOfCall, ReadsTheLastArgumentOfProceduresWithReadOnlyDeniedFlags) {
    proto::remote_domain_get_xml_desc_args xml{};
    xml.dom = someDomain();
    xml.flags = 0x80000003u;
    auto payload = proto::encodeToBytes(xml);
    EXPECT_EQ(corral::daemon::flagsOfCall(*proto::findRemoteProcedure(proto::REMOTE_PROC_DOMAIN_GET_XML_DESC), payload),
              0x80000003u);
    proto::remote_domain_get_vcpus_flags_args vcpus{};
    vcpus.dom = someDomain();
    vcpus.flags = 8;
    EXPECT_EQ(corral::daemon::flagsOfCall(*proto::findRemoteProcedure(proto::REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS),
                                  proto::encodeToBytes(vcpus)),
              8u);
    // Procedures whose flags do not matter to the rules are not read, and a short payload is 0.
    EXPECT_EQ(corral::daemon::flagsOfCall(*proto::findRemoteProcedure(proto::REMOTE_PROC_DOMAIN_DESTROY), payload), 0u);
    EXPECT_EQ(corral::daemon::flagsOfCall(*proto::findRemoteProcedure(proto::REMOTE_PROC_DOMAIN_GET_XML_DESC),
                                  std::span<const std::uint8_t>(payload.data(), 3)),
              0u);
}

TEST(FlagsOfCall, EveryTranscribedProcedureWithSuchFlagsIsCoveredAbove) {
    // flagsOfCall relies on `flags` being the last argument. The procedures above are checked
    // through their real encoders; a newly transcribed one must be added there.
    std::set<std::int32_t> transcribed;
    for (std::int32_t n = 1; n < 1000; ++n) {
        const proto::ProcedureInfo* info = proto::findRemoteProcedure(n);
        if (info != nullptr && info->readonlyDeniedFlags != 0 && info->hasCodec) {
            transcribed.insert(n);
        }
    }
    EXPECT_EQ(transcribed, (std::set<std::int32_t>{proto::REMOTE_PROC_DOMAIN_GET_XML_DESC,
                                                   proto::REMOTE_PROC_DOMAIN_GET_VCPUS_FLAGS}));
}
