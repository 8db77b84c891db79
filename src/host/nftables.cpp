// SPDX-License-Identifier: LGPL-2.1-or-later
#include "host/nftables.hpp"

#include "util/process.hpp"
#include "util/strings.hpp"

namespace corral::host {

namespace {
Result<void> runNft(const std::string& script, const std::string& what) {
    CORRAL_ASSIGN_OR_RETURN(CommandResult r, runCommand({"nft", "-f", "-"}, script));
    if (r.exitStatus != 0) {
        return fail(ErrorCode::OperationFailed, "nftables: cannot " + what + ": " + std::string(trimString(r.output)));
    }
    return {};
}
}  // namespace

Result<void> replaceNftTable(const std::string& family, const std::string& name, const std::string& body) {
    // "add table" makes the delete valid whether or not the table existed; the three lines are
    // one nft transaction.
    const std::string id = family + " " + name;
    return runNft("add table " + id + "\ndelete table " + id + "\ntable " + id + " {\n" + body + "}\n",
                  "install table " + id);
}

Result<void> deleteNftTable(const std::string& family, const std::string& name) {
    const std::string id = family + " " + name;
    return runNft("add table " + id + "\ndelete table " + id + "\n", "remove table " + id);
}

bool nftTableExists(const std::string& family, const std::string& name) {
    auto r = runCommand({"nft", "list", "table", family, name});
    return r && r->exitStatus == 0;
}

}  // namespace corral::host
