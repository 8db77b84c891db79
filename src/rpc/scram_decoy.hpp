// SPDX-License-Identifier: LGPL-2.1-or-later
// What a SASL client claims before anything is verified, and SCRAM's answer for a user the
// database does not have. Cyrus' SCRAM server fails AUTH_SASL_START at once for an unknown user
// (SASL_NOUSER) but answers a known one with its server-first message, so the daemon answers an
// unknown one itself with a message of the same form: the client's nonce plus 32 random
// characters, a salt of the hash's length derived from the user name with a per-process secret
// (the same name gets the same salt, as Cyrus' salt for a real user stays the same until the
// daemon restarts), and the configured iteration count. The exchange then fails at the step
// where a wrong password fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace corral::rpc {

/// The user name a client's SASL message claims: SCRAM's client-first "n=" (with "=2C" and "=3D"
/// decoded), PLAIN's authentication identity, DIGEST-MD5's response username="...". Empty when
/// the mechanism or the message names none (GSSAPI, DIGEST-MD5's first step, garbage).
std::string claimedSaslUser(std::string_view mech, std::string_view clientData);

/// Cyrus' SCRAM iteration count in the text of its configuration file (corral.conf):
/// "scram_iteration_counter: N", or 4096 when absent or not a number, as the plugin reads it.
unsigned scramIterationsFromConfig(std::string_view configText);

/// Sets up the process-wide secret and the iteration count the decoy announces. Called by
/// initSaslServer(); loads GnuTLS for HMAC and PBKDF2. Errors: GnuTLS missing, no randomness.
Result<void> initScramDecoy(unsigned iterations);

/// The iteration count the decoy announces (what initScramDecoy was given).
unsigned scramDecoyIterations();

/// The server-first message for `clientFirst` of `mech` ("SCRAM-SHA-1", "SCRAM-SHA-256"), as
/// Cyrus would write it for a user with a plaintext secret: "r=CNONCE+SNONCE,s=SALT,i=COUNT".
/// It costs what Cyrus' answer costs (one PBKDF2 of that many iterations), so its timing does not
/// tell either. nullopt when the mechanism is not SCRAM, the message is not a client-first
/// message Cyrus would have accepted, or initScramDecoy() did not succeed.
std::optional<std::string> scramDecoyServerFirst(std::string_view mech, std::string_view clientFirst);

}  // namespace corral::rpc
