// SPDX-License-Identifier: LGPL-2.1-or-later
// The save image: what `virsh save` writes and `virsh restore` reads. A fixed header names the
// format and records the domain XML and whether the guest was running; the hypervisor's own
// state stream follows. A save writes the header as "partial" first and marks it complete only
// after the stream is on disk, so an interrupted save is never restored.
//
//   offset  size  field
//   0       16    magic: "CorralSaveImage\0" (complete) or "CorralSavePart\0\0" (in progress)
//   16      4     version (1), little endian
//   20      4     length of the XML in bytes
//   24      4     flags: bit 0 = the guest was running when saved
//   28      4     reserved, 0
//   32      n     the domain XML (secure form: passwords included, as the guest needs them)
//   32+n    ...   the state stream
#pragma once

#include <cstdint>
#include <string>

#include "util/result.hpp"

namespace corral::drivers {

struct SaveImageHeader {
    std::string xml;
    bool wasRunning = false;
    std::uint64_t stateOffset = 0;  ///< where the state stream starts
};

/// Writes a partial header at the start of `fd` and leaves the offset at the stream's start.
Result<void> writeSaveImageHeader(int fd, const std::string& path, const std::string& xml, bool wasRunning);

/// After the stream: flushes the file and marks the header complete.
Result<void> completeSaveImage(int fd, const std::string& path);

/// Reads and checks the header; leaves the offset at the stream's start. Errors name the file
/// and what is wrong with it (not a save image, an unfinished save, a damaged header).
Result<SaveImageHeader> readSaveImageHeader(int fd, const std::string& path);

}  // namespace corral::drivers
