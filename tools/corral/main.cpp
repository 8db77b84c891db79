// SPDX-License-Identifier: LGPL-2.1-or-later
// corral: the virsh-compatible command-line tool. Global options, then one command.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"

using namespace corral;
using namespace corral::cli;

namespace {

void usage(FILE* out) {
    std::fputs(
        "Usage: corral [OPTION]... <command> [ARG]...\n"
        "\n"
        "  options:\n"
        "    -c | --connect=URI      hypervisor connection URI\n"
        "    -r | --readonly         connect readonly\n"
        "    -q | --quiet            quiet mode\n"
        "    -k | --keepalive-interval=NUM   accepted for virsh compatibility\n"
        "    -K | --keepalive-count=NUM      accepted for virsh compatibility\n"
        "    --json                  machine-readable output of query commands\n"
        "    -h | --help             this help\n"
        "    -v | --version          program version\n"
        "\n"
        "  Run 'corral help' for the list of commands.\n",
        out);
}

int help(const std::vector<std::string>& rest) {
    if (!rest.empty()) {
        for (const auto& c : commandTable()) {
            if (c.name == rest[0]) {
                std::printf("  NAME\n    %s - %s\n\n  OPTIONS\n", c.name.c_str(), c.summary.c_str());
                for (const auto& o : c.options) {
                    std::printf("    %s--%s%s%s\n", o.positional ? "[" : "", o.name.c_str(),
                                o.kind == OptKind::String ? (o.positional ? "] <string>" : " <string>") : "",
                                o.shortName != 0 ? (std::string(" (-") + o.shortName + ")").c_str() : "");
                }
                std::printf("\n");
                return 0;
            }
        }
        printError("command '" + rest[0] + "' doesn't exist");
        return 1;
    }
    std::printf("Commands:\n\n");
    for (const auto& c : commandTable()) {
        std::printf("    %-16s %s\n", c.name.c_str(), c.summary.c_str());
    }
    std::printf("\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    registerDomainListCommands();
    registerDomainInfoCommands();
    registerDomainConfigCommands();
    registerDomainDeviceCommands();
    registerDomainLifecycleCommands();
    registerHostCommands();
    registerEventCommands();
    registerDomainSaveCommands();
    registerDomainStatsCommands();
    registerDomainTuneCommands();
    registerNetworkCommands();
    registerSecretCommands();
    registerNodeDeviceCommands();
    registerStoragePoolCommands();
    registerStorageVolCommands();
    registerDomainConsoleCommands();
    registerTopCommands();
    registerDomainResizeCommands();
    registerDomainOpsCommands();
    registerDomainAgentCommands();

    std::string uriArg;
    bool readOnly = false;
    bool json = false;
    bool quiet = false;
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const std::string& shortOpt, const std::string& longOpt, std::string& out) {
            if (a == shortOpt || a == longOpt) {
                if (i + 1 >= argc) {
                    printError("option '" + a + "' requires an argument");
                    std::exit(1);
                }
                out = argv[++i];
                return true;
            }
            if (a.rfind(longOpt + "=", 0) == 0) {
                out = a.substr(longOpt.size() + 1);
                return true;
            }
            return false;
        };
        std::string ignored;
        if (value("-c", "--connect", uriArg) || value("-k", "--keepalive-interval", ignored) ||
            value("-K", "--keepalive-count", ignored)) {
            continue;
        }
        if (a == "-r" || a == "--readonly") {
            readOnly = true;
        } else if (a == "-q" || a == "--quiet") {
            quiet = true;
        } else if (a == "--json") {
            json = true;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "-v" || a == "--version") {
            std::puts("0.1.0");
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            printError("unsupported option '" + a + "'. See --help.");
            return 1;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 1;
    }
    std::string name = argv[i++];
    std::vector<std::string> rest;
    for (; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            rest.emplace_back(argv[i]);
        }
    }
    if (name == "help") {
        return help(rest);
    }
    const Command* command = nullptr;
    for (const auto& c : commandTable()) {
        if (c.name == name) {
            command = &c;
        }
    }
    if (command == nullptr) {
        printError("unknown command: '" + name + "'");
        return 1;
    }
    auto args = parseArgs(*command, rest);
    if (!args) {
        printError("", args.error());
        return 1;
    }

    std::unique_ptr<client::Connection> connection;
    bool connectFailed = false;
    Context ctx;
    ctx.args = std::move(*args);
    ctx.json = json;
    setQuiet(quiet);
    ctx.connect = [&]() -> Result<client::Connection*> {
        if (!connection) {
            std::string text = client::resolveDefaultUri(uriArg);
            auto uri = client::Uri::parse(text);
            if (!uri) {
                connectFailed = true;
                return unexpected(uri.error());
            }
            auto opened = client::Connection::open(*uri, readOnly);
            if (!opened) {
                Error e = opened.error();
                e.message = "failed to connect to the hypervisor\nerror: " + e.wireMessage();
                e.verbatim = true;
                connectFailed = true;
                return unexpected(std::move(e));
            }
            connection = std::move(*opened);
        }
        return connection.get();
    };
    int rc = command->run(ctx);
    // virsh ends every command it ran with an empty line on stdout, a failed one too (its errors
    // go to stderr); -q leaves it out, and a command that never reached the daemon prints
    // nothing on stdout. JSON output is corral's own and ends with its document.
    if (command->endsWithEmptyLine && !quiet && !ctx.wroteJson && !connectFailed) {
        std::printf("\n");
    }
    if (connection) {
        connection->close();
    }
    return rc;
}
