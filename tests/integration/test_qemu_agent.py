# SPDX-License-Identifier: LGPL-2.1-or-later
# The QEMU guest agent: Debian's qemu-ga in the tiny guest (corral.agent=1) answers virsh
# domtime, domhostname, domifaddr --source agent, domfsinfo, domfsfreeze/domfsthaw,
# set-user-password, guestinfo and qemu-agent-command through corrald, checked against what the
# guest really has (its host name, its clock on the console, its address, a write that waits
# while its file system is frozen, the hash in its /etc/shadow); corral's commands print what
# virsh prints. A guest whose agent is not running gets libvirt's "not connected" error; guests
# that put silence, garbage or an endless line on the agent's port make only their own call
# fail, within libvirt's 5 s handshake wait, while the daemon answers everyone else.
import base64
import concurrent.futures
import crypt
import json
import os
import re
import threading
import time
import xml.etree.ElementTree as ET

import libvirt
import pytest

from framework.console import StreamConsole
from framework.event_loop import ensure_event_loop
from framework.guest import build_guest, find_kernel
from framework.qemu_fixtures import pytestmark, qemu, serial_text, wait_for  # noqa: F401
from framework.tools import corral, virsh

AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
PTY_CONSOLE = ("<serial type='pty'><target port='0'/></serial>"
               "<console type='pty'><target type='serial' port='0'/></console>")
NIC_MAC = '52:54:00:5a:00:01'
NIC = f"<interface type='user'><mac address='{NIC_MAC}'/><model type='virtio'/></interface>"


@pytest.fixture(scope='session')
def guest_files(bin_dir):
    """The tiny guest's image with Debian's qemu-ga in it (the qemu fixture boots this one)."""
    built = build_guest(os.path.join(os.path.dirname(bin_dir), 'test-guest'), agent=True)
    assert built is not None, 'no kernel, busybox or qemu-ga: run scripts/setup.sh'
    return built


def agent_err(r):
    return r.err.strip().splitlines()[0] if r.err.strip() else ''


def test_agent_calls_answer_what_the_guest_has(qemu, bin_dir, tmpdir_path):
    disk = os.path.join(tmpdir_path, 'agent-disk.img')
    with open(disk, 'wb') as f:
        f.truncate(16 << 20)
    disk_xml = f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/>" \
               "<target dev='vda' bus='virtio'/></disk>"
    qemu.define('agent1', serial_device=PTY_CONSOLE, extra_devices=AGENT_CHANNEL + NIC + disk_xml,
                cmdline_extra='corral.agent=1 corral.hostname=corral-agent-guest corral.agent_disk=1')
    ensure_event_loop()
    conn = libvirt.open(qemu.uri)
    try:
        dom = conn.lookupByName('agent1')
        connected = threading.Event()

        def on_agent(c, d, state, reason, opaque):
            if state == libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED and \
                    reason == libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL:
                connected.set()
        cb = conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, on_agent, None)
        assert virsh(qemu.uri, 'start', 'agent1').rc == 0
        console = StreamConsole(conn, dom)
        assert console.wait_for(b'CORRAL-GUEST-READY', 180), bytes(console.received)[-2000:]

        # The agent opens its port a moment after init started it: the first call that answers.
        def hostname():
            r = virsh(qemu.uri, 'domhostname', 'agent1')
            return r.out.strip() if r.rc == 0 else None
        wait_for(lambda: hostname() == 'corral-agent-guest', timeout=120, what='the agent to answer')
        assert dom.hostname(libvirt.VIR_DOMAIN_GET_HOSTNAME_AGENT) == 'corral-agent-guest'
        assert corral(bin_dir, qemu.uri, 'domhostname', 'agent1', '--source', 'agent').out == \
            virsh(qemu.uri, 'domhostname', 'agent1', '--source', 'agent').out
        assert json.loads(corral(bin_dir, qemu.uri, '--json', 'domhostname', 'agent1').out) == \
            {'hostname': 'corral-agent-guest'}

        # The guest's clock: its RTC is the host's UTC time at boot.
        t = dom.getTime()
        assert abs(t['seconds'] - time.time()) < 3600 and 0 <= t['nseconds'] < 10**9
        out = virsh(qemu.uri, 'domtime', 'agent1').out
        assert re.fullmatch(r'Time: \d+\n', out), out
        assert corral(bin_dir, qemu.uri, 'domtime', 'agent1').out.startswith('Time: ')
        assert corral(bin_dir, qemu.uri, 'domtime', 'agent1', '--pretty').out.startswith('Time: 20')
        # --time sets it: the guest itself reports the new clock on its console.
        assert virsh(qemu.uri, 'domtime', 'agent1', '--time', '1000000000').rc == 0
        assert console.wait_for(b'CORRAL-GUEST-CLOCK 100000000', 60), bytes(console.received)[-500:]
        assert 10**9 <= dom.getTime()['seconds'] < 10**9 + 3600
        dom.setTime({'seconds': 1100000000, 'nseconds': 0})
        assert console.wait_for(b'CORRAL-GUEST-CLOCK 110000000', 60)
        # --now sets the host's time (the agent writes it to the RTC too); --sync takes the
        # clock from the RTC again (hwclock -s in the guest) after the guest moved its own.
        assert virsh(qemu.uri, 'domtime', 'agent1', '--now').rc == 0
        assert abs(dom.getTime()['seconds'] - time.time()) < 60
        assert console.type_until(b'settime 1200000000\r', b'CORRAL-GUEST-CLOCK 120000000')
        assert corral(bin_dir, qemu.uri, 'domtime', 'agent1', '--sync').rc == 0
        assert abs(dom.getTime()['seconds'] - time.time()) < 60

        # Addresses: the guest's own (eth0, up, with the definition's MAC and the IPv6 link-local
        # address the kernel made from it).
        ifaces = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
        assert ifaces['eth0']['hwaddr'] == NIC_MAC
        assert {'type': libvirt.VIR_IP_ADDR_TYPE_IPV6, 'addr': 'fe80::5054:ff:fe5a:1', 'prefix': 64} in \
            ifaces['eth0']['addrs'], ifaces
        v = virsh(qemu.uri, 'domifaddr', 'agent1', '--source', 'agent')
        assert v.rc == 0 and re.search(rf' eth0 +{NIC_MAC} +ipv6 +\S+/64\n', v.out), v.out
        assert corral(bin_dir, qemu.uri, 'domifaddr', 'agent1', '--source', 'agent').out == v.out
        assert corral(bin_dir, qemu.uri, 'domifaddr', 'agent1', '--source', 'agent', '--full').out == \
            virsh(qemu.uri, 'domifaddr', 'agent1', '--source', 'agent', '--full').out
        # No host network here: no lease, and the host's ARP table never saw the MAC.
        assert virsh(qemu.uri, 'domifaddr', 'agent1').out == corral(bin_dir, qemu.uri, 'domifaddr', 'agent1').out
        assert dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE) == {}
        assert dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP) == {}

        # File systems: the ext2 on vda, named by the definition's target.
        fsinfo = dom.fsInfo()
        assert ('/mnt', 'vda', 'ext2', ['vda']) in [(m, n.split('/')[-1], t, list(d)) for m, n, t, d in fsinfo], fsinfo
        v = virsh(qemu.uri, 'domfsinfo', 'agent1')
        assert v.rc == 0 and re.search(r'/mnt +\S*vda +ext2 +vda', v.out), v.out
        assert corral(bin_dir, qemu.uri, 'domfsinfo', 'agent1').out == v.out

        # Freeze: a write the guest starts waits until the thaw.
        v = virsh(qemu.uri, 'domfsfreeze', 'agent1', '--mountpoint', '/mnt')
        assert v.rc == 0 and re.search(r'\b1 filesystem', v.out), v.out + v.err
        virsh_froze = v.out
        status = virsh(qemu.uri, 'qemu-agent-command', 'agent1', '{"execute":"guest-fsfreeze-status"}')
        assert json.loads(status.out) == {'return': 'frozen'}, status.out + status.err
        assert console.type_until(b'write frozen1\r', b'CORRAL-GUEST-WRITING frozen1')
        # The agent answering proves the guest runs on; the write has still not finished.
        status = virsh(qemu.uri, 'qemu-agent-command', 'agent1', '{"execute":"guest-fsfreeze-status"}')
        assert json.loads(status.out) == {'return': 'frozen'}, status.out + status.err
        assert b'CORRAL-GUEST-WROTE frozen1' not in console.received
        c = corral(bin_dir, qemu.uri, 'domfsthaw', 'agent1')
        assert c.rc == 0 and re.search(r'\b1 filesystem', c.out), c.out + c.err
        assert console.wait_for(b'CORRAL-GUEST-WROTE frozen1', 60)
        assert dom.fsFreeze() == 1 and dom.fsThaw() == 1
        # corral prints what virsh prints, both ways round.
        assert corral(bin_dir, qemu.uri, 'domfsfreeze', 'agent1').out == virsh_froze
        assert virsh(qemu.uri, 'domfsthaw', 'agent1').out == c.out

        # Passwords: the agent runs chpasswd; the guest's /etc/shadow then holds a hash of it.
        def shadow_root_hash():
            h = json.loads(virsh(qemu.uri, 'qemu-agent-command', 'agent1',
                                 '{"execute":"guest-file-open","arguments":{"path":"/etc/shadow"}}').out)['return']
            r = json.loads(virsh(qemu.uri, 'qemu-agent-command', 'agent1',
                                 json.dumps({'execute': 'guest-file-read', 'arguments': {'handle': h}})).out)
            virsh(qemu.uri, 'qemu-agent-command', 'agent1',
                  json.dumps({'execute': 'guest-file-close', 'arguments': {'handle': h}}))
            text = base64.b64decode(r['return']['buf-b64']).decode()
            return next(line.split(':')[1] for line in text.splitlines() if line.startswith('root:'))
        v = virsh(qemu.uri, 'set-user-password', 'agent1', 'root', 's3cret-Pw')
        assert v.rc == 0 and 'root' in v.out and 'agent1' in v.out, v.out + v.err
        hashed = shadow_root_hash()
        assert hashed.startswith('$') and crypt.crypt('s3cret-Pw', hashed) == hashed
        assert crypt.crypt('wrong', hashed) != hashed
        pre = crypt.crypt('other-Pw', crypt.mksalt(crypt.METHOD_SHA512))
        c = corral(bin_dir, qemu.uri, 'set-user-password', 'agent1', 'root', pre, '--encrypted')
        assert c.rc == 0 and c.out == v.out, c.out + c.err
        assert shadow_root_hash() == pre

        # guestinfo: what the guest reports of itself, as virsh prints it.
        info = dom.guestInfo(libvirt.VIR_DOMAIN_GUEST_INFO_HOSTNAME | libvirt.VIR_DOMAIN_GUEST_INFO_OS)
        assert info['hostname'] == 'corral-agent-guest'
        assert info['os.kernel-release'] == find_kernel()[1]
        v = virsh(qemu.uri, 'guestinfo', 'agent1', '--hostname', '--os')
        assert v.rc == 0 and 'hostname            : corral-agent-guest\n' in v.out, v.out
        assert corral(bin_dir, qemu.uri, 'guestinfo', 'agent1', '--hostname', '--os').out == v.out
        everything = dom.guestInfo(0)
        assert everything['hostname'] == 'corral-agent-guest' and everything['fs.count'] >= 1

        # The raw pass-through, and its timeout switches.
        r = json.loads(virsh(qemu.uri, 'qemu-agent-command', 'agent1', '--timeout', '30',
                             '{"execute":"guest-info"}').out)
        assert r['return']['version']
        assert json.loads(corral(bin_dir, qemu.uri, 'qemu-agent-command', 'agent1', '--block',
                                 '{"execute":"guest-get-host-name"}').out) == {'return': {'host-name': 'corral-agent-guest'}}
        bad = virsh(qemu.uri, 'qemu-agent-command', 'agent1', '{"execute":"no-such-command"}')
        assert bad.rc != 0 and "unable to execute QEMU agent command 'no-such-command'" in bad.err, bad.err
        dom.agentSetResponseTimeout(10, 0)
        assert dom.hostname(libvirt.VIR_DOMAIN_GET_HOSTNAME_AGENT) == 'corral-agent-guest'

        # The agent's connection was announced (VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE).
        assert connected.wait(30)
        conn.domainEventDeregisterAny(cb)
    finally:
        conn.close()


def test_no_agent_connected_gives_libvirts_error(qemu, bin_dir):
    # The channel is there, nothing in the guest opens it.
    serial = qemu.start_and_boot('noagent', extra_devices=AGENT_CHANNEL)
    assert 'CORRAL-GUEST-READY' in serial_text(serial)
    for argv in (['domtime', 'noagent'], ['domhostname', 'noagent'], ['domifaddr', 'noagent', '--source', 'agent'],
                 ['domfsinfo', 'noagent'], ['guestinfo', 'noagent'],
                 ['qemu-agent-command', 'noagent', '{"execute":"guest-ping"}']):
        v = virsh(qemu.uri, *argv)
        assert v.rc != 0 and 'Guest agent is not responding: QEMU guest agent is not connected' in v.err, (argv, v.err)
        c = corral(bin_dir, qemu.uri, *argv)
        assert c.rc != 0 and 'Guest agent is not responding: QEMU guest agent is not connected' in c.err, (argv, c.err)
    conn = libvirt.open(qemu.uri)
    try:
        with pytest.raises(libvirt.libvirtError) as e:
            conn.lookupByName('noagent').getTime()
        assert e.value.get_error_code() == libvirt.VIR_ERR_AGENT_UNRESPONSIVE
    finally:
        conn.close()
    # A guest without the channel: libvirt's "not configured"; one that is not running: not running.
    qemu.define('nochannel')
    v = virsh(qemu.uri, 'domtime', 'nochannel')
    assert v.rc != 0 and 'domain is not running' in v.err, v.err
    assert virsh(qemu.uri, 'start', 'nochannel').rc == 0
    v = virsh(qemu.uri, 'domhostname', 'nochannel')
    assert v.rc != 0 and 'QEMU guest agent is not configured' in v.err, v.err


@pytest.mark.parametrize('mode', ['silent', 'garbage', 'flood'])
def test_hostile_agent_fails_its_own_call_in_time_and_nobody_elses(qemu, bin_dir, mode):
    hostile = qemu.define('hostile', extra_devices=AGENT_CHANNEL, cmdline_extra=f'corral.agent={mode}')
    good = qemu.define('goodagent', extra_devices=AGENT_CHANNEL,
                       cmdline_extra='corral.agent=1 corral.hostname=good-guest')
    assert virsh(qemu.uri, 'start', 'hostile').rc == 0
    assert virsh(qemu.uri, 'start', 'goodagent').rc == 0
    wait_for(lambda: 'CORRAL-GUEST-READY' in serial_text(hostile) and 'CORRAL-GUEST-READY' in serial_text(good),
             timeout=180, what='both guests to boot')
    assert f'CORRAL-GUEST-AGENT-{mode.upper()}' in serial_text(hostile)
    wait_for(lambda: virsh(qemu.uri, 'domhostname', 'goodagent').out.strip() == 'good-guest', timeout=120,
             what='the good guest\'s agent')
    # The hostile guest's port is open (QEMU saw it opened), so its calls do go to it.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        started = time.monotonic()
        calls = [pool.submit(virsh, qemu.uri, 'domtime', 'hostile', timeout=120),
                 pool.submit(virsh, qemu.uri, 'qemu-agent-command', 'hostile', '--block',
                             '{"execute":"guest-info"}', timeout=120)]
        # While those wait for the hostile guest, everyone else is answered.
        assert virsh(qemu.uri, 'list', '--name').rc == 0
        assert virsh(qemu.uri, 'domhostname', 'goodagent').out.strip() == 'good-guest'
        assert corral(bin_dir, qemu.uri, 'domtime', 'goodagent').rc == 0
        results = [c.result() for c in calls]
        elapsed = time.monotonic() - started
    for r in results:
        assert r.rc != 0 and 'Guest agent is not responding' in r.err, r.err
    # libvirt's handshake wait is 5 s; a generous bound for a loaded host.
    assert elapsed < 60, elapsed
    assert qemu.daemon.alive()
    assert virsh(qemu.uri, 'domhostname', 'goodagent').out.strip() == 'good-guest'
