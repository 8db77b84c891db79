# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest isolation with real QEMU (TCG): each guest's process runs under its own uid in its own
# cgroup, mount namespace and Landlock domain; tuning reaches the cgroup files live; files given
# to a guest go back to their owner after destroy and after a daemon crash; one guest cannot open
# another's image; a guest over its memory limit is stopped and reported.
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from framework import cgroups
from framework.qemu_fixtures import guest_files, qemu, qemu_pids, serial_text, state, wait_for  # noqa: F401
from framework.event_loop import lifecycle_events
from framework.host_names import cgroup_dir
from framework.tools import corral, virsh


def proc_status(pid):
    fields = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            fields[key] = value.split()
    return fields


def read(path):
    """A file's text; a cgroup file named as on v1 (cpu.shares...) is read from the file that
    holds the same setting on this host's layout (framework/cgroups.py), v1 or v2."""
    if path.startswith('/sys/fs/cgroup/'):
        return cgroups.read_as_v1(os.path.dirname(path), os.path.basename(path))
    with open(path) as f:
        return f.read().strip()


def make_image(path, size='8M'):
    subprocess.run(['qemu-img', 'create', '-f', 'raw', path, size], check=True, capture_output=True)
    os.chmod(path, 0o600)
    return path


def disk(path, target='vda'):
    return (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{path}'/>"
            f"<target dev='{target}' bus='virtio'/></disk>")


def test_guest_process_is_confined(qemu, tmpdir_path):
    image = make_image(os.path.join(tmpdir_path, 'own.img'))
    serial = qemu.start_and_boot('confined', extra_devices=disk(image))
    [pid] = qemu_pids('confined')
    status = proc_status(pid)
    uid = int(status['Uid'][0])
    assert uid >= 200000, status['Uid']
    assert status['Uid'] == [str(uid)] * 4 and status['Gid'][0] == str(uid)
    assert status['NoNewPrivs'] == ['1']
    assert status['CapEff'] == ['0000000000000000']
    # The live XML names the identity; the image and the serial log belong to it while it runs.
    live = virsh(qemu.uri, 'dumpxml', 'confined').out
    assert f"<seclabel type='dynamic' model='dac' relabel='yes'>" in live
    assert f'<label>+{uid}:+{uid}</label>' in live
    assert os.stat(image).st_uid == uid and os.stat(serial).st_uid == uid
    # Its own cgroup, below the daemon's partition.
    assert re.search(r'/qemu/confined/emulator$', cgroup_dir(pid, 'cpu'))
    # A private /dev: a tmpfs with a handful of nodes, not the host's devtmpfs.
    with open(f'/proc/{pid}/mountinfo') as f:
        dev = [line for line in f if line.split()[4] == '/dev']
    assert dev and 'corral-dev' in dev[-1], dev
    nodes = set(os.listdir(f'/proc/{pid}/root/dev'))
    assert {'null', 'zero', 'urandom', 'ptmx', 'pts'} <= nodes and 'sda' not in nodes and 'mem' not in nodes
    # dominfo shows the model and label; the capabilities list dac and landlock.
    info = virsh(qemu.uri, 'dominfo', 'confined').out
    assert re.search(r'Security model:\s+dac', info) and f'+{uid}:+{uid}' in info, info
    caps = virsh(qemu.uri, 'capabilities').out
    assert '<model>dac</model>' in caps and '<model>landlock</model>' in caps
    # The label binding is in the audit trail (the store's audit table), as libvirt's
    # VIRT_MACHINE_ID record has it.
    import sqlite3
    db = sqlite3.connect(os.path.join(qemu.daemon.root, 'lib', 'corral', 'corral.db'))
    rows = db.execute("SELECT detail FROM audit WHERE kind = 'VIRT_MACHINE_ID'").fetchall()
    db.close()
    assert any(f'vm="confined"' in d and f'vm-ctx="+{uid}:+{uid}"' in d and 'model=dac' in d for (d,) in rows), rows
    # After destroy everything goes back to root.
    assert virsh(qemu.uri, 'destroy', 'confined').rc == 0
    assert os.stat(image).st_uid == 0 and os.stat(serial).st_uid == 0
    assert 'seclabel' not in virsh(qemu.uri, 'dumpxml', 'confined').out


def test_cgroup_values_applied_and_changed_live(qemu, bin_dir):
    tune = ("<memtune><hard_limit unit='MiB'>600</hard_limit><soft_limit unit='MiB'>500</soft_limit></memtune>"
            "<cputune><shares>512</shares><period>100000</period><quota>50000</quota></cputune>")
    qemu.define('tuned', vcpus=2, iothreads=1)
    xml = virsh(qemu.uri, 'dumpxml', 'tuned').out.replace('</vcpu>', '</vcpu>' + tune, 1)
    path = os.path.join(qemu.daemon.root, 'tuned.xml')
    with open(path, 'w') as f:
        f.write(xml)
    assert virsh(qemu.uri, 'define', path).rc == 0
    assert virsh(qemu.uri, 'start', 'tuned').rc == 0
    [pid] = qemu_pids('tuned')
    guest = cgroup_dir(pid, 'cpu').rsplit('/', 1)[0]
    mem = cgroup_dir(pid, 'memory').rsplit('/', 1)[0]
    cpuset = cgroup_dir(pid, 'cpuset').rsplit('/', 1)[0]
    assert read(f'{guest}/cpu.shares') == '512'
    assert read(f'{guest}/vcpu0/cpu.cfs_quota_us') == '50000' and read(f'{guest}/vcpu1/cpu.cfs_quota_us') == '50000'
    assert read(f'{mem}/memory.limit_in_bytes') == str(600 * 1024 * 1024)
    assert read(f'{mem}/memory.soft_limit_in_bytes') == str(500 * 1024 * 1024)
    # Each vCPU thread is in its own group.
    vcpu_tids = read(f'{guest}/vcpu0/tasks').split()
    assert len(vcpu_tids) == 1 and vcpu_tids[0] != str(pid)

    r = virsh(qemu.uri, 'schedinfo', 'tuned', '--live', '--set', 'cpu_shares=256')
    assert r.rc == 0, r.err
    assert read(f'{guest}/cpu.shares') == '256'
    out = virsh(qemu.uri, 'schedinfo', 'tuned', '--live').out
    assert re.search(r'cpu_shares\s+:\s+256', out) and re.search(r'vcpu_quota\s+:\s+50000', out), out
    assert virsh(qemu.uri, 'schedinfo', 'tuned', '--live', '--set', 'vcpu_quota=20000').rc == 0
    assert read(f'{guest}/vcpu1/cpu.cfs_quota_us') == '20000'

    r = virsh(qemu.uri, 'memtune', 'tuned', '--live', '--hard-limit', '700000')
    assert r.rc == 0, r.err
    assert read(f'{mem}/memory.limit_in_bytes') == str(700000 * 1024)
    out = virsh(qemu.uri, 'memtune', 'tuned').out
    assert re.search(r'hard_limit\s+:\s+700000', out) and re.search(r'swap_hard_limit\s*:\s+unlimited', out), out

    # Pinning: the vCPU's cpuset group and its thread's affinity.
    assert virsh(qemu.uri, 'vcpupin', 'tuned', '1', '0', '--live').rc == 0
    assert read(f'{cpuset}/vcpu1/cpuset.cpus') == '0'
    tid = read(f'{guest}/vcpu1/tasks').split()[0]
    assert os.sched_getaffinity(int(tid)) == {0}
    assert virsh(qemu.uri, 'emulatorpin', 'tuned', '0', '--live').rc == 0
    assert read(f'{cpuset}/emulator/cpuset.cpus') == '0'
    assert "<emulatorpin cpuset='0'/>" in virsh(qemu.uri, 'dumpxml', 'tuned').out
    assert virsh(qemu.uri, 'iothreadpin', 'tuned', '1', '0', '--live').rc == 0
    assert read(f'{cpuset}/iothread1/cpuset.cpus') == '0'
    assert "<iothreadpin iothread='1' cpuset='0'/>" in virsh(qemu.uri, 'dumpxml', 'tuned').out
    r = virsh(qemu.uri, 'iothreadpin', 'tuned', '7', '0', '--live')
    assert r.rc != 0 and 'iothread 7 not found' in r.err

    # --config changes only the persistent definition.
    assert virsh(qemu.uri, 'schedinfo', 'tuned', '--config', '--set', 'cpu_shares=2048').rc == 0
    assert read(f'{guest}/cpu.shares') == '256'
    assert '<shares>2048</shares>' in virsh(qemu.uri, 'dumpxml', '--inactive', 'tuned').out
    # A value the kernel refuses is an error naming it; nothing changes.
    r = virsh(qemu.uri, 'schedinfo', 'tuned', '--live', '--set', 'cpu_shares=1')
    assert r.rc != 0 and 'cpu_shares' in r.err
    assert read(f'{guest}/cpu.shares') == '256'
    # corral prints what virsh prints, and sets the same files.
    for args in (['schedinfo', 'tuned', '--live'], ['schedinfo', 'tuned', '--config'], ['memtune', 'tuned'],
                 ['memtune', 'tuned', '--config'], ['blkiotune', 'tuned', '--config']):
        mine, theirs = corral(bin_dir, qemu.uri, *args), virsh(qemu.uri, *args)
        assert (mine.rc, mine.out) == (theirs.rc, theirs.out), (args, mine, theirs)
    r = corral(bin_dir, qemu.uri, 'schedinfo', 'tuned', '--live', '--set', 'cpu_shares=300')
    assert r.rc == 0 and re.search(r'cpu_shares\s+:\s+300', r.out), r
    assert read(f'{guest}/cpu.shares') == '300'
    assert corral(bin_dir, qemu.uri, 'memtune', 'tuned', '--live', '--soft-limit', '256M').rc == 0
    assert read(f'{mem}/memory.soft_limit_in_bytes') == str(256 * 1024 * 1024)
    r = corral(bin_dir, qemu.uri, 'schedinfo', 'tuned', '--set', 'no_such=1')
    assert r.rc == 1 and 'invalid scheduler option: no_such' in r.err
    assert virsh(qemu.uri, 'destroy', 'tuned').rc == 0
    assert not os.path.exists(guest) and not os.path.exists(mem) and not os.path.exists(cpuset)


def test_blkiotune_config_and_clear_error_live(qemu):
    qemu.start_and_boot('blk')
    assert virsh(qemu.uri, 'blkiotune', 'blk', '--config', '--weight', '700').rc == 0
    assert '<weight>700</weight>' in virsh(qemu.uri, 'dumpxml', '--inactive', 'blk').out
    [pid] = qemu_pids('blk')
    guest = cgroup_dir(pid, 'blkio').rsplit('/', 1)[0]
    weight_file = cgroups.blkio_weight_file(guest)
    before = weight_file and cgroups.blkio_weight(weight_file)
    r = virsh(qemu.uri, 'blkiotune', 'blk', '--live', '--weight', '300')
    if weight_file:
        assert r.rc == 0, r.err
        assert cgroups.blkio_weight(weight_file) == 300, (weight_file, before)
        assert re.search(r'^weight\s*:\s+300$', virsh(qemu.uri, 'blkiotune', 'blk', '--live').out, re.M)
    else:
        # This host's I/O scheduler has no weights: say so rather than pretend, and claim none.
        assert r.rc != 0 and 'blkio weight is not supported' in r.err, r.err
        assert not re.search(r'^weight\s*:\s+300$', virsh(qemu.uri, 'blkiotune', 'blk', '--live').out, re.M)


def test_image_owner_restored_after_destroy_and_daemon_crash(qemu, tmpdir_path):
    image = make_image(os.path.join(tmpdir_path, 'crash.img'))
    os.chown(image, 1234, 5678)
    qemu.start_and_boot('owner', extra_devices=disk(image))
    guest_uid = os.stat(image).st_uid
    assert guest_uid >= 200000
    # The daemon dies with the guest running: the new one keeps the guest's ownership.
    qemu.daemon.kill9()
    qemu.daemon.start()
    assert os.stat(image).st_uid == guest_uid
    assert virsh(qemu.uri, 'destroy', 'owner').rc == 0
    assert (os.stat(image).st_uid, os.stat(image).st_gid) == (1234, 5678)
    # The daemon and then the guest die: the next daemon gives the image back at start.
    assert virsh(qemu.uri, 'start', 'owner').rc == 0
    assert os.stat(image).st_uid == guest_uid
    [pid] = qemu_pids('owner')
    qemu.daemon.kill9()
    os.kill(pid, 9)
    qemu.daemon.start()
    assert state(qemu.uri, 'owner') == 'shut off (daemon)'
    assert (os.stat(image).st_uid, os.stat(image).st_gid) == (1234, 5678)


@pytest.mark.parametrize('ending', ['destroy', 'daemon-crash'])
def test_hand_back_restores_the_mode_on_the_inode_given_never_through_a_link(qemu, tmpdir_path, ending):
    # Before: only the owner came back (a guest that opened its image to everyone left it
    # 0666), and the chown followed the disk's link, wherever it pointed by then.
    images = os.path.join(tmpdir_path, 'images')
    os.makedirs(images)
    os.chmod(images, 0o711)
    real = make_image(os.path.join(images, 'real.img'))
    os.chown(real, 1234, 5678)
    victim = os.path.join(images, 'victim')
    with open(victim, 'w') as f:
        f.write('not the guest\'s\n')
    os.chown(victim, 4321, 4321)
    os.chmod(victim, 0o640)
    link = os.path.join(images, 'disk.img')
    os.symlink(real, link)
    qemu.start_and_boot('handback', extra_devices=disk(link))
    guest_uid = os.stat(real).st_uid
    assert guest_uid >= 200000 and os.stat(victim).st_uid == 4321
    # The guest's identity owns the image for the run: it may change its mode (and does).
    subprocess.run(['setpriv', f'--reuid={guest_uid}', f'--regid={guest_uid}', '--clear-groups',
                    'chmod', '0666', real], check=True)
    # Whoever can write the link's directory points it at another file meanwhile.
    os.unlink(link)
    os.symlink(victim, link)
    if ending == 'destroy':
        assert virsh(qemu.uri, 'destroy', 'handback').rc == 0
    else:
        # The daemon dies, then the guest: the next daemon gives back what the journal holds.
        [pid] = qemu_pids('handback')
        qemu.daemon.kill9()
        os.kill(pid, 9)
        qemu.daemon.start()
        assert state(qemu.uri, 'handback') == 'shut off (daemon)'
    st = os.stat(real)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 5678, 0o600)
    st = os.stat(victim)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (4321, 4321, 0o640)


def monitor(uri, name, command):
    return virsh(uri, 'qemu-monitor-command', name, json.dumps(command))


@pytest.mark.parametrize('dac', [True, False], ids=['dac+landlock', 'landlock-only'])
def test_guest_cannot_open_another_guests_image(qemu, tmpdir_path, dac):
    if not dac:
        # Both guests run as root: only Landlock stands between them.
        qemu.daemon.stop()
        conf = os.path.join(qemu.daemon.root, 'etc', 'corral')
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, 'qemu.conf'), 'w') as f:
            f.write('user = "root"\ngroup = "root"\n')
        qemu.daemon.start()
    a_image = make_image(os.path.join(tmpdir_path, 'a.img'))
    b_image = make_image(os.path.join(tmpdir_path, 'b.img'))
    qemu.start_and_boot('guesta', extra_devices=disk(a_image))
    qemu.start_and_boot('guestb', extra_devices=disk(b_image))
    # B may open its own image again through its monitor...
    own = monitor(qemu.uri, 'guestb', {'execute': 'blockdev-add', 'arguments': {
        'driver': 'file', 'node-name': 'mine', 'filename': b_image, 'read-only': True}})
    assert own.rc == 0, own.err
    # ... but not A's.
    r = monitor(qemu.uri, 'guestb', {'execute': 'blockdev-add', 'arguments': {
        'driver': 'file', 'node-name': 'stolen', 'filename': a_image, 'read-only': True}})
    assert r.rc != 0 and 'Permission denied' in r.err, (r.out, r.err)
    # Nor anything else on the host.
    r = monitor(qemu.uri, 'guestb', {'execute': 'blockdev-add', 'arguments': {
        'driver': 'file', 'node-name': 'host', 'filename': '/etc/shadow', 'read-only': True}})
    assert r.rc != 0 and 'Permission denied' in r.err, (r.out, r.err)


def test_guest_over_its_memory_limit_is_stopped_and_reported(qemu):
    # A 512 MiB guest fills 400 MiB of tmpfs; its QEMU cannot stay under a 250 MiB hard limit.
    qemu.define('hog', cmdline_extra='corral.hog_mib=400')
    xml = virsh(qemu.uri, 'dumpxml', 'hog').out
    xml = re.sub(r"<memory unit='KiB'>\d+</memory>", "<memory unit='MiB'>512</memory>", xml)
    xml = re.sub(r"<currentMemory unit='KiB'>\d+</currentMemory>", '', xml)
    xml = xml.replace('</vcpu>', "</vcpu><memtune><hard_limit unit='MiB'>250</hard_limit></memtune>", 1)
    path = os.path.join(qemu.daemon.root, 'hog.xml')
    with open(path, 'w') as f:
        f.write(xml)
    assert virsh(qemu.uri, 'define', path).rc == 0
    with lifecycle_events(qemu.uri) as events:
        assert virsh(qemu.uri, 'start', 'hog').rc == 0
        wait_for(lambda: state(qemu.uri, 'hog').startswith('shut off'), timeout=150, what='the hog to be stopped')
        assert state(qemu.uri, 'hog') == 'shut off (crashed)'
        wait_for(lambda: ('hog', 'stopped', 'failed') in events, timeout=30, what='the Stopped Failed event')
    assert "of domain 'hog' was killed by the kernel's OOM killer" in qemu.daemon.stderr()


def audit_request(message_type, payload=b''):
    """One request on the audit netlink socket; the reply's payload (after its header)."""
    import socket
    import struct
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)  # NETLINK_AUDIT
    try:
        flags = 0x5 if payload else 0x1  # REQUEST|ACK for a change, REQUEST for a query
        s.sendto(struct.pack('=IHHII', 16 + len(payload), message_type, flags, 1, 0) + payload, (0, 0))
        return s.recv(4096)[16:]
    finally:
        s.close()


def kernel_audit_status():
    """(enabled, pid of the audit daemon or 0) from AUDIT_GET (what `auditctl -s` shows)."""
    import struct
    mask, enabled, failure, pid = struct.unpack('=IIII', audit_request(1000)[:16])  # AUDIT_GET
    return enabled, pid


def set_kernel_audit(enabled):
    """AUDIT_SET of the enabled flag (what `auditctl -e` does); False if the kernel refuses."""
    import struct
    status = struct.pack('=IIIIIIII', 1, enabled, 0, 0, 0, 0, 0, 0)  # mask=AUDIT_STATUS_ENABLED
    return struct.unpack('=i', audit_request(1001, status)[:4])[0] == 0  # AUDIT_SET, NLMSG_ERROR's code


def audit_log_text(auditd_pid):
    """Where the kernel's audit records went: its own log without auditd, auditd's file with it."""
    if auditd_pid == 0:
        return subprocess.run(['dmesg'], capture_output=True, text=True).stdout
    log_file = '/var/log/audit/audit.log'
    try:
        with open('/etc/audit/auditd.conf') as f:
            for line in f:
                key, _, value = line.partition('=')
                if key.strip() == 'log_file':
                    log_file = value.strip()
        with open(log_file) as f:
            return f.read()
    except OSError:
        pytest.skip(f"auditd (pid {auditd_pid}) receives the kernel's audit records and its log {log_file} "
                    'cannot be read')


def test_machine_id_reaches_the_kernel_audit_log(qemu):
    # Auditing is switched on only if it was off, and then off again: the host is left as found.
    was_enabled, auditd_pid = kernel_audit_status()
    if was_enabled == 0 and not set_kernel_audit(1):
        pytest.skip('this kernel refuses AUDIT_SET')
    try:
        qemu.start_and_boot('audited')
        [pid] = qemu_pids('audited')
        uid = proc_status(pid)['Uid'][0]
        log = audit_log_text(auditd_pid)
        # The kernel's log numbers the type (2502); auditd's file names it.
        lines = [line for line in log.splitlines()
                 if ('type=2502' in line or 'type=VIRT_MACHINE_ID' in line) and 'vm="audited"' in line]
        assert lines and f'vm-ctx="+{uid}:+{uid}"' in lines[-1] and 'res=success' in lines[-1], log[-2000:]
    finally:
        if was_enabled == 0:
            assert set_kernel_audit(0), 'cannot switch kernel auditing off again'


@pytest.fixture
def loop_device(tmpdir_path):
    backing = os.path.join(tmpdir_path, 'loop.img')
    subprocess.run(['truncate', '-s', '16M', backing], check=True)
    r = subprocess.run(['losetup', '-f', '--show', backing], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f'no loop device here: {r.stderr.strip()}')
    dev = r.stdout.strip()
    yield dev
    subprocess.run(['losetup', '-d', dev])


def test_block_device_disk_in_private_dev_throttled_and_given_back(qemu, loop_device):
    before = os.stat(loop_device)
    serial = qemu.start_and_boot('blockdisk', extra_devices=(
        f"<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='{loop_device}'/>"
        "<target dev='vda' bus='virtio'/></disk>"))
    # The guest read its disk through the node in QEMU's private /dev, owned by the guest.
    wait_for(lambda: 'CORRAL-GUEST-DISK-READ' in serial_text(serial), what='the guest to read its disk')
    [pid] = qemu_pids('blockdisk')
    uid = int(proc_status(pid)['Uid'][0])
    assert os.stat(loop_device).st_uid == uid
    assert os.path.basename(loop_device) in os.listdir(f'/proc/{pid}/root/dev')
    r = virsh(qemu.uri, 'blkiotune', 'blockdisk', '--live', '--device-read-bytes-sec', f'{loop_device},1048576')
    assert r.rc == 0, r.err
    blkio = cgroup_dir(pid, 'blkio').rsplit('/', 1)[0]
    rdev = os.stat(loop_device).st_rdev
    throttle = read(f'{blkio}/blkio.throttle.read_bps_device')
    assert f'{os.major(rdev)}:{os.minor(rdev)} 1048576' in throttle, throttle
    out = virsh(qemu.uri, 'blkiotune', 'blockdisk', '--live').out
    assert re.search(rf'device_read_bytes_sec\s*:\s+{loop_device},1048576', out), out
    assert virsh(qemu.uri, 'destroy', 'blockdisk').rc == 0
    after = os.stat(loop_device)
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)


def write_qemu_conf(daemon, text):
    daemon.stop()
    conf = os.path.join(daemon.root, 'etc', 'corral')
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, 'qemu.conf'), 'w') as f:
        f.write(text)


def test_qemu_conf_user_and_thread_limit(qemu, tmpdir_path):
    import pwd
    nobody = pwd.getpwnam('nobody')
    write_qemu_conf(qemu.daemon, f'user = "nobody"\ngroup = "+{nobody.pw_gid}"\nmax_threads_per_process = 200\n')
    qemu.daemon.start()
    image = make_image(os.path.join(tmpdir_path, 'n.img'))
    qemu.start_and_boot('asnobody', extra_devices=disk(image))
    [pid] = qemu_pids('asnobody')
    assert proc_status(pid)['Uid'][0] == str(nobody.pw_uid)
    assert os.stat(image).st_uid == nobody.pw_uid
    assert read(cgroup_dir(pid, 'pids').rsplit('/', 1)[0] + '/pids.max') == '200'
    assert virsh(qemu.uri, 'destroy', 'asnobody').rc == 0
    assert os.stat(image).st_uid == 0


def test_an_lsm_the_host_lacks_stops_the_daemon_with_the_reason(daemon):
    if os.path.exists('/sys/fs/selinux/enforce'):
        pytest.skip('this host runs SELinux')
    write_qemu_conf(daemon, 'security_driver = "selinux"\n')
    with pytest.raises(RuntimeError) as failed:
        daemon.start()
    assert "security driver 'selinux' is not available: SELinux is not enabled" in str(failed.value)
    # A definition asking for it is refused at define by a daemon with the automatic stack.
    write_qemu_conf(daemon, '')
    daemon.start()
    path = os.path.join(daemon.root, 'sel.xml')
    with open(path, 'w') as f:
        f.write("<domain type='qemu'><name>sel</name><memory unit='MiB'>64</memory>"
                "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
                "<seclabel type='dynamic' model='selinux'/></domain>")
    uri = daemon.uri('qemu')
    r = virsh(uri, 'define', path)
    assert r.rc != 0 and "security model 'selinux' is not available on this host" in r.err, r.err
    assert virsh(uri, 'domstate', 'sel').rc != 0


def processes_running(argv):
    """Pids whose command line is exactly `argv` (zombies have none)."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if f.read().split(b'\0')[:-1] == [a.encode() for a in argv]:
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_destroy_kills_what_qemu_forked_and_removes_its_cgroups(qemu, tmpdir_path):
    # A QEMU that forks (as one a guest took over may): its emulator is a wrapper that leaves a
    # sleeper behind in the guest's groups, then becomes QEMU. Landlock lets a guest run
    # programs from the system's directories only, so it is off for this test's daemon; DAC
    # (its own uid), the seccomp sandbox and the private /dev stay.
    write_qemu_conf(qemu.daemon, 'landlock = 0\n')
    qemu.daemon.start()
    sleeper_argv = ['/bin/sleep', str(100000 + os.getpid() % 100000)]
    wrapper = os.path.join(tmpdir_path, 'forking-qemu')
    with open(wrapper, 'w') as f:
        f.write(f'#!/bin/sh\n{" ".join(sleeper_argv)} </dev/null >/dev/null 2>&1 &\n'
                f'exec {shutil.which("qemu-system-x86_64")} "$@"\n')
    os.chmod(wrapper, 0o755)
    qemu.define('forker', extra_devices=f'<emulator>{wrapper}</emulator>')
    r = virsh(qemu.uri, 'start', 'forker')
    assert r.rc == 0, r.err
    [pid] = qemu_pids('forker')
    [sleeper] = processes_running(sleeper_argv)
    assert proc_status(sleeper)['PPid'] == [str(pid)]  # QEMU's child, running as the guest
    assert proc_status(sleeper)['Uid'][0] == proc_status(pid)['Uid'][0]
    groups = [cgroup_dir(sleeper, c) for c in ('cpu', 'memory', 'pids', 'freezer')]
    assert all(re.search(r'/qemu/forker$', g) for g in groups), groups
    # Also a task put into a vCPU's group from outside (v1: a group of one hierarchy; v2's vCPU
    # groups take threads only): the whole tree goes, not only what the freezer holds.
    vcpu = cgroup_dir(pid, 'cpu').rsplit('/', 1)[0] + '/vcpu0'
    outsider = subprocess.Popen(['/bin/sleep', sleeper_argv[1] + '1'])
    if os.path.exists(vcpu + '/tasks'):
        with open(vcpu + '/cgroup.procs', 'w') as f:
            f.write(str(outsider.pid))
    else:
        outsider.kill()

    try:
        assert virsh(qemu.uri, 'destroy', 'forker').rc == 0
        assert processes_running(sleeper_argv) == []
        assert outsider.wait(timeout=30) == -9
        for g in groups + [vcpu]:
            assert not os.path.exists(g), g
        assert 'cannot remove cgroup' not in qemu.daemon.stderr()
    finally:
        outsider.kill()
        for stray in processes_running(sleeper_argv):
            os.kill(stray, signal.SIGKILL)
