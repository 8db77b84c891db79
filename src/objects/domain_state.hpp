// SPDX-License-Identifier: LGPL-2.1-or-later
// Domain states, state reasons and lifecycle event types with libvirt's public numbers.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace corral::objects {

/// virDomainState.
enum class DomainState : int {
    NoState = 0,
    Running = 1,
    Blocked = 2,
    Paused = 3,
    Shutdown = 4,
    Shutoff = 5,
    Crashed = 6,
    PmSuspended = 7,
};

/// virDomainState values as one word each (libvirt's names, without spaces), by value.
inline constexpr std::array<std::string_view, 8> kDomainStateNames = {
    "nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"};

/// virDomainRunningReason.
enum class RunningReason : int { Unknown = 0, Booted = 1, Migrated = 2, Restored = 3,
    FromSnapshot = 4, Unpaused = 5, MigrationCanceled = 6, SaveCanceled = 7, Wakeup = 8,
    Crashed = 9, PostCopy = 10 };
/// virDomainPausedReason.
enum class PausedReason : int { Unknown = 0, User = 1, Migration = 2, Save = 3, Dump = 4,
    IoError = 5, Watchdog = 6, FromSnapshot = 7, ShuttingDown = 8, Snapshot = 9, Crashed = 10,
    StartingUp = 11 };
/// virDomainShutoffReason.
enum class ShutoffReason : int { Unknown = 0, Shutdown = 1, Destroyed = 2, Crashed = 3,
    Migrated = 4, Saved = 5, Failed = 6, FromSnapshot = 7, Daemon = 8 };
/// virDomainCrashedReason.
enum class CrashedReason : int { Unknown = 0, Panicked = 1 };

/// virDomainEventType (lifecycle event) and its detail values.
enum class LifecycleEvent : int {
    Defined = 0,
    Undefined = 1,
    Started = 2,
    Suspended = 3,
    Resumed = 4,
    Stopped = 5,
    Shutdown = 6,
    PmSuspended = 7,
    Crashed = 8,
};
enum class DefinedDetail : int { Added = 0, Updated = 1, Renamed = 2, FromSnapshot = 3 };
enum class UndefinedDetail : int { Removed = 0, Renamed = 1 };
enum class StartedDetail : int { Booted = 0, Migrated = 1, Restored = 2, FromSnapshot = 3, Wakeup = 4 };
enum class SuspendedDetail : int { Paused = 0, Migrated = 1, IoError = 2, Watchdog = 3,
    Restored = 4, FromSnapshot = 5, ApiError = 6, PostCopy = 7, PostCopyFailed = 8 };
enum class ResumedDetail : int { Unpaused = 0, Migrated = 1, FromSnapshot = 2, PostCopy = 3 };
enum class StoppedDetail : int { Shutdown = 0, Destroyed = 1, Crashed = 2, Migrated = 3,
    Saved = 4, Failed = 5, FromSnapshot = 6 };
enum class ShutdownDetail : int { Finished = 0, Guest = 1, Host = 2 };

/// The state and its reason, as GET_STATE returns them.
struct StateAndReason {
    DomainState state = DomainState::Shutoff;
    int reason = 0;
};

}  // namespace corral::objects
