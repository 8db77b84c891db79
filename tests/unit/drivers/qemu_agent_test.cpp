// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuAgent against a scripted peer on a unix socket: the handshake skips stale replies and
// noise, an agent error is reported with its text, and a peer that is silent, lies about the
// handshake id or sends an endless line fails the call within its wait, never hanging it.
#include "drivers/qemu/qemu_agent.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <thread>

#include "util/unix_socket.hpp"

using namespace corral;
using namespace corral::drivers::qemu;
using namespace std::chrono_literals;

namespace {

/// A pretend qemu-ga: accepts one connection and hands each line it reads to `respond`, with
/// the id of a guest-sync-delimited line (0 for other lines). `respond` returns false to stop.
class FakeAgent {
public:
    using Responder = std::function<bool(const std::string& line, unsigned long long syncId, int fd)>;

    explicit FakeAgent(Responder respond) : respond_(std::move(respond)) {
        char dir[] = "/tmp/corral-agent-test-XXXXXX";
        dir_ = ::mkdtemp(dir);
        path_ = dir_ + "/agent.sock";
        auto l = listenUnixSocket(path_, 0600);
        EXPECT_TRUE(l.has_value());
        listener_ = std::move(*l);
        thread_ = std::thread([this] { run(); });
    }
    ~FakeAgent() {
        ::shutdown(listener_.get(), SHUT_RDWR);
        if (conn_ >= 0) {
            ::shutdown(conn_, SHUT_RDWR);
        }
        thread_.join();
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    const std::string& path() const { return path_; }
    static void send(int fd, const std::string& text) { (void)!::send(fd, text.data(), text.size(), MSG_NOSIGNAL); }

private:
    void run() {
        conn_ = ::accept(listener_.get(), nullptr, nullptr);
        if (conn_ < 0) {
            return;
        }
        std::string buffer;
        char chunk[4096];
        for (;;) {
            ssize_t n = ::read(conn_, chunk, sizeof chunk);
            if (n <= 0) {
                break;
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = buffer.find('\n')) != std::string::npos) {
                std::string line = buffer.substr(0, nl);
                buffer.erase(0, nl + 1);
                line.erase(0, line.find_first_not_of('\xff'));
                std::smatch m;
                unsigned long long id = 0;
                if (std::regex_search(line, m, std::regex("guest-sync-delimited.*\"id\":([0-9]+)"))) {
                    id = std::stoull(m[1]);
                }
                if (!respond_(line, id, conn_)) {
                    goto done;
                }
            }
        }
    done:
        ::close(conn_);
    }

    Responder respond_;
    std::string dir_, path_;
    UniqueFd listener_;
    int conn_ = -1;
    std::thread thread_;
};

std::string syncReply(unsigned long long id) { return "\xff{\"return\": " + std::to_string(id) + "}\n"; }

}  // namespace

TEST(QemuAgent, SkipsStaleRepliesAndNoiseBeforeTheHandshake) {
    FakeAgent peer([](const std::string& line, unsigned long long id, int fd) {
        if (id != 0) {
            // A reply an earlier call gave up on, noise, an old handshake's id, then ours.
            FakeAgent::send(fd, "{\"return\": {\"host-name\": \"stale\"}}\nnoise\n\xff{\"return\": 1}\n" + syncReply(id));
        } else if (line.find("guest-get-host-name") != std::string::npos) {
            FakeAgent::send(fd, "{\"return\": {\"host-name\": \"fresh\"}}\n");
        }
        return true;
    });
    QemuAgent agent(peer.path());
    auto r = agent.execute("guest-get-host-name", "", AgentWait{5});
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ((*r)["host-name"].asString(), "fresh");
}

TEST(QemuAgent, ReportsTheAgentsErrorWithItsText) {
    FakeAgent peer([](const std::string&, unsigned long long id, int fd) {
        FakeAgent::send(fd, id != 0 ? syncReply(id)
                                    : "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no such command\"}}\n");
        return true;
    });
    QemuAgent agent(peer.path());
    auto r = agent.execute("guest-nothing", "", AgentWait{5});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::InternalError);
    EXPECT_EQ(r.error().message, "unable to execute QEMU agent command 'guest-nothing': no such command");
}

TEST(QemuAgent, SilentPeerFailsWithinTheWait) {
    FakeAgent peer([](const std::string&, unsigned long long, int) { return true; });
    QemuAgent agent(peer.path());
    const auto start = std::chrono::steady_clock::now();
    auto r = agent.execute("guest-ping", "", AgentWait{1});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::AgentUnresponsive);
    EXPECT_EQ(r.error().wireMessage(), "Guest agent is not responding: Guest agent not available for now");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST(QemuAgent, WrongHandshakeIdIsNeverTakenForAnAnswer) {
    FakeAgent peer([](const std::string&, unsigned long long id, int fd) {
        if (id != 0) {
            FakeAgent::send(fd, syncReply(id + 1) + "{\"return\": {}}\n");
        }
        return true;
    });
    QemuAgent agent(peer.path());
    auto r = agent.execute("guest-ping", "", AgentWait{1});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::AgentUnresponsive);
}

TEST(QemuAgent, EndlessReplyLineIsRefusedAtTheLimit) {
    FakeAgent peer([](const std::string&, unsigned long long id, int fd) {
        if (id != 0) {
            FakeAgent::send(fd, syncReply(id));
            return true;
        }
        // Far more than the limit, without a newline.
        std::string block(1 << 20, 'x');
        FakeAgent::send(fd, "{\"return\": \"");
        for (std::size_t sent = 0; sent <= QemuAgent::kMaxReplyBytes + (2u << 20); sent += block.size()) {
            FakeAgent::send(fd, block);
        }
        return true;
    });
    QemuAgent agent(peer.path());
    auto r = agent.execute("guest-info", "", AgentWait{30});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::AgentUnresponsive);
    EXPECT_NE(r.error().message.find("longer than"), std::string::npos) << r.error().message;
}

TEST(QemuAgent, TimeoutsFollowLibvirtsValues) {
    EXPECT_FALSE(AgentWait{AgentWait::kBlock}.command().has_value());
    EXPECT_EQ(AgentWait{AgentWait::kDefault}.command(), std::chrono::milliseconds(AgentWait::kDefaultCommand));
    EXPECT_EQ(AgentWait{AgentWait::kNoWait}.command(), 0ms);
    EXPECT_EQ(AgentWait{7}.command(), 7000ms);
    EXPECT_EQ(AgentWait{2}.sync(), 2000ms);
    EXPECT_EQ(AgentWait{AgentWait::kBlock}.sync(), 5000ms);
}
