// SPDX-License-Identifier: LGPL-2.1-or-later
// The Linux key names and scancodes are facts of the PC keyboard (set 1) and of
// linux/input-event-codes.h; the keys outside the main block are those a guest console needs.
#include "util/keycodes.hpp"

#include <array>
#include <utility>

namespace corral {

namespace {

struct LinuxKey {
    std::string_view name;
    unsigned code;
    unsigned qnum;
};

// clang-format off
constexpr LinuxKey kLinuxKeys[] = {
    {"KEY_ESC", 1, 0x01}, {"KEY_1", 2, 0x02}, {"KEY_2", 3, 0x03}, {"KEY_3", 4, 0x04}, {"KEY_4", 5, 0x05},
    {"KEY_5", 6, 0x06}, {"KEY_6", 7, 0x07}, {"KEY_7", 8, 0x08}, {"KEY_8", 9, 0x09}, {"KEY_9", 10, 0x0a},
    {"KEY_0", 11, 0x0b}, {"KEY_MINUS", 12, 0x0c}, {"KEY_EQUAL", 13, 0x0d}, {"KEY_BACKSPACE", 14, 0x0e},
    {"KEY_TAB", 15, 0x0f}, {"KEY_Q", 16, 0x10}, {"KEY_W", 17, 0x11}, {"KEY_E", 18, 0x12}, {"KEY_R", 19, 0x13},
    {"KEY_T", 20, 0x14}, {"KEY_Y", 21, 0x15}, {"KEY_U", 22, 0x16}, {"KEY_I", 23, 0x17}, {"KEY_O", 24, 0x18},
    {"KEY_P", 25, 0x19}, {"KEY_LEFTBRACE", 26, 0x1a}, {"KEY_RIGHTBRACE", 27, 0x1b}, {"KEY_ENTER", 28, 0x1c},
    {"KEY_LEFTCTRL", 29, 0x1d}, {"KEY_A", 30, 0x1e}, {"KEY_S", 31, 0x1f}, {"KEY_D", 32, 0x20},
    {"KEY_F", 33, 0x21}, {"KEY_G", 34, 0x22}, {"KEY_H", 35, 0x23}, {"KEY_J", 36, 0x24}, {"KEY_K", 37, 0x25},
    {"KEY_L", 38, 0x26}, {"KEY_SEMICOLON", 39, 0x27}, {"KEY_APOSTROPHE", 40, 0x28}, {"KEY_GRAVE", 41, 0x29},
    {"KEY_LEFTSHIFT", 42, 0x2a}, {"KEY_BACKSLASH", 43, 0x2b}, {"KEY_Z", 44, 0x2c}, {"KEY_X", 45, 0x2d},
    {"KEY_C", 46, 0x2e}, {"KEY_V", 47, 0x2f}, {"KEY_B", 48, 0x30}, {"KEY_N", 49, 0x31}, {"KEY_M", 50, 0x32},
    {"KEY_COMMA", 51, 0x33}, {"KEY_DOT", 52, 0x34}, {"KEY_SLASH", 53, 0x35}, {"KEY_RIGHTSHIFT", 54, 0x36},
    {"KEY_KPASTERISK", 55, 0x37}, {"KEY_LEFTALT", 56, 0x38}, {"KEY_SPACE", 57, 0x39},
    {"KEY_CAPSLOCK", 58, 0x3a}, {"KEY_F1", 59, 0x3b}, {"KEY_F2", 60, 0x3c}, {"KEY_F3", 61, 0x3d},
    {"KEY_F4", 62, 0x3e}, {"KEY_F5", 63, 0x3f}, {"KEY_F6", 64, 0x40}, {"KEY_F7", 65, 0x41}, {"KEY_F8", 66, 0x42},
    {"KEY_F9", 67, 0x43}, {"KEY_F10", 68, 0x44}, {"KEY_NUMLOCK", 69, 0x45}, {"KEY_SCROLLLOCK", 70, 0x46},
    {"KEY_KP7", 71, 0x47}, {"KEY_KP8", 72, 0x48}, {"KEY_KP9", 73, 0x49}, {"KEY_KPMINUS", 74, 0x4a},
    {"KEY_KP4", 75, 0x4b}, {"KEY_KP5", 76, 0x4c}, {"KEY_KP6", 77, 0x4d}, {"KEY_KPPLUS", 78, 0x4e},
    {"KEY_KP1", 79, 0x4f}, {"KEY_KP2", 80, 0x50}, {"KEY_KP3", 81, 0x51}, {"KEY_KP0", 82, 0x52},
    {"KEY_KPDOT", 83, 0x53}, {"KEY_102ND", 86, 0x56}, {"KEY_F11", 87, 0x57}, {"KEY_F12", 88, 0x58},
    {"KEY_KPENTER", 96, 0x9c}, {"KEY_RIGHTCTRL", 97, 0x9d}, {"KEY_KPSLASH", 98, 0xb5}, {"KEY_SYSRQ", 99, 0x54},
    {"KEY_RIGHTALT", 100, 0xb8}, {"KEY_HOME", 102, 0xc7}, {"KEY_UP", 103, 0xc8}, {"KEY_PAGEUP", 104, 0xc9},
    {"KEY_LEFT", 105, 0xcb}, {"KEY_RIGHT", 106, 0xcd}, {"KEY_END", 107, 0xcf}, {"KEY_DOWN", 108, 0xd0},
    {"KEY_PAGEDOWN", 109, 0xd1}, {"KEY_INSERT", 110, 0xd2}, {"KEY_DELETE", 111, 0xd3}, {"KEY_MUTE", 113, 0xa0},
    {"KEY_VOLUMEDOWN", 114, 0xae}, {"KEY_VOLUMEUP", 115, 0xb0}, {"KEY_POWER", 116, 0xde},
    {"KEY_KPEQUAL", 117, 0x59}, {"KEY_PAUSE", 119, 0xc6}, {"KEY_LEFTMETA", 125, 0xdb},
    {"KEY_RIGHTMETA", 126, 0xdc}, {"KEY_COMPOSE", 127, 0xdd},
};
// clang-format on

constexpr std::array<std::pair<std::string_view, unsigned>, 11> kSets{{
    {"linux", keycode_set::kLinux},
    {"xt", keycode_set::kXt},
    {"atset1", keycode_set::kAtset1},
    {"atset2", keycode_set::kAtset2},
    {"atset3", keycode_set::kAtset3},
    {"os_x", keycode_set::kOsx},
    {"xt_kbd", keycode_set::kXtKbd},
    {"usb", keycode_set::kUsb},
    {"win32", keycode_set::kWin32},
    {"qnum", keycode_set::kQnum},
    {"rfb", keycode_set::kQnum},
}};

}  // namespace

std::optional<unsigned> keycodeSetFromName(std::string_view name) {
    for (const auto& [n, set] : kSets) {
        if (n == name) {
            return set;
        }
    }
    return std::nullopt;
}

std::string keycodeSetName(unsigned set) {
    for (const auto& [n, s] : kSets) {
        if (s == set) {
            return std::string(n);
        }
    }
    return std::to_string(set);
}

std::optional<unsigned> linuxKeycodeFromName(std::string_view name) {
    for (const auto& key : kLinuxKeys) {
        if (key.name == name) {
            return key.code;
        }
    }
    return std::nullopt;
}

Result<unsigned> keycodeToQnum(unsigned set, unsigned code) {
    if (set == keycode_set::kQnum) {
        // One byte, 0x80 marking the 0xe0-prefixed keys; 0 is no key.
        if (code == 0 || code > 0xff) {
            return fail(ErrorCode::InvalidArg, "invalid qnum keycode " + std::to_string(code) + " (1 to 255)");
        }
        return code;
    }
    if (set == keycode_set::kLinux) {
        for (const auto& key : kLinuxKeys) {
            if (key.code == code) {
                return key.qnum;
            }
        }
        return fail(ErrorCode::InvalidArg, "linux keycode " + std::to_string(code) + " is not supported by this driver");
    }
    return fail(ErrorCode::InvalidArg,
                "keycode set '" + keycodeSetName(set) + "' is not supported by this driver (linux, qnum)");
}

}  // namespace corral
