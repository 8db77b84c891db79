// SPDX-License-Identifier: LGPL-2.1-or-later
// QmpMonitor against a scripted peer on a socketpair: capabilities negotiation, replies matched
// to commands, events delivered in order, QMP errors, timeouts, and a peer that dies or talks
// nonsense (reported once, never a crash).
#include "drivers/qemu/qmp_monitor.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace corral;
using namespace corral::drivers::qemu;
using namespace std::chrono_literals;

namespace {

/// A pretend QEMU: sends the greeting, then answers each line with `respond(line)` (which may
/// write events first, answer nothing, or close the socket).
class FakeQemu {
public:
    using Responder = std::function<bool(const std::string& line, int fd)>;  ///< false: hang up

    explicit FakeQemu(Responder respond, bool greet = true) : respond_(std::move(respond)) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ours_ = UniqueFd(fds[0]);
        theirs_ = fds[1];
        thread_ = std::thread([this, greet] { run(greet); });
    }
    ~FakeQemu() {
        ::shutdown(theirs_, SHUT_RDWR);
        thread_.join();
        ::close(theirs_);
    }
    FakeQemu(const FakeQemu&) = delete;
    FakeQemu& operator=(const FakeQemu&) = delete;

    UniqueFd takeSocket() { return std::move(ours_); }
    static void send(int fd, const std::string& text) { (void)!::write(fd, text.data(), text.size()); }

private:
    void run(bool greet) {
        if (greet) {
            send(theirs_, R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}})"
                          "\n");
        }
        std::string buffer;
        char chunk[512];
        while (true) {
            ssize_t n = ::read(theirs_, chunk, sizeof chunk);
            if (n <= 0) {
                return;
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = buffer.find('\n')) != std::string::npos) {
                std::string line = buffer.substr(0, nl);
                buffer.erase(0, nl + 1);
                if (line.find("qmp_capabilities") != std::string::npos) {
                    send(theirs_, "{\"return\": {}}\n");
                } else if (!respond_(line, theirs_)) {
                    ::shutdown(theirs_, SHUT_RDWR);
                    return;
                }
            }
        }
    }

    Responder respond_;
    UniqueFd ours_;
    int theirs_ = -1;
    std::thread thread_;
};

struct Recorder {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> events;
    std::atomic<int> closed{0};
    QmpCallbacks callbacks() {
        return QmpCallbacks{[this](const std::string& e, const JsonValue&) {
                                std::lock_guard l(m);
                                events.push_back(e);
                                cv.notify_all();
                            },
                            [this] {
                                ++closed;
                                cv.notify_all();
                            }};
    }
    bool waitClosed() {
        std::unique_lock l(m);
        return cv.wait_for(l, 10s, [this] { return closed.load() > 0; });
    }
};

}  // namespace

TEST(QmpMonitor, ExecutesAndDeliversEventsInOrder) {
    FakeQemu qemu([](const std::string& line, int fd) {
        if (line.find("query-status") != std::string::npos) {
            FakeQemu::send(fd, R"({"event": "STOP", "data": {}, "timestamp": {"seconds": 1, "microseconds": 2}})" "\n");
            FakeQemu::send(fd, R"({"event": "RESUME", "data": {}, "timestamp": {"seconds": 1, "microseconds": 3}})" "\n");
            FakeQemu::send(fd, R"({"return": {"status": "running", "running": true}})" "\n");
        }
        return true;
    });
    Recorder rec;
    auto mon = QmpMonitor::open(qemu.takeSocket(), rec.callbacks(), 5s);
    ASSERT_TRUE(mon) << mon.error().wireMessage();
    auto status = (*mon)->execute("query-status");
    ASSERT_TRUE(status) << status.error().wireMessage();
    EXPECT_EQ((*status)["status"].asString(), "running");
    {
        std::lock_guard l(rec.m);
        EXPECT_EQ(rec.events, (std::vector<std::string>{"STOP", "RESUME"}));
    }
    EXPECT_EQ((*mon)->commandsSent(), 2u) << "qmp_capabilities and query-status, nothing else";
    (*mon)->close();
    EXPECT_EQ(rec.closed.load(), 0) << "an orderly close() is not reported";
}

TEST(QmpMonitor, QmpErrorsCarryQemusDescription) {
    FakeQemu qemu([](const std::string&, int fd) {
        FakeQemu::send(fd, R"({"error": {"class": "GenericError", "desc": "Device 'x' not found"}})" "\n");
        return true;
    });
    Recorder rec;
    auto mon = QmpMonitor::open(qemu.takeSocket(), rec.callbacks(), 5s);
    ASSERT_TRUE(mon);
    auto r = (*mon)->execute("device_del", R"({"id":"x"})");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().wireMessage().find("Device 'x' not found"), std::string::npos) << r.error().wireMessage();
}

TEST(QmpMonitor, UnansweredCommandTimesOut) {
    FakeQemu qemu([](const std::string&, int) { return true; });  // never answers
    Recorder rec;
    auto mon = QmpMonitor::open(qemu.takeSocket(), rec.callbacks(), 5s);
    ASSERT_TRUE(mon);
    auto r = (*mon)->execute("query-status", {}, 100ms);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().wireMessage().find("query-status"), std::string::npos) << r.error().wireMessage();
}

TEST(QmpMonitor, DeadPeerIsReportedOnceAndFailsLaterCommands) {
    FakeQemu qemu([](const std::string&, int) { return false; });  // hangs up on the first command
    Recorder rec;
    auto mon = QmpMonitor::open(qemu.takeSocket(), rec.callbacks(), 5s);
    ASSERT_TRUE(mon);
    auto r = (*mon)->execute("query-status");
    EXPECT_FALSE(r);
    ASSERT_TRUE(rec.waitClosed());
    EXPECT_FALSE((*mon)->execute("cont"));
    EXPECT_EQ(rec.closed.load(), 1);
}

TEST(QmpMonitor, GarbageFromThePeerFailsTheCommandWithoutACrash) {
    FakeQemu qemu([](const std::string&, int fd) {
        FakeQemu::send(fd, std::string("{\"return\": [[[[[[") + std::string(100000, '[') + "\n");
        return true;
    });
    Recorder rec;
    auto mon = QmpMonitor::open(qemu.takeSocket(), rec.callbacks(), 5s);
    ASSERT_TRUE(mon);
    // The default timeout is 30 s: failing at once shows the bad reply was taken as the answer.
    auto r = (*mon)->execute("query-status");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().wireMessage().find("unreadable reply"), std::string::npos) << r.error().wireMessage();
}

TEST(QmpMonitor, ALineOverTheLimitIsDroppedAndTheMonitorKeepsWorking) {
    // A hostile QEMU: 16 MiB in one line (the monitor drops it unread past 2 MiB), then a
    // message over the parsed-size bound, then a plain answer.
    std::atomic<int> asked{0};
    FakeQemu qemu([&](const std::string&, int fd) {
        int n = asked++;
        if (n == 0) {
            std::string piece(1 << 20, ' ');
            FakeQemu::send(fd, "{\"return\": [");
            for (int i = 0; i < 16; ++i) {
                FakeQemu::send(fd, piece);
            }
            FakeQemu::send(fd, "]}\n");
        } else if (n == 1) {
            std::string zeros = "{\"return\": [0";
            while (zeros.size() < 1900 * 1000) {
                zeros += ",0";
            }
            FakeQemu::send(fd, zeros + "]}\n");
        } else {
            FakeQemu::send(fd, "{\"return\": {\"status\": \"running\"}}\n");
        }
        return true;
    });
    Recorder rec;
    auto mon = QmpMonitor::open(qemu.takeSocket(), rec.callbacks(), 5s);
    ASSERT_TRUE(mon);
    for (int i = 0; i < 2; ++i) {
        auto r = (*mon)->execute("query-status");
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().wireMessage().find("unreadable reply"), std::string::npos) << r.error().wireMessage();
    }
    auto ok = (*mon)->execute("query-status");
    ASSERT_TRUE(ok) << ok.error().wireMessage();
    EXPECT_EQ((*ok)["status"].asString(), "running");
    EXPECT_EQ(rec.closed.load(), 0);
}

TEST(QmpMonitor, MissingGreetingFailsTheOpen) {
    FakeQemu qemu([](const std::string&, int) { return true; }, /*greet=*/false);
    Recorder rec;
    auto mon = QmpMonitor::open(qemu.takeSocket(), rec.callbacks(), 200ms);
    ASSERT_FALSE(mon);
}
