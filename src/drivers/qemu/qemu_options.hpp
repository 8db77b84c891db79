// SPDX-License-Identifier: LGPL-2.1-or-later
// QemuOpts: one "key=value,key=value" argument of QEMU's command line, built so that no value can
// add a key of its own. QEMU reads ",," inside a value as one ','; every value goes through that
// escape, and the keys come from this driver's code only. A name "x,process=evil" becomes
// "guest=x,,process=evil", which QEMU reads back as the name "x,process=evil".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace corral::drivers::qemu {

/// `value` with every ',' written twice: what QEMU's option parsers read back as `value`.
std::string escapeQemuOptionValue(std::string_view value);

class QemuOpts {
public:
    QemuOpts() = default;
    /// An option that starts with a bare value: a device's driver ("virtio-net-pci"), the
    /// machine type, a chardev's backend, the VNC address (escaped like any value).
    explicit QemuOpts(std::string_view leading);

    /// Appends ",key=value" (no comma before the first part). `key` is this driver's own.
    QemuOpts& add(std::string_view key, std::string_view value);
    QemuOpts& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
    QemuOpts& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
    QemuOpts& add(std::string_view key, std::uint64_t value);
    QemuOpts& add(std::string_view key, unsigned value) { return add(key, static_cast<std::uint64_t>(value)); }
    QemuOpts& add(std::string_view key, int value) = delete;  // fds and ports: say which sign

    [[nodiscard]] const std::string& str() const { return text_; }

private:
    std::string text_;
};

}  // namespace corral::drivers::qemu
