// SPDX-License-Identifier: LGPL-2.1-or-later
#include "client/ssh_tunnel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace corral::client {

namespace {

/// `text` as one word for a POSIX shell.
std::string shellQuoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string param(const Uri& uri, const char* key, std::string fallback = {}) {
    auto it = uri.params.find(key);
    return it == uri.params.end() ? fallback : it->second;
}

/// What the far host runs: corral-ssh-helper with virt-ssh-helper's convention, else nc on the
/// daemon's socket (proxy=auto); or only one of them (proxy=native, proxy=netcat).
std::string remoteCommand(const Uri& uri, bool readOnly) {
    std::string socket = param(uri, "socket", readOnly ? "/run/corral/corral-sock-ro" : "/run/corral/corral-sock");
    std::string helperUri = uri.driver + "://" + uri.path;
    if (uri.params.count("socket") != 0) {
        helperUri += "?socket=" + socket;
    }
    std::string helper = "corral-ssh-helper" + std::string(readOnly ? " -r " : " ") + shellQuoted(helperUri);
    std::string netcat = shellQuoted(param(uri, "netcat", "nc")) + " -U " + shellQuoted(socket);
    std::string proxy = param(uri, "proxy", "auto");
    std::string script;
    if (proxy == "native") {
        script = helper;
    } else if (proxy == "netcat") {
        script = netcat;
    } else {
        script = "if which corral-ssh-helper >/dev/null 2>&1; then " + helper + "; else " + netcat + "; fi";
    }
    return "sh -c " + shellQuoted(script);
}

}  // namespace

std::vector<std::string> SshTunnel::sshArguments(const Uri& uri, bool readOnly) {
    std::vector<std::string> argv = {param(uri, "command", "ssh")};
    if (!uri.port.empty()) {
        argv.insert(argv.end(), {"-p", uri.port});
    }
    if (!uri.user.empty()) {
        argv.insert(argv.end(), {"-l", uri.user});
    }
    if (auto key = param(uri, "keyfile"); !key.empty()) {
        argv.insert(argv.end(), {"-i", key});
    }
    argv.insert(argv.end(), {"-T", "-e", "none"});
    if (param(uri, "no_tty") == "1") {
        argv.insert(argv.end(), {"-o", "BatchMode=yes"});
    }
    if (param(uri, "no_verify") == "1") {
        argv.insert(argv.end(), {"-o", "StrictHostKeyChecking=no"});
    }
    if (auto known = param(uri, "known_hosts"); !known.empty()) {
        argv.insert(argv.end(), {"-o", "UserKnownHostsFile=" + known});
    }
    argv.insert(argv.end(), {"--", uri.host, remoteCommand(uri, readOnly)});
    return argv;
}

Result<SshTunnel> SshTunnel::open(const Uri& uri, bool readOnly) {
    if (uri.host.empty()) {
        return fail(ErrorCode::InvalidArg, "an ssh URI needs a host: " + uri.original, ErrorDomain::Remote);
    }
    int pair[2];
    int errPipe[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) {
        return failErrno(errno, "cannot create the pipes for ssh");
    }
    SshTunnel t;
    t.socket_.reset(pair[0]);
    UniqueFd theirs(pair[1]);
    t.stderr_.reset(errPipe[0]);
    UniqueFd errWrite(errPipe[1]);
    t.host_ = uri.host;
    t.port_ = uri.port.empty() ? "22" : uri.port;
    std::vector<std::string> args = sshArguments(uri, readOnly);
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    // Not a daemon-style spawn: ssh keeps our terminal so it can ask for a passphrase.
    pid_t pid = ::fork();
    if (pid < 0) {
        return failErrno(errno, "cannot start ssh");
    }
    if (pid == 0) {
        ::dup2(theirs.get(), STDIN_FILENO);
        ::dup2(theirs.get(), STDOUT_FILENO);
        ::dup2(errWrite.get(), STDERR_FILENO);
        ::execvp(argv[0], argv.data());
        std::string why = std::string("cannot run '") + argv[0] + "': " + std::strerror(errno) + "\n";
        (void)!::write(STDERR_FILENO, why.data(), why.size());
        ::_exit(127);
    }
    t.pid_ = pid;
    ::fcntl(t.stderr_.get(), F_SETFL, O_NONBLOCK);
    return t;
}

SshTunnel::~SshTunnel() {
    if (pid_ <= 0) {
        return;
    }
    socket_.reset();  // ssh sees the end of its input and leaves
    for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            return;
        }
        ::usleep(20000);
    }
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
}

Error SshTunnel::explain(const Error& original) {
    // ssh has written its complaint before closing the pipe to us; give it a moment to exit.
    std::string said;
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
        pollfd p{stderr_.get(), POLLIN, 0};
        if (::poll(&p, 1, 20) > 0) {
            char buf[4096];
            ssize_t n = ::read(stderr_.get(), buf, sizeof buf);
            if (n <= 0) {
                break;
            }
            said.append(buf, static_cast<std::size_t>(n));
        }
    }
    auto has = [&](const char* text) { return said.find(text) != std::string::npos; };
    std::string hostPort = port_ == "22" ? host_ : "[" + host_ + "]:" + port_;
    Error e = original;
    e.verbatim = true;
    e.code = ErrorCode::AuthFailed;
    e.domain = ErrorDomain::Remote;
    if (has("REMOTE HOST IDENTIFICATION HAS CHANGED")) {
        e.message = "ssh: the host key of " + hostPort +
                    " has CHANGED since it was recorded (someone may be intercepting the connection). If the change "
                    "is expected, remove the old key with: ssh-keygen -R '" + hostPort + "'";
    } else if (has("Host key verification failed") || has("host key is known for") ||
               has("No ED25519 host key") || has("No RSA host key") || has("No ECDSA host key")) {
        e.message = "ssh: the host key of " + hostPort +
                    " is not known. Verify it, then add it: ssh-keyscan -p " + port_ + " " + host_ +
                    " >> ~/.ssh/known_hosts (or connect once with ssh and accept it)";
    } else if (has("Permission denied")) {
        e.message = "ssh: authentication to " + host_ + " was refused (" + said.substr(said.find("Permission denied")) +
                    "): check keyfile= or your ssh agent";
        while (!e.message.empty() && (e.message.back() == '\n' || e.message.back() == '\r')) {
            e.message.pop_back();
        }
    } else if (!said.empty()) {
        while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) {
            said.pop_back();
        }
        e.code = original.code;
        e.message = original.wireMessage() + " (ssh: " + said + ")";
    } else {
        return original;
    }
    return e;
}

}  // namespace corral::client
