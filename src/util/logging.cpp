// SPDX-License-Identifier: LGPL-2.1-or-later
// Logging: one line per message with a UTC timestamp and the level, written atomically.
#include "util/logging.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace corral {

namespace {
std::atomic<int> gLevel{static_cast<int>(LogLevel::Warning)};

const char* levelName(LogLevel l) {
    switch (l) {
        case LogLevel::Debug: return "debug";
        case LogLevel::Info: return "info";
        case LogLevel::Warning: return "warning";
        case LogLevel::Error: return "error";
    }
    return "?";
}
}  // namespace

void setLogLevel(LogLevel level) { gLevel = static_cast<int>(level); }
LogLevel logLevel() { return static_cast<LogLevel>(gLevel.load()); }

void logMessage(LogLevel level, std::string_view message) {
    if (static_cast<int>(level) < gLevel.load()) {
        return;
    }
    auto now = std::chrono::system_clock::now();
    std::time_t secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02d %02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    std::string line = std::string(stamp) + ": " + std::to_string(getpid()) + ": " + levelName(level) +
                       " : " + std::string(message) + "\n";
    // One write() per line so lines from several threads never interleave.
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace corral
