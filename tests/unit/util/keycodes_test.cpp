// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/keycodes.hpp"

#include <gtest/gtest.h>

namespace corral {
namespace {

TEST(Keycodes, SetNamesAsVirshSpellsThem) {
    EXPECT_EQ(keycodeSetFromName("linux"), keycode_set::kLinux);
    EXPECT_EQ(keycodeSetFromName("qnum"), keycode_set::kQnum);
    EXPECT_EQ(keycodeSetFromName("rfb"), keycode_set::kQnum);
    EXPECT_EQ(keycodeSetFromName("usb"), keycode_set::kUsb);
    EXPECT_FALSE(keycodeSetFromName("Linux"));
    EXPECT_EQ(keycodeSetName(keycode_set::kXt), "xt");
}

TEST(Keycodes, LinuxNamesAndTheirScancodes) {
    EXPECT_EQ(linuxKeycodeFromName("KEY_A"), 30u);
    EXPECT_EQ(linuxKeycodeFromName("KEY_DELETE"), 111u);
    EXPECT_FALSE(linuxKeycodeFromName("KEY_NOSUCH"));
    EXPECT_FALSE(linuxKeycodeFromName("key_a"));
    // The main block keeps its set-1 code; 0xe0-prefixed keys get 0x80.
    EXPECT_EQ(*keycodeToQnum(keycode_set::kLinux, 30), 0x1eu);
    EXPECT_EQ(*keycodeToQnum(keycode_set::kLinux, 88), 0x58u);   // F12
    EXPECT_EQ(*keycodeToQnum(keycode_set::kLinux, 111), 0xd3u);  // Delete
    EXPECT_EQ(*keycodeToQnum(keycode_set::kLinux, 103), 0xc8u);  // Up
    EXPECT_EQ(*keycodeToQnum(keycode_set::kLinux, 97), 0x9du);   // right Ctrl
}

TEST(Keycodes, RefusesWhatItCannotTranslate) {
    auto unknown = keycodeToQnum(keycode_set::kLinux, 84);  // no key
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message, "linux keycode 84 is not supported by this driver");
    auto usb = keycodeToQnum(keycode_set::kUsb, 4);
    ASSERT_FALSE(usb);
    EXPECT_EQ(usb.error().message, "keycode set 'usb' is not supported by this driver (linux, qnum)");
    EXPECT_FALSE(keycodeToQnum(keycode_set::kQnum, 0));
    EXPECT_FALSE(keycodeToQnum(keycode_set::kQnum, 256));
    EXPECT_EQ(*keycodeToQnum(keycode_set::kQnum, 0xd3), 0xd3u);
    EXPECT_FALSE(keycodeToQnum(42, 1));
}

}  // namespace
}  // namespace corral
