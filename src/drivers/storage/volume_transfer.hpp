// SPDX-License-Identifier: LGPL-2.1-or-later
// The files behind vol-upload and vol-download. An upload is written to an unnamed file
// (O_TMPFILE) in the pool's directory and renamed over the volume only when the client finished
// it: a daemon killed in the middle leaves the volume as it was and, the file having no name,
// nothing behind. A download reads the volume's file as it is, its holes reported as holes for
// a sparse stream.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "drivers/interfaces/storage.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace corral::drivers::storage {

/// Names an upload's file gets between being complete and replacing the volume (or always,
/// where the file system has no O_TMPFILE). A refresh never lists them as volumes and removes
/// what a killed daemon left.
inline constexpr std::string_view kUploadFilePrefix = ".corral-upload-";
[[nodiscard]] bool isUploadFileName(std::string_view name);

/// The bytes [offset, offset + length) an upload of `written` bytes replaced, and which parts of
/// the old file of `oldSize` bytes it keeps: the part before `offset` and the part after the
/// upload. Pure arithmetic, for the copy at the end of an upload.
struct KeptRanges {
    std::uint64_t headEnd = 0;    ///< [0, headEnd) is copied from the old file
    std::uint64_t tailStart = 0;  ///< [tailStart, tailEnd) is copied from the old file
    std::uint64_t tailEnd = 0;
    std::uint64_t newSize = 0;  ///< the size of the new file
};
[[nodiscard]] KeptRanges keptRanges(std::uint64_t oldSize, std::uint64_t offset, std::uint64_t written);

class UploadFile {
public:
    /// Opens the volume `name` in the directory `dir` (no symbolic link followed) and the new,
    /// unnamed file next to it. `length` 0 means no bound.
    static Result<UploadFile> open(const std::string& dir, const std::string& name, std::uint64_t offset,
                                   std::uint64_t length);
    UploadFile(UploadFile&&) = default;
    UploadFile& operator=(UploadFile&&) = default;
    /// Removes the named file seal() made, if install() did not take it.
    ~UploadFile();

    Result<void> write(std::span<const std::uint8_t> data);
    Result<void> skip(std::uint64_t length);
    /// Completes the file (the old bytes outside the upload, the old owner and mode), writes it
    /// to disk and gives it a name of its own in the directory (returned) for a look before
    /// install().
    Result<std::string> seal();
    /// Renames the sealed file over the volume.
    Result<void> install();

private:
    UploadFile() = default;
    Result<void> room(std::uint64_t bytes) const;

    std::string dirPath_;
    std::string name_;
    UniqueFd dir_;
    UniqueFd old_;
    UniqueFd file_;
    std::string fileName_;  ///< the name the file has ("" while unnamed)
    bool installed_ = false;
    std::uint64_t offset_ = 0;
    std::uint64_t length_ = 0;
    std::uint64_t written_ = 0;  ///< bytes and holes so far
};

class DownloadFile final : public VolumeDownload {
public:
    static Result<DownloadFile> open(const std::string& dir, const std::string& name, std::uint64_t offset,
                                     std::uint64_t length, bool sparse);
    Result<VolumeChunk> read(std::span<std::uint8_t> buffer) override;

private:
    DownloadFile() = default;
    std::string path_;
    UniqueFd fd_;
    std::uint64_t pos_ = 0;
    std::uint64_t end_ = 0;
    bool sparse_ = false;
};

}  // namespace corral::drivers::storage
