// SPDX-License-Identifier: LGPL-2.1-or-later
// The FUSE file system mounted for real: this process serves /dev/fuse while a forked child uses
// the mount with ordinary system calls (a reader blocks until it is served, so the two must not
// be one thread). Needs root and /dev/fuse; skipped otherwise.
#include "host/fuse_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "util/unique_fd.hpp"

namespace corral::host {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

/// Why this machine cannot run the real-mount tests, or "" when it can.
std::string whyNoFuse() {
    if (::geteuid() != 0) {
        return "mounting FUSE needs root";
    }
    if (::access("/dev/fuse", F_OK) != 0) {
        (void)!std::system("modprobe fuse >/dev/null 2>&1");
    }
    if (::access("/dev/fuse", F_OK) != 0) {
        return "/dev/fuse is missing and 'modprobe fuse' did not create it";
    }
    return "";
}

// ---- what the child runs: plain system calls; a failure is returned as text ----

std::string errnoName(int err) { return std::string(::strerrordesc_np(err)); }

/// The whole content of `path`, read `chunk` bytes at a time (one open, so one generation).
std::string readAll(const std::string& path, std::size_t chunk, std::string& error) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        error = "open '" + path + "': " + errnoName(errno);
        return "";
    }
    std::string text;
    std::vector<char> buf(chunk);
    for (ssize_t n; (n = ::read(fd.get(), buf.data(), buf.size())) != 0;) {
        if (n < 0) {
            error = "read '" + path + "': " + errnoName(errno);
            return "";
        }
        text.append(buf.data(), static_cast<std::size_t>(n));
    }
    return text;
}

std::string expectEqual(const std::string& what, const std::string& got, const std::string& want) {
    return got == want ? "" : what + ": got '" + got.substr(0, 200) + "', want '" + want.substr(0, 200) + "'";
}

/// Tries to open `path` with `flags`; the text says what went wrong when it was not refused
/// with one of `allowed`.
std::string expectRefused(const std::string& path, int flags, std::vector<int> allowed) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ::close(fd);
        return "open '" + path + "' with flags " + std::to_string(flags) + " succeeded";
    }
    if (std::find(allowed.begin(), allowed.end(), errno) == allowed.end()) {
        return "open '" + path + "' refused with an unexpected error: " + errnoName(errno);
    }
    return "";
}

// ---- the harness: fork the client, serve until it exits ----

class FuseFilesTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = whyNoFuse(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        char tmpl[] = "/tmp/corral-fuse-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        fs_.reset();  // unmounts
        if (!dir_.empty()) {
            ::rmdir(dir_.c_str());
        }
    }

    void mountFiles(std::vector<FuseFile> files) {
        auto fs = FuseFiles::mount(dir_, std::move(files));
        if (!fs && fs.error().sysErrno == EPERM) {
            GTEST_SKIP() << fs.error().message;
        }
        ASSERT_TRUE(fs) << fs.error().message;
        fs_ = std::move(*fs);
    }

    /// Runs `client` in a forked child while this process answers the kernel; returns the
    /// child's complaint ("" when all it checked held).
    std::string serveWhile(const std::function<std::string()>& client) {
        int pipeFds[2];
        if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
            return "pipe2 failed";
        }
        UniqueFd readEnd(pipeFds[0]), writeEnd(pipeFds[1]);
        pid_t child = ::fork();
        if (child == 0) {
            readEnd.reset();
            std::string complaint = client();
            (void)!::write(writeEnd.get(), complaint.data(), complaint.size());
            ::_exit(complaint.empty() ? 0 : 1);
        }
        writeEnd.reset();
        std::string complaint;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        bool open = true;
        while (open) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(child, SIGKILL);
                complaint += "(the client did not finish within 20 s)";
                break;
            }
            pollfd fds[2] = {{fs_->fd(), POLLIN, 0}, {readEnd.get(), POLLIN, 0}};
            if (::poll(fds, 2, 100) < 0) {
                continue;
            }
            if ((fds[0].revents & (POLLIN | POLLERR)) != 0) {
                auto event = fs_->handleRequest();
                if (!event) {
                    complaint += "server: " + event.error().message + "; ";
                }
            }
            if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) {
                char buf[4096];
                ssize_t n = ::read(readEnd.get(), buf, sizeof buf);
                if (n > 0) {
                    complaint.append(buf, static_cast<std::size_t>(n));
                } else {
                    open = false;  // the child exited (its end of the pipe closed)
                }
            }
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        if (complaint.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            complaint = "the client ended with status " + std::to_string(status);
        }
        return complaint;
    }

    std::string dir_;
    std::unique_ptr<FuseFiles> fs_;
};

TEST_F(FuseFilesTest, ListsStatsAndReadsFreshContentPerOpen) {
    int generations = 0;
    std::string big;
    for (int i = 0; big.size() < 300 * 1024; ++i) {
        big += "line " + std::to_string(i) + "\n";
    }
    auto meminfo = [&]() -> Result<std::string> { return "generation " + std::to_string(++generations) + "\n"; };
    mountFiles({{"meminfo", 0444, meminfo},
                {"uptime", 0440, [] { return std::string("12.50 3.25\n"); }},
                {"big", 0444, [&] { return big; }}});
    std::string dir = dir_;
    std::string complaint = serveWhile([&]() -> std::string {
        std::string error;
        // ls
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) {
            return "opendir: " + errnoName(errno);
        }
        std::vector<std::string> names;
        while (dirent* e = ::readdir(d)) {
            names.emplace_back(e->d_name);
            if (names.back() == "meminfo" && e->d_type != DT_REG) {
                return "meminfo is not listed as a regular file";
            }
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        std::string listed;
        for (const auto& n : names) {
            listed += n + " ";
        }
        if (auto e = expectEqual("listing", listed, ". .. big meminfo uptime "); !e.empty()) {
            return e;
        }
        // stat
        struct stat st {};
        if (::stat((dir + "/meminfo").c_str(), &st) != 0) {
            return "stat meminfo: " + errnoName(errno);
        }
        if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0444 || st.st_uid != 0 || st.st_nlink != 1) {
            return "meminfo has mode " + std::to_string(st.st_mode) + " uid " + std::to_string(st.st_uid);
        }
        if (::stat((dir + "/uptime").c_str(), &st) != 0 || (st.st_mode & 07777) != 0440) {
            return "uptime does not have mode 0440";
        }
        if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            return "the root is not a directory";
        }
        if (::stat((dir + "/missing").c_str(), &st) == 0 || errno != ENOENT) {
            return "a missing name is not ENOENT";
        }
        struct statfs sfs {};
        if (::statfs(dir.c_str(), &sfs) != 0 || sfs.f_type != kFuseSuperMagic || (sfs.f_flags & ST_RDONLY) == 0) {
            return "statfs does not say a read-only FUSE mount";
        }
        // one generation per open, whatever the read size
        if (auto e = expectEqual("first read", readAll(dir + "/meminfo", 4096, error), "generation 1\n"); !e.empty()) {
            return error + e;
        }
        if (auto e = expectEqual("second read", readAll(dir + "/meminfo", 3, error), "generation 2\n"); !e.empty()) {
            return error + e;
        }
        if (auto e = expectEqual("uptime", readAll(dir + "/uptime", 4096, error), "12.50 3.25\n"); !e.empty()) {
            return error + e;
        }
        if (auto e = expectEqual("big file", readAll(dir + "/big", 65536, error), big); !e.empty()) {
            return error + e;
        }
        // two descriptors open at once keep their own generations
        UniqueFd a(::open((dir + "/meminfo").c_str(), O_RDONLY | O_CLOEXEC));
        UniqueFd b(::open((dir + "/meminfo").c_str(), O_RDONLY | O_CLOEXEC));
        char buf[64] = {};
        if (::pread(b.get(), buf, sizeof buf, 0) <= 0 || std::string(buf) != "generation 4\n") {
            return "the second descriptor read '" + std::string(buf) + "'";
        }
        std::memset(buf, 0, sizeof buf);
        if (::pread(a.get(), buf, sizeof buf, 11) <= 0 || std::string(buf) != "3\n") {
            return "the first descriptor read '" + std::string(buf) + "' at offset 11";
        }
        // read-only, whatever is tried
        for (int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_APPEND}) {
            if (auto e = expectRefused(dir + "/meminfo", flags, {EROFS, EACCES}); !e.empty()) {
                return e;
            }
        }
        if (auto e = expectRefused(dir + "/new", O_WRONLY | O_CREAT, {EROFS, EACCES}); !e.empty()) {
            return e;
        }
        if (::mkdir((dir + "/sub").c_str(), 0755) == 0 || (errno != EROFS && errno != EACCES)) {
            return "mkdir was not refused as read-only";
        }
        if (::unlink((dir + "/meminfo").c_str()) == 0 || (errno != EROFS && errno != EACCES)) {
            return "unlink was not refused as read-only";
        }
        return "";
    });
    EXPECT_EQ(complaint, "");
    // Once per open, and never for a lookup or stat.
    EXPECT_EQ(generations, 4);
}

TEST_F(FuseFilesTest, FailingContentMakesOpenFailWithEio) {
    mountFiles({{"broken", 0444, []() -> Result<std::string> { return fail(ErrorCode::ReadFailed, "gone"); }}});
    std::string path = dir_ + "/broken";
    std::string complaint = serveWhile([&]() -> std::string {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || errno != EIO) {
            return "open of a file whose content failed gave fd " + std::to_string(fd) + ", " + errnoName(errno);
        }
        return "";
    });
    EXPECT_EQ(complaint, "");
}

TEST_F(FuseFilesTest, OpensHeldWithoutReadingAreCappedAndAClosedOneMakesRoom) {
    // A container that opens its views and never reads or closes them must not make the server
    // keep one generated text per open without bound.
    mountFiles({{"meminfo", 0444, []() -> Result<std::string> { return std::string(1500, 'm'); }}});
    std::string path = dir_ + "/meminfo";
    std::string complaint = serveWhile([&]() -> std::string {
        std::vector<int> held;
        while (held.size() <= FuseFiles::kMaxOpenFiles) {
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                if (errno != ENFILE) {
                    return "open " + std::to_string(held.size() + 1) + " failed with " + errnoName(errno);
                }
                break;
            }
            held.push_back(fd);
        }
        if (held.size() != FuseFiles::kMaxOpenFiles) {
            return "held " + std::to_string(held.size()) + " open files, not the cap";
        }
        ::close(held.back());  // a close gives the slot back...
        held.pop_back();
        std::string error;
        std::string text = readAll(path, 4096, error);  // ...and the next reader is served
        for (int fd : held) {
            ::close(fd);
        }
        return error.empty() ? expectEqual("content", text, std::string(1500, 'm')) : error;
    });
    EXPECT_EQ(complaint, "");
}

TEST_F(FuseFilesTest, UnmountIsReportedToTheServingLoop) {
    mountFiles({{"uptime", 0444, [] { return std::string("1.00 0.00\n"); }}});
    std::string path = dir_ + "/uptime";
    std::string error;
    ASSERT_EQ(serveWhile([&] { return expectEqual("uptime", readAll(path, 4096, error), "1.00 0.00\n") + error; }), "");

    ASSERT_TRUE(fs_->unmount());
    pollfd pfd{fs_->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << "the descriptor did not wake up after the unmount";
    FuseEvent last = FuseEvent::Handled;
    for (int i = 0; i < 10 && last != FuseEvent::Unmounted; ++i) {
        auto event = fs_->handleRequest();
        ASSERT_TRUE(event) << event.error().message;
        last = *event;
    }
    EXPECT_EQ(last, FuseEvent::Unmounted);
    EXPECT_TRUE(fs_->unmount());  // twice is fine
    struct stat st {};
    ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));  // the plain directory is back
}

// How a container gets the file: the served file bind-mounted over another (its /proc/meminfo),
// by a process in its own mount namespace. The path lookup that the bind needs is a request like
// any other, which is why the child makes it: the serving process would wait on itself. The bind
// keeps the file system alive after the first mount is detached in that namespace.
TEST_F(FuseFilesTest, ABindMountedFileIsServedInAnotherMountNamespace) {
    int generations = 0;
    mountFiles({{"meminfo", 0444, [&] { return "MemTotal: " + std::to_string(++generations) + " kB\n"; }}});
    std::string dir = dir_;
    std::string target = dir_ + ".meminfo";
    { UniqueFd created(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0444)); }
    std::string complaint = serveWhile([&]() -> std::string {
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            return "cannot get a private mount namespace: " + errnoName(errno);
        }
        if (::mount((dir + "/meminfo").c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            return "bind mount: " + errnoName(errno);
        }
        std::string error;
        if (auto e = expectEqual("through the bind", readAll(target, 4096, error), "MemTotal: 1 kB\n"); !e.empty()) {
            return error + e;
        }
        if (::umount2(dir.c_str(), MNT_DETACH) != 0) {
            return "detaching the first mount: " + errnoName(errno);
        }
        if (auto e = expectEqual("after detaching", readAll(target, 4096, error), "MemTotal: 2 kB\n"); !e.empty()) {
            return error + e;
        }
        return "";
    });
    ::unlink(target.c_str());
    EXPECT_EQ(complaint, "");
    EXPECT_EQ(generations, 2);

    // The child's namespace is gone with it; the first mount, here, is the last one.
    ASSERT_TRUE(fs_->unmount());
    pollfd pfd{fs_->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
    auto event = fs_->handleRequest();
    ASSERT_TRUE(event) << event.error().message;
    EXPECT_EQ(*event, FuseEvent::Unmounted);
}

TEST_F(FuseFilesTest, AnUnmountFromOutsideIsReportedToo) {
    mountFiles({{"uptime", 0444, [] { return std::string("1.00 0.00\n"); }}});
    std::string path = dir_ + "/uptime";
    std::string error;
    ASSERT_EQ(serveWhile([&] { return expectEqual("uptime", readAll(path, 4096, error), "1.00 0.00\n") + error; }), "");
    ASSERT_EQ(::umount2(dir_.c_str(), 0), 0) << std::strerror(errno);
    pollfd pfd{fs_->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
    auto event = fs_->handleRequest();
    ASSERT_TRUE(event) << event.error().message;
    EXPECT_EQ(*event, FuseEvent::Unmounted);
}

}  // namespace
}  // namespace corral::host
