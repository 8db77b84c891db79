// SPDX-License-Identifier: LGPL-2.1-or-later
// Minimal leveled logging to stderr (corrald's log_level); the daemon owns where it goes.
#pragma once

#include <string_view>

namespace corral {

enum class LogLevel : int { Debug = 1, Info = 2, Warning = 3, Error = 4 };

void setLogLevel(LogLevel level);
LogLevel logLevel();
void logMessage(LogLevel level, std::string_view message);

inline void logDebug(std::string_view m) { logMessage(LogLevel::Debug, m); }
inline void logInfo(std::string_view m) { logMessage(LogLevel::Info, m); }
inline void logWarning(std::string_view m) { logMessage(LogLevel::Warning, m); }
inline void logError(std::string_view m) { logMessage(LogLevel::Error, m); }

}  // namespace corral
