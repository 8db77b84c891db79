// SPDX-License-Identifier: LGPL-2.1-or-later
// The claimed SASL user and SCRAM's decoy answer (see the header). The form of Cyrus' answer
// (plugins/scram.c of Cyrus SASL 2.1.28): a server nonce of 32 base64 characters (24 random
// bytes) after the client's, a salt as long as the hash (Cyrus derives it from the user name),
// and scram_iteration_counter or 4096 iterations.
#include "rpc/scram_decoy.hpp"

#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <string.h>  // explicit_bzero
#include <sys/random.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <mutex>

#include "rpc/gnutls_library.hpp"
#include "util/strings.hpp"

namespace corral::rpc {

namespace {

struct DecoyState {
    std::mutex mutex;
    bool ready = false;
    unsigned iterations = 4096;
    std::array<std::uint8_t, 32> secret{};
};

DecoyState& state() {
    static auto* s = new DecoyState;  // never destroyed: sessions may run during exit
    return *s;
}

struct ScramHash {
    gnutls_mac_algorithm_t mac;
    std::size_t size;
};

std::optional<ScramHash> scramHash(std::string_view mech) {
    if (mech == "SCRAM-SHA-1") {
        return ScramHash{GNUTLS_MAC_SHA1, 20};
    }
    if (mech == "SCRAM-SHA-256") {
        return ScramHash{GNUTLS_MAC_SHA256, 32};
    }
    return std::nullopt;
}

bool fillRandom(void* buffer, std::size_t size) {
    auto* p = static_cast<std::uint8_t*>(buffer);
    while (size > 0) {
        ssize_t n = ::getrandom(p, size, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

std::string base64(const std::uint8_t* data, std::size_t size) {
    std::string out((size + 2) / 3 * 4 + 1, '\0');
    unsigned written = 0;
    if (sasl_encode64(reinterpret_cast<const char*>(data), static_cast<unsigned>(size), out.data(),
                      static_cast<unsigned>(out.size()), &written) != SASL_OK) {
        return {};
    }
    out.resize(written);
    return out;
}

/// SCRAM's saslname: "=2C" is ',' and "=3D" is '='; any other '=' makes the message invalid.
std::optional<std::string> decodeSaslName(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] != '=') {
            out += name[i];
        } else if (name.substr(i + 1, 2) == "2C") {
            out += ',';
            i += 2;
        } else if (name.substr(i + 1, 2) == "3D") {
            out += '=';
            i += 2;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

struct ClientFirst {
    std::string user;
    std::string_view nonce;
};

/// The parts of a client-first message, checked as strictly as Cyrus checks them before it looks
/// the user up (a message it refuses earlier must be refused here too).
std::optional<ClientFirst> parseClientFirst(std::string_view msg) {
    if (msg.size() < 10 || msg.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    // gs2-header: "n," / "y," / "p=NAME," then "a=AUTHZID," or ",".
    std::size_t pos = 0;
    if (msg[0] == 'p') {
        if (msg[1] != '=') {
            return std::nullopt;
        }
        pos = msg.find(',');
        if (pos == std::string_view::npos) {
            return std::nullopt;
        }
    } else if (msg[0] == 'n' || msg[0] == 'y') {
        pos = 1;
    } else {
        return std::nullopt;
    }
    if (msg[pos] != ',') {
        return std::nullopt;
    }
    ++pos;
    if (msg.substr(pos, 2) == "a=") {
        std::size_t end = msg.find(',', pos);
        if (end == std::string_view::npos || !decodeSaslName(msg.substr(pos + 2, end - pos - 2))) {
            return std::nullopt;
        }
        pos = end;
    }
    if (pos >= msg.size() || msg[pos] != ',') {
        return std::nullopt;
    }
    ++pos;
    // client-first-message-bare: "n=USER,r=NONCE[,ext...]"; a mandatory extension (m=) is refused.
    std::string_view bare = msg.substr(pos);
    if (bare.size() < 2 || bare[1] != '=' || bare[0] != 'n') {
        return std::nullopt;
    }
    std::size_t userEnd = bare.find(',');
    if (userEnd == std::string_view::npos) {
        return std::nullopt;
    }
    auto user = decodeSaslName(bare.substr(2, userEnd - 2));
    std::string_view rest = bare.substr(userEnd + 1);
    if (!user || !rest.starts_with("r=")) {
        return std::nullopt;
    }
    std::string_view nonce = rest.substr(2);
    nonce = nonce.substr(0, nonce.find(','));  // extensions may follow
    return ClientFirst{std::move(*user), nonce};
}

/// DIGEST-MD5's username="..." (a quoted string with backslash escapes, or a bare token).
std::string digestUser(std::string_view response) {
    std::size_t at = 0;
    while ((at = response.find("username=", at)) != std::string_view::npos) {
        if (at == 0 || response[at - 1] == ',' || response[at - 1] == ' ') {
            break;
        }
        at += 9;
    }
    if (at == std::string_view::npos) {
        return {};
    }
    std::string_view value = response.substr(at + 9);
    std::string out;
    if (!value.starts_with('"')) {
        return std::string(value.substr(0, value.find(',')));
    }
    for (std::size_t i = 1; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) {
            out += value[++i];
        } else if (value[i] == '"') {
            return out;
        } else {
            out += value[i];
        }
    }
    return {};  // unterminated
}

}  // namespace

std::string claimedSaslUser(std::string_view mech, std::string_view clientData) {
    if (scramHash(mech)) {
        auto first = parseClientFirst(clientData);
        return first ? first->user : std::string();
    }
    if (mech == "PLAIN") {
        // authzid NUL authcid NUL password
        std::size_t a = clientData.find('\0');
        std::size_t b = a == std::string_view::npos ? a : clientData.find('\0', a + 1);
        return b == std::string_view::npos ? std::string() : std::string(clientData.substr(a + 1, b - a - 1));
    }
    if (mech == "DIGEST-MD5") {
        return digestUser(clientData);
    }
    return {};
}

unsigned scramIterationsFromConfig(std::string_view configText) {
    constexpr unsigned kCyrusDefault = 4096;
    // Cyrus' reader: "key: value" a line, '#' lines and blank lines skipped, the key lowercased,
    // blanks around the value dropped. A later line wins.
    std::optional<unsigned> found;
    for (const std::string& raw : splitString(configText, '\n')) {
        std::string_view line = trimString(raw);
        std::size_t colon = line.find(':');
        if (line.empty() || line.front() == '#' || colon == std::string_view::npos) {
            continue;
        }
        std::string key(trimString(line.substr(0, colon)));
        for (char& c : key) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (key == "scram_iteration_counter") {
            auto n = parseUnsigned(trimString(line.substr(colon + 1)));
            found = n && *n <= 0xffffffffu ? std::optional<unsigned>(static_cast<unsigned>(*n)) : kCyrusDefault;
        }
    }
    return found.value_or(kCyrusDefault);
}

Result<void> initScramDecoy(unsigned iterations) {
    CORRAL_TRY(loadGnutls().withContext("setting up the SCRAM answer for unknown users"));
    auto& s = state();
    std::lock_guard lock(s.mutex);
    if (!fillRandom(s.secret.data(), s.secret.size())) {
        return failErrno(errno, "cannot read random bytes for the SCRAM answer for unknown users");
    }
    s.iterations = iterations;
    s.ready = true;
    return {};
}

unsigned scramDecoyIterations() {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    return s.iterations;
}

std::optional<std::string> scramDecoyServerFirst(std::string_view mech, std::string_view clientFirst) {
    auto hash = scramHash(mech);
    auto first = parseClientFirst(clientFirst);
    if (!hash || !first) {
        return std::nullopt;
    }
    auto& s = state();
    std::array<std::uint8_t, 32> secret{};
    unsigned iterations = 0;
    {
        std::lock_guard lock(s.mutex);
        if (!s.ready) {
            return std::nullopt;
        }
        secret = s.secret;
        iterations = s.iterations;
    }
    const GnutlsLibrary& tls = gnutls();
    // The salt: HMAC(secret, mechanism NUL user), as long as the hash.
    std::string message = std::string(mech) + '\0' + first->user;
    std::array<std::uint8_t, 32> mac{};
    int rc = tls.hmac_fast(GNUTLS_MAC_SHA256, secret.data(), secret.size(), message.data(), message.size(), mac.data());
    explicit_bzero(secret.data(), secret.size());
    if (rc < 0) {
        return std::nullopt;
    }
    // The work Cyrus does for a real user: SaltedPassword = PBKDF2(password, salt, iterations),
    // here of a random password nobody can know.
    std::array<std::uint8_t, 32> password{};
    std::array<std::uint8_t, 32> salted{};
    if (!fillRandom(password.data(), password.size())) {
        return std::nullopt;
    }
    gnutls_datum_t key{password.data(), static_cast<unsigned>(password.size())};
    gnutls_datum_t salt{mac.data(), static_cast<unsigned>(hash->size)};
    rc = iterations > 0 ? tls.pbkdf2(hash->mac, &key, &salt, iterations, salted.data(), hash->size) : 0;
    explicit_bzero(password.data(), password.size());
    if (rc < 0) {
        return std::nullopt;
    }
    std::array<std::uint8_t, 24> serverNonce{};
    if (!fillRandom(serverNonce.data(), serverNonce.size())) {
        return std::nullopt;
    }
    return "r=" + std::string(first->nonce) + base64(serverNonce.data(), serverNonce.size()) +
           ",s=" + base64(mac.data(), hash->size) + ",i=" + std::to_string(iterations);
}

}  // namespace corral::rpc
