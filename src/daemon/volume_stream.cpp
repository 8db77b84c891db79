// SPDX-License-Identifier: LGPL-2.1-or-later
// VolumeUploadStream and VolumeDownloadStream: their threads and what the I/O thread hands them.
#include "daemon/volume_stream.hpp"

#include "daemon/client_session.hpp"
#include "rpc/generated/netmessage_protocol.hpp"

namespace corral::daemon {

namespace {

/// Download output queued for a client that does not read it: past this the reader waits.
constexpr std::size_t kMaxQueuedDownload = 1u << 20;

Error rpcError(std::string message) {
    Error err;
    err.code = ErrorCode::Rpc;
    err.domain = ErrorDomain::Rpc;
    err.message = std::move(message);
    return err;
}

/// The empty STREAM/OK that confirms a client's finish or abort.
void confirm(ClientSession& session, rpc::MessageHeader header) {
    header.status = rpc::MessageStatus::Ok;
    session.send(rpc::buildPacket(header, std::span<const std::uint8_t>()));
}

/// Joins the stream's thread, or lets it go when the thread itself dropped the last reference.
void joinOrDetach(std::thread& thread) {
    if (!thread.joinable()) {
        return;
    }
    if (thread.get_id() == std::this_thread::get_id()) {
        thread.detach();
    } else {
        thread.join();
    }
}

}  // namespace

// ---- upload ----

VolumeUploadStream::VolumeUploadStream(std::weak_ptr<ClientSession> session, const rpc::MessageHeader& call,
                                       std::unique_ptr<drivers::VolumeUpload> upload, bool sparse)
    : session_(std::move(session)), header_(call), upload_(std::move(upload)), sparse_(sparse) {
    header_.type = rpc::MessageType::Stream;
    header_.status = rpc::MessageStatus::Continue;
}

VolumeUploadStream::~VolumeUploadStream() {
    close();
    joinOrDetach(thread_);
}

void VolumeUploadStream::start() { thread_ = std::thread([self = shared_from_this()] { self->run(); }); }

void VolumeUploadStream::write(std::span<const std::uint8_t> data) {
    std::lock_guard lock(mutex_);
    if (ending_ != Ending::None || inputError_ || data.empty()) {
        return;  // an empty data packet carries nothing for an upload
    }
    queue_.push_back(Item{std::vector<std::uint8_t>(data.begin(), data.end()), 0});
    queued_ += data.size();
    cv_.notify_one();
}

void VolumeUploadStream::hole(std::span<const std::uint8_t> payload) {
    std::lock_guard lock(mutex_);
    if (ending_ != Ending::None || inputError_) {
        return;
    }
    rpc::proto::remote_stream_hole record{};
    if (!sparse_) {
        inputError_ = rpcError("Unexpected stream hole");  // libvirt's words
    } else if (!rpc::proto::decodeFromBytes(payload, record) || record.length < 0) {
        inputError_ = rpcError("malformed stream hole");
    } else if (record.length > 0) {
        queue_.push_back(Item{{}, static_cast<std::uint64_t>(record.length)});
    }
    cv_.notify_one();
}

void VolumeUploadStream::finishByClient(bool abort) {
    std::lock_guard lock(mutex_);
    if (ending_ == Ending::None) {
        ending_ = abort ? Ending::Abort : Ending::Finish;
    }
    cv_.notify_one();
}

void VolumeUploadStream::close() {
    std::lock_guard lock(mutex_);
    ending_ = Ending::Close;
    cv_.notify_one();
}

std::size_t VolumeUploadStream::pendingInput() const {
    std::lock_guard lock(mutex_);
    return queued_;
}

void VolumeUploadStream::failWith(ClientSession* session, const Error& err) {
    upload_.reset();  // the volume keeps its content; its busy mark goes
    if (session != nullptr) {
        session->send(buildStreamError(header_, err));
        // As libvirt: a client whose stream failed does not abort it (nothing would answer).
        session->removeStream(header_.serial);
        session->wake();  // a client held back for queued data may be read again
    }
}

void VolumeUploadStream::run() {
    for (;;) {
        Item item;
        Ending ending = Ending::None;
        std::optional<Error> inputError;
        bool wasHeldBack = false;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return !queue_.empty() || ending_ != Ending::None || inputError_; });
            ending = ending_;
            inputError = inputError_;
            if (ending == Ending::Close || ending == Ending::Abort || inputError) {
                wasHeldBack = queued_ > kMaxPendingInput;
                queue_.clear();  // data nobody will write
                queued_ = 0;
            } else if (!queue_.empty()) {
                item = std::move(queue_.front());
                queue_.pop_front();
                wasHeldBack = queued_ > kMaxPendingInput;
                queued_ -= item.data.size();
                wasHeldBack = wasHeldBack && queued_ <= kMaxPendingInput;
                ending = Ending::None;  // the finish comes after the data queued before it
            }
        }
        auto session = session_.lock();
        if (wasHeldBack && session) {
            session->wake();
        }
        if (ending == Ending::Close || !session) {
            upload_.reset();
            return;
        }
        if (inputError) {
            failWith(session.get(), *inputError);
            return;
        }
        if (ending == Ending::Abort) {
            upload_.reset();
            confirm(*session, header_);
            session->removeStream(header_.serial);
            return;
        }
        if (ending == Ending::Finish) {
            auto finished = upload_->finish();
            if (!finished) {
                failWith(session.get(), finished.error());
                return;
            }
            upload_.reset();  // the volume is free again before the client hears it is done
            confirm(*session, header_);
            session->removeStream(header_.serial);
            return;
        }
        auto written = item.data.empty() ? upload_->skip(item.hole) : upload_->write(item.data);
        if (!written) {
            {
                std::lock_guard lock(mutex_);
                inputError_ = written.error();  // the I/O thread queues nothing more
                queue_.clear();
                queued_ = 0;
            }
            failWith(session.get(), written.error());
            return;
        }
    }
}

// ---- download ----

VolumeDownloadStream::VolumeDownloadStream(std::weak_ptr<ClientSession> session, const rpc::MessageHeader& call,
                                           std::unique_ptr<drivers::VolumeDownload> download)
    : session_(std::move(session)), header_(call), download_(std::move(download)) {
    header_.type = rpc::MessageType::Stream;
    header_.status = rpc::MessageStatus::Continue;
}

VolumeDownloadStream::~VolumeDownloadStream() {
    close();
    joinOrDetach(thread_);
}

void VolumeDownloadStream::start() { thread_ = std::thread([self = shared_from_this()] { self->run(); }); }

void VolumeDownloadStream::write(std::span<const std::uint8_t> /*data*/) {
    std::lock_guard lock(mutex_);
    clientSentData_ = true;
    cv_.notify_one();
}

void VolumeDownloadStream::hole(std::span<const std::uint8_t> payload) { write(payload); }

void VolumeDownloadStream::finishByClient(bool /*abort*/) {
    std::lock_guard lock(mutex_);
    clientEnded_ = true;
    cv_.notify_one();
}

void VolumeDownloadStream::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    cv_.notify_one();
}

bool VolumeDownloadStream::stopping() const {
    std::lock_guard lock(mutex_);
    return closed_ || clientEnded_ || clientSentData_;
}

void VolumeDownloadStream::run() {
    std::vector<std::uint8_t> buf(kChunk);
    bool atEnd = false;
    while (!atEnd && !stopping()) {
        auto chunk = download_->read(buf);
        auto session = session_.lock();
        if (!session) {
            return;
        }
        if (!chunk) {
            download_.reset();
            session->send(buildStreamError(header_, chunk.error()));
            session->removeStream(header_.serial);
            return;
        }
        if (chunk->data > 0) {
            session->send(rpc::buildPacket(header_, std::span<const std::uint8_t>(buf.data(), chunk->data)));
        } else if (chunk->hole > 0) {
            rpc::MessageHeader h = header_;
            h.type = rpc::MessageType::StreamHole;
            rpc::proto::remote_stream_hole record{};
            record.length = static_cast<std::int64_t>(chunk->hole);
            record.flags = 0;
            session->send(rpc::buildPacket(h, record));
        } else {
            // Empty data is the end of the stream; the client finishes it.
            session->send(rpc::buildPacket(header_, std::span<const std::uint8_t>()));
            atEnd = true;
        }
        (void)session->waitForRoom(kMaxQueuedDownload, [this] { return stopping(); });
    }
    download_.reset();  // the volume's file is closed before the client hears anything more
    bool ended = false;
    bool sentData = false;
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return closed_ || clientEnded_ || clientSentData_; });
        if (closed_) {
            return;
        }
        ended = clientEnded_;
        sentData = clientSentData_;
    }
    auto session = session_.lock();
    if (!session) {
        return;
    }
    if (sentData && !ended) {
        session->send(buildStreamError(header_, rpcError("a volume download stream takes no data")));
    } else {
        confirm(*session, header_);
    }
    session->removeStream(header_.serial);
}

}  // namespace corral::daemon
