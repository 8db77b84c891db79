# SPDX-License-Identifier: LGPL-2.1-or-later
# One python3-libvirt event loop per test process, shared by every test that needs events.
import threading

import libvirt

_loop_started = False


def ensure_event_loop():
    """Registers libvirt's default event loop and runs it on a daemon thread.

    It must be registered before the connection that should deliver events is opened. Once
    registered, libvirt routes every later connection of this process through the loop (closing
    included), so it keeps running for the rest of the session."""
    global _loop_started
    if _loop_started:
        return
    libvirt.virEventRegisterDefaultImpl()

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    _loop_started = True
