// SPDX-License-Identifier: LGPL-2.1-or-later
// The metrics page: exposition format 0.0.4, each family once, labels escaped, absent figures
// left out.
#include "daemon/metrics_format.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

using namespace corral;
using namespace corral::daemon;

namespace {

MetricsSnapshot sampleSnapshot() {
    MetricsSnapshot s;
    s.clients = 3;
    s.hostMemoryKiB = 2048;
    s.hostCpus = 4;
    s.drivers = {{"test", true}, {"qemu", true}, {"lxc", false}};
    GuestMetrics web{"qemu", "web", "6695eb01-f6a4-8304-79aa-97f2502e193f", {}};
    web.stats.state = 1;
    web.stats.cpuTimeNs = 12000000007;
    web.stats.memoryKiB = 1024;
    web.stats.maxMemoryKiB = 2048;
    web.stats.vcpus = 2;
    web.stats.disks = {{"vda", 4096, 8, 512, 1}, {"hdc", -1, -1, -1, -1}};
    web.stats.interfaces = {{"vnet0", 100, 2, 300, 4}};
    GuestMetrics off{"qemu", "db", "11111111-2222-3333-4444-555555555555", {}};
    off.stats.state = 5;
    off.stats.maxMemoryKiB = 4096;
    off.stats.vcpus = 1;
    s.guests = {web, off};
    return s;
}

/// Every sample line, keyed by everything before the value.
std::map<std::string, std::string> samples(const std::string& page) {
    std::map<std::string, std::string> out;
    std::istringstream in(page);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        auto space = line.rfind(' ');
        out[line.substr(0, space)] = line.substr(space + 1);
    }
    return out;
}

const char* const kWeb =
    "driver=\"qemu\",domain=\"web\",uuid=\"6695eb01-f6a4-8304-79aa-97f2502e193f\"";

}  // namespace

TEST(MetricsFormat, HostAndDaemonSeries) {
    auto page = formatMetrics(sampleSnapshot());
    auto s = samples(page);
    EXPECT_EQ(s["corral_up"], "1");
    EXPECT_EQ(s["corral_clients"], "3");
    EXPECT_EQ(s["corral_host_memory_bytes"], "2097152");
    EXPECT_EQ(s["corral_host_cpus"], "4");
    EXPECT_EQ(s["corral_driver_stats_read{driver=\"lxc\"}"], "0");
    EXPECT_EQ(s["corral_domains{driver=\"qemu\",state=\"running\"}"], "1");
    EXPECT_EQ(s["corral_domains{driver=\"qemu\",state=\"shutoff\"}"], "1");
    EXPECT_EQ(s["corral_domains{driver=\"qemu\",state=\"paused\"}"], "0");
    EXPECT_EQ(s["corral_domains{driver=\"test\",state=\"running\"}"], "0");
    EXPECT_NE(page.find("# HELP corral_up "), std::string::npos);
    EXPECT_NE(page.find("# TYPE corral_up gauge\n"), std::string::npos);
}

TEST(MetricsFormat, GuestSeries) {
    auto s = samples(formatMetrics(sampleSnapshot()));
    const std::string web = kWeb;
    EXPECT_EQ(s["corral_domain_state{" + web + "}"], "1");
    EXPECT_EQ(s["corral_domain_cpu_seconds_total{" + web + "}"], "12.000000007");
    EXPECT_EQ(s["corral_domain_memory_current_bytes{" + web + "}"], "1048576");
    EXPECT_EQ(s["corral_domain_memory_max_bytes{" + web + "}"], "2097152");
    EXPECT_EQ(s["corral_domain_vcpus{" + web + "}"], "2");
    EXPECT_EQ(s["corral_domain_block_read_bytes_total{" + web + ",device=\"vda\"}"], "4096");
    EXPECT_EQ(s["corral_domain_block_write_bytes_total{" + web + ",device=\"vda\"}"], "512");
    EXPECT_EQ(s["corral_domain_block_read_requests_total{" + web + ",device=\"vda\"}"], "8");
    EXPECT_EQ(s["corral_domain_block_write_requests_total{" + web + ",device=\"vda\"}"], "1");
    EXPECT_EQ(s["corral_domain_net_rx_bytes_total{" + web + ",interface=\"vnet0\"}"], "100");
    EXPECT_EQ(s["corral_domain_net_rx_packets_total{" + web + ",interface=\"vnet0\"}"], "2");
    EXPECT_EQ(s["corral_domain_net_tx_bytes_total{" + web + ",interface=\"vnet0\"}"], "300");
    EXPECT_EQ(s["corral_domain_net_tx_packets_total{" + web + ",interface=\"vnet0\"}"], "4");
    // A disk without counters and an inactive guest's CPU time are absent, not 0.
    EXPECT_EQ(s.count("corral_domain_block_read_bytes_total{" + web + ",device=\"hdc\"}"), 0u);
    const std::string db =
        "driver=\"qemu\",domain=\"db\",uuid=\"11111111-2222-3333-4444-555555555555\"";
    EXPECT_EQ(s["corral_domain_state{" + db + "}"], "5");
    EXPECT_EQ(s.count("corral_domain_cpu_seconds_total{" + db + "}"), 0u);
    EXPECT_EQ(s.count("corral_domain_memory_current_bytes{" + db + "}"), 0u);
}

TEST(MetricsFormat, EachFamilyOnceWithHelpAndTypeBeforeItsSamples) {
    auto page = formatMetrics(sampleSnapshot());
    std::istringstream in(page);
    std::string line;
    std::map<std::string, int> typeLines;
    std::string current;
    while (std::getline(in, line)) {
        ASSERT_FALSE(line.empty());
        if (line.rfind("# HELP ", 0) == 0) {
            current = line.substr(7, line.find(' ', 7) - 7);
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            std::string name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_EQ(name, current);
            ++typeLines[name];
            std::string type = line.substr(line.rfind(' ') + 1);
            EXPECT_TRUE(type == "gauge" || type == "counter") << line;
            if (type == "counter") {
                EXPECT_EQ(name.substr(name.size() - 6), "_total") << name;
            }
            continue;
        }
        std::string name = line.substr(0, line.find_first_of("{ "));
        EXPECT_EQ(name, current) << line;
    }
    for (const auto& [name, n] : typeLines) {
        EXPECT_EQ(n, 1) << name;
    }
    EXPECT_EQ(page.back(), '\n');
}

TEST(MetricsFormat, LabelValuesAreEscaped) {
    EXPECT_EQ(escapeLabelValue("plain"), "plain");
    EXPECT_EQ(escapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    MetricsSnapshot s;
    s.drivers = {{"test", true}};
    GuestMetrics odd{"test", "we\"ird\\name\n", "u", {}};
    odd.stats.state = 1;
    s.guests = {odd};
    auto page = formatMetrics(s);
    EXPECT_NE(
        page.find(
            "corral_domain_state{driver=\"test\",domain=\"we\\\"ird\\\\name\\n\",uuid=\"u\"} 1\n"),
        std::string::npos)
        << page;
}

TEST(MetricsFormat, AbsentHostFactsLeaveTheirFamiliesOut) {
    MetricsSnapshot s;
    auto page = formatMetrics(s);
    EXPECT_EQ(page.find("corral_host_memory_bytes"), std::string::npos);
    EXPECT_EQ(page.find("corral_host_cpus"), std::string::npos);
    EXPECT_NE(page.find("\ncorral_up 1\n"), std::string::npos);
}
