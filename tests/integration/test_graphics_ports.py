# SPDX-License-Identifier: LGPL-2.1-or-later
# Automatic graphics ports: corrald finds a free port by binding it and letting go, so anything
# can take that port before QEMU binds it (a second daemon on the host did, in CI: two guests
# started at once both got 5900). The start must still succeed, on another port.
import os
import re
import socket
import threading
import time

import pytest

from framework.tools import virsh

# Stands in for QEMU: while the test has not yet taken the port on its command line (the file
# `held` beside it is missing), it waits, then runs the real QEMU, which finds the port taken.
# Later starts run QEMU at once. It only reads: the guest's identity may write nothing here.
WRAPPER = """#!/bin/sh
case " $* " in
  *" -vnc "*|*" -spice "*) while [ ! -e {held} ]; do sleep 0.05; done ;;
esac
exec /usr/bin/qemu-system-x86_64 "$@"
"""


def qemu_argv(wrapper, option):
    """The command line of the process running `wrapper` with `option`, or None while none does."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                argv = f.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        if wrapper in argv[:2] and option in argv:
            return argv
    return None


def chosen_port(argv, option):
    """The address and port QEMU was told to listen on."""
    value = argv[argv.index(option) + 1]
    if option == '-vnc':
        address, display = value.split(',')[0].rsplit(':', 1)
        return address, 5900 + int(display)
    props = dict(p.split('=', 1) for p in value.split(',') if '=' in p)
    return props['addr'], int(props['port'])


@pytest.mark.parametrize('kind', ['vnc', 'spice'])
def test_a_port_taken_between_the_search_and_qemu_is_replaced_by_another(daemon, tmpdir_path, kind):
    conf = os.path.join(daemon.root, 'etc', 'corral', 'qemu.conf')
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, 'w') as f:
        f.write('landlock = 0\n')  # Landlock lets a guest run programs under /usr and /lib only
    daemon.stop()
    daemon.start()
    uri = daemon.uri('qemu')
    held = os.path.join(tmpdir_path, 'held')
    wrapper = os.path.join(tmpdir_path, 'qemu-wrapper')
    with open(wrapper, 'w') as f:
        f.write(WRAPPER.format(held=held))
    os.chmod(wrapper, 0o755)
    xml = os.path.join(tmpdir_path, 'domain.xml')
    with open(xml, 'w') as f:
        f.write("<domain type='qemu'><name>ports</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                "<os><type arch='x86_64'>hvm</type></os>"
                f"<devices><emulator>{wrapper}</emulator><graphics type='{kind}' autoport='yes'/></devices></domain>")
    assert virsh(uri, 'define', xml).rc == 0

    result = {}
    starter = threading.Thread(target=lambda: result.update(r=virsh(uri, 'start', 'ports', timeout=120)))
    starter.start()
    deadline = time.monotonic() + 60
    argv = None
    option = '-' + kind
    while argv is None and time.monotonic() < deadline:
        argv = qemu_argv(wrapper, option)
        time.sleep(0.02)  # polls /proc for a process that exists, then stops
    assert argv is not None, f'the wrapper never ran with {option}'
    address, chosen = chosen_port(argv, option)
    taker = socket.socket()
    # As corrald's search and QEMU do: a connection of an earlier test may linger in TIME_WAIT.
    taker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        taker.bind((address, chosen))
        taker.listen()
        open(held, 'w').close()
        starter.join(timeout=150)
        r = result['r']
        assert r.rc == 0, r.err
        assert 'graphics port was taken before QEMU bound it' in daemon.stderr()
        # The guest holds its new port, which it listens on; the one taken from it is recorded nowhere.
        dumped = virsh(uri, 'dumpxml', 'ports').out
        port = int(re.search(r"<graphics [^>]*? port='(\d+)'", dumped).group(1))
        assert port != chosen, dumped
        with socket.create_connection((address, port), timeout=10):
            pass
    finally:
        taker.close()
        virsh(uri, 'destroy', 'ports')
