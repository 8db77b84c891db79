// SPDX-License-Identifier: LGPL-2.1-or-later
// parseEmptyCpuSlots: QEMU's query-hotpluggable-cpus reply as recorded from QEMU 7.2 (pc,
// maxcpus 4, one vCPU plugged), and hostile variants of it, each refused whole.
#include "drivers/qemu/qemu_cpu_slots.hpp"

#include <gtest/gtest.h>

using namespace corral;
using namespace corral::drivers::qemu;

namespace {

// What QEMU 7.2 answers for -smp 1,maxcpus=4,sockets=4,cores=1,threads=1: highest slot first.
constexpr const char* kReply = R"([
 {"props": {"core-id": 0, "thread-id": 0, "socket-id": 3}, "vcpus-count": 1, "type": "qemu64-x86_64-cpu"},
 {"props": {"core-id": 0, "thread-id": 0, "socket-id": 2}, "vcpus-count": 1, "type": "qemu64-x86_64-cpu"},
 {"props": {"core-id": 0, "thread-id": 0, "socket-id": 1}, "vcpus-count": 1, "type": "qemu64-x86_64-cpu"},
 {"props": {"core-id": 0, "thread-id": 0, "socket-id": 0}, "vcpus-count": 1,
  "qom-path": "/machine/unattached/device[0]", "type": "qemu64-x86_64-cpu"}])";

Result<std::vector<CpuSlot>> parse(const std::string& text) {
    auto json = JsonValue::parse(text);
    EXPECT_TRUE(json.has_value()) << text;
    return parseEmptyCpuSlots(*json);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
}

}  // namespace

TEST(QemuCpuSlots, EmptySlotsInTopologyOrder) {
    auto slots = parse(kReply);
    ASSERT_TRUE(slots.has_value()) << slots.error().message;
    ASSERT_EQ(slots->size(), 3u);
    EXPECT_EQ((*slots)[0].socket, 1);
    EXPECT_EQ((*slots)[2].socket, 3);
    EXPECT_EQ((*slots)[0].type, "qemu64-x86_64-cpu");
    EXPECT_EQ((*slots)[0].die, -1);
}

TEST(QemuCpuSlots, HostileRepliesAreRefusedWhole) {
    const std::string first = R"("socket-id": 3})";
    for (const std::string& bad : {
             std::string(R"({"return": "not a list"})"),
             std::string("[1, 2]"),
             replaced(kReply, first, R"("socket-id": -7})"),
             replaced(kReply, first, R"("socket-id": 99999999999})"),
             replaced(kReply, first, R"("socket-id": "3"})"),
             replaced(kReply, R"("core-id": 0, "thread-id": 0, "socket-id": 3)", R"("socket-id": 3)"),
             replaced(kReply, R"("vcpus-count": 1)", R"("vcpus-count": 2)"),
             replaced(kReply, R"("type": "qemu64-x86_64-cpu"})", R"("type": "x\",id=evil"})"),
             replaced(kReply, R"("type": "qemu64-x86_64-cpu"})", R"("type": ""})"),
             replaced(kReply, R"("type": "qemu64-x86_64-cpu"})", R"("type": ")" + std::string(500, 'a') + "\"}"),
         }) {
        auto slots = parse(bad);
        EXPECT_FALSE(slots.has_value()) << bad;
    }
}
