// SPDX-License-Identifier: LGPL-2.1-or-later
// The corral CLI's command framework: virsh-style option parsing, the command table, and the
// helpers commands share (domain lookup as virsh does it, error printing, state names).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.hpp"
#include "util/json.hpp"
#include "util/result.hpp"

namespace corral::cli {

/// Argv: the command line's remaining words (virsh's lxc-enter-namespace command to run);
/// "--" ends option parsing.
enum class OptKind { Bool, String, Argv };

struct OptSpec {
    std::string name;
    OptKind kind = OptKind::Bool;
    bool positional = false;  ///< may be given without --name, in declaration order
    bool required = false;
    std::string help;
    /// A one-letter alias ("-n" for --iterations), only where the tool the command imitates
    /// has one (virt-top's -d, -n, -b).
    char shortName = 0;
};

class Args {
public:
    [[nodiscard]] bool flag(const std::string& name) const { return flags_.count(name) != 0; }
    [[nodiscard]] std::optional<std::string> get(const std::string& name) const {
        auto it = values_.find(name);
        if (it == values_.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    std::map<std::string, std::string> values_;
    std::map<std::string, bool> flags_;
    std::vector<std::string> rest;  ///< the Argv option's words
};

/// What a command gets: its parsed arguments and a lazily opened connection.
struct Context {
    Args args;
    bool json = false;
    bool wroteJson = false;  ///< the command printed a JSON document (printJson)
    std::function<Result<client::Connection*>()> connect;
};

struct Command {
    std::string name;
    std::string summary;
    std::vector<OptSpec> options;
    /// Returns the exit status; prints its own output and errors.
    std::function<int(Context&)> run;
    bool needsConnection = true;
    /// virsh ends each command's output with an empty line; corral's own `top` does not.
    bool endsWithEmptyLine = true;
};

/// Parses `argv` (after the command name) against `spec`. Errors name the bad option as virsh.
Result<Args> parseArgs(const Command& spec, const std::vector<std::string>& argv);

/// Every command, in `help` order.
const std::vector<Command>& commandTable();
void registerCommand(Command c);

/// The context's connection, or nullptr after printing why it could not be opened.
client::Connection* openConnection(Context& ctx);

/// A connection and the domain named by the command's `domain` argument.
struct Target {
    client::Connection* conn;
    rpc::proto::remote_nonnull_domain dom;
};
/// Connects and looks the domain up as virsh does; nullopt after printing the error.
std::optional<Target> openTarget(Context& ctx, bool tryId = true);

/// --live, --config, --current as virDomainModificationImpact (live 1, config 2); nullopt, with
/// the error printed, when --current comes with either.
std::optional<unsigned> impactFlags(const Context& ctx);

/// A virsh scaled integer in KiB: digits, then no unit (KiB) or k/K/KiB, m/M/MiB, g/G/GiB;
/// nullopt when it is not one (or overflows).
std::optional<std::uint64_t> parseScaledKiB(const std::string& text);

/// `opts` after a positional DOMAIN and before --config, --live, --current (the options of
/// virsh's commands that take virDomainModificationImpact).
std::vector<OptSpec> withDomainAndImpact(std::vector<OptSpec> opts);

/// virsh's -q for the whole run: printExtra prints nothing and tables lose their header.
void setQuiet(bool quiet);
/// What virsh prints with vshPrintExtra: the informational lines ("Domain 'x' started") that
/// -q leaves out. Data (states, names, XML, table rows) is printed with printf.
[[gnu::format(printf, 1, 2)]] void printExtra(const char* format, ...);

/// Prints the command's JSON document (for --json) and a newline. A command that prints one
/// ends with it: no empty line follows, as it would follow virsh-style text.
void printJson(Context& ctx, const JsonWriter& document);
/// A typed parameter's value as JSON: numbers as numbers, booleans as true/false.
void writeTypedValue(JsonWriter& w, const rpc::proto::remote_typed_param_value& v);

/// Prints "error: MSG" lines to stderr, virsh style: first `context` (if any), then the error.
void printError(const std::string& context, const Error& err);
void printError(const std::string& message);

/// virsh's domain lookup: by id when numeric, then by UUID when 36 chars, then by name.
/// On failure prints "error: failed to get domain 'X'" and returns nullopt.
std::optional<rpc::proto::remote_nonnull_domain> lookupDomain(client::Connection& conn, const std::string& text,
                                                              bool tryId = true);

/// vshTable's layout: a leading space, columns padded to their widest cell, 3 spaces apart,
/// and a dashed rule as wide as the columns plus their separators. With -q only the rows are
/// printed, padded to the widest row (as virsh does).
void printTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

std::string stateName(int state);
std::string stateReasonName(int state, int reason);
std::string uuidText(const std::array<std::uint8_t, 16>& bytes);
/// A typed parameter's value as virsh prints it (booleans "yes"/"no", doubles with %f).
std::string typedValueText(const rpc::proto::remote_typed_param_value& v);
/// The whole file; nullopt after printing virsh's "Failed to open file" error.
std::optional<std::string> readFile(const std::string& path);

// Registration hooks of each command family (called from main).
void registerDomainListCommands();
void registerDomainInfoCommands();
void registerDomainConfigCommands();
void registerDomainDeviceCommands();
void registerDomainLifecycleCommands();
void registerHostCommands();
void registerEventCommands();
void registerDomainSaveCommands();
void registerDomainStatsCommands();
void registerNetworkCommands();
void registerSecretCommands();
void registerNodeDeviceCommands();
void registerStoragePoolCommands();
void registerStorageVolCommands();
void registerDomainTuneCommands();
void registerDomainConsoleCommands();
void registerTopCommands();
void registerDomainAgentCommands();
void registerDomainResizeCommands();
void registerDomainOpsCommands();

}  // namespace corral::cli
