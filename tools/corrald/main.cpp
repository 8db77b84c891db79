// SPDX-License-Identifier: LGPL-2.1-or-later
// corrald: the Corral daemon's command line, signals and daemonizing; the work is in src/daemon.
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
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

bool daemonize() {
    pid_t pid = fork();
    if (pid < 0) {
        return false;
    }
    if (pid > 0) {
        _exit(0);
    }
    setsid();
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) {
            close(null);
        }
    }
    return true;
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
    auto daemon = corral::daemon::Daemon::create(options);
    if (!daemon) {
        std::fprintf(stderr, "corrald: error: %s\n", daemon.error().wireMessage().c_str());
        return 1;
    }
    if (verbose) {
        corral::setLogLevel(corral::LogLevel::Debug);
    }
    if (background && !daemonize()) {
        std::fprintf(stderr, "corrald: error: cannot fork: %s\n", std::strerror(errno));
        return 1;
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

    corral::logInfo("corrald ready on " + (*daemon)->paths().rwSocket);
    (*daemon)->run();
    gDaemon = nullptr;
    unlink(pidPath.c_str());
    return 0;
}
