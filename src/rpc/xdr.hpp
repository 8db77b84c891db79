// SPDX-License-Identifier: LGPL-2.1-or-later
// XDR (RFC 4506) encoding and decoding as rpcgen does it, which is what libvirt's wire uses:
// big-endian 4-byte units, chars and shorts widened to 4 bytes, opaque data zero-padded.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace corral::rpc::proto {

/// Marks a variable-length item with no bound in the .x (`<>`): only the packet size limits it.
inline constexpr std::uint32_t kNoBound = 0xFFFFFFFFu;

/// The argument or result of a procedure that has none.
struct xdr_void {};

class XdrEncoder {
public:
    explicit XdrEncoder(std::vector<std::uint8_t>& out) : out_(out) {}

    void putUint32(std::uint32_t v) {
        std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
        out_.insert(out_.end(), b, b + 4);
    }
    void putInt32(std::int32_t v) { putUint32(static_cast<std::uint32_t>(v)); }
    void putUint64(std::uint64_t v) {
        putUint32(static_cast<std::uint32_t>(v >> 32));
        putUint32(static_cast<std::uint32_t>(v));
    }
    void putInt64(std::int64_t v) { putUint64(static_cast<std::uint64_t>(v)); }
    void putDouble(double v) {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        putUint64(bits);
    }
    // rpcgen's xdr_char/xdr_u_char/xdr_short/xdr_u_short: one 4-byte word each.
    void putChar(char v) { putInt32(static_cast<signed char>(v)); }
    void putUchar(std::uint8_t v) { putUint32(v); }
    void putShort(std::int16_t v) { putInt32(v); }
    void putUshort(std::uint16_t v) { putUint32(v); }

    void putFixedOpaque(const std::uint8_t* data, std::size_t n) {
        out_.insert(out_.end(), data, data + n);
        pad(n);
    }
    void putVarOpaque(const std::vector<std::uint8_t>& v) {
        putUint32(static_cast<std::uint32_t>(v.size()));
        putFixedOpaque(v.data(), v.size());
    }
    void putString(std::string_view s) {
        putUint32(static_cast<std::uint32_t>(s.size()));
        out_.insert(out_.end(), s.begin(), s.end());
        pad(s.size());
    }

private:
    void pad(std::size_t n) { out_.resize(out_.size() + ((4 - n % 4) % 4), 0); }
    std::vector<std::uint8_t>& out_;
};

/// Reads XDR from a byte span. Every getter returns false (and stays failed) on truncated
/// input or a bound violation; nothing is ever read past the span.
class XdrDecoder {
public:
    explicit XdrDecoder(std::span<const std::uint8_t> in) : in_(in) {}

    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] bool atEnd() const { return pos_ == in_.size(); }
    [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }
    bool fail() {
        ok_ = false;
        return false;
    }

    bool getUint32(std::uint32_t& v) {
        if (!ok_ || remaining() < 4) {
            return fail();
        }
        const std::uint8_t* p = in_.data() + pos_;
        v = static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
            static_cast<std::uint32_t>(p[2]) << 8 | p[3];
        pos_ += 4;
        return true;
    }
    bool getInt32(std::int32_t& v) {
        std::uint32_t u = 0;
        if (!getUint32(u)) {
            return false;
        }
        v = static_cast<std::int32_t>(u);
        return true;
    }
    bool getUint64(std::uint64_t& v) {
        std::uint32_t hi = 0;
        std::uint32_t lo = 0;
        if (!getUint32(hi) || !getUint32(lo)) {
            return false;
        }
        v = static_cast<std::uint64_t>(hi) << 32 | lo;
        return true;
    }
    bool getInt64(std::int64_t& v) {
        std::uint64_t u = 0;
        if (!getUint64(u)) {
            return false;
        }
        v = static_cast<std::int64_t>(u);
        return true;
    }
    bool getDouble(double& v) {
        std::uint64_t bits = 0;
        if (!getUint64(bits)) {
            return false;
        }
        std::memcpy(&v, &bits, sizeof v);
        return true;
    }
    bool getChar(char& v) {
        std::int32_t w = 0;
        if (!getInt32(w)) {
            return false;
        }
        v = static_cast<char>(w);
        return true;
    }
    bool getUchar(std::uint8_t& v) {
        std::uint32_t w = 0;
        if (!getUint32(w)) {
            return false;
        }
        v = static_cast<std::uint8_t>(w);
        return true;
    }
    bool getShort(std::int16_t& v) {
        std::int32_t w = 0;
        if (!getInt32(w)) {
            return false;
        }
        v = static_cast<std::int16_t>(w);
        return true;
    }
    bool getUshort(std::uint16_t& v) {
        std::uint32_t w = 0;
        if (!getUint32(w)) {
            return false;
        }
        v = static_cast<std::uint16_t>(w);
        return true;
    }

    bool getFixedOpaque(std::uint8_t* data, std::size_t n) {
        std::size_t padded = n + (4 - n % 4) % 4;
        if (!ok_ || remaining() < padded) {
            return fail();
        }
        std::memcpy(data, in_.data() + pos_, n);
        pos_ += padded;
        return true;
    }
    bool getVarOpaque(std::vector<std::uint8_t>& v, std::uint32_t max) {
        std::uint32_t n = 0;
        if (!getCount(n, max, 1)) {
            return false;
        }
        v.resize(n);
        return getFixedOpaque(v.data(), n);
    }
    bool getString(std::string& s, std::uint32_t max) {
        std::uint32_t n = 0;
        if (!getCount(n, max, 1)) {
            return false;
        }
        std::size_t padded = n + (4 - n % 4) % 4;
        if (remaining() < padded) {
            return fail();
        }
        s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
        pos_ += padded;
        return true;
    }
    /// Reads an element count: within `max` and plausible for the bytes left (each element takes
    /// at least `minElementSize` bytes), so a lying count cannot make us allocate gigabytes.
    bool getCount(std::uint32_t& n, std::uint32_t max, std::size_t minElementSize) {
        if (!getUint32(n)) {
            return false;
        }
        if ((max != kNoBound && n > max) || n > remaining() / minElementSize) {
            return fail();
        }
        return true;
    }

private:
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

inline void encode(XdrEncoder&, const xdr_void&) {}
inline bool decode(XdrDecoder& dec, xdr_void&) { return dec.ok(); }

/// One procedure of a program, from the annotations in our .x files.
struct ProcedureInfo {
    std::int32_t number;
    std::string_view name;       ///< "DOMAIN_LOOKUP_BY_NAME"
    bool readonlyAllowed;        ///< may a read-only connection call it
    std::uint32_t readonlyDeniedFlags;  ///< flags that forbid it on read-only connections anyway
    bool highPriority;           ///< served by the high-priority worker pool
    bool hasCodec;               ///< argument/return structs are transcribed
};

template <std::size_t N>
const ProcedureInfo* lookupProcedure(const ProcedureInfo (&table)[N], std::int32_t number) {
    // Tables are sorted by number and nearly dense: binary search.
    std::size_t lo = 0;
    std::size_t hi = N;
    while (lo < hi) {
        std::size_t mid = (lo + hi) / 2;
        if (table[mid].number == number) {
            return &table[mid];
        }
        if (table[mid].number < number) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return nullptr;
}

template <class T>
std::vector<std::uint8_t> encodeToBytes(const T& value) {
    std::vector<std::uint8_t> out;
    XdrEncoder enc(out);
    encode(enc, value);
    return out;
}

/// True only if `bytes` holds exactly one well-formed T.
template <class T>
bool decodeFromBytes(std::span<const std::uint8_t> bytes, T& value) {
    XdrDecoder dec(bytes);
    return decode(dec, value) && dec.ok() && dec.atEnd();
}

}  // namespace corral::rpc::proto
