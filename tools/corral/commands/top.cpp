// SPDX-License-Identifier: LGPL-2.1-or-later
// top: a live view of every guest, like virt-top. One GET_ALL_DOMAIN_STATS call per refresh;
// rates between two refreshes; the busiest guest first.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "../cli.hpp"
#include "top_rates.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

using Clock = std::chrono::steady_clock;

/// virDomainStatsTypes: state, cpu-total, balloon, vcpu, interface, block.
constexpr std::uint32_t kTopGroups = 1u | 2u | 4u | 8u | 16u | 32u;

struct TopOptions {
    double delay = 1;              ///< seconds between refreshes (virt-top's -d)
    std::uint64_t iterations = 0;  ///< refreshes before exiting; 0 = until interrupted
    TopSort sort = TopSort::Cpu;
    bool batch = false;
};

struct Sample {
    std::vector<TopSample> guests;
    Clock::time_point at;
};

void printBadNumber(const std::string& option, const std::string& value) {
    printError("Numeric value '" + value + "' for <" + option +
               "> option is malformed or out of range");
}

std::optional<TopOptions> readOptions(const Args& args) {
    TopOptions o;
    if (auto text = args.get("delay")) {
        char* end = nullptr;
        o.delay = std::strtod(text->c_str(), &end);
        if (text->empty() || *end != '\0' || !std::isfinite(o.delay) || o.delay <= 0 ||
            o.delay > 86400) {
            printBadNumber("delay", *text);
            return std::nullopt;
        }
    }
    if (auto text = args.get("iterations")) {
        auto n = parseUnsigned(*text);
        if (!n || *n == 0) {
            printBadNumber("iterations", *text);
            return std::nullopt;
        }
        o.iterations = *n;
    }
    if (auto text = args.get("sort")) {
        auto key = parseTopSort(*text);
        if (!key) {
            printError("invalid sort key '" + *text + "': use cpu, mem or name");
            return std::nullopt;
        }
        o.sort = *key;
    }
    o.batch = args.flag("batch");
    return o;
}

/// Every domain, active or not, in one call.
std::optional<Sample> takeSample(client::Connection& conn) {
    proto::remote_connect_get_all_domain_stats_args a;
    a.stats = kTopGroups;
    a.flags = 0;
    auto r = conn.call<proto::REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS>(a);
    if (!r) {
        printError("failed to get domain statistics", r.error());
        return std::nullopt;
    }
    Sample s;
    s.at = Clock::now();
    for (const auto& rec : r->retStats) {
        s.guests.push_back(
            {rec.dom.name, uuidText(rec.dom.uuid), rec.dom.id, rpc::readGuestStats(rec.params)});
    }
    return s;
}

std::string percentText(double percent) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", percent);
    return buf;
}

void printJsonFrame(const std::string& host, const std::vector<TopRow>& rows) {
    TopTotals t = totalsOf(rows);
    JsonWriter w;
    w.beginObject().key("hostname").value(host);
    w.key("domains").value(static_cast<std::uint64_t>(t.domains));
    w.key("running").value(static_cast<std::uint64_t>(t.running));
    w.key("cpu_percent").value(t.cpuPercent);
    w.key("guests").beginArray();
    for (const auto& r : rows) {
        w.beginObject().key("id");
        if (r.id >= 0) {
            w.value(r.id);
        } else {
            w.null();
        }
        w.key("name").value(r.name).key("state").value(stateName(r.state));
        w.key("cpu_percent")
            .value(r.cpuPercent)
            .key("memory_kib")
            .value(r.memoryKiB)
            .key("vcpus")
            .value(r.vcpus);
        w.key("read_bytes_per_sec")
            .value(r.readBytesPerSec)
            .key("write_bytes_per_sec")
            .value(r.writeBytesPerSec);
        w.key("rx_bytes_per_sec")
            .value(r.rxBytesPerSec)
            .key("tx_bytes_per_sec")
            .value(r.txBytesPerSec);
        w.endObject();
    }
    w.endArray().endObject();
    std::printf("%s\n", w.str().c_str());
}

void printTextFrame(const std::string& host, const std::vector<TopRow>& rows, bool screen) {
    if (screen) {
        std::fputs("\033[H\033[2J", stdout);  // home, clear: redraw in place
    }
    TopTotals t = totalsOf(rows);
    char clock[16] = "";
    std::time_t now = std::time(nullptr);
    std::tm local{};
    if (localtime_r(&now, &local) != nullptr) {
        std::strftime(clock, sizeof clock, "%H:%M:%S", &local);
    }
    std::printf("corral top - %s - %s\n", host.c_str(), clock);
    std::printf("Domains: %zu total, %zu running   CPU: %s%%\n\n", t.domains, t.running,
                percentText(t.cpuPercent).c_str());
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : rows) {
        cells.push_back(
            {r.id >= 0 ? std::to_string(r.id) : "-", r.name, stateName(r.state),
             percentText(r.cpuPercent), humanBytes(static_cast<double>(r.memoryKiB) * 1024),
             std::to_string(r.vcpus), humanBytes(r.readBytesPerSec), humanBytes(r.writeBytesPerSec),
             humanBytes(r.rxBytesPerSec), humanBytes(r.txBytesPerSec)});
    }
    printTable({"Id", "Name", "State", "%CPU", "Mem", "vCPUs", "Read/s", "Write/s", "Rx/s", "Tx/s"},
               cells);
    if (!screen) {
        std::printf("\n");
    }
}

int top(Context& ctx) {
    auto options = readOptions(ctx.args);
    if (!options) {
        return 1;
    }
    client::Connection* conn = openConnection(ctx);
    if (conn == nullptr) {
        return 1;
    }
    auto hostname = conn->call<proto::REMOTE_PROC_CONNECT_GET_HOSTNAME>(proto::xdr_void{});
    if (!hostname) {
        printError("failed to get hostname", hostname.error());
        return 1;
    }
    const bool screen = !options->batch && !ctx.json && isatty(STDOUT_FILENO) == 1;
    const auto delay =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options->delay));
    auto previous = takeSample(*conn);
    if (!previous) {
        return 1;
    }
    for (std::uint64_t i = 0; options->iterations == 0 || i < options->iterations; ++i) {
        std::this_thread::sleep_until(previous->at + delay);
        auto current = takeSample(*conn);
        if (!current) {
            return 1;
        }
        double wall = std::chrono::duration<double>(current->at - previous->at).count();
        auto rows = computeTopRows(previous->guests, current->guests, wall);
        sortTopRows(rows, options->sort);
        if (ctx.json) {
            printJsonFrame(hostname->hostname, rows);
        } else {
            printTextFrame(hostname->hostname, rows, screen);
        }
        std::fflush(stdout);
        previous = std::move(current);
    }
    return 0;
}

}  // namespace

void registerTopCommands() {
    registerCommand(
        {"top",
         "live view of every domain's CPU, memory, disk and network use (like virt-top)",
         {{"delay", OptKind::String, false, false, "seconds between refreshes (default 1)", 'd'},
          {"iterations", OptKind::String, false, false,
           "refreshes before exiting (default: until ^C)", 'n'},
          {"sort", OptKind::String, false, false, "cpu (default), mem or name"},
          {"batch", OptKind::Bool, false, false, "successive plain tables, no screen control",
           'b'}},
         top,
         /*needsConnection=*/true,
         /*endsWithEmptyLine=*/false});
}

}  // namespace corral::cli
