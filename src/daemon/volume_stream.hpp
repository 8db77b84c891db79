// SPDX-License-Identifier: LGPL-2.1-or-later
// The streams of virStorageVolUpload and virStorageVolDownload. Each has a thread of its own
// that does the file work, so a slow disk never holds the I/O thread:
//
// VolumeUploadStream: the client's data and holes are queued by the I/O thread (which stops
// reading the client while too much is queued) and written by the stream's thread; the client's
// finish puts the upload in place (drivers::VolumeUpload::finish) and is answered with an empty
// STREAM/OK, or a STREAM/ERROR saying why it failed. An abort, the client going away, or a
// failed write drops the upload: the volume keeps its old content.
//
// VolumeDownloadStream: the volume's bytes go to the client as STREAM/CONTINUE packets of at
// most 262120 bytes (libvirt's chunk) and, for a sparse stream, its holes as STREAM_HOLE
// packets; an empty STREAM/CONTINUE says the end, which the client finishes. The thread waits
// while the client does not read (ClientSession::waitForRoom).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "daemon/daemon_stream.hpp"
#include "drivers/interfaces/storage.hpp"
#include "rpc/packet.hpp"

namespace corral::daemon {

class ClientSession;

class VolumeUploadStream final : public DaemonStream, public std::enable_shared_from_this<VolumeUploadStream> {
public:
    /// `call` is the STORAGE_VOL_UPLOAD call; `sparse`: holes are allowed.
    VolumeUploadStream(std::weak_ptr<ClientSession> session, const rpc::MessageHeader& call,
                       std::unique_ptr<drivers::VolumeUpload> upload, bool sparse);
    ~VolumeUploadStream() override;
    VolumeUploadStream(const VolumeUploadStream&) = delete;
    VolumeUploadStream& operator=(const VolumeUploadStream&) = delete;

    /// Starts the writer (after the call's reply went out).
    void start();
    [[nodiscard]] std::uint32_t serial() const override { return header_.serial; }
    void write(std::span<const std::uint8_t> data) override;
    void hole(std::span<const std::uint8_t> payload) override;
    void finishByClient(bool abort) override;
    void close() override;
    [[nodiscard]] std::size_t pendingInput() const override;

private:
    enum class Ending : std::uint8_t { None, Finish, Abort, Close };
    struct Item {
        std::vector<std::uint8_t> data;
        std::uint64_t hole = 0;
    };
    void run();
    /// Ends the stream with `err` (STREAM/ERROR), the upload dropped.
    void failWith(ClientSession* session, const Error& err);

    std::weak_ptr<ClientSession> session_;
    rpc::MessageHeader header_;
    std::unique_ptr<drivers::VolumeUpload> upload_;  ///< the writer's only
    const bool sparse_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Item> queue_;     ///< guarded by mutex_
    std::size_t queued_ = 0;     ///< data bytes in queue_, guarded by mutex_
    Ending ending_ = Ending::None;  ///< guarded by mutex_
    std::optional<Error> inputError_;  ///< a hole the stream cannot take; guarded by mutex_
    std::thread thread_;
};

class VolumeDownloadStream final : public DaemonStream, public std::enable_shared_from_this<VolumeDownloadStream> {
public:
    /// libvirt's largest data packet on a stream (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX).
    static constexpr std::size_t kChunk = 262120;

    VolumeDownloadStream(std::weak_ptr<ClientSession> session, const rpc::MessageHeader& call,
                         std::unique_ptr<drivers::VolumeDownload> download);
    ~VolumeDownloadStream() override;
    VolumeDownloadStream(const VolumeDownloadStream&) = delete;
    VolumeDownloadStream& operator=(const VolumeDownloadStream&) = delete;

    void start();
    [[nodiscard]] std::uint32_t serial() const override { return header_.serial; }
    /// A download takes no data: a client that sends some gets the stream ended with an error.
    void write(std::span<const std::uint8_t> data) override;
    void hole(std::span<const std::uint8_t> payload) override;
    void finishByClient(bool abort) override;
    void close() override;
    [[nodiscard]] std::size_t pendingInput() const override { return 0; }

private:
    void run();
    [[nodiscard]] bool stopping() const;

    std::weak_ptr<ClientSession> session_;
    rpc::MessageHeader header_;
    std::unique_ptr<drivers::VolumeDownload> download_;  ///< the reader's only
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool clientEnded_ = false;  ///< guarded by mutex_
    bool closed_ = false;       ///< guarded by mutex_
    bool clientSentData_ = false;  ///< guarded by mutex_
    std::thread thread_;
};

}  // namespace corral::daemon
