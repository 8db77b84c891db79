// SPDX-License-Identifier: LGPL-2.1-or-later
// nftables through the nft program: whole tables replaced atomically, one table per owner, so
// a ruleset never half-applies and removing it never touches anyone else's rules.
#pragma once

#include <string>

#include "util/result.hpp"

namespace corral::host {

/// Replaces table `family name` with `body` (the text inside "table family name { ... }") in
/// one transaction. Errors carry nft's message.
Result<void> replaceNftTable(const std::string& family, const std::string& name, const std::string& body);

/// Deletes the table if it exists.
Result<void> deleteNftTable(const std::string& family, const std::string& name);

/// True when the table exists.
bool nftTableExists(const std::string& family, const std::string& name);

}  // namespace corral::host
