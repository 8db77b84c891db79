# SPDX-License-Identifier: LGPL-2.1-or-later
# Side by side with Debian's real libvirtd (a session daemon run as nobody, test driver): the
# same virsh session against both daemons prints the same shapes, the same messages and, for
# raw protocol probes, the same error codes and texts.
import os
import re

from framework.libvirtd import libvirtd  # noqa: F401 (fixture)
from framework.rawclient import RawClient, error_of
from framework.tools import domain_xml, virsh
import pytest  # noqa: E402

# What one virsh call changes on test:///default must still be there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')


def shape(text):
    return [re.sub(r'\s+', ' ', re.sub(r'[0-9a-f]{8}-[0-9a-f-]{27}|\d+(\.\d+)?', 'N', line)).strip()
            for line in text.splitlines() if not line.startswith('Security')]


def test_one_session_transcript_matches_libvirtd(daemon, libvirtd, write_file):
    path = write_file('cmp.xml', domain_xml('cmp'))
    os.chmod(path, 0o644)
    script = ' ; '.join([
        'list --all', 'dominfo test', f'define {path}', 'domstate cmp --reason', 'domid cmp', 'start cmp',
        'list --all', 'domstate cmp --reason', 'suspend cmp', 'domstate cmp --reason', 'resume cmp',
        'shutdown cmp', 'domstate cmp --reason', 'start cmp', 'destroy cmp', 'domstate cmp --reason',
        'autostart cmp', 'autostart cmp --disable', 'undefine cmp', 'list --all --name'])
    ours = virsh(daemon.uri('test'), script)
    theirs = virsh(f'test+unix:///default?socket={libvirtd}', script)
    assert ours.rc == theirs.rc == 0, (ours.err, theirs.err)
    assert shape(ours.out) == shape(theirs.out)


def test_error_messages_match_libvirtd(daemon, libvirtd):
    for cmd in (['dominfo', 'nope'], ['start', 'nope'], ['domstate', 'nope']):
        ours = virsh(daemon.uri('test'), *cmd)
        theirs = virsh(f'test+unix:///default?socket={libvirtd}', *cmd)
        assert (ours.rc, ours.err) == (theirs.rc, theirs.err), cmd
    ours = virsh(daemon.uri('test'), 'start test')
    theirs = virsh(f'test+unix:///default?socket={libvirtd}', 'start test')
    assert (ours.rc, ours.err) == (theirs.rc, theirs.err)


def test_raw_protocol_errors_match_libvirtd(daemon, libvirtd):
    def probes(path):
        out = []
        c = RawClient(path)
        out.append(error_of(c.call(3)))             # a call before CONNECT_OPEN
        c.open('test:///default')
        out.append(error_of(c.open('test:///default')))  # a second open
        out.append(error_of(c.call(9999)))          # unknown procedure
        out.append(error_of(c.call(1, prog=0x12345678)))  # unknown program
        c.close()
        return out
    assert probes(daemon.socket) == probes(libvirtd)
