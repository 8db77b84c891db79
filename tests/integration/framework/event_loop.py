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


_EVENT_NAMES = {0: 'defined', 1: 'undefined', 2: 'started', 3: 'suspended', 4: 'resumed', 5: 'stopped',
                6: 'shutdown', 7: 'pmsuspended', 8: 'crashed'}
_STOPPED_DETAILS = {0: 'shutdown', 1: 'destroyed', 2: 'crashed', 3: 'migrated', 4: 'saved', 5: 'failed',
                    6: 'from_snapshot'}


class lifecycle_events:
    """`with lifecycle_events(uri) as events:` collects (domain, event, detail) tuples, detail
    named for stopped events; the registration is in place when the block starts."""

    def __init__(self, uri):
        self.uri = uri
        self.events = []

    def __enter__(self):
        ensure_event_loop()
        self.conn = libvirt.open(self.uri)

        def callback(_conn, dom, event, detail, _opaque):
            name = _EVENT_NAMES.get(event, str(event))
            self.events.append((dom.name(), name,
                                _STOPPED_DETAILS.get(detail, str(detail)) if name == 'stopped' else detail))

        self.cb = self.conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback, None)
        return self.events

    def __exit__(self, *exc):
        self.conn.domainEventDeregisterAny(self.cb)
        self.conn.close()
        return False
