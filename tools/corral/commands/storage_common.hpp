// SPDX-License-Identifier: LGPL-2.1-or-later
// What the pool-* and vol-* commands share: virsh's pool and volume lookups and its sizes.
#pragma once

#include <optional>
#include <string>

#include "../cli.hpp"

namespace corral::cli {

/// virsh's pool lookup: by UUID when 36 characters, then by name. Prints
/// "failed to get pool 'X'" and returns nullopt when neither finds it.
std::optional<rpc::proto::remote_nonnull_storage_pool> lookupPool(client::Connection& conn, const std::string& text);

/// virsh's volume lookup: by name in `pool` when one is given, else by key, then by path.
std::optional<rpc::proto::remote_nonnull_storage_vol> lookupVol(client::Connection& conn, const std::string& text,
                                                                const std::optional<std::string>& pool);

/// vol-upload and vol-download (storage_vol_stream.cpp), registered with the other vol-*.
void registerStorageVolStreamCommands();

/// vshPrettyCapacity: "10.00 MiB", "0.00 B".
std::string prettyCapacity(std::uint64_t bytes);

/// "1G", "10M", "512": virsh's scaled sizes (a bare number is bytes). nullopt on junk.
std::optional<std::uint64_t> parseSize(const std::string& text);

}  // namespace corral::cli
