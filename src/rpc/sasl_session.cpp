// SPDX-License-Identifier: LGPL-2.1-or-later
// SASL sessions over Cyrus libsasl2: process-wide set-up, the server and client exchanges, the
// security layer. The rules follow libvirtd's observable behaviour (PROTOCOL-NOTES.md 4.2).
#include "rpc/sasl_session.hpp"

#include <sasl/sasl.h>
#include <string.h>  // explicit_bzero

#include <algorithm>
#include <array>

#include "rpc/scram_decoy.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/strings.hpp"

namespace corral::rpc {

namespace {

// Cyrus wants every callback as `int (*)(void)`; going through `void (*)()` tells g++ the cast
// is deliberate (-Wcast-function-type). Cyrus calls each back with its real type by id.
template <class F>
auto asCallback(F* fn) {
    return reinterpret_cast<int (*)()>(reinterpret_cast<void (*)()>(fn));
}

/// Cyrus' messages go to our debug log instead of syslog (its default). Levels above NOTE are
/// dropped: SASL_LOG_PASS traces contain passwords.
int logCallback(void* /*context*/, int level, const char* message) {
    if (level <= SASL_LOG_NOTE && message != nullptr) {
        logDebug(std::string("sasl: ") + message);
    }
    return SASL_OK;
}

int confPathCallback(void* context, const char** path) {
    *path = static_cast<const std::string*>(context)->c_str();
    return SASL_OK;
}

/// Process-wide Cyrus state. Never destroyed: Cyrus keeps pointers to the callback tables and
/// the path until exit, and connections may outlive static destruction order.
struct GlobalState {
    std::mutex mutex;
    /// Held around every exchange step and connection set-up, whichever session: Cyrus' default
    /// mutexes are no-ops, and the auxprop back-ends (sasldb's Berkeley DB) are not known to be
    /// safe from several threads at once. Authentication is rare; the layer is not serialised.
    /// Taken before a session's own mutex.
    std::mutex negotiation;
    bool serverUp = false;
    bool clientUp = false;
    std::string confDir;
    std::string appName{kSaslAppName};  ///< Cyrus keeps the pointer, it does not copy the name
    std::array<sasl_callback_t, 3> serverCallbacks{};
    std::array<sasl_callback_t, 2> clientCallbacks{};
};

GlobalState& global() {
    static auto* state = new GlobalState;
    return *state;
}

const char* orNull(const std::string& s) {
    return s.empty() ? nullptr : s.c_str();
}

std::string cyrusText(int rc) {
    return sasl_errstring(rc, nullptr, nullptr);
}

bool sameMech(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x >= 'a' && x <= 'z' ? x - 32 : x) == (y >= 'a' && y <= 'z' ? y - 32 : y);
           });
}

/// Splits a mechanism list on commas and spaces (libvirtd sends commas, Cyrus accepts both).
std::vector<std::string> splitMechs(std::string_view list) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : list) {
        if (c == ',' || c == ' ') {
            if (!cur.empty()) {
                out.push_back(std::move(cur));
                cur.clear();
            }
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

std::string joinMechs(const std::vector<std::string>& mechs) {
    std::string out;
    for (const auto& m : mechs) {
        if (!out.empty()) {
            out += ',';
        }
        out += m;
    }
    return out;
}

constexpr std::string_view kDigestMd5 = "DIGEST-MD5";

}  // namespace

Result<void> initSaslServer(std::string_view root) {
    std::string dir(root);
    while (!dir.empty() && dir.back() == '/') {
        dir.pop_back();
    }
    dir += "/etc/sasl2";
    auto& g = global();
    std::lock_guard lock(g.mutex);
    if (g.serverUp) {
        if (g.confDir == dir) {
            return {};
        }
        return fail(ErrorCode::InternalError,
                    "SASL is already set up with configuration directory '" + g.confDir +
                        "', cannot switch to '" + dir + "'");
    }
    g.confDir = dir;
    // The path comes from a callback rather than sasl_set_path(): that one is also process-wide
    // but would change where the client side looks too, and the callback keeps it with the
    // server's set-up.
    g.serverCallbacks = {{
        {SASL_CB_GETCONFPATH, asCallback(&confPathCallback), &g.confDir},
        {SASL_CB_LOG, asCallback(&logCallback), nullptr},
        {SASL_CB_LIST_END, nullptr, nullptr},
    }};
    int rc = sasl_server_init(g.serverCallbacks.data(), g.appName.c_str());
    if (rc != SASL_OK) {
        return fail(ErrorCode::InternalError, "failed to initialize SASL server support with '" +
                                                  dir + "/" + g.appName +
                                                  ".conf': " + cyrusText(rc));
    }
    // Unknown users get SCRAM's answer too (scram_decoy.hpp), with the count Cyrus announces.
    auto config = readTextFile(dir + "/" + g.appName + ".conf");
    CORRAL_TRY(initScramDecoy(scramIterationsFromConfig(config ? *config : std::string())));
    g.serverUp = true;
    return {};
}

Result<void> initSaslClient() {
    auto& g = global();
    std::lock_guard lock(g.mutex);
    if (g.clientUp) {
        return {};
    }
    g.clientCallbacks = {{
        {SASL_CB_LOG, asCallback(&logCallback), nullptr},
        {SASL_CB_LIST_END, nullptr, nullptr},
    }};
    int rc = sasl_client_init(g.clientCallbacks.data());
    if (rc != SASL_OK) {
        return fail(ErrorCode::InternalError,
                    "failed to initialize SASL client support: " + cyrusText(rc));
    }
    g.clientUp = true;
    return {};
}

// ---------------------------------------------------------------------------------------------
// SaslSession: what both ends share.

SaslSession::~SaslSession() {
    dispose();
}

void SaslSession::dispose() {
    if (conn_ != nullptr) {
        std::lock_guard serial(global().negotiation);
        sasl_dispose(&conn_);
        conn_ = nullptr;
    }
}

Result<void> SaslSession::setSecurityProperties() {
    sasl_ssf_t external = externalSsf_;
    int rc = sasl_setprop(conn_, SASL_SSF_EXTERNAL, &external);
    if (rc != SASL_OK) {
        return fail(ErrorCode::InternalError,
                    "cannot set the external SSF of the SASL session: " + cyrusDetail());
    }
    sasl_security_properties_t props{};
    // A secure channel (TLS, unix) already protects the bytes: no layer is wanted on top, so
    // the mechanism may not add one (max 0), and any mechanism qualifies (min 0). A plain TCP
    // channel gets its protection only from the layer: only mechanisms that can give minSsf
    // bits are offered, which leaves out SCRAM (no layer) and, by the flags, PLAIN and ANONYMOUS.
    bool secure = externalSsf_ > 0;
    props.min_ssf = secure ? 0 : minSsf_;
    props.max_ssf = secure ? 0 : 100000;
    props.maxbufsize = kSaslMaxBufSize;
    props.security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT;
    rc = sasl_setprop(conn_, SASL_SEC_PROPS, &props);
    if (rc != SASL_OK) {
        return fail(ErrorCode::InternalError,
                    "cannot set the security properties of the SASL session: " + cyrusDetail());
    }
    return {};
}

unsigned SaslSession::ssfLocked() const {
    const void* value = nullptr;
    if (phase_ != Phase::Done || sasl_getprop(conn_, SASL_SSF, &value) != SASL_OK ||
        value == nullptr) {
        return 0;
    }
    return *static_cast<const sasl_ssf_t*>(value);
}

unsigned SaslSession::ssf() const {
    std::lock_guard lock(mutex_);
    return ssfLocked();
}

bool SaslSession::strongEnough() const {
    return externalSsf_ > 0 || ssfLocked() >= minSsf_;
}

unsigned SaslSession::maxOutput() const {
    std::lock_guard lock(mutex_);
    const void* value = nullptr;
    if (conn_ == nullptr || sasl_getprop(conn_, SASL_MAXOUTBUF, &value) != SASL_OK ||
        value == nullptr) {
        return kSaslMaxBufSize;
    }
    unsigned max = *static_cast<const unsigned*>(value);
    // Without a layer Cyrus reports 0 (no limit); frames are then bounded by our own size.
    return max == 0 ? kSaslMaxBufSize : max;
}

std::string SaslSession::cyrusDetail() const {
    const char* detail = conn_ != nullptr ? sasl_errdetail(conn_) : nullptr;
    return detail != nullptr ? detail : "unknown SASL error";
}

Result<std::vector<std::uint8_t>> SaslSession::encode(std::span<const std::uint8_t> plain) {
    unsigned limit = maxOutput();
    std::lock_guard lock(mutex_);
    if (phase_ != Phase::Done) {
        return fail(ErrorCode::InternalError, "SASL security layer used before authentication");
    }
    std::vector<std::uint8_t> wire;
    // One Cyrus call per frame: the peer refuses a frame holding more than the maxbufsize it
    // announced, which is what SASL_MAXOUTBUF reports.
    for (std::size_t off = 0; off < plain.size();) {
        auto len = static_cast<unsigned>(std::min<std::size_t>(plain.size() - off, limit));
        const char* out = nullptr;
        unsigned outLen = 0;
        int rc = sasl_encode(conn_, reinterpret_cast<const char*>(plain.data() + off), len, &out,
                             &outLen);
        if (rc != SASL_OK) {
            return fail(ErrorCode::Rpc,
                        "cannot encode data with the SASL security layer: " + cyrusDetail(),
                        ErrorDomain::Rpc);
        }
        wire.insert(wire.end(), out, out + outLen);
        off += len;
    }
    return wire;
}

Result<std::vector<std::uint8_t>> SaslSession::decode(std::span<const std::uint8_t> wire) {
    std::lock_guard lock(mutex_);
    if (phase_ != Phase::Done) {
        return fail(ErrorCode::InternalError, "SASL security layer used before authentication");
    }
    std::vector<std::uint8_t> plain;
    // Without a layer Cyrus copies the input and refuses more than maxbufsize at once; with one
    // it buffers partial frames itself. Either way, feed at most maxbufsize per call.
    for (std::size_t off = 0; off < wire.size();) {
        auto len = static_cast<unsigned>(std::min<std::size_t>(wire.size() - off, kSaslMaxBufSize));
        const char* out = nullptr;
        unsigned outLen = 0;
        int rc = sasl_decode(conn_, reinterpret_cast<const char*>(wire.data() + off), len, &out,
                             &outLen);
        if (rc != SASL_OK) {
            return fail(ErrorCode::Rpc,
                        "cannot decode data with the SASL security layer: " + cyrusDetail(),
                        ErrorDomain::Rpc);
        }
        if (out != nullptr) {
            plain.insert(plain.end(), out, out + outLen);
        }
        off += len;
    }
    return plain;
}

// ---------------------------------------------------------------------------------------------
// SaslServer

SaslServer::SaslServer(const SaslServerOptions& options)
    : SaslSession(options.externalSsf, options.minSsf),
      allowDigestMd5_(options.allowDigestMd5),
      allowedUsernames_(options.allowedUsernames) {}

Result<std::unique_ptr<SaslServer>> SaslServer::create(const SaslServerOptions& options) {
    {
        auto& g = global();
        std::lock_guard lock(g.mutex);
        if (!g.serverUp) {
            return fail(ErrorCode::InternalError, "SASL server support is not initialized");
        }
    }
    std::unique_ptr<SaslServer> server(new SaslServer(options));
    std::string service(kSaslService);
    std::lock_guard serial(global().negotiation);
    // serverFQDN and user_realm NULL: Cyrus uses the host name for both, which is also the realm
    // saslpasswd2 files users under by default. SASL_SUCCESS_DATA: libvirt's protocol carries
    // data with the final reply (complete = 1), saving a round trip.
    int rc =
        sasl_server_new(service.c_str(), nullptr, nullptr, orNull(options.localAddr),
                        orNull(options.remoteAddr), nullptr, SASL_SUCCESS_DATA, &server->conn_);
    if (rc != SASL_OK) {
        return fail(ErrorCode::AuthFailed,
                    "failed to create SASL server context: " + cyrusText(rc));
    }
    CORRAL_TRY(server->setSecurityProperties());
    return server;
}

std::vector<std::string> SaslServer::offered() const {
    const char* list = nullptr;
    unsigned len = 0;
    int count = 0;
    if (sasl_listmech(conn_, nullptr, "", ",", "", &list, &len, &count) != SASL_OK ||
        list == nullptr) {
        return {};
    }
    return splitMechs(std::string_view(list, len));
}

Result<std::string> SaslServer::mechanisms() {
    std::lock_guard serial(global().negotiation);
    std::lock_guard lock(mutex_);
    std::vector<std::string> mechs = offered();
    auto digest = std::find_if(mechs.begin(), mechs.end(),
                               [](const std::string& m) { return sameMech(m, kDigestMd5); });
    if (digest != mechs.end() && !allowDigestMd5_) {
        mechs.erase(digest);
        warnings_.emplace_back(
            "SASL mechanism 'DIGEST-MD5' is configured but not offered: it is deprecated "
            "(RFC 6331); set sasl_allow_digest_md5 = 1 to allow it");
    }
    if (mechs.empty() && externalSsf_ > 0) {
        return fail(ErrorCode::AuthFailed, "no SASL mechanism is available (check mech_list in " +
                                               std::string(kSaslAppName) + ".conf)");
    }
    if (mechs.empty()) {
        std::string bits = std::to_string(minSsf_);
        return fail(ErrorCode::AuthFailed,
                    "no SASL mechanism is available that gives a security layer of at least " +
                        bits + " bits on this unencrypted connection (use TLS, or GSSAPI)");
    }
    return joinMechs(mechs);
}

Result<SaslStep> SaslServer::refuse(std::string detail) {
    // Every refusal looks the same to the client; the reason stays in failureDetail_.
    failureDetail_ = std::move(detail);
    return fail(ErrorCode::AuthFailed, "", ErrorDomain::Rpc);
}

Result<SaslStep> SaslServer::start(std::string_view mech, const SaslData& clientData) {
    std::lock_guard serial(global().negotiation);
    std::lock_guard lock(mutex_);
    if (phase_ != Phase::Fresh) {
        return refuse("SASL start after the negotiation has begun");
    }
    phase_ = Phase::Failed;  // until proven otherwise
    std::vector<std::string> mechs = offered();
    bool known =
        std::any_of(mechs.begin(), mechs.end(), [&](const std::string& m) { return m == mech; });
    bool digest = sameMech(mech, kDigestMd5);
    if (!known || (digest && !allowDigestMd5_)) {
        return refuse("client asked for SASL mechanism '" + std::string(mech) +
                      "', which is not offered");
    }
    if (digest) {
        warnings_.emplace_back(
            "a client is authenticating with the deprecated SASL mechanism 'DIGEST-MD5' "
            "(RFC 6331)");
    }
    std::string mechName(mech);
    const char* out = nullptr;
    unsigned outLen = 0;
    int rc = sasl_server_start(conn_, mechName.c_str(), clientData ? clientData->data() : nullptr,
                               clientData ? static_cast<unsigned>(clientData->size()) : 0, &out,
                               &outLen);
    phase_ = Phase::Started;
    if (rc == SASL_NOUSER && clientData) {
        // Cyrus would tell the client at once that no such user exists; answer as it answers a
        // real one, and fail at the next step as a wrong password fails.
        if (auto decoy = scramDecoyServerFirst(mech, *clientData)) {
            decoyUser_ = claimedSaslUser(mech, *clientData);
            return SaslStep{SaslStep::State::Continue, std::move(*decoy)};
        }
    }
    return finish(rc, out, outLen);
}

Result<SaslStep> SaslServer::step(const SaslData& clientData) {
    std::lock_guard serial(global().negotiation);
    std::lock_guard lock(mutex_);
    if (phase_ != Phase::Started) {
        return refuse("SASL step without a negotiation in progress");
    }
    if (decoyUser_) {
        phase_ = Phase::Failed;
        return refuse("user '" + *decoyUser_ + "' is not in the SASL database (answered with a decoy salt)");
    }
    const char* out = nullptr;
    unsigned outLen = 0;
    int rc =
        sasl_server_step(conn_, clientData ? clientData->data() : nullptr,
                         clientData ? static_cast<unsigned>(clientData->size()) : 0, &out, &outLen);
    return finish(rc, out, outLen);
}

Result<SaslStep> SaslServer::finish(int rc, const char* out, unsigned outLen) {
    SaslData data;
    if (out != nullptr) {
        data.emplace(out, outLen);
    }
    if (rc == SASL_CONTINUE) {
        return SaslStep{SaslStep::State::Continue, std::move(data)};
    }
    if (rc != SASL_OK) {
        phase_ = Phase::Failed;
        return refuse(cyrusText(rc) + ": " + cyrusDetail());
    }
    phase_ = Phase::Done;
    const void* name = nullptr;
    if (sasl_getprop(conn_, SASL_USERNAME, &name) != SASL_OK || name == nullptr) {
        phase_ = Phase::Failed;
        return refuse("SASL did not report the client's user name");
    }
    std::string user = static_cast<const char*>(name);
    if (!strongEnough()) {
        unsigned got = ssfLocked();
        phase_ = Phase::Failed;
        return refuse("negotiated SSF " + std::to_string(got) + " is below the minimum of " +
                      std::to_string(minSsf_) + " for user '" + user + "'");
    }
    // sasl_allowed_username_list: GLib-style globs, as for tls_allowed_dn_list (globMatch).
    if (!allowedUsernames_.empty() &&
        std::none_of(allowedUsernames_.begin(), allowedUsernames_.end(),
                     [&](const std::string& glob) { return globMatch(glob, user); })) {
        phase_ = Phase::Failed;
        return refuse("client's username '" + user + "' is not on the list of allowed clients");
    }
    username_ = std::move(user);
    return SaslStep{SaslStep::State::Done, std::move(data)};
}

std::string SaslServer::username() const {
    std::lock_guard lock(mutex_);
    return username_;
}

std::string SaslServer::failureDetail() const {
    std::lock_guard lock(mutex_);
    return failureDetail_;
}

std::vector<std::string> SaslServer::takeWarnings() {
    std::lock_guard lock(mutex_);
    return std::exchange(warnings_, {});
}

// ---------------------------------------------------------------------------------------------
// SaslClient

/// The callbacks Cyrus calls for the client's credentials; `context` is the SaslClient.
struct SaslClientCallbacks {
    std::array<sasl_callback_t, 4> entries{};

    explicit SaslClientCallbacks(SaslClient* client) {
        entries = {{
            {SASL_CB_AUTHNAME, asCallback(&simple), client},
            {SASL_CB_USER, asCallback(&simple), client},
            {SASL_CB_PASS, asCallback(&secret), client},
            {SASL_CB_LIST_END, nullptr, nullptr},
        }};
    }

    static int simple(void* context, int id, const char** result, unsigned* len) {
        auto* self = static_cast<SaslClient*>(context);
        if (id == SASL_CB_USER) {
            // No authorization identity: act as the authenticated user.
            *result = "";
            if (len != nullptr) {
                *len = 0;
            }
            return SASL_OK;
        }
        if (!self->user_) {
            if (!self->options_.credentials.username) {
                return SASL_FAIL;
            }
            self->user_ = self->options_.credentials.username();
            if (!self->user_) {
                return SASL_FAIL;
            }
        }
        *result = self->user_->c_str();
        if (len != nullptr) {
            *len = static_cast<unsigned>(self->user_->size());
        }
        return SASL_OK;
    }

    static int secret(sasl_conn_t* /*conn*/, void* context, int /*id*/, sasl_secret_t** out) {
        auto* self = static_cast<SaslClient*>(context);
        if (!self->options_.credentials.password) {
            return SASL_FAIL;
        }
        std::optional<std::string> password = self->options_.credentials.password();
        if (!password) {
            return SASL_FAIL;
        }
        // sasl_secret_t is a length followed by the bytes; Cyrus reads it until the next call.
        if (!self->secret_.empty()) {
            explicit_bzero(self->secret_.data(), self->secret_.size());
        }
        self->secret_.assign(sizeof(sasl_secret_t) + password->size() + 1, 0);
        auto* s = reinterpret_cast<sasl_secret_t*>(self->secret_.data());
        s->len = password->size();
        std::copy(password->begin(), password->end(), s->data);
        explicit_bzero(password->data(), password->size());
        *out = s;
        return SASL_OK;
    }
};

SaslClient::SaslClient(SaslClientOptions options)
    : SaslSession(options.externalSsf, options.minSsf), options_(std::move(options)) {}

SaslClient::~SaslClient() {
    // Cyrus may still reach the callbacks while disposing: end it before they go.
    dispose();
    if (!secret_.empty()) {
        explicit_bzero(secret_.data(), secret_.size());
    }
}

Result<std::unique_ptr<SaslClient>> SaslClient::create(SaslClientOptions options) {
    CORRAL_TRY(initSaslClient());
    std::unique_ptr<SaslClient> client(new SaslClient(std::move(options)));
    client->callbacks_ = std::make_unique<SaslClientCallbacks>(client.get());
    std::string service(kSaslService);
    std::lock_guard serial(global().negotiation);
    const SaslClientOptions& o = client->options_;
    int rc = sasl_client_new(service.c_str(), orNull(o.serverHost), orNull(o.localAddr),
                             orNull(o.remoteAddr), client->callbacks_->entries.data(), 0,
                             &client->conn_);
    if (rc != SASL_OK) {
        return fail(ErrorCode::AuthFailed,
                    "failed to create SASL client context: " + cyrusText(rc));
    }
    CORRAL_TRY(client->setSecurityProperties());
    return client;
}

Result<SaslClient::Choice> SaslClient::start(std::string_view serverMechs,
                                             std::string_view onlyMech) {
    std::lock_guard serial(global().negotiation);
    std::lock_guard lock(mutex_);
    if (phase_ != Phase::Fresh) {
        return fail(ErrorCode::InternalError, "SASL negotiation already started");
    }
    std::string list(serverMechs);
    if (!onlyMech.empty()) {
        // Case-sensitive, as virsh's ?auth=sasl.MECH: "digest-md5" does not select DIGEST-MD5.
        auto mechs = splitMechs(serverMechs);
        if (std::find(mechs.begin(), mechs.end(), onlyMech) == mechs.end()) {
            return fail(ErrorCode::AuthFailed,
                        "SASL mechanism '" + std::string(onlyMech) + "' not supported by server");
        }
        list = onlyMech;
    }
    phase_ = Phase::Failed;
    sasl_interact_t* interact = nullptr;
    const char* out = nullptr;
    unsigned outLen = 0;
    const char* mech = nullptr;
    int rc = sasl_client_start(conn_, list.c_str(), &interact, &out, &outLen, &mech);
    if (rc != SASL_OK && rc != SASL_CONTINUE) {
        return fail(ErrorCode::AuthFailed,
                    "failed to start SASL negotiation with '" + list + "': " + cyrusDetail());
    }
    phase_ = Phase::Started;
    CORRAL_ASSIGN_OR_RETURN(SaslStep first, finish(rc, out, outLen));
    return Choice{mech != nullptr ? mech : "", std::move(first.data),
                  first.state == SaslStep::State::Done};
}

Result<SaslStep> SaslClient::step(const SaslData& serverData) {
    std::lock_guard serial(global().negotiation);
    std::lock_guard lock(mutex_);
    if (phase_ != Phase::Started) {
        return fail(ErrorCode::InternalError, "no SASL negotiation in progress");
    }
    sasl_interact_t* interact = nullptr;
    const char* out = nullptr;
    unsigned outLen = 0;
    int rc = sasl_client_step(conn_, serverData ? serverData->data() : nullptr,
                              serverData ? static_cast<unsigned>(serverData->size()) : 0, &interact,
                              &out, &outLen);
    if (rc != SASL_OK && rc != SASL_CONTINUE) {
        phase_ = Phase::Failed;
        return fail(ErrorCode::AuthFailed, "SASL negotiation failed: " + cyrusDetail());
    }
    return finish(rc, out, outLen);
}

Result<SaslStep> SaslClient::finish(int rc, const char* out, unsigned outLen) {
    SaslData data;
    if (out != nullptr) {
        data.emplace(out, outLen);
    }
    if (rc == SASL_CONTINUE) {
        return SaslStep{SaslStep::State::Continue, std::move(data)};
    }
    phase_ = Phase::Done;
    if (!strongEnough()) {
        unsigned got = ssfLocked();
        phase_ = Phase::Failed;
        return fail(ErrorCode::AuthFailed, "negotiated SSF " + std::to_string(got) +
                                               " was not strong enough (at least " +
                                               std::to_string(minSsf_) + " needed)");
    }
    return SaslStep{SaslStep::State::Done, std::move(data)};
}

}  // namespace corral::rpc
