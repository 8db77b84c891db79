# SPDX-License-Identifier: LGPL-2.1-or-later
# Containers on lxc:/// with real namespaces and cgroups: a busybox root built by the tests,
# driven by the real virsh. What the container's init sees is printed on its console, which the
# controller copies to log/corral/lxc/NAME.log.
import os
import re
import socket
import subprocess
import time

import pytest

from framework import cgroups
from framework.container import build_rootfs, container_xml
from framework.event_loop import lifecycle_events
from framework.qemu_fixtures import wait_for
from framework.tools import corral, virsh

pytestmark = pytest.mark.skipif(not os.path.exists('/bin/busybox'),
                                reason='busybox-static is not installed (scripts/setup.sh installs it)')


IDMAP_300000 = ("<idmap><uid start='0' target='300000' count='65536'/><gid start='0' target='300000' count='65536'/>"
                "</idmap>")


@pytest.fixture
def lxc(daemon, tmpdir_path):
    rootfs = build_rootfs(os.path.join(tmpdir_path, 'rootfs'))

    class C:
        uri = daemon.uri('lxc')

        def __init__(self):
            self.daemon = daemon
            self.rootfs = rootfs
            self.names = []

        def define(self, name, **kw):
            path = os.path.join(tmpdir_path, name + '.xml')
            with open(path, 'w') as f:
                f.write(container_xml(name, rootfs, **kw))
            r = virsh(self.uri, 'define', path)
            assert r.rc == 0, r.err
            self.names.append(name)

        def console(self, name):
            try:
                with open(os.path.join(daemon.root, 'log', 'corral', 'lxc', name + '.log')) as f:
                    return f.read()
            except OSError:
                return ''

        def start(self, name, **kw):
            self.define(name, **kw)
            r = virsh(self.uri, 'start', name)
            assert r.rc == 0, r.err
            wait_for(lambda: 'devices=' in self.console(name), timeout=30, what=f'{name} to report')
            return self.console(name)

        def state(self, name):
            return virsh(self.uri, 'domstate', '--reason', name).out.strip()

        def init_pid(self, name):
            with open(os.path.join(daemon.root, 'run', 'corral', 'lxc', name + '.state')) as f:
                return int(f.read().split()[1])

    c = C()
    yield c
    if daemon.alive():
        for n in c.names:
            virsh(c.uri, 'destroy', n)


def cgroup_file(pid, controller, name):
    """The setting v1 keeps in file `name`, read where this host keeps it (v1 or v2)."""
    return cgroups.setting(pid, controller, name)


def test_container_is_isolated(lxc):
    out = lxc.start('box')
    assert 'hostname=box' in out
    assert 'pid=1' in out
    procs = int(re.search(r'procs=(\d+)', out).group(1))
    assert procs < 6, out  # init, the shell's helpers: not the host's hundreds
    assert 'MKNOD-DENIED' in out and 'PROCSYS-READONLY' in out
    uuid = virsh(lxc.uri, 'domuuid', 'box').out.strip()
    assert f'env=box/{uuid}/lxc-libvirt//bin:/usr/bin/linux/' in out
    # Only the listed devices, and the console.
    devices = set(re.search(r'devices=(.*)', out).group(1).split())
    assert devices == {'console', 'fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin',
                       'stdout', 'tty', 'tty1', 'urandom', 'zero'}, devices
    # From the host: CAP_MKNOD (27) is out of init's bounding set; the cgroups carry the limits.
    init = lxc.init_pid('box')
    with open(f'/proc/{init}/status') as f:
        capbnd = int(re.search(r'CapBnd:\s+([0-9a-f]+)', f.read()).group(1), 16)
    assert capbnd & (1 << 27) == 0
    assert cgroup_file(init, 'memory', 'memory.limit_in_bytes') == str(128 * 1024 * 1024)
    allowed = cgroups.device_rules(cgroups.group_dir(init, 'devices'))
    if isinstance(allowed, int):
        assert allowed >= 1, 'no BPF device program on the container\'s cgroup'  # v2: the rules are a program
    else:
        assert 'c 1:3 rwm' in allowed and 'a *:* rwm' not in allowed and not any(d.startswith('b ') for d in allowed)
    info = virsh(lxc.uri, 'dominfo', 'box').out
    assert re.search(r'State:\s+running', info) and re.search(r'OS Type:\s+exe', info)


def test_a_bound_host_device_cannot_be_opened(lxc, tmpdir_path):
    backing = os.path.join(tmpdir_path, 'disk.img')
    subprocess.run(['truncate', '-s', '1M', backing], check=True)
    r = subprocess.run(['losetup', '-f', '--show', backing], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip('no loop device')
    dev = r.stdout.strip()
    try:
        out = lxc.start('devbox', extra_devices=(
            f"<filesystem type='mount'><source dir='{dev}'/><target dir='/dev/hostdisk'/></filesystem>"))
        assert 'DEVICE-DENIED' in out, out
    finally:
        virsh(lxc.uri, 'destroy', 'devbox')
        subprocess.run(['losetup', '-d', dev])


def test_lifecycle_shutdown_suspend_resume_destroy(lxc):
    lxc.start('life')
    assert virsh(lxc.uri, 'suspend', 'life').rc == 0
    assert lxc.state('life') == 'paused (user)'
    assert cgroup_file(lxc.init_pid('life'), 'freezer', 'freezer.state') == 'FROZEN'
    assert virsh(lxc.uri, 'resume', 'life').rc == 0
    assert lxc.state('life') == 'running (unpaused)'
    assert virsh(lxc.uri, 'shutdown', 'life').rc == 0
    wait_for(lambda: lxc.state('life') == 'shut off (shutdown)', timeout=30, what='the shutdown')
    assert 'CORRAL-CT-TERM' in lxc.console('life')
    # Started again, destroyed: nothing of it stays on the host.
    assert virsh(lxc.uri, 'start', 'life').rc == 0
    init = lxc.init_pid('life')
    assert virsh(lxc.uri, 'destroy', 'life').rc == 0
    assert lxc.state('life') == 'shut off (destroyed)'
    assert not os.path.exists(f'/proc/{init}')


def test_daemon_kill9_loses_no_container(lxc):
    names = [f'ct{i}' for i in range(20)]
    for n in names:
        lxc.start(n, memory_mib=64)
    ids = {n: virsh(lxc.uri, 'domid', n).out.strip() for n in names}
    inits = {n: lxc.init_pid(n) for n in names}
    lxc.daemon.kill9()
    lxc.daemon.start()
    for n in names:
        assert virsh(lxc.uri, 'domid', n).out.strip() == ids[n]
        assert lxc.state(n) == 'running (booted)'
        assert os.path.exists(f'/proc/{inits[n]}')
    # Managed by the new daemon: a shutdown is seen, a destroy works.
    assert virsh(lxc.uri, 'shutdown', 'ct0').rc == 0
    wait_for(lambda: lxc.state('ct0') == 'shut off (shutdown)', timeout=30, what='shutdown after restart')
    for n in names[1:]:
        assert virsh(lxc.uri, 'destroy', n).rc == 0
        assert not os.path.exists(f'/proc/{inits[n]}')


def test_freeze_while_daemon_down_is_believed(lxc):
    # Frozen or thawed behind the daemon's back (its freezer written directly while no corrald
    # runs): the restarted daemon reports what the container is, not what it recorded.
    lxc.start('iced')
    init = lxc.init_pid('iced')
    lxc.daemon.kill9()
    set_frozen(init, True)
    lxc.daemon.start()
    assert lxc.state('iced') == 'paused (unknown)'
    assert virsh(lxc.uri, 'resume', 'iced').rc == 0
    assert cgroup_file(init, 'freezer', 'freezer.state') == 'THAWED'
    assert virsh(lxc.uri, 'suspend', 'iced').rc == 0
    lxc.daemon.kill9()
    set_frozen(init, False)
    lxc.daemon.start()
    assert lxc.state('iced') == 'running (unpaused)'
    assert virsh(lxc.uri, 'destroy', 'iced').rc == 0


def set_frozen(pid, frozen):
    """Freezes or thaws the container of `pid` through its freezer (v1) or cgroup.freeze (v2), as
    an administrator would."""
    cgroups.set_frozen(cgroups.group_dir(pid, 'freezer'), frozen)
    wait_for(lambda: cgroup_file(pid, 'freezer', 'freezer.state') == ('FROZEN' if frozen else 'THAWED'),
             timeout=10, what='the freezer to settle')


def test_memory_hog_is_stopped_by_the_limit_and_reported(lxc):
    lxc.define('hog', memory_mib=48, initargs=['hog'])
    with lifecycle_events(lxc.uri) as events:
        assert virsh(lxc.uri, 'start', 'hog').rc == 0
        wait_for(lambda: lxc.state('hog') == 'shut off (crashed)', timeout=60, what='the hog to be stopped')
        wait_for(lambda: ('hog', 'stopped', 'failed') in events, timeout=30, what='the Stopped Failed event')
    assert 'CORRAL-CT-HOG' in lxc.console('hog') and 'CORRAL-CT-SURVIVED' not in lxc.console('hog')
    assert "container 'hog' ended unexpectedly" in lxc.daemon.stderr() and 'OOM killer' in lxc.daemon.stderr()


def test_failed_start_names_the_reason_and_leaves_nothing(lxc):
    lxc.define('broken')
    xml = virsh(lxc.uri, 'dumpxml', 'broken').out.replace('/sbin/init', '/sbin/missing')
    path = os.path.join(lxc.daemon.root, 'broken.xml')
    with open(path, 'w') as f:
        f.write(xml)
    assert virsh(lxc.uri, 'define', path).rc == 0
    r = virsh(lxc.uri, 'start', 'broken')
    assert r.rc != 0 and "cannot run init '/sbin/missing'" in r.err, r.err
    assert lxc.state('broken') == 'shut off (failed)'
    assert virsh(lxc.uri, 'list', '--name').out.split() == []


def test_without_a_root_filesystem_the_host_root_is_shared(lxc, tmpdir_path):
    path = os.path.join(tmpdir_path, 'hostroot.xml')
    with open(path, 'w') as f:
        f.write("<domain type='lxc'><name>hostroot</name><memory unit='MiB'>64</memory>"
                "<os><type>exe</type><init>/bin/busybox</init><initarg>sh</initarg><initarg>-c</initarg>"
                "<initarg>echo ROOT $(hostname) $(ls -d /proc/[0-9]* | wc -l) $(cat /etc/hostname); "
                "echo SYS $(ls /sys/fs/cgroup | wc -l); exec /bin/busybox sleep 1000</initarg></os>"
                "<devices><console type='pty'/></devices></domain>")
    assert virsh(lxc.uri, 'define', path).rc == 0
    lxc.names.append('hostroot')
    assert virsh(lxc.uri, 'start', 'hostroot').rc == 0
    wait_for(lambda: 'SYS' in lxc.console('hostroot'), timeout=30, what='the container to report')
    with open('/etc/hostname') as f:
        host_name = f.read().strip()
    words = re.search(r'ROOT (\S+) (\d+) (\S+)', lxc.console('hostroot')).groups()
    assert words[0] == 'hostroot' and int(words[1]) < 6 and words[2] == host_name
    assert 'SYS 0' in lxc.console('hostroot')  # the host's cgroup trees are not there
    assert virsh(lxc.uri, 'destroy', 'hostroot').rc == 0


@pytest.fixture
def host_bridge():
    name = f'ctbr{os.getpid() % 10000}'
    octet = 100 + os.getpid() % 100
    subprocess.run(['ip', 'link', 'add', name, 'type', 'bridge'], check=True)
    subprocess.run(['ip', 'addr', 'add', f'10.{octet}.7.1/24', 'dev', name], check=True)
    subprocess.run(['ip', 'link', 'set', name, 'up'], check=True)
    yield name, octet
    subprocess.run(['ip', 'link', 'del', name])


def test_veth_on_a_bridge_reaches_the_host(lxc, host_bridge):
    bridge, octet = host_bridge
    lxc.define('netbox', initargs=['net', f'10.{octet}.7.2/24', f'10.{octet}.7.1'], extra_devices=(
        f"<interface type='bridge'><source bridge='{bridge}'/><mac address='52:54:00:aa:bb:{octet % 100:02d}'/>"
        "</interface>"))
    assert virsh(lxc.uri, 'start', 'netbox').rc == 0
    wait_for(lambda: 'PING-' in lxc.console('netbox'), timeout=30, what='the container to ping')
    out = lxc.console('netbox')
    assert 'PING-OK' in out and 'netdevs=eth0 lo' in out, out
    live = virsh(lxc.uri, 'dumpxml', 'netbox').out
    host_end = re.search(r"<target dev='(veth\d+)'/>", live).group(1)
    assert os.path.exists(f'/sys/class/net/{bridge}/brif/{host_end}')
    with open(f'/sys/class/net/{host_end}/address') as f:
        assert f.read().strip() == f'fe:54:00:aa:bb:{octet % 100:02d}'
    assert subprocess.run(['busybox', 'ping', '-c', '1', '-W', '5', f'10.{octet}.7.2'],
                          capture_output=True).returncode == 0
    assert virsh(lxc.uri, 'destroy', 'netbox').rc == 0
    assert not os.path.exists(f'/sys/class/net/{host_end}')


def test_container_on_a_nat_network_gets_a_lease(lxc, tmpdir_path):
    octet = 150 + os.getpid() % 50
    net = os.path.join(tmpdir_path, 'net.xml')
    with open(net, 'w') as f:
        f.write(f"<network><name>ctnet</name><forward mode='nat'/><bridge name='ctnat{octet}'/>"
                f"<ip address='10.{octet}.0.1' netmask='255.255.255.0'><dhcp>"
                f"<range start='10.{octet}.0.50' end='10.{octet}.0.60'/></dhcp></ip></network>")
    assert virsh(lxc.uri, 'net-create', net).rc == 0
    try:
        lxc.define('dhcpbox', initargs=['dhcp'],
                   extra_devices="<interface type='network'><source network='ctnet'/></interface>")
        assert virsh(lxc.uri, 'start', 'dhcpbox').rc == 0
        wait_for(lambda: 'CORRAL-CT-LEASE' in lxc.console('dhcpbox'), timeout=60, what='a DHCP lease')
        lease = re.search(r'CORRAL-CT-LEASE (\S+)', lxc.console('dhcpbox')).group(1)
        assert lease.startswith(f'10.{octet}.0.') and 50 <= int(lease.rsplit('.', 1)[1]) <= 60
        assert f"bridge='ctnat{octet}'" in virsh(lxc.uri, 'dumpxml', 'dhcpbox').out
        assert virsh(lxc.uri, 'destroy', 'dhcpbox').rc == 0
    finally:
        virsh(lxc.uri, 'net-destroy', 'ctnet')


@pytest.fixture
def outside_host():
    """A host beyond this machine's NAT: a network namespace behind a veth pair with its own
    /30 (198.18.X.0, the benchmarking range), whose only route is its link to us. It listens on
    one TCP port and prints the address each connection comes from and the line it sent."""
    pid = os.getpid()
    ns, host_end, far_end = f'corral-out-{pid}', f'cout{pid % 100000}h', f'cout{pid % 100000}n'
    x = pid % 250
    subprocess.run(['ip', 'netns', 'add', ns], check=True)
    listener = None
    try:
        subprocess.run(['ip', 'link', 'add', host_end, 'type', 'veth', 'peer', 'name', far_end, 'netns', ns],
                       check=True)
        subprocess.run(['ip', 'addr', 'add', f'198.18.{x}.1/30', 'dev', host_end], check=True)
        subprocess.run(['ip', 'link', 'set', host_end, 'up'], check=True)
        subprocess.run(['ip', '-n', ns, 'addr', 'add', f'198.18.{x}.2/30', 'dev', far_end], check=True)
        subprocess.run(['ip', '-n', ns, 'link', 'set', far_end, 'up'], check=True)
        server = ("import socket\n"
                  f"s = socket.create_server(('198.18.{x}.2', 7777))\n"
                  "print('LISTENING', flush=True)\n"
                  "c, peer = s.accept()\n"
                  "c.settimeout(30)\n"
                  "print('FROM', peer[0], c.recv(200).decode().strip(), flush=True)\n")
        listener = subprocess.Popen(['ip', 'netns', 'exec', ns, '/usr/bin/python3', '-c', server],
                                    stdout=subprocess.PIPE, text=True)
        assert listener.stdout.readline().strip() == 'LISTENING'
        yield f'198.18.{x}.2', 7777, f'198.18.{x}.1', listener
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        subprocess.run(['ip', 'link', 'del', host_end], capture_output=True)
        subprocess.run(['ip', 'netns', 'del', ns], check=True)


def test_container_on_a_nat_network_reaches_beyond_the_host_and_resolves_names(lxc, tmpdir_path, outside_host):
    # The network's dnsmasq answers DNS for the hosts it leased to, and traffic to a host beyond this
    # one leaves with this host's address (masquerade): without the NAT rule the outside host
    # would see 10.N.0.77, and could not answer it (its only route is its link to us).
    far, port, our_end, listener = outside_host
    octet = 150 + (os.getpid() + 1) % 50
    net = os.path.join(tmpdir_path, 'natnet.xml')
    with open(net, 'w') as f:
        f.write(f"<network><name>natnet</name><forward mode='nat'/><bridge name='ctout{octet}'/>"
                f"<ip address='10.{octet}.0.1' netmask='255.255.255.0'><dhcp>"
                f"<range start='10.{octet}.0.50' end='10.{octet}.0.60'/>"
                f"<host mac='52:54:00:ee:00:{octet % 100:02d}' name='natbox' ip='10.{octet}.0.77'/>"
                "</dhcp></ip></network>")
    assert virsh(lxc.uri, 'net-create', net).rc == 0
    try:
        lxc.define('natbox', initargs=['natdns', 'natbox', far, str(port)], extra_devices=(
            f"<interface type='network'><source network='natnet'/><mac address='52:54:00:ee:00:{octet % 100:02d}'/>"
            "</interface>"))
        assert virsh(lxc.uri, 'start', 'natbox').rc == 0
        wait_for(lambda: re.search(r'CORRAL-CT-(NOT-)?SENT', lxc.console('natbox')), timeout=90,
                 what='the container to resolve and send')
        out = lxc.console('natbox')
        assert f'CORRAL-CT-LEASE 10.{octet}.0.77 router=10.{octet}.0.1 dns=10.{octet}.0.1' in out, out
        dns = re.search(r'CORRAL-CT-DNS (.*)', out).group(1)
        # Its own name, which only the network's dnsmasq knows (from the network's <host>).
        assert re.search(rf'Name:\s+natbox\s+Address:\s+10\.{octet}\.0\.77\b', dns), dns
        assert 'CORRAL-CT-SENT' in out, out
        assert listener.stdout.readline().split() == ['FROM', our_end, 'hello', 'from', 'natbox']
        assert virsh(lxc.uri, 'destroy', 'natbox').rc == 0
    finally:
        virsh(lxc.uri, 'net-destroy', 'natnet')


def test_idmap_root_inside_is_an_unprivileged_uid_outside(lxc, tmpdir_path):
    shared = os.path.join(tmpdir_path, 'shared')
    os.makedirs(shared)
    os.chown(shared, 300000, 300000)
    lxc.define('mapped', initargs=['files'], extra=(
        IDMAP_300000), extra_devices=(
        f"<filesystem type='mount'><source dir='{shared}'/><target dir='/data'/></filesystem>"))
    assert virsh(lxc.uri, 'start', 'mapped').rc == 0, lxc.console('mapped')
    wait_for(lambda: 'FILES-DONE' in lxc.console('mapped'), timeout=30, what='the container to report')
    out = lxc.console('mapped')
    assert 'id=0:0' in out and 'FILE-WRITTEN' in out and 'MKNOD-DENIED' in out, out
    made = os.stat(os.path.join(shared, 'made-inside'))
    assert (made.st_uid, made.st_gid) == (300000, 300000)
    init = lxc.init_pid('mapped')
    with open(f'/proc/{init}/status') as f:
        status = f.read()
    assert re.search(r'Uid:\s+300000\s+300000', status), status
    with open(f'/proc/{init}/uid_map') as f:
        assert f.read().split() == ['0', '300000', '65536']
    assert virsh(lxc.uri, 'destroy', 'mapped').rc == 0


def init_status(lxc, name):
    with open(f'/proc/{lxc.init_pid(name)}/status') as f:
        return f.read()


def test_without_idmap_a_container_is_unprivileged_and_its_root_id_mapped(lxc, tmpdir_path):
    # Before: no <idmap> meant root inside was the host's root (uid_map 0 0 4294967295).
    shared = os.path.join(tmpdir_path, 'shared')
    os.makedirs(shared)  # root's, 0755: the container's root writes it through an id-mapped mount
    lxc.define('auto', initargs=['files'], extra_devices=(
        f"<filesystem type='mount'><source dir='{shared}'/><target dir='/data'/></filesystem>"
        f"<filesystem type='mount'><source dir='{shared}'/><target dir='/srv/new'/><readonly/></filesystem>"))
    assert virsh(lxc.uri, 'start', 'auto').rc == 0, lxc.console('auto')
    wait_for(lambda: 'FILES-DONE' in lxc.console('auto'), timeout=30, what='the container to report')
    out = lxc.console('auto')
    assert 'id=0:0' in out and 'FILE-WRITTEN' in out, out
    with open(f'/proc/{lxc.init_pid("auto")}/uid_map') as f:
        start, target, count = (int(x) for x in f.read().split())
    assert (start, count) == (0, 65536) and target >= 268435456  # lxc.conf's default pool
    assert re.search(rf'Uid:\s+{target}\s+{target}', init_status(lxc, 'auto'))
    # Stored as the disk's root (the id-mapped mount maps the range back), not as the range.
    made = os.stat(os.path.join(shared, 'made-inside'))
    assert (made.st_uid, made.st_gid) == (0, 0)
    # The root file system needed no chown either: init ran from it, /tmp was writable, and a
    # missing mount point was made in it as the container's root would (owned by 0 on the disk).
    assert os.stat(os.path.join(lxc.rootfs, 'sbin', 'init')).st_uid == 0
    assert os.stat(os.path.join(lxc.rootfs, 'srv', 'new')).st_uid == 0
    # A second container gets a range of its own.
    lxc.define('auto2', initargs=['files'])
    assert virsh(lxc.uri, 'start', 'auto2').rc == 0
    with open(f'/proc/{lxc.init_pid("auto2")}/uid_map') as f:
        other = int(f.read().split()[1])
    assert abs(other - target) >= 65536
    assert virsh(lxc.uri, 'destroy', 'auto').rc == 0 and virsh(lxc.uri, 'destroy', 'auto2').rc == 0


def test_a_directory_that_cannot_be_id_mapped_is_refused_naming_it(lxc):
    # sysfs has no id-mapped mounts: an unprivileged container cannot be given its files
    # transparently, and the start says so instead of showing them as "nobody".
    lxc.define('nomap', extra_devices="<filesystem type='mount'><source dir='/sys/kernel'/><target dir='/hostkernel'/>"
                                      "<readonly/></filesystem>")
    r = virsh(lxc.uri, 'start', 'nomap')
    assert r.rc != 0
    assert ("cannot mount '/sys/kernel' on '/hostkernel': cannot give '/sys/kernel' to the container's user "
            "namespace: its file system (or one mounted below it) does not support id-mapped mounts") in r.err, r.err
    assert lxc.state('nomap') == 'shut off (failed)'
    assert virsh(lxc.uri, 'list', '--name').out.split() == []


def test_symlinks_left_in_the_root_cannot_point_a_start_at_host_files(lxc, tmpdir_path):
    # A container's root is its own to change: a previous run left /srv as a link to a host
    # directory. Before, the start made the missing mount points through it, as the host's
    # root, on the host. Now links resolve inside the container's root, where this one leads
    # nowhere: the start is refused naming the mount point, and the host is untouched.
    victim = os.path.join(tmpdir_path, 'victim')
    os.makedirs(victim)
    source_dir = os.path.join(tmpdir_path, 'srcdir')
    os.makedirs(source_dir)
    source_file = os.path.join(tmpdir_path, 'srcfile')
    with open(source_file, 'w') as f:
        f.write('bound\n')
    os.symlink(victim, os.path.join(lxc.rootfs, 'srv'))
    for target, source in (('/srv/newdir', source_dir), ('/srv/newfile', source_file)):
        name = 'linked' + target.replace('/', '-')
        lxc.define(name, extra_devices=(
            f"<filesystem type='mount'><source dir='{source}'/><target dir='{target}'/></filesystem>"))
        r = virsh(lxc.uri, 'start', name)
        assert r.rc != 0 and f"on '{target}': cannot create '{target}'" in r.err, r.err
        assert os.listdir(victim) == []
    # A link that stays inside the root is followed there.
    os.unlink(os.path.join(lxc.rootfs, 'srv'))
    os.symlink('/data', os.path.join(lxc.rootfs, 'srv'))
    lxc.start('linked-inside', extra_devices=(
        f"<filesystem type='mount'><source dir='{source_file}'/><target dir='/srv/newfile'/></filesystem>"))
    r = virsh(lxc.uri, 'lxc-enter-namespace', 'linked-inside', '--noseclabel', '--', '/bin/cat', '/data/newfile')
    assert r.rc == 0 and r.out.strip() == 'bound', r.err
    assert os.path.exists(os.path.join(lxc.rootfs, 'data', 'newfile'))


def host_root_xml(name, script, extra=''):
    return (f"<domain type='lxc'><name>{name}</name><memory unit='MiB'>64</memory>"
            "<os><type>exe</type><init>/bin/busybox</init><initarg>sh</initarg><initarg>-c</initarg>"
            f"<initarg>{script}; exec /bin/busybox sleep 1000</initarg></os>{extra}"
            "<devices><console type='pty'/></devices></domain>")


@pytest.mark.parametrize('privileged', [False, True])
def test_sharing_the_host_root_an_unprivileged_container_cannot_write_root_files(lxc, tmpdir_path, privileged):
    # Before: a container without a root <filesystem> and without <idmap> wrote every file of
    # the host as root. Now only a container that asks to be privileged does.
    hostdir = os.path.join(tmpdir_path, 'host-owned')
    os.makedirs(hostdir)  # root:root 0755, like /etc
    name = 'hostwriter' + ('-priv' if privileged else '')
    path = os.path.join(tmpdir_path, name + '.xml')
    with open(path, 'w') as f:
        f.write(host_root_xml(name, f'if echo x > {hostdir}/made 2>/dev/null; then echo HOSTFILE-WRITTEN; '
                                    f'else echo HOSTFILE-REFUSED; fi',
                              "<seclabel type='none' model='dac'/>" if privileged else ''))
    assert virsh(lxc.uri, 'define', path).rc == 0
    lxc.names.append(name)
    assert virsh(lxc.uri, 'start', name).rc == 0
    wait_for(lambda: 'HOSTFILE-' in lxc.console(name), timeout=30, what='the container to report')
    assert ('HOSTFILE-WRITTEN' if privileged else 'HOSTFILE-REFUSED') in lxc.console(name)
    assert os.path.exists(os.path.join(hostdir, 'made')) == privileged
    assert virsh(lxc.uri, 'destroy', name).rc == 0


def test_privnet_gives_a_network_namespace_of_its_own(lxc):
    # Before: <privnet/> was accepted and init stayed in the host's network namespace.
    lxc.define('private', initargs=['privnet'], extra='<features><privnet/></features>')
    assert virsh(lxc.uri, 'start', 'private').rc == 0
    wait_for(lambda: 'CORRAL-CT-NETDEVS' in lxc.console('private'), timeout=30, what='the container to report')
    assert re.search(r'CORRAL-CT-NETDEVS lo $', lxc.console('private'), re.M), lxc.console('private')
    init = lxc.init_pid('private')
    assert os.readlink(f'/proc/{init}/ns/net') != os.readlink('/proc/self/ns/net')
    with open(f'/proc/{init}/net/dev') as f:
        assert [line.split(':')[0].strip() for line in f.readlines()[2:]] == ['lo']
    assert virsh(lxc.uri, 'destroy', 'private').rc == 0


def test_capabilities_policy_seccomp_and_no_new_privs_apply_to_init(lxc):
    # Before: <features><capabilities> was ignored (the bounding set lost 7 capabilities
    # whatever it said) and init ran without a seccomp filter.
    lxc.define('deny', extra="<seclabel type='none' model='dac'/><features><capabilities policy='deny'>"
                             "<mknod state='on'/><sys_boot state='on'/></capabilities></features>")
    lxc.define('allow', extra="<features><capabilities policy='allow'><sys_admin state='off'/></capabilities>"
                              "</features>")
    lxc.define('defaults', extra="<seclabel type='none' model='dac'/>")
    for name in ('deny', 'allow', 'defaults'):
        assert virsh(lxc.uri, 'start', name).rc == 0
        wait_for(lambda: 'devices=' in lxc.console(name), timeout=30, what=f'{name} to report')

    def caps(name, field):
        return int(re.search(rf'{field}:\s+([0-9a-f]+)', init_status(lxc, name)).group(1), 16)

    assert caps('deny', 'CapBnd') == (1 << 27) | (1 << 22)  # CAP_MKNOD, CAP_SYS_BOOT
    assert caps('deny', 'CapEff') == caps('deny', 'CapBnd') and caps('deny', 'CapInh') == 0
    allow = caps('allow', 'CapBnd')
    assert allow & (1 << 21) == 0 and allow & (1 << 16) and allow & (1 << 17)  # no sys_admin; sys_module, rawio
    # A privileged container's defaults: none of sys_admin (21), dac_read_search (2),
    # sys_ptrace (19), syslog (34), net_admin (12) on the host's network, mknod (27).
    defaults = caps('defaults', 'CapBnd')
    for bit in (21, 2, 19, 34, 12, 27, 16, 17):
        assert defaults & (1 << bit) == 0, bit
    assert defaults & (1 << 0) and defaults & (1 << 22)  # chown, sys_boot
    for name in ('deny', 'allow', 'defaults'):
        status = init_status(lxc, name)
        assert re.search(r'Seccomp:\s+2', status) and re.search(r'NoNewPrivs:\s+1', status), status
    # Refused, naming what is wrong.
    path = os.path.join(lxc.daemon.root, 'bad.xml')
    with open(path, 'w') as f:
        f.write(container_xml('bad', lxc.rootfs, extra="<features><capabilities policy='deny'>"
                                                      "<sys_everything state='on'/></capabilities></features>"))
    r = virsh(lxc.uri, 'define', path)
    assert r.rc != 0 and 'unknown capability <sys_everything>' in r.err, r.err


def test_lxc_enter_namespace_joins_a_user_namespace_container_on_the_host_network(lxc, bin_dir, tmpdir_path):
    # Before: entering the container's user namespace first, the client could not join the
    # host's network namespace afterwards ("Unable to join domain namespace").
    shared = os.path.join(tmpdir_path, 'mapped-data')
    os.makedirs(shared)
    os.chown(shared, 300000, 300000)
    lxc.start('mappedshell', initargs=['shell'], extra=IDMAP_300000, extra_devices=(
        f"<filesystem type='mount'><source dir='{shared}'/><target dir='/data'/></filesystem>"))
    r = virsh(lxc.uri, 'lxc-enter-namespace', 'mappedshell', '--noseclabel', '--', '/bin/sh', '-c',
              'echo "host=$(hostname) init=$(ls /sbin/init)"')
    assert r.rc == 0, r.err
    assert 'host=mappedshell init=/sbin/init' in r.out
    # corral enters as the container's root (virsh keeps the host's uid, unmapped there): what
    # the command creates belongs to the container.
    r = corral(bin_dir, lxc.uri, 'lxc-enter-namespace', 'mappedshell', '--', '/bin/sh', '-c',
               'echo made > /data/entered && echo "id=$(id -u):$(id -g)"')
    assert r.rc == 0 and 'id=0:0' in r.out, r.err
    made = os.stat(os.path.join(shared, 'entered'))
    assert (made.st_uid, made.st_gid) == (300000, 300000)


def test_console_round_trip_with_python_and_the_real_virsh(lxc):
    import libvirt
    import threading
    lxc.define('shellbox', initargs=['shell'])
    assert virsh(lxc.uri, 'start', 'shellbox').rc == 0
    wait_for(lambda: 'CORRAL-CT-SHELL' in lxc.console('shellbox'), timeout=30, what='the shell')
    conn = libvirt.open(lxc.uri)
    try:
        dom = conn.lookupByName('shellbox')
        stream = conn.newStream(0)
        dom.openConsole(None, stream, 0)
        stream.send(b'echo CORRAL-$((6*7))\n')
        received = bytearray()

        def read():
            while b'CORRAL-42' not in received:
                chunk = stream.recv(4096)
                if not chunk:
                    return
                received.extend(chunk)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(30)
        assert b'CORRAL-42' in received, bytes(received)
        stream.abort()
    finally:
        conn.close()
    # The real virsh, on a terminal of its own: type a command, read its answer, leave with ^].
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp('virsh', ['virsh', '-c', lxc.uri, 'console', 'shellbox'])
    seen = b''
    deadline = time.monotonic() + 30

    def read_until(marker, until=None):
        nonlocal seen
        import select
        until = until or deadline
        while marker not in seen and time.monotonic() < min(until, deadline):
            if not select.select([fd], [], [], 0.5)[0]:
                continue
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
        return marker in seen
    try:
        assert read_until(b'Escape character is ^]'), seen
        # virsh prints that line before it opens the stream and makes its terminal raw, which
        # discards what was typed meanwhile: type again until the answer comes.
        while b'VIRSH-42' not in seen and time.monotonic() < deadline:
            os.write(fd, b'echo VIRSH-$((7*6))\r')
            read_until(b'VIRSH-42', time.monotonic() + 2)
        assert b'VIRSH-42' in seen, seen
        os.write(fd, b'\x1d')
        wait_for(lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, timeout=30, what='virsh console to leave')
        pid = 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert virsh(lxc.uri, 'destroy', 'shellbox').rc == 0


def test_reboot_from_inside_restarts_and_autostart_and_undefine(lxc, tmpdir_path):
    data = os.path.join(tmpdir_path, 'rebootdata')
    os.makedirs(data)
    lxc.define('rebooter', initargs=['reboot'], extra_devices=(
        f"<filesystem type='mount'><source dir='{data}'/><target dir='/data'/></filesystem>"))
    assert virsh(lxc.uri, 'start', 'rebooter').rc == 0
    # Its init calls reboot(2): the kernel ends it with SIGHUP, and on_reboot=restart starts it again.
    wait_for(lambda: 'CORRAL-CT-AFTER-REBOOT' in lxc.console('rebooter'), timeout=30, what='the restart')
    assert lxc.console('rebooter').count('CORRAL-CT-READY') == 2
    assert lxc.state('rebooter').startswith('running')
    # Undefined while running it becomes transient; destroyed it is gone.
    assert virsh(lxc.uri, 'undefine', 'rebooter').rc == 0
    assert 'Persistent:     no' in virsh(lxc.uri, 'dominfo', 'rebooter').out
    assert virsh(lxc.uri, 'destroy', 'rebooter').rc == 0
    assert virsh(lxc.uri, 'domstate', 'rebooter').rc != 0
    # Autostart: a stopped daemon's autostart container runs once the next daemon is up.
    lxc.define('auto')
    assert virsh(lxc.uri, 'autostart', 'auto').rc == 0
    lxc.daemon.stop()
    lxc.daemon.start()
    wait_for(lambda: lxc.state('auto') == 'running (booted)', timeout=30, what='autostart')
    wait_for(lambda: 'devices=' in lxc.console('auto'), timeout=30, what='the autostarted container')


def listening_socket():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(4)
    return s, s.getsockname()[1]


def greeting(port):
    with socket.create_connection(('127.0.0.1', port), timeout=10) as c:
        c.settimeout(10)
        return c.recv(200).decode()


def test_pass_fds_hands_a_listening_socket_to_init_as_fd3(lxc, tmpdir_path):
    # The socket-activation example: the host opens the socket, the container's init serves it.
    listener, port = listening_socket()
    lxc.define('sock', initargs=['passfd'])
    r = virsh(lxc.uri, 'start', 'sock', '--pass-fds', str(listener.fileno()), pass_fds=[listener.fileno()])
    assert r.rc == 0, r.err
    listener.close()  # from now on only the container holds it
    wait_for(lambda: 'CORRAL-CT-LISTEN-FDS' in lxc.console('sock'), timeout=30, what='init to start')
    assert 'CORRAL-CT-LISTEN-FDS 1 1' in lxc.console('sock')
    assert greeting(port).startswith('CORRAL-FD3 hello from pid 1')
    assert greeting(port).startswith('CORRAL-FD3 hello from pid 1')
    assert virsh(lxc.uri, 'destroy', 'sock').rc == 0

    # virsh create --pass-fds: the same for a transient container, here with two descriptors.
    first, _ = listening_socket()
    second, port2 = listening_socket()
    path = os.path.join(tmpdir_path, 'sock2.xml')
    with open(path, 'w') as f:
        f.write(container_xml('sock2', lxc.rootfs, initargs=['passfd']))
    fds = f'{second.fileno()},{first.fileno()}'
    r = virsh(lxc.uri, 'create', path, '--pass-fds', fds, pass_fds=[first.fileno(), second.fileno()])
    assert r.rc == 0, r.err
    lxc.names.append('sock2')
    first.close()
    second.close()
    wait_for(lambda: 'CORRAL-CT-LISTEN-FDS' in lxc.console('sock2'), timeout=30, what='init to start')
    assert 'CORRAL-CT-LISTEN-FDS 2 1' in lxc.console('sock2')
    assert greeting(port2).startswith('CORRAL-FD3 hello')  # the first listed is fd 3


def test_pass_fds_is_refused_where_guests_cannot_take_them(lxc, tmpdir_path):
    listener, _ = listening_socket()
    uri = lxc.daemon.uri('test')
    lxc.daemon.hold_test_state()  # test:///default keeps the destroy between the virsh calls
    try:
        assert virsh(uri, 'destroy', 'test').rc == 0
        r = virsh(uri, 'start', 'test', '--pass-fds', str(listener.fileno()), pass_fds=[listener.fileno()])
        assert r.rc != 0
        assert 'this function is not supported by the connection driver: virDomainCreateWithFiles' in r.err
        assert virsh(uri, 'domstate', 'test').out.strip() == 'shut off'  # nothing else happened to it
    finally:
        lxc.daemon.release_test_state()


def test_lxc_enter_namespace_runs_a_command_inside(lxc):
    lxc.start('inside')
    for extra in (['--noseclabel'], []):
        r = virsh(lxc.uri, 'lxc-enter-namespace', 'inside', *extra, '--', '/bin/sh', '-c',
                  'echo "host=$(hostname) procs=$(ls -d /proc/[0-9]* | wc -l) root=$(ls /data /sbin/init)"')
        assert r.rc == 0, r.err
        out = r.out.strip()
        assert 'host=inside' in out
        # Its own pid namespace: init, the shell and its helpers, nothing of the host's.
        procs = int(re.search(r'procs=(\d+)', out).group(1))
        assert procs < 10
        assert 'root=/sbin/init' in out  # the container's root, not the host's
    # It joined the container's cgroup: the daemon's container id is the controller's pid.
    domid = int(virsh(lxc.uri, 'domid', 'inside').out.strip())
    with open(f'/proc/{domid}/cmdline') as f:
        assert 'corral-lxc' in f.read()
    # Read-only connections may not enter.
    ro = virsh(lxc.daemon.uri('lxc', readonly=True), 'lxc-enter-namespace', 'inside', '--noseclabel', '/bin/true',
               readonly=False)
    assert ro.rc != 0 and 'read only access prevents virDomainLxcOpenNamespace' in ro.err


def test_destroy_kills_every_task_of_the_containers_cgroups(lxc):
    # A task in the container's groups but outside its pid namespace (one that joined them from
    # the host, as lxc-enter-namespace's own process does) does not die with init: destroy must
    # kill it, or the groups stay and it runs on with no container to account for it.
    lxc.start('joined')
    init = lxc.init_pid('joined')
    # Its group in each hierarchy of the host's layout: one per v1 controller, the one v2 group.
    controllers = ('memory', 'pids', 'freezer', 'cpu')
    layout = cgroups.host_layout()
    groups = {cgroups.group_dir(init, c) for c in controllers}
    assert all(g.endswith('/lxc/joined') for g in groups), groups
    assert len(groups) == len({layout.mount_of(c) for c in controllers}), groups
    stray = subprocess.Popen(['/bin/sleep', '100000'])
    for g in groups:
        with open(g + '/cgroup.procs', 'w') as f:
            f.write(str(stray.pid))
    try:
        assert virsh(lxc.uri, 'destroy', 'joined').rc == 0
        assert stray.wait(timeout=30) == -9
        for g in groups:
            assert not os.path.exists(g), g
        assert 'cannot remove cgroup' not in lxc.daemon.stderr()
    finally:
        stray.kill()


def test_shutdown_and_reboot_modes_use_initctl_when_the_container_has_it(lxc):
    lxc.define('sysv', initargs=['initctl'])
    assert virsh(lxc.uri, 'start', 'sysv').rc == 0
    wait_for(lambda: 'CORRAL-CT-INITCTL-READY' in lxc.console('sysv'), timeout=30, what='the initctl FIFO')
    # The default mode finds the FIFO: init reads a halt request (runlevel 0) and exits.
    assert virsh(lxc.uri, 'shutdown', 'sysv').rc == 0
    wait_for(lambda: lxc.state('sysv') == 'shut off (shutdown)', timeout=30, what='the initctl shutdown')
    assert 'CORRAL-CT-INITCTL size=384 magic=69190903 runlevel=0' in lxc.console('sysv')

    # A reboot request is runlevel 6.
    assert virsh(lxc.uri, 'start', 'sysv').rc == 0
    wait_for(lambda: lxc.console('sysv').count('CORRAL-CT-INITCTL-READY') == 2, timeout=30, what='second boot')
    assert virsh(lxc.uri, 'reboot', 'sysv', '--mode', 'initctl').rc == 0
    wait_for(lambda: 'runlevel=6' in lxc.console('sysv'), timeout=30, what='the reboot request')
    virsh(lxc.uri, 'destroy', 'sysv')

    # Without a FIFO, --mode initctl says so; the default falls back to SIGTERM.
    lxc.start('plain')
    r = virsh(lxc.uri, 'shutdown', 'plain', '--mode', 'initctl')
    assert r.rc != 0 and 'does not provide an initctl pipe' in r.err
    assert lxc.state('plain') == 'running (booted)'
    assert virsh(lxc.uri, 'shutdown', 'plain').rc == 0
    wait_for(lambda: lxc.state('plain') == 'shut off (shutdown)', timeout=30, what='the SIGTERM shutdown')
    assert 'CORRAL-CT-TERM' in lxc.console('plain')


def read_until(pipe, text, timeout):
    """What `pipe` gave until `text` appeared in it (fails if it does not within `timeout`)."""
    import select
    got = b''
    deadline = time.monotonic() + timeout
    while text not in got:
        left = deadline - time.monotonic()
        assert left > 0 and select.select([pipe], [], [], left)[0], f'no {text!r} in {got!r}'
        chunk = os.read(pipe.fileno(), 4096)
        assert chunk, f'end of output before {text!r}: {got!r}'
        got += chunk
    return got


def test_corral_console_enter_namespace_and_pass_fds(lxc, bin_dir):
    lxc.define('cli', initargs=['shell'])
    assert corral(bin_dir, lxc.uri, 'start', 'cli').rc == 0
    wait_for(lambda: 'CORRAL-CT-SHELL' in lxc.console('cli'), timeout=30, what='the shell')
    # console: what is typed reaches the container's shell, its answer comes back, ^] leaves.
    p = subprocess.Popen([os.path.join(bin_dir, 'corral'), '-c', lxc.uri, 'console', 'cli'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b'echo CLI-$((6*7))\n')
    p.stdin.flush()
    answer = read_until(p.stdout, b'CLI-42', timeout=30)  # the shell's answer, not the echoed command
    p.stdin.write(b'\x1d')
    p.stdin.flush()
    out, err = p.communicate(timeout=30)
    out = answer + out
    assert p.returncode == 0, err
    assert b"Connected to domain 'cli'" in out and b'CLI-42' in out, out

    # lxc-enter-namespace: the command runs inside, and its exit status comes back.
    r = corral(bin_dir, lxc.uri, 'lxc-enter-namespace', 'cli', '--', '/bin/sh', '-c',
               'echo "host=$(hostname) procs=$(ls -d /proc/[0-9]* | wc -l)"; exit 7')
    assert r.rc == 7, r.err
    assert 'host=cli' in r.out
    assert int(re.search(r'procs=(\d+)', r.out).group(1)) < 10
    assert corral(bin_dir, lxc.uri, 'destroy', 'cli').rc == 0

    # start --pass-fds from corral.
    listener, port = listening_socket()
    lxc.define('clisock', initargs=['passfd'])
    r = corral(bin_dir, lxc.uri, 'start', 'clisock', '--pass-fds', str(listener.fileno()),
               pass_fds=[listener.fileno()])
    assert r.rc == 0, r.err
    listener.close()
    assert greeting(port).startswith('CORRAL-FD3 hello from pid 1')
    assert corral(bin_dir, lxc.uri, 'destroy', 'clisock').rc == 0
    bad = corral(bin_dir, lxc.uri, 'start', 'clisock', '--pass-fds', 'x')
    assert bad.rc != 0 and "Unable to parse FD number 'x'" in bad.err


def test_schedinfo_memtune_blkiotune_on_a_running_container(lxc):
    lxc.start('tuned', memory_mib=96)
    init = lxc.init_pid('tuned')
    assert cgroup_file(init, 'pids', 'pids.max') == '16384'  # lxc.conf's max_processes default
    out = virsh(lxc.uri, 'schedinfo', 'tuned').out
    # libvirt's LXC parameters: shares and one period/quota pair (no emulator/iothread threads).
    assert re.findall(r'^(\w+)\s*:', out, re.M) == ['Scheduler', 'cpu_shares', 'vcpu_period', 'vcpu_quota']
    assert virsh(lxc.uri, 'schedinfo', 'tuned', '--live', '--set', 'cpu_shares=300').rc == 0
    assert virsh(lxc.uri, 'schedinfo', 'tuned', '--live', '--set', 'vcpu_quota=25000').rc == 0
    assert cgroup_file(init, 'cpu', 'cpu.shares') == '300'
    assert cgroup_file(init, 'cpu', 'cpu.cfs_quota_us') == '25000'
    r = virsh(lxc.uri, 'schedinfo', 'tuned', '--live', '--set', 'emulator_period=100000')
    assert r.rc != 0 and 'invalid scheduler option: emulator_period' in r.err  # virsh checks the list
    assert int(cgroup_file(init, 'memory', 'memory.limit_in_bytes')) == 96 << 20
    assert virsh(lxc.uri, 'memtune', 'tuned', '--live', '--hard-limit', '80000').rc == 0
    assert int(cgroup_file(init, 'memory', 'memory.limit_in_bytes')) == 80000 << 10
    assert 'hard_limit     : 80000' in virsh(lxc.uri, 'memtune', 'tuned').out
    # --config changes the definition only, for the next start.
    assert virsh(lxc.uri, 'schedinfo', 'tuned', '--config', '--set', 'cpu_shares=700').rc == 0
    assert cgroup_file(init, 'cpu', 'cpu.shares') == '300'
    assert "<shares>700</shares>" in virsh(lxc.uri, 'dumpxml', '--inactive', 'tuned').out
    # A weight needs an I/O scheduler with weights (BFQ): set and read back, or refused by name.
    weight_file = cgroups.blkio_weight_file(cgroups.group_dir(init, 'blkio'))
    r = virsh(lxc.uri, 'blkiotune', 'tuned', '--live', '--weight', '300')
    if weight_file:
        assert r.rc == 0 and cgroups.blkio_weight(weight_file) == 300, (r.err, weight_file)
        assert re.search(r'^weight\s+: 300$', virsh(lxc.uri, 'blkiotune', 'tuned').out, re.M)
    else:
        assert r.rc != 0 and 'blkio weight is not supported on this host' in r.err, r.err
        assert not re.search(r'^weight\s+: 300$', virsh(lxc.uri, 'blkiotune', 'tuned').out, re.M)
    info = virsh(lxc.uri, 'dominfo', 'tuned').out
    assert re.search(r'CPU time:\s+\d+\.\d+s', info) and 'Used memory:' in info


def test_max_processes_from_lxc_conf_stops_a_fork_bomb(lxc, bin_dir):
    conf = os.path.join(lxc.daemon.root, 'etc', 'corral', 'lxc.conf')
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, 'w') as f:
        f.write('max_processes = 20\n')
    lxc.daemon.stop()
    lxc.daemon.start()
    lxc.start('forky')
    assert cgroup_file(lxc.init_pid('forky'), 'pids', 'pids.max') == '20'
    # corral's lxc-enter-namespace joins every cgroup of the container (virsh 9.0 does not
    # know the pids controller and leaves its command outside that one).
    r = corral(bin_dir, lxc.uri, 'lxc-enter-namespace', 'forky', '--', '/bin/sh', '-c',
               'n=0; while [ $n -lt 40 ]; do sleep 2 & n=$((n+1)); done 2>/dev/null; wait')
    # The kernel refused the forks beyond the limit and counted them.
    events = cgroup_file(lxc.init_pid('forky'), 'pids', 'pids.events')
    assert int(events.split()[1]) > 0, (events, r.err)


def test_proc_meminfo_and_uptime_are_the_containers(lxc, bin_dir):
    lxc.define('viewed', memory_mib=96, initargs=['meminfo'])
    before = time.monotonic()
    assert virsh(lxc.uri, 'start', 'viewed').rc == 0
    wait_for(lambda: 'CORRAL-CT-MEMINFO' in lxc.console('viewed'), timeout=30, what='init to read /proc')
    since_start = time.monotonic() - before
    line = re.search(r'CORRAL-CT-MEMINFO MemTotal: (\d+) kB uptime=(\d+)', lxc.console('viewed'))
    assert line, lxc.console('viewed')
    assert int(line.group(1)) == 96 * 1024  # the cgroup's limit, not the host's memory
    with open('/proc/uptime') as f:
        host_uptime = float(f.read().split()[0])
    # Counted from the container's start: no more than the time the test saw pass since it asked
    # for the start (the host's uptime is larger: the host booted before the test began).
    assert int(line.group(2)) <= since_start + 1 < host_uptime, (line.group(2), since_start, host_uptime)
    # Live: a new limit shows at the next read, from inside.
    assert virsh(lxc.uri, 'memtune', 'viewed', '--live', '--hard-limit', '65536').rc == 0
    r = corral(bin_dir, lxc.uri, 'lxc-enter-namespace', 'viewed', '--', '/bin/grep', 'MemTotal', '/proc/meminfo')
    assert re.search(r'MemTotal:\s+65536 kB', r.out), r.out + r.err
    # The host's own view is untouched.
    with open('/proc/meminfo') as f:
        assert int(f.readline().split()[1]) > 96 * 1024
