# SPDX-License-Identifier: LGPL-2.1-or-later
# The ssh transport against a real sshd on a loopback port: corral and the real virsh reach
# corrald through ssh (corral-ssh-helper on the far side, or nc -U, libvirt's fallback), and
# host-key and key problems come back as errors that name the fix.
import os
import subprocess

import pytest

from framework.sshd import Sshd
from framework.tools import corral, virsh

pytestmark = pytest.mark.skipif(not os.path.exists('/usr/sbin/sshd'),
                                reason='openssh-server is not installed (scripts/setup.sh installs it)')


@pytest.fixture
def sshd(tmpdir_path, bin_dir):
    s = Sshd(os.path.join(tmpdir_path, 'ssh'), bin_dir)
    yield s
    s.stop()


def ssh_uri(sshd, daemon, driver='test', path='/default', **params):
    params.setdefault('socket', daemon.socket)
    params.setdefault('keyfile', sshd.client_key)
    params.setdefault('known_hosts', sshd.known_hosts)
    params.setdefault('no_tty', '1')
    query = '&'.join(f'{k}={v}' for k, v in params.items())
    return f'{driver}+ssh://root@127.0.0.1:{sshd.port}{path}?{query}'


def test_corral_over_ssh_through_the_helper_and_through_netcat(sshd, daemon, bin_dir):
    for proxy in ('native', 'netcat', 'auto'):
        r = corral(bin_dir, ssh_uri(sshd, daemon, proxy=proxy), 'list', '--all')
        assert r.rc == 0, (proxy, r.err)
        assert ' test ' in r.out and 'running' in r.out
    # Read-only: the helper takes the read-only socket, where changes are refused.
    ro = ssh_uri(sshd, daemon, proxy='native', socket=daemon.socket_ro)
    r = corral(bin_dir, ro, '-r', 'destroy', 'test')
    assert r.rc != 0 and 'read only access prevents virDomainDestroy' in r.err
    assert corral(bin_dir, ro, '-r', 'domstate', 'test').out.strip() == 'running'


@pytest.mark.usefixtures('held_test_state')  # the suspended guest must outlive the virsh call
def test_real_virsh_over_ssh(sshd, daemon, tmpdir_path):
    # virsh runs plain ssh; a wrapper keeps its known_hosts in the test's directory.
    wrapper = os.path.join(tmpdir_path, 'ssh-wrapper')
    with open(wrapper, 'w') as f:
        f.write(f'#!/bin/sh\nexec ssh -o UserKnownHostsFile={sshd.known_hosts} "$@"\n')
    os.chmod(wrapper, 0o755)
    uri = ssh_uri(sshd, daemon, command=wrapper)
    uri = uri.replace(f'&known_hosts={sshd.known_hosts}', '')
    r = virsh(uri, 'list', '--all')
    assert r.rc == 0, r.err
    assert ' test ' in r.out
    assert virsh(uri, 'suspend', 'test').rc == 0
    assert virsh(uri, 'domstate', 'test').out.strip() == 'paused'


def test_host_key_problems_name_the_fix(sshd, daemon, bin_dir):
    # Unknown host key, with strict checking (no_tty = BatchMode).
    with open(sshd.known_hosts, 'w'):
        pass
    r = corral(bin_dir, ssh_uri(sshd, daemon), 'list')
    assert r.rc != 0
    assert f'the host key of [127.0.0.1]:{sshd.port} is not known' in r.err and 'ssh-keyscan' in r.err, r.err
    # A changed host key: the recorded one is another key.
    other = os.path.join(sshd.dir, 'other_key')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other], check=True)
    with open(other + '.pub') as f:
        sshd.trust_host_key(f.read().split()[:2])
    r = corral(bin_dir, ssh_uri(sshd, daemon), 'list')
    assert r.rc != 0
    assert 'has CHANGED' in r.err and 'ssh-keygen -R' in r.err, r.err
    # The right host key but a key the server does not accept.
    sshd.trust_host_key()
    stranger = os.path.join(sshd.dir, 'stranger')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', stranger], check=True)
    r = corral(bin_dir, ssh_uri(sshd, daemon, keyfile=stranger), 'list')
    assert r.rc != 0
    assert 'authentication to 127.0.0.1 was refused' in r.err, r.err
    # And no corrald behind the socket: the helper says which socket it tried.
    r = corral(bin_dir, ssh_uri(sshd, daemon, proxy='native', socket='/nonexistent/sock'), 'list')
    assert r.rc != 0 and '/nonexistent/sock' in r.err, r.err


@pytest.mark.usefixtures('held_test_state')  # the defined guest must outlive the virsh call
def test_hostile_uri_parameters_are_never_run_by_a_shell(sshd, daemon, bin_dir, tmpdir_path):
    """Each URI part that reaches the far host's shell (socket=, netcat=, the path, a domain's
    name) carries a command (`;`, `$()`, backquotes, quotes, a newline, spaces), percent-encoded
    as a URI must be. The helper, netcat and the shell running them take each value as one word:
    no command runs (the marker file is never made); the connection fails naming the literal
    socket, or works where the value is only a name."""
    from urllib.parse import quote
    mark = os.path.join(tmpdir_path, 'PWNED')
    payloads = [f'/tmp/x;touch {mark}', f'$(touch {mark})', f'`touch {mark}`', f"';touch {mark};'",
                f'";touch {mark};"', f'/tmp/x\ntouch {mark}', f'/tmp/a b|touch {mark}', f'/tmp/x&&touch {mark}']
    for payload in payloads:
        for proxy in ('native', 'netcat', 'auto'):
            uri = ssh_uri(sshd, daemon, proxy=proxy, socket=quote(payload, safe=''))
            r = corral(bin_dir, uri, 'list', '--all')
            assert r.rc != 0, (proxy, payload, r.out)
            assert not os.path.exists(mark), (proxy, payload, r.err)
        r = corral(bin_dir, ssh_uri(sshd, daemon, proxy='netcat', netcat=quote(f'nc;touch {mark};nc', safe='')),
                   'list')
        assert r.rc != 0 and not os.path.exists(mark), r.err
    # The helper names the socket it was given, as it was given.
    r = corral(bin_dir, ssh_uri(sshd, daemon, proxy='native', socket=quote(payloads[0], safe='')), 'list')
    assert payloads[0] in r.err, r.err
    # A path with a command: the helper gets it as one argument of its URI.
    uri = ssh_uri(sshd, daemon, proxy='native', path=quote(f'/default;touch {mark}'))
    corral(bin_dir, uri, 'list')
    assert not os.path.exists(mark)
    # Names travel inside the protocol, never through a shell: a domain named like a command.
    # (A name cannot hold '/': the marker is relative, looked for where a shell would start.)
    relative = f'corral-pwned-{os.getpid()}'
    name = f'x;touch {relative};$(touch {relative})'
    xml = os.path.join(tmpdir_path, 'odd.xml')
    with open(xml, 'w') as f:
        f.write(f"<domain type='test'><name>{name.replace('&', '&amp;')}</name><memory>65536</memory>"
                f"<os><type>hvm</type></os></domain>")
    assert virsh(daemon.uri(), 'define', xml).rc == 0
    r = corral(bin_dir, ssh_uri(sshd, daemon, proxy='auto'), 'dominfo', name)
    assert r.rc == 0 and name in r.out, r.err
    for where in (os.path.expanduser('~root'), '/', daemon.root, os.getcwd()):
        assert not os.path.exists(os.path.join(where, relative)), where


def test_a_key_restricted_to_the_helper_reaches_the_read_only_socket_only(sshd, daemon, bin_dir, tmpdir_path):
    """authorized_keys pins the key to `corral-ssh-helper -r` on the read-only socket: whatever
    the client asks the far side to run (here a command hidden in socket=) is not run, reads
    work, changes are refused as on the read-only socket."""
    from urllib.parse import quote
    mark = os.path.join(tmpdir_path, 'PWNED')
    with open(sshd.client_key + '.pub') as f:
        public = f.read()
    with open(os.path.join(sshd.dir, 'authorized_keys'), 'w') as f:
        f.write(f'command="corral-ssh-helper -r test:///default?socket={daemon.socket_ro}",restrict {public}')
    uri = ssh_uri(sshd, daemon, proxy='native', socket=quote(f'{daemon.socket};touch {mark}', safe=''))
    r = corral(bin_dir, uri, '-r', 'domstate', 'test')
    assert r.rc == 0 and r.out.strip() == 'running', r.err
    r = corral(bin_dir, uri, 'destroy', 'test')
    assert r.rc != 0 and 'read only' in r.err, r.err
    assert corral(bin_dir, uri, '-r', 'domstate', 'test').out.strip() == 'running'
    assert not os.path.exists(mark)
