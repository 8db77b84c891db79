// SPDX-License-Identifier: LGPL-2.1-or-later
// CLI framework: option parsing, lookups, messages shared by all commands.
#include "cli.hpp"

#include <algorithm>
#include <cctype>
#include <cstdarg>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "util/strings.hpp"
#include "util/uuid.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {
std::vector<Command>& table() {
    static std::vector<Command> t;
    return t;
}
}  // namespace

const std::vector<Command>& commandTable() { return table(); }
void registerCommand(Command c) { table().push_back(std::move(c)); }

Result<Args> parseArgs(const Command& spec, const std::vector<std::string>& argv) {
    Args args;
    std::size_t nextPositional = 0;
    std::vector<const OptSpec*> positionals;
    for (const auto& o : spec.options) {
        if (o.positional) {
            positionals.push_back(&o);
        }
    }
    auto find = [&](const std::string& name) -> const OptSpec* {
        for (const auto& o : spec.options) {
            if (o.name == name) {
                return &o;
            }
        }
        return nullptr;
    };
    const bool takesArgv = std::any_of(spec.options.begin(), spec.options.end(),
                                       [](const OptSpec& o) { return o.kind == OptKind::Argv; });
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (!args.rest.empty() || (a == "--" && takesArgv)) {
            // Once the command to run has begun, its words are its own, options included.
            if (!args.rest.empty() || a != "--") {
                args.rest.push_back(a);
            } else if (i + 1 < argv.size()) {
                args.rest.assign(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
                break;
            }
            continue;
        }
        const OptSpec* alias = nullptr;
        if (a.size() == 2 && a[0] == '-' && a[1] != '-') {
            auto it = std::find_if(spec.options.begin(), spec.options.end(),
                                   [&a](const OptSpec& o) { return o.shortName == a[1]; });
            alias = it == spec.options.end() ? nullptr : &*it;
        }
        if ((startsWith(a, "--") && a.size() > 2) || alias != nullptr) {
            std::string name = alias != nullptr ? alias->name : a.substr(2);
            std::optional<std::string> inlineValue;
            auto eq = name.find('=');
            if (eq != std::string::npos) {
                inlineValue = name.substr(eq + 1);
                name.resize(eq);
            }
            const OptSpec* o = find(name);
            if (o == nullptr) {
                return fail(ErrorCode::InvalidArg, "command '" + spec.name + "' doesn't support option --" + name);
            }
            if (o->kind == OptKind::Bool) {
                args.flags_[name] = true;
            } else if (inlineValue) {
                args.values_[name] = *inlineValue;
            } else if (i + 1 < argv.size()) {
                args.values_[name] = argv[++i];
            } else {
                return fail(ErrorCode::InvalidArg, "expected syntax: --" + name + " <string>");
            }
        } else {
            while (nextPositional < positionals.size() && args.values_.count(positionals[nextPositional]->name) != 0) {
                ++nextPositional;
            }
            if (nextPositional >= positionals.size()) {
                if (takesArgv) {
                    args.rest.push_back(a);
                    continue;
                }
                return fail(ErrorCode::InvalidArg, "unexpected data '" + a + "'");
            }
            args.values_[positionals[nextPositional++]->name] = a;
        }
    }
    for (const auto& o : spec.options) {
        if (o.kind == OptKind::Argv) {
            if (o.required && args.rest.empty()) {
                return fail(ErrorCode::InvalidArg, "command '" + spec.name + "' requires <" + o.name + "> option");
            }
            continue;
        }
        if (o.required && args.values_.count(o.name) == 0) {
            return fail(ErrorCode::InvalidArg, "command '" + spec.name + "' requires <" + o.name + "> option");
        }
    }
    return args;
}

client::Connection* openConnection(Context& ctx) {
    auto conn = ctx.connect();
    if (!conn) {
        printError("", conn.error());
        return nullptr;
    }
    return *conn;
}

std::optional<Target> openTarget(Context& ctx, bool tryId) {
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return std::nullopt;
    }
    auto dom = lookupDomain(*conn, *ctx.args.get("domain"), tryId);
    if (!dom) {
        return std::nullopt;
    }
    return Target{conn, *dom};
}

void printError(const std::string& message) { std::fprintf(stderr, "error: %s\n", message.c_str()); }

std::optional<unsigned> impactFlags(const Context& ctx) {
    if (ctx.args.flag("current") && (ctx.args.flag("live") || ctx.args.flag("config"))) {
        printError("Options --current and --live are mutually exclusive");
        return std::nullopt;
    }
    return (ctx.args.flag("live") ? 1u : 0u) | (ctx.args.flag("config") ? 2u : 0u);
}

std::vector<OptSpec> withDomainAndImpact(std::vector<OptSpec> opts) {
    opts.insert(opts.begin(), OptSpec{"domain", OptKind::String, true, true, "domain name, id or uuid"});
    opts.push_back({"config", OptKind::Bool, false, false, "affect next boot"});
    opts.push_back({"live", OptKind::Bool, false, false, "affect running domain"});
    opts.push_back({"current", OptKind::Bool, false, false, "affect current domain"});
    return opts;
}

std::optional<std::uint64_t> parseScaledKiB(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        ++digits;
    }
    auto n = parseUnsigned(text.substr(0, digits));
    const std::string unit = text.substr(digits);
    static const std::pair<const char*, std::uint64_t> kUnits[] = {
        {"", 1}, {"k", 1}, {"K", 1}, {"KiB", 1}, {"m", 1024}, {"M", 1024}, {"MiB", 1024}, {"g", 1048576},
        {"G", 1048576}, {"GiB", 1048576}};
    for (const auto& [u, factor] : kUnits) {
        if (n && unit == u && *n <= UINT64_MAX / factor) {
            return *n * factor;
        }
    }
    return std::nullopt;
}

void printError(const std::string& context, const Error& err) {
    if (!context.empty()) {
        printError(context);
    }
    printError(err.wireMessage());
}

std::optional<proto::remote_nonnull_domain> lookupDomain(client::Connection& conn, const std::string& text,
                                                         bool tryId) {
    if (tryId) {
        if (auto id = parseUnsigned(text); id && *id <= INT32_MAX && text.find_first_not_of("0123456789") == std::string::npos) {
            proto::remote_domain_lookup_by_id_args a{};
            a.id = static_cast<std::int32_t>(*id);
            if (auto r = conn.call<proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_ID>(a)) {
                return r->dom;
            }
        }
    }
    if (text.size() == 36) {
        if (auto uuid = Uuid::parse(text)) {
            proto::remote_domain_lookup_by_uuid_args a{};
            a.uuid = uuid->bytes;
            if (auto r = conn.call<proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID>(a)) {
                return r->dom;
            }
        }
    }
    proto::remote_domain_lookup_by_name_args a;
    a.name = text;
    if (auto r = conn.call<proto::REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME>(a)) {
        return r->dom;
    }
    printError("failed to get domain '" + text + "'");
    return std::nullopt;
}

std::string stateName(int state) {
    static const char* const kNames[] = {"no state", "running", "idle", "paused", "in shutdown",
                                         "shut off", "crashed", "pmsuspended"};
    if (state < 0 || state > 7) {
        return "no state";
    }
    return kNames[state];
}

std::string stateReasonName(int state, int reason) {
    // The texts virsh prints for each virDomain*Reason.
    static const std::vector<std::vector<const char*>> kReasons = {
        {"unknown"},
        {"unknown", "booted", "migrated", "restored", "from snapshot", "unpaused", "migration canceled",
         "save canceled", "event wakeup", "crashed", "post-copy"},
        {"unknown"},
        {"unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog", "from snapshot",
         "shutting down", "creating snapshot", "crashed", "starting up", "post-copy", "post-copy failed"},
        {"unknown", "user"},
        {"unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from snapshot", "daemon"},
        {"unknown", "panicked"},
        {"unknown"},
    };
    if (state < 0 || state > 7) {
        return "unknown";
    }
    const auto& list = kReasons[static_cast<std::size_t>(state)];
    if (reason < 0 || static_cast<std::size_t>(reason) >= list.size()) {
        return "unknown";
    }
    return list[static_cast<std::size_t>(reason)];
}

std::string uuidText(const std::array<std::uint8_t, 16>& bytes) {
    Uuid u;
    u.bytes = bytes;
    return u.toString();
}

std::string typedValueText(const rpc::proto::remote_typed_param_value& v) {
    namespace proto = rpc::proto;
    switch (static_cast<std::uint32_t>(v.type)) {
        case proto::VIR_TYPED_PARAM_INT: return std::to_string(v.i);
        case proto::VIR_TYPED_PARAM_UINT: return std::to_string(v.ui);
        case proto::VIR_TYPED_PARAM_LLONG: return std::to_string(v.l);
        case proto::VIR_TYPED_PARAM_ULLONG: return std::to_string(v.ul);
        case proto::VIR_TYPED_PARAM_DOUBLE: {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%f", v.d);
            return buf;
        }
        case proto::VIR_TYPED_PARAM_BOOLEAN: return v.b != 0 ? "yes" : "no";
        default: return v.s;
    }
}

void printJson(Context& ctx, const JsonWriter& document) {
    std::printf("%s\n", document.str().c_str());
    ctx.wroteJson = true;
}

void writeTypedValue(JsonWriter& w, const rpc::proto::remote_typed_param_value& v) {
    namespace proto = rpc::proto;
    switch (static_cast<std::uint32_t>(v.type)) {
        case proto::VIR_TYPED_PARAM_INT: w.value(static_cast<std::int64_t>(v.i)); break;
        case proto::VIR_TYPED_PARAM_UINT: w.value(static_cast<std::uint64_t>(v.ui)); break;
        case proto::VIR_TYPED_PARAM_LLONG: w.value(static_cast<std::int64_t>(v.l)); break;
        case proto::VIR_TYPED_PARAM_ULLONG: w.value(static_cast<std::uint64_t>(v.ul)); break;
        case proto::VIR_TYPED_PARAM_DOUBLE: w.value(v.d); break;
        case proto::VIR_TYPED_PARAM_BOOLEAN: w.value(v.b != 0); break;
        default: w.value(v.s); break;
    }
}

std::optional<std::string> readFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        printError("", failErrno(errno, "Failed to open file '" + path + "'").error);
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {
bool quietOutput = false;
}  // namespace

void setQuiet(bool quiet) { quietOutput = quiet; }

void printExtra(const char* format, ...) {
    if (quietOutput) {
        return;
    }
    va_list args;
    va_start(args, format);
    std::vprintf(format, args);
    va_end(args);
}

void printTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        widths[i] = quietOutput ? 0 : header[i].size();
        for (const auto& r : rows) {
            widths[i] = std::max(widths[i], r[i].size());
        }
    }
    auto printRow = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            out += ' ';
            out += cells[i];
            if (i + 1 < cells.size()) {
                out.append(widths[i] - cells[i].size() + 2, ' ');
            }
        }
        std::printf("%s\n", out.c_str());
    };
    if (!quietOutput) {
        printRow(header);
        std::size_t total = 0;
        for (auto w : widths) {
            total += w + 3;
        }
        std::printf("%s\n", std::string(total, '-').c_str());
    }
    for (const auto& r : rows) {
        printRow(r);
    }
}

}  // namespace corral::cli
