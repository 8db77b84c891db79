// SPDX-License-Identifier: LGPL-2.1-or-later
// The daemon's server and dispatcher over a real socket (the embedded server): handshake rules,
// error codes virsh depends on, read-only enforcement, keepalive, and hostile packets.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "daemon/embedded.hpp"
#include "daemon/worker_pool.hpp"
#include "drivers/common/managed_driver.hpp"
#include "drivers/registry.hpp"
#include "rpc/generated/keepalive_protocol.hpp"
#include "rpc/generated/remote_protocol.hpp"
#include "rpc/packet.hpp"
#include "util/unique_fd.hpp"

using namespace corral;
namespace proto = corral::rpc::proto;

namespace {

class RawClient {
public:
    explicit RawClient(int fd) : fd_(fd) {}

    void sendBytes(const std::vector<std::uint8_t>& bytes) {
        ASSERT_EQ(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }

    template <class T>
    void call(std::int32_t proc, const T& args, std::uint32_t prog = proto::REMOTE_PROGRAM,
              std::uint32_t vers = 1) {
        rpc::MessageHeader h{};
        h.prog = prog;
        h.vers = vers;
        h.proc = proc;
        h.type = rpc::MessageType::Call;
        h.serial = serial_++;
        h.status = rpc::MessageStatus::Ok;
        sendBytes(rpc::buildPacket(h, std::span<const std::uint8_t>(proto::encodeToBytes(args))));
    }

    /// The next packet, or nullopt when the daemon closed the connection (or 5 s passed).
    std::optional<rpc::Packet> next() {
        while (true) {
            if (auto p = assembler_.next()) {
                return p;
            }
            pollfd pfd{fd_.get(), POLLIN, 0};
            if (::poll(&pfd, 1, 5000) <= 0) {
                return std::nullopt;
            }
            std::uint8_t buf[65536];
            ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
            if (n <= 0) {
                return std::nullopt;
            }
            if (!assembler_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)))) {
                return std::nullopt;
            }
        }
    }

    /// Calls and returns the decoded error of an ERROR reply (fails the test on OK).
    template <class T>
    proto::remote_error callExpectingError(std::int32_t proc, const T& args) {
        call(proc, args);
        auto reply = next();
        EXPECT_TRUE(reply.has_value());
        proto::remote_error err{};
        if (reply) {
            EXPECT_EQ(reply->header.status, rpc::MessageStatus::Error);
            EXPECT_TRUE(proto::decodeFromBytes(reply->payload, err));
        }
        return err;
    }

    template <class Ret, class T>
    Ret callOk(std::int32_t proc, const T& args) {
        call(proc, args);
        auto reply = next();
        Ret ret{};
        EXPECT_TRUE(reply.has_value());
        if (reply) {
            EXPECT_EQ(reply->header.status, rpc::MessageStatus::Ok);
            EXPECT_TRUE(proto::decodeFromBytes(reply->payload, ret));
        }
        return ret;
    }

    void open(const std::string& uri, std::uint32_t flags = 0) {
        proto::remote_connect_open_args args;
        args.name = uri;
        args.flags = flags;
        callOk<proto::xdr_void>(proto::REMOTE_PROC_CONNECT_OPEN, args);
    }

    bool closedByPeer() {
        pollfd pfd{fd_.get(), POLLIN, 0};
        if (::poll(&pfd, 1, 5000) <= 0) {
            return false;
        }
        std::uint8_t b;
        return ::recv(fd_.get(), &b, 1, 0) == 0;
    }

private:
    UniqueFd fd_;
    rpc::PacketAssembler assembler_;
    std::uint32_t serial_ = 0;
};

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto started = daemon::EmbeddedServer::start();
        ASSERT_TRUE(started) << started.error().wireMessage();
        server = std::move(*started);
        client = std::make_unique<RawClient>(server->takeClientFd());
    }
    std::unique_ptr<daemon::EmbeddedServer> server;
    std::unique_ptr<RawClient> client;
};

}  // namespace

TEST_F(ServerTest, AuthListOffersNone) {
    auto ret = client->callOk<proto::remote_auth_list_ret>(proto::REMOTE_PROC_AUTH_LIST, proto::xdr_void{});
    ASSERT_EQ(ret.types.size(), 1u);
    EXPECT_EQ(static_cast<int>(ret.types[0]), 0);
}

TEST_F(ServerTest, CallBeforeOpenIsRefused) {
    auto err = client->callExpectingError(proto::REMOTE_PROC_CONNECT_GET_TYPE, proto::xdr_void{});
    EXPECT_EQ(err.code, 1);
    ASSERT_TRUE(err.message);
    EXPECT_NE(err.message->find("hypervisor connection not open"), std::string::npos);
}

TEST_F(ServerTest, SecondOpenIsRefused) {
    client->open("test:///default");
    proto::remote_connect_open_args args;
    args.name = std::string("test:///default");
    auto err = client->callExpectingError(proto::REMOTE_PROC_CONNECT_OPEN, args);
    EXPECT_EQ(err.code, 1);
}

TEST_F(ServerTest, UnknownProcedureIsRpcError) {
    client->open("test:///default");
    auto err = client->callExpectingError(9999, proto::xdr_void{});
    EXPECT_EQ(err.code, 39);
    ASSERT_TRUE(err.message);
    EXPECT_EQ(*err.message, "unknown procedure: 9999");
}

TEST_F(ServerTest, KnownUnimplementedProcedureIsNoSupport) {
    client->open("test:///default");
    // DOMAIN_GET_JOB_STATS (298) is in the protocol but not served: virsh must see code 3 (its
    // domjobinfo then falls back to DOMAIN_GET_JOB_INFO).
    auto err = client->callExpectingError(298, proto::xdr_void{});
    EXPECT_EQ(err.code, 3);
}

TEST_F(ServerTest, UnknownProgramIsRpcError) {
    client->call(proto::REMOTE_PROC_AUTH_LIST, proto::xdr_void{}, 0x12345678u);
    auto reply = client->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header.prog, 0x12345678u);
    proto::remote_error err{};
    ASSERT_TRUE(proto::decodeFromBytes(reply->payload, err));
    EXPECT_EQ(err.code, 39);
}

TEST_F(ServerTest, ReadOnlyConnectionCannotDestroy) {
    client->open("test:///default", 1);
    proto::remote_domain_lookup_by_name_args lookup;
    lookup.name = "test";
    auto dom = client->callOk<proto::remote_domain_lookup_by_name_ret>(
        proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, lookup);
    EXPECT_EQ(dom.dom.id, 1);
    proto::remote_domain_destroy_args destroy;
    destroy.dom = dom.dom;
    auto err = client->callExpectingError(proto::REMOTE_PROC_DOMAIN_DESTROY, destroy);
    EXPECT_EQ(err.code, 29);
    ASSERT_TRUE(err.message);
    EXPECT_EQ(*err.message, "operation forbidden: read only access prevents virDomainDestroy");
}

TEST_F(ServerTest, LookupOfMissingDomainIsNoDomain) {
    client->open("test:///default");
    proto::remote_domain_lookup_by_name_args lookup;
    lookup.name = "nope";
    auto err = client->callExpectingError(proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, lookup);
    EXPECT_EQ(err.code, 42);
    ASSERT_TRUE(err.message);
    EXPECT_EQ(*err.message, "Domain not found: no domain with matching name 'nope'");
}

TEST_F(ServerTest, KeepalivePingGetsPong) {
    rpc::MessageHeader h{};
    h.prog = proto::KEEPALIVE_PROGRAM;
    h.vers = 1;
    h.proc = proto::KEEPALIVE_PROC_PING;
    h.type = rpc::MessageType::Message;
    h.status = rpc::MessageStatus::Ok;
    client->sendBytes(rpc::buildPacket(h, std::span<const std::uint8_t>{}));
    auto reply = client->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header.prog, proto::KEEPALIVE_PROGRAM);
    EXPECT_EQ(reply->header.proc, proto::KEEPALIVE_PROC_PONG);
}

TEST_F(ServerTest, TruncatedArgumentsAreAnErrorNotACrash) {
    client->open("test:///default");
    rpc::MessageHeader h{};
    h.prog = proto::REMOTE_PROGRAM;
    h.vers = 1;
    h.proc = proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME;
    h.type = rpc::MessageType::Call;
    h.serial = 77;
    std::vector<std::uint8_t> junk = {0, 0, 0, 50, 'a', 'b'};  // claims 50 bytes, has 2
    client->sendBytes(rpc::buildPacket(h, std::span<const std::uint8_t>(junk)));
    auto reply = client->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header.serial, 77u);
    EXPECT_EQ(reply->header.status, rpc::MessageStatus::Error);
    // The connection still works.
    auto type = client->callOk<proto::remote_connect_get_type_ret>(proto::REMOTE_PROC_CONNECT_GET_TYPE,
                                                                   proto::xdr_void{});
    EXPECT_EQ(type.type, "TEST");
}

TEST_F(ServerTest, OversizedLengthClosesTheConnection) {
    std::vector<std::uint8_t> bytes = {0x02, 0x00, 0x00, 0x01};  // 32 MiB + 1
    bytes.resize(28, 0);
    client->sendBytes(bytes);
    EXPECT_TRUE(client->closedByPeer());
}

TEST_F(ServerTest, UndersizedLengthClosesTheConnection) {
    std::vector<std::uint8_t> bytes = {0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0};
    client->sendBytes(bytes);
    EXPECT_TRUE(client->closedByPeer());
}

TEST_F(ServerTest, LifecycleEventsReachRegisteredClient) {
    client->open("test:///default");
    proto::remote_connect_domain_event_callback_register_any_args reg{};
    reg.eventID = 0;
    auto cb = client->callOk<proto::remote_connect_domain_event_callback_register_any_ret>(
        proto::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, reg);
    proto::remote_domain_lookup_by_name_args lookup;
    lookup.name = "test";
    auto dom = client->callOk<proto::remote_domain_lookup_by_name_ret>(
        proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, lookup);
    proto::remote_domain_suspend_args suspend;
    suspend.dom = dom.dom;
    client->call(proto::REMOTE_PROC_DOMAIN_SUSPEND, suspend);
    // The event and the reply may come in either order.
    bool sawReply = false;
    bool sawEvent = false;
    for (int i = 0; i < 2; ++i) {
        auto p = client->next();
        ASSERT_TRUE(p);
        if (p->header.type == rpc::MessageType::Message) {
            EXPECT_EQ(p->header.proc, proto::REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE);
            proto::remote_domain_event_callback_lifecycle_msg msg{};
            ASSERT_TRUE(proto::decodeFromBytes(p->payload, msg));
            EXPECT_EQ(msg.callbackID, cb.callbackID);
            EXPECT_EQ(msg.msg.dom.name, "test");
            EXPECT_EQ(msg.msg.event, 3);   // SUSPENDED
            EXPECT_EQ(msg.msg.detail, 0);  // PAUSED
            sawEvent = true;
        } else {
            EXPECT_EQ(p->header.status, rpc::MessageStatus::Ok);
            sawReply = true;
        }
    }
    EXPECT_TRUE(sawReply);
    EXPECT_TRUE(sawEvent);
}

TEST_F(ServerTest, PipelinedInlineAndWorkerCallsAreAllAnswered) {
    // Lookups and states are answered on the I/O thread, the XML on a worker: a client that
    // pipelines both gets every reply, each under its own serial.
    client->open("test:///default");
    proto::remote_domain_lookup_by_name_args lookup;
    lookup.name = "test";
    auto dom = client->callOk<proto::remote_domain_lookup_by_name_ret>(proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, lookup);
    proto::remote_domain_get_state_args state{};
    state.dom = dom.dom;
    proto::remote_domain_get_xml_desc_args xml{};
    xml.dom = dom.dom;
    constexpr int kRounds = 300;
    for (int i = 0; i < kRounds; ++i) {
        client->call(proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, lookup);
        client->call(proto::REMOTE_PROC_DOMAIN_GET_STATE, state);
        if (i % 10 == 0) {
            client->call(proto::REMOTE_PROC_DOMAIN_GET_XML_DESC, xml);
        }
    }
    std::set<std::uint32_t> serials;
    int states = 0;
    int xmls = 0;
    for (int i = 0; i < kRounds * 2 + kRounds / 10; ++i) {
        auto p = client->next();
        ASSERT_TRUE(p) << "reply " << i << " missing";
        ASSERT_EQ(p->header.status, rpc::MessageStatus::Ok);
        serials.insert(p->header.serial);
        if (p->header.proc == proto::REMOTE_PROC_DOMAIN_GET_STATE) {
            proto::remote_domain_get_state_ret st{};
            ASSERT_TRUE(proto::decodeFromBytes(p->payload, st));
            EXPECT_EQ(st.state, 1);  // running
            ++states;
        } else if (p->header.proc == proto::REMOTE_PROC_DOMAIN_GET_XML_DESC) {
            ++xmls;
        }
    }
    EXPECT_EQ(serials.size(), static_cast<std::size_t>(kRounds * 2 + kRounds / 10));
    EXPECT_EQ(states, kRounds);
    EXPECT_EQ(xmls, kRounds / 10);
}

TEST_F(ServerTest, GetInfoOfABusyDomainWaitsOnAWorkerNotTheIoThread) {
    client->open("test:///default");
    proto::remote_domain_lookup_by_name_args lookup;
    lookup.name = "test";
    auto dom = client->callOk<proto::remote_domain_lookup_by_name_ret>(proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, lookup);
    auto driver = server->registry().driverForUri("test:///default");
    ASSERT_TRUE(driver);
    auto held = dynamic_cast<drivers::DomainManager&>(*(*driver)->lookup()).domains().findByName("test");
    ASSERT_TRUE(held);
    proto::remote_domain_get_info_args info{};
    info.dom = dom.dom;
    {
        std::unique_lock busy(held->mutex());  // a job holding the domain, as a status write does
        client->call(proto::REMOTE_PROC_DOMAIN_GET_INFO, info);
        // The I/O thread is not stuck behind the domain: other calls still get their answers.
        auto lib = client->callOk<proto::remote_connect_get_lib_version_ret>(proto::REMOTE_PROC_CONNECT_GET_LIB_VERSION,
                                                                             proto::xdr_void{});
        EXPECT_GT(lib.lib_ver, 0u);
        auto st = client->callOk<proto::remote_domain_get_state_ret>(
            proto::REMOTE_PROC_DOMAIN_GET_STATE, proto::remote_domain_get_state_args{dom.dom, 0});
        EXPECT_EQ(st.state, 1);
    }
    // Released: the worker that waited for the domain answers.
    auto reply = client->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header.proc, proto::REMOTE_PROC_DOMAIN_GET_INFO);
    ASSERT_EQ(reply->header.status, rpc::MessageStatus::Ok);
    proto::remote_domain_get_info_ret ret{};
    ASSERT_TRUE(proto::decodeFromBytes(reply->payload, ret));
    EXPECT_EQ(ret.state, 1);
    EXPECT_EQ(ret.nrVirtCpu, 2);
}

TEST(WorkerPool, StartsWithItsMinimumAndGrowsToItsMaximumWhenBusy) {
    daemon::WorkerPool pool("test-pool", 1, 3);
    EXPECT_EQ(pool.threadCount(), 1u);
    // Five jobs that wait for each other: three workers (the maximum) run at once, never more.
    std::mutex m;
    std::condition_variable cv;
    int running = 0;
    int peak = 0;
    bool release = false;
    std::atomic<int> finished{0};
    for (int i = 0; i < 5; ++i) {
        pool.submit([&] {
            std::unique_lock lock(m);
            peak = std::max(peak, ++running);
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
            --running;
            ++finished;
        });
    }
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return running == 3; }));
        release = true;
        cv.notify_all();
    }
    EXPECT_EQ(pool.threadCount(), 3u);
    pool.stop();  // finishes the two queued behind the three
    EXPECT_EQ(finished.load(), 5);
    EXPECT_EQ(peak, 3);
    EXPECT_EQ(pool.threadCount(), 0u);  // joined
}

TEST(ServerBackpressure, ASlowReaderOfInlineRepliesGetsThemAll) {
    // 2,000 calls answered on the I/O thread, sent in one write the daemon reads at once, none
    // read until all are answered or queued: the replies fill the socket, the queued-output
    // bound (4 KiB here) pauses serving with most calls still buffered in the daemon. Once the
    // client reads, every call must be answered, though no more input ever arrives to wake the
    // daemon up.
    auto started = daemon::EmbeddedServer::start(4096);
    ASSERT_TRUE(started) << started.error().wireMessage();
    RawClient client((*started)->takeClientFd());
    client.open("test:///default");
    constexpr int kCalls = 2000;
    std::vector<std::uint8_t> batch;
    for (int i = 0; i < kCalls; ++i) {
        rpc::MessageHeader h{};
        h.prog = proto::REMOTE_PROGRAM;
        h.vers = 1;
        h.proc = proto::REMOTE_PROC_CONNECT_GET_LIB_VERSION;
        h.type = rpc::MessageType::Call;
        h.serial = 1000 + static_cast<std::uint32_t>(i);
        h.status = rpc::MessageStatus::Ok;
        auto packet = rpc::buildPacket(h, std::span<const std::uint8_t>{});
        batch.insert(batch.end(), packet.begin(), packet.end());
    }
    ASSERT_LT(batch.size(), 64u * 1024);  // one read on the daemon's side
    client.sendBytes(batch);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the replies back up
    for (int answered = 0; answered < kCalls; ++answered) {
        auto reply = client.next();
        ASSERT_TRUE(reply) << "stalled after " << answered << " replies";
        ASSERT_EQ(reply->header.status, rpc::MessageStatus::Ok);
    }
}
