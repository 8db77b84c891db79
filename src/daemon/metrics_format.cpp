// SPDX-License-Identifier: LGPL-2.1-or-later
// Prometheus text exposition (0.0.4): families in a fixed order, guests in snapshot order.
#include "daemon/metrics_format.hpp"

#include <array>
#include <cstdio>
#include <functional>
#include <utility>

#include "objects/domain_state.hpp"

namespace corral::daemon {

namespace {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

class Page {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }

    void sample(std::string_view name, const Labels& labels, std::string_view value) {
        out_.append(name);
        if (!labels.empty()) {
            out_.append("{");
            for (std::size_t i = 0; i < labels.size(); ++i) {
                out_.append(i == 0 ? "" : ",").append(labels[i].first).append("=\"");
                out_.append(escapeLabelValue(labels[i].second)).append("\"");
            }
            out_.append("}");
        }
        out_.append(" ").append(value).append("\n");
    }

    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

/// Nanoseconds as exact decimal seconds (no rounding through a double).
std::string secondsText(std::uint64_t ns) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%llu.%09llu", static_cast<unsigned long long>(ns / 1000000000u),
                  static_cast<unsigned long long>(ns % 1000000000u));
    return buf;
}

Labels guestLabels(const GuestMetrics& g) {
    return {{"driver", g.driver}, {"domain", g.name}, {"uuid", g.uuid}};
}

/// One sample per guest for which `value` has something to say.
void guestFamily(Page& page, const MetricsSnapshot& s, std::string_view name, std::string_view type,
                 std::string_view help,
                 const std::function<std::optional<std::string>(const rpc::GuestStats&)>& value) {
    page.family(name, type, help);
    for (const auto& g : s.guests) {
        if (auto v = value(g.stats)) {
            page.sample(name, guestLabels(g), *v);
        }
    }
}

/// One counter of each disk or interface of each guest, labelled `label`=its name.
template <class Device>
void deviceFamily(Page& page, const MetricsSnapshot& s, std::string_view name,
                  std::string_view help, std::string_view label,
                  std::vector<Device> rpc::GuestStats::*devices, std::int64_t Device::*counter) {
    page.family(name, "counter", help);
    for (const auto& g : s.guests) {
        for (const auto& d : g.stats.*devices) {
            if (d.*counter >= 0) {
                Labels labels = guestLabels(g);
                labels.emplace_back(label, d.name);
                page.sample(name, labels, std::to_string(d.*counter));
            }
        }
    }
}

std::optional<std::string> kibAsBytes(const std::optional<std::uint64_t>& kib) {
    return kib ? std::optional<std::string>(std::to_string(*kib * 1024)) : std::nullopt;
}

void hostFamilies(Page& page, const MetricsSnapshot& s) {
    page.family("corral_up", "gauge", "1 while corrald serves.");
    page.sample("corral_up", {}, "1");
    page.family("corral_clients", "gauge", "Connected RPC clients.");
    page.sample("corral_clients", {}, std::to_string(s.clients));
    if (s.hostMemoryKiB) {
        page.family("corral_host_memory_bytes", "gauge", "Memory of the host.");
        page.sample("corral_host_memory_bytes", {}, std::to_string(*s.hostMemoryKiB * 1024));
    }
    if (s.hostCpus) {
        page.family("corral_host_cpus", "gauge", "Online CPUs of the host.");
        page.sample("corral_host_cpus", {}, std::to_string(*s.hostCpus));
    }
    page.family(
        "corral_driver_stats_read", "gauge",
        "1 when the driver's domain statistics were read for this scrape, 0 when reading failed.");
    for (const auto& d : s.drivers) {
        page.sample("corral_driver_stats_read", {{"driver", d.driver}}, d.statsRead ? "1" : "0");
    }
    page.family("corral_domains", "gauge", "Domains defined or running, by driver and state.");
    for (const auto& d : s.drivers) {
        std::array<std::size_t, objects::kDomainStateNames.size()> counts{};
        for (const auto& g : s.guests) {
            if (g.driver == d.driver && g.stats.state && *g.stats.state >= 0 &&
                static_cast<std::size_t>(*g.stats.state) < counts.size()) {
                ++counts[static_cast<std::size_t>(*g.stats.state)];
            }
        }
        for (std::size_t i = 0; i < counts.size(); ++i) {
            page.sample("corral_domains",
                        {{"driver", d.driver}, {"state", std::string(objects::kDomainStateNames[i])}},
                        std::to_string(counts[i]));
        }
    }
}

void guestFamilies(Page& page, const MetricsSnapshot& s) {
    guestFamily(page, s, "corral_domain_state", "gauge",
                "virDomainState: 0 nostate, 1 running, 2 blocked, 3 paused, 4 shutdown, 5 shutoff, "
                "6 crashed, "
                "7 pmsuspended.",
                [](const rpc::GuestStats& g) {
                    return g.state ? std::optional<std::string>(std::to_string(*g.state))
                                   : std::nullopt;
                });
    guestFamily(page, s, "corral_domain_cpu_seconds_total", "counter",
                "CPU time the running guest has used.", [](const rpc::GuestStats& g) {
                    return g.cpuTimeNs ? std::optional<std::string>(secondsText(*g.cpuTimeNs))
                                       : std::nullopt;
                });
    guestFamily(page, s, "corral_domain_memory_current_bytes", "gauge",
                "Memory the guest has now (balloon).",
                [](const rpc::GuestStats& g) { return kibAsBytes(g.memoryKiB); });
    guestFamily(page, s, "corral_domain_memory_max_bytes", "gauge",
                "Memory the guest may have at most.",
                [](const rpc::GuestStats& g) { return kibAsBytes(g.maxMemoryKiB); });
    guestFamily(page, s, "corral_domain_vcpus", "gauge", "Virtual CPUs of the guest.",
                [](const rpc::GuestStats& g) {
                    return g.vcpus ? std::optional<std::string>(std::to_string(*g.vcpus))
                                   : std::nullopt;
                });
    deviceFamily(page, s, "corral_domain_block_read_bytes_total", "Bytes read from the disk.",
                 "device", &rpc::GuestStats::disks, &rpc::DiskCounters::readBytes);
    deviceFamily(page, s, "corral_domain_block_write_bytes_total", "Bytes written to the disk.",
                 "device", &rpc::GuestStats::disks, &rpc::DiskCounters::writeBytes);
    deviceFamily(page, s, "corral_domain_block_read_requests_total", "Read requests to the disk.",
                 "device", &rpc::GuestStats::disks, &rpc::DiskCounters::readRequests);
    deviceFamily(page, s, "corral_domain_block_write_requests_total", "Write requests to the disk.",
                 "device", &rpc::GuestStats::disks, &rpc::DiskCounters::writeRequests);
    deviceFamily(page, s, "corral_domain_net_rx_bytes_total",
                 "Bytes the guest received on the interface.", "interface",
                 &rpc::GuestStats::interfaces, &rpc::InterfaceCounters::rxBytes);
    deviceFamily(page, s, "corral_domain_net_tx_bytes_total",
                 "Bytes the guest sent on the interface.", "interface",
                 &rpc::GuestStats::interfaces, &rpc::InterfaceCounters::txBytes);
    deviceFamily(page, s, "corral_domain_net_rx_packets_total",
                 "Packets the guest received on the interface.", "interface",
                 &rpc::GuestStats::interfaces, &rpc::InterfaceCounters::rxPackets);
    deviceFamily(page, s, "corral_domain_net_tx_packets_total",
                 "Packets the guest sent on the interface.", "interface",
                 &rpc::GuestStats::interfaces, &rpc::InterfaceCounters::txPackets);
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string formatMetrics(const MetricsSnapshot& snapshot) {
    Page page;
    hostFamilies(page, snapshot);
    guestFamilies(page, snapshot);
    return page.take();
}

}  // namespace corral::daemon
