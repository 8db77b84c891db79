// SPDX-License-Identifier: LGPL-2.1-or-later
// corrald: the Corral daemon's command line, signals and daemonizing; the work is in src/daemon.
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "daemon/daemon.hpp"
#include "util/logging.hpp"

namespace {

corral::daemon::Daemon* gDaemon = nullptr;

void onStopSignal(int) {
    if (gDaemon != nullptr) {
        gDaemon->stop();  // writes an eventfd: async-signal-safe
    }
}

void usage(FILE* out) {
    std::fputs(
        "Usage: corrald [OPTIONS]\n"
        "\n"
        "Options:\n"
        "  -r, --root DIR      put every path (config, state, sockets, logs) under DIR\n"
        "  -f, --config FILE   read FILE instead of ROOT/etc/corral/corrald.conf\n"
        "  -d, --daemon        detach and run in the background\n"
        "  -p, --pid-file FILE write the daemon's pid to FILE\n"
        "  -v, --verbose       log debug messages\n"
        "  -V, --version       print the version and exit\n"
        "  -h, --help          print this help and exit\n",
        out);
}

/// Forks before any thread exists (threads do not survive fork). The parent waits on a pipe
/// until the child reports that it is serving, or why it could not start, and exits with that.
/// Returns the write end the child reports on, or -1 in the parent's failure case.
int detach() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid > 0) {
        close(fds[1]);
        std::string report;
        char buf[512];
        ssize_t n = 0;
        while ((n = read(fds[0], buf, sizeof buf)) > 0) {
            report.append(buf, static_cast<std::size_t>(n));
        }
        if (report == "ready") {
            _exit(0);
        }
        std::fprintf(stderr, "%s", report.empty() ? "corrald: error: the daemon died while starting\n" : report.c_str());
        _exit(1);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

void finishDetach(int reportFd) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) {
            close(null);
        }
    }
    [[maybe_unused]] auto n = write(reportFd, "ready", 5);
    close(reportFd);
}

}  // namespace

int main(int argc, char** argv) {
    corral::daemon::DaemonOptions options;
    bool background = false;
    std::string pidFile;
    static const option longOptions[] = {
        {"root", required_argument, nullptr, 'r'},    {"config", required_argument, nullptr, 'f'},
        {"daemon", no_argument, nullptr, 'd'},        {"pid-file", required_argument, nullptr, 'p'},
        {"verbose", no_argument, nullptr, 'v'},       {"version", no_argument, nullptr, 'V'},
        {"help", no_argument, nullptr, 'h'},          {nullptr, 0, nullptr, 0}};
    int c = 0;
    bool verbose = false;
    while ((c = getopt_long(argc, argv, "r:f:dp:vVh", longOptions, nullptr)) != -1) {
        switch (c) {
            case 'r': options.root = optarg; break;
            case 'f': options.configFile = optarg; break;
            case 'd': background = true; break;
            case 'p': pidFile = optarg; break;
            case 'v': verbose = true; break;
            case 'V': std::puts("corrald (Corral) 0.1.0"); return 0;
            case 'h': usage(stdout); return 0;
            default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "corrald: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    // glibc raises its mmap threshold each time a large block is freed (up to 32 MiB); from then
    // on large blocks come from the heaps and stay there when freed (malloc_trim cannot shrink a
    // thread's arena), so a burst of large messages, a hostile QEMU's or a flood of big client
    // packets (docs/security.md), would stay in corrald's RSS. A fixed threshold turns that off: every
    // block of 256 KiB or more has its own mapping and goes back to the system when freed.
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    // One descriptor per client: take the hard limit rather than the 1024 soft default.
    struct rlimit files {};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    int reportFd = -1;
    if (background) {
        // A detached daemon must not hold its parent's pipes or files open (a shell waiting on
        // a pipe would never see EOF): drop every inherited descriptor but stdio first.
        close_range(3, ~0U, 0);
        reportFd = detach();
        if (reportFd < 0) {
            std::fprintf(stderr, "corrald: error: cannot fork: %s\n", std::strerror(errno));
            return 1;
        }
    }
    // The sockets exist as soon as create() returns, and a client (or a supervisor) may answer
    // them with SIGTERM at once: hold the stop signals until their handler can reach the daemon.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    sigprocmask(SIG_BLOCK, &stopSignals, nullptr);
    auto daemon = corral::daemon::Daemon::create(options);
    if (!daemon) {
        std::string msg = "corrald: error: " + daemon.error().wireMessage() + "\n";
        if (reportFd >= 0) {
            [[maybe_unused]] auto n = write(reportFd, msg.data(), msg.size());  // the parent prints it
        } else {
            std::fprintf(stderr, "%s", msg.c_str());
        }
        return 1;
    }
    if (verbose) {
        corral::setLogLevel(corral::LogLevel::Debug);
    }
    std::string pidPath = pidFile.empty() ? (*daemon)->paths().pidFile : pidFile;
    if (FILE* f = std::fopen(pidPath.c_str(), "we")) {
        std::fprintf(f, "%d\n", static_cast<int>(getpid()));
        std::fclose(f);
    }

    gDaemon = daemon->get();
    struct sigaction sa {};
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sigprocmask(SIG_UNBLOCK, &stopSignals, nullptr);  // one that came meanwhile stops run() at once

    if (reportFd >= 0) {
        finishDetach(reportFd);
    }
    corral::logInfo("corrald ready on " + (*daemon)->paths().rwSocket);
    (*daemon)->run();
    gDaemon = nullptr;
    unlink(pidPath.c_str());
    return 0;
}
