// SPDX-License-Identifier: LGPL-2.1-or-later
// vol-upload and vol-download as virsh's: a file's bytes to a volume, a volume's bytes to a
// file, through the call's data stream (--offset, --length). With --sparse, holes travel as
// STREAM_HOLE records instead of zeros, both ways, as virsh sends and keeps them.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "../cli.hpp"
#include "rpc/generated/netmessage_protocol.hpp"
#include "storage_common.hpp"
#include "util/unique_fd.hpp"

namespace corral::cli {

namespace proto = rpc::proto;

namespace {

/// What the server said on the stream so far.
struct StreamState {
    bool endOfData = false;  ///< a download's empty data packet
    bool ended = false;      ///< the server's STREAM/OK or STREAM/ERROR
    std::optional<Error> error;
};

void onStreamEnd(const rpc::Packet& p, StreamState& state) {
    state.ended = true;
    if (p.header.status != rpc::MessageStatus::Error) {
        return;
    }
    proto::remote_error err{};
    if (proto::decodeFromBytes(p.payload, err)) {
        state.error = Error{static_cast<ErrorCode>(err.code), static_cast<ErrorDomain>(err.domain),
                            err.message.value_or("")};
        state.error->verbatim = true;
    } else {
        state.error = Error{ErrorCode::Rpc, ErrorDomain::Rpc, "the stream failed"};
    }
}

/// --offset and --length as virsh reads them (scaled integers, bytes without a suffix).
bool offsetAndLength(Context& ctx, std::uint64_t& offset, std::uint64_t& length) {
    for (auto [name, out] : {std::pair{"offset", &offset}, std::pair{"length", &length}}) {
        *out = 0;
        if (auto text = ctx.args.get(name)) {
            auto v = parseSize(*text);
            if (!v) {
                printError(std::string("Unable to parse integer parameter to --") + name);
                return false;
            }
            *out = *v;
        }
    }
    return true;
}

/// virStorageVolUpload/Download's flag asking for a sparse stream.
constexpr std::uint32_t kSparseStream = 1;

/// Where `fd`'s offset stands: in data or in a hole, and how far that section goes (0 at the
/// end of the file). The offset is left where it was.
struct Section {
    bool data = false;
    std::uint64_t length = 0;
};
std::optional<Section> sectionAt(int fd) {
    const off_t cur = ::lseek(fd, 0, SEEK_CUR);
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (cur < 0 || end < 0) {
        return std::nullopt;
    }
    Section s;
    const off_t nextData = ::lseek(fd, cur, SEEK_DATA);
    if (nextData < 0 && errno != ENXIO) {
        return std::nullopt;
    }
    if (nextData < 0 || nextData > cur) {  // a hole, to the next data or to the end
        s.length = static_cast<std::uint64_t>((nextData < 0 ? end : nextData) - cur);
    } else {
        const off_t nextHole = ::lseek(fd, cur, SEEK_HOLE);
        if (nextHole < 0) {
            return std::nullopt;
        }
        s.data = true;
        s.length = static_cast<std::uint64_t>(nextHole - cur);
    }
    if (::lseek(fd, cur, SEEK_SET) < 0) {
        return std::nullopt;
    }
    return s;
}

/// Waits for the server's end of the stream (its answer to our finish).
Result<void> awaitEnd(client::Connection& conn, StreamState& state) {
    return conn.pump(std::chrono::steady_clock::now() + std::chrono::hours(24), [&] { return state.ended; });
}

/// What both directions start from: the connection, the volume, the range and the local file;
/// nullopt once an error is printed.
struct Transfer {
    client::Connection* conn = nullptr;
    proto::remote_nonnull_storage_vol vol;
    std::uint64_t offset = 0, length = 0;
    std::string file;
};

std::optional<Transfer> beginTransfer(Context& ctx) {
    Transfer t;
    t.conn = openConnection(ctx);
    if (t.conn == nullptr) {
        return std::nullopt;
    }
    auto vol = lookupVol(*t.conn, *ctx.args.get("vol"), ctx.args.get("pool"));
    if (!vol || !offsetAndLength(ctx, t.offset, t.length)) {
        return std::nullopt;
    }
    t.vol = *vol;
    t.file = *ctx.args.get("file");
    return t;
}

int volUpload(Context& ctx) {
    auto t = beginTransfer(ctx);
    if (!t) {
        return 1;
    }
    client::Connection* conn = t->conn;
    const auto* vol = &t->vol;
    const std::uint64_t offset = t->offset, length = t->length;
    const std::string& file = t->file;
    UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        printError("cannot read " + file);
        return 1;
    }
    const bool sparse = ctx.args.flag("sparse");
    proto::remote_storage_vol_upload_args a{*vol, offset, length, sparse ? kSparseStream : 0};
    if (auto r = conn->call<proto::REMOTE_PROC_STORAGE_VOL_UPLOAD>(a); !r) {
        printError("cannot upload to volume " + vol->name, r.error());
        return 1;
    }
    const std::uint32_t serial = conn->lastSerial();
    StreamState state;
    conn->setStreamHandler([&](const rpc::Packet& p) {
        if (p.header.serial == serial && p.header.status != rpc::MessageStatus::Continue) {
            onStreamEnd(p, state);
        }
    });
    std::vector<std::uint8_t> buf(256 * 1024);
    Result<void> sent;
    while (sent && !state.ended) {
        std::size_t want = buf.size();
        if (sparse) {
            auto section = sectionAt(in.get());
            if (!section) {
                (void)conn->finishStream(proto::REMOTE_PROC_STORAGE_VOL_UPLOAD, serial, true);
                printError("cannot read " + file);
                return 1;
            }
            if (section->length == 0) {
                break;  // the end of the file
            }
            if (!section->data) {
                sent = conn->sendStreamHole(proto::REMOTE_PROC_STORAGE_VOL_UPLOAD, serial, section->length);
                if (sent && ::lseek(in.get(), static_cast<off_t>(section->length), SEEK_CUR) < 0) {
                    sent = failErrno(errno, "cannot seek in " + file);
                }
                if (sent) {
                    sent = conn->pumpAvailable();
                }
                continue;
            }
            want = std::min<std::uint64_t>(want, section->length);
        }
        ssize_t n = ::read(in.get(), buf.data(), want);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            (void)conn->finishStream(proto::REMOTE_PROC_STORAGE_VOL_UPLOAD, serial, true);
            printError("cannot read " + file);
            return 1;
        }
        if (n == 0) {
            break;
        }
        sent = conn->sendStream(proto::REMOTE_PROC_STORAGE_VOL_UPLOAD, serial,
                                std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
        if (sent) {
            sent = conn->pumpAvailable();  // an error the server sent meanwhile ends the upload
        }
    }
    if (sent && !state.ended) {
        sent = conn->finishStream(proto::REMOTE_PROC_STORAGE_VOL_UPLOAD, serial, false);
    }
    if (sent && !state.ended) {
        sent = awaitEnd(*conn, state);
    }
    conn->setStreamHandler(nullptr);
    if (!sent || state.error) {
        printError("cannot close volume " + vol->name, state.error ? *state.error : sent.error());
        return 1;
    }
    return 0;
}

int volDownload(Context& ctx) {
    auto t = beginTransfer(ctx);
    if (!t) {
        return 1;
    }
    client::Connection* conn = t->conn;
    const auto* vol = &t->vol;
    const std::uint64_t offset = t->offset, length = t->length;
    const std::string& file = t->file;
    UniqueFd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!out) {
        printError("cannot create " + file);
        return 1;
    }
    const bool sparse = ctx.args.flag("sparse");
    proto::remote_storage_vol_download_args a{*vol, offset, length, sparse ? kSparseStream : 0};
    if (auto r = conn->call<proto::REMOTE_PROC_STORAGE_VOL_DOWNLOAD>(a); !r) {
        printError("cannot download from volume " + vol->name, r.error());
        return 1;
    }
    const std::uint32_t serial = conn->lastSerial();
    StreamState state;
    bool writeFailed = false;
    conn->setStreamHandler([&](const rpc::Packet& p) {
        if (p.header.serial != serial) {
            return;
        }
        if (p.header.status != rpc::MessageStatus::Continue) {
            onStreamEnd(p, state);
            return;
        }
        if (p.header.type == rpc::MessageType::StreamHole) {
            // virsh's way: seek past the hole and set the file's size there, so a trailing hole
            // still makes the file as long as the volume.
            proto::remote_stream_hole hole{};
            off_t at = -1;
            if (!proto::decodeFromBytes(p.payload, hole) || hole.length < 0 ||
                (at = ::lseek(out.get(), static_cast<off_t>(hole.length), SEEK_CUR)) < 0 ||
                ::ftruncate(out.get(), at) != 0) {
                writeFailed = true;
            }
            return;
        }
        if (p.payload.empty()) {
            state.endOfData = true;
            return;
        }
        for (std::size_t done = 0; done < p.payload.size() && !writeFailed;) {
            ssize_t n = ::write(out.get(), p.payload.data() + done, p.payload.size() - done);
            if (n < 0 && errno != EINTR) {
                writeFailed = true;
            }
            done += n > 0 ? static_cast<std::size_t>(n) : 0;
        }
    });
    auto pumped = conn->pump(std::chrono::steady_clock::now() + std::chrono::hours(24),
                             [&] { return state.endOfData || state.ended || writeFailed; });
    if (pumped && !state.ended) {
        pumped = conn->finishStream(proto::REMOTE_PROC_STORAGE_VOL_DOWNLOAD, serial, writeFailed);
        if (pumped) {
            pumped = awaitEnd(*conn, state);
        }
    }
    conn->setStreamHandler(nullptr);
    if (writeFailed) {
        printError("cannot write " + file);
        return 1;
    }
    if (!pumped || state.error) {
        printError("cannot receive data from volume " + vol->name, state.error ? *state.error : pumped.error());
        return 1;
    }
    return 0;
}

}  // namespace

void registerStorageVolStreamCommands() {
    OptSpec vol{"vol", OptKind::String, true, true, "vol name, key or path"};
    OptSpec file{"file", OptKind::String, true, true, "file"};
    OptSpec pool{"pool", OptKind::String, false, false, "pool name or uuid"};
    OptSpec offset{"offset", OptKind::String, false, false, "volume offset to upload to"};
    OptSpec length{"length", OptKind::String, false, false, "amount of data to upload"};
    OptSpec sparse{"sparse", OptKind::Bool, false, false, "preserve sparseness of volume"};
    
    registerCommand(
        {"vol-upload", "upload file contents to a volume", {vol, file, pool, offset, length, sparse}, volUpload});
    registerCommand({"vol-download", "download volume contents to a file", {vol, file, pool, offset, length, sparse},
                     volDownload});
}

}  // namespace corral::cli
