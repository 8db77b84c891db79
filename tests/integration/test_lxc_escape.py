# SPDX-License-Identifier: LGPL-2.1-or-later
# A compromised container init against the host (issue 16). Four containers:
#   privileged  <seclabel type='none' model='dac'/>: root inside is the host's root;
#   default     no <idmap>: an automatic host id range, the root directory id-mapped;
#   privnet     the same with a network namespace of its own (<privnet/>): its own sysfs;
#   idmap       an <idmap> the definition chose.
# Each runs framework/ct_attack.c as its init's child, which tries every escape the issue names
# and prints one line per attempt; the tests below each read one threat's lines from all four.
# Before the fix the privileged and default containers were the same (root = host root, full
# bounding set, no seccomp) and the attacks marked below succeeded there.
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from framework.container import build_rootfs, container_xml
from framework.daemon import CorralDaemon
from framework.qemu_fixtures import serial_text, wait_for
from framework.tools import virsh

pytestmark = pytest.mark.skipif(not os.path.exists('/bin/busybox'),
                                reason='busybox-static is not installed (scripts/setup.sh installs it)')

MODES = {
    'privileged': "<seclabel type='none' model='dac'/>",
    'default': '',
    'privnet': '<features><privnet/></features>',
    'idmap': ("<idmap><uid start='0' target='400000' count='65536'/>"
              "<gid start='0' target='400000' count='65536'/></idmap>"),
}


@pytest.fixture(scope='module')
def attacked(bin_dir):
    """{mode: {attack name: (outcome, detail)}}, from the containers' consoles."""
    tmp = tempfile.mkdtemp(prefix='corral-it-')
    os.chmod(tmp, 0o711)
    root = os.path.join(tmp, 'root')
    os.makedirs(root)
    daemon = CorralDaemon(bin_dir, root)
    daemon.start()
    uri = daemon.uri('lxc')
    entered = []

    def console(mode):
        return serial_text(os.path.join(root, 'log', 'corral', 'lxc', f'attack-{mode}.log'))

    try:
        base = build_rootfs(os.path.join(tmp, 'rootfs'))
        for mode, extra in MODES.items():
            rootfs = os.path.join(tmp, 'rootfs-' + mode)
            shutil.copytree(base, rootfs, symlinks=True)
            path = os.path.join(tmp, mode + '.xml')
            with open(path, 'w') as f:
                f.write(container_xml('attack-' + mode, rootfs, initargs=['attack'], extra=extra))
            assert virsh(uri, 'define', path).rc == 0
            r = virsh(uri, 'start', 'attack-' + mode)
            assert r.rc == 0, r.err
        for mode in MODES:
            wait_for(lambda: 'ATTACK-WAITING-FOR-VICTIM' in console(mode), timeout=60,
                     what=f'the {mode} container to reach its ptrace attempt')
            # A host process entered into the container, as an administrator would enter one.
            entered.append(subprocess.Popen(['virsh', '-c', uri, 'lxc-enter-namespace', 'attack-' + mode,
                                             '--noseclabel', '--', '/bin/sleep', '4242'],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        outcomes = {}
        for mode in MODES:
            try:
                wait_for(lambda: 'ATTACKS-DONE' in console(mode), timeout=90, what=f'the {mode} container to finish')
            except AssertionError as e:
                raise AssertionError(f'{e}; its console:\n{console(mode)}') from None
            outcomes[mode] = {m.group(1): (m.group(2), m.group(3))
                              for m in re.finditer(r'^ATTACK (\S+) (BLOCKED|SUCCEEDED) (.*)$', console(mode), re.M)}
        yield outcomes
    finally:
        for p in entered:
            p.kill()
            p.wait()
        for mode in MODES:
            virsh(uri, 'destroy', 'attack-' + mode)
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def assert_blocked(outcomes, *names):
    for name in names:
        assert name in outcomes, f'{name} was not attempted: {sorted(outcomes)}'
        outcome, detail = outcomes[name]
        assert outcome == 'BLOCKED', f'{name}: {detail}'


@pytest.mark.parametrize('mode', MODES)
def test_open_by_handle_at_cannot_reach_the_host_file_system(attacked, mode):
    # Before: the privileged root opened the file system's root by handle and read /etc/shadow.
    assert_blocked(attacked[mode], 'open-by-handle')


@pytest.mark.parametrize('mode', MODES)
def test_proc_sys_cannot_be_remounted_unmounted_or_written(attacked, mode):
    # Before: `mount -o remount,rw,bind /proc/sys`, then kernel.core_pattern (code execution as
    # the host's root at the next crash).
    assert_blocked(attacked[mode], 'remount-proc-sys', 'unmount-proc-sys', 'write-core-pattern')


@pytest.mark.parametrize('mode', MODES)
def test_no_writable_procfs_or_sysfs_can_be_mounted(attacked, mode):
    # Before: a fresh procfs had a writable /proc/sys.
    assert_blocked(attacked[mode], 'fresh-proc', 'fresh-sysfs', 'remount-sys')
    assert 'fresh-proc-core-pattern' not in attacked[mode]


@pytest.mark.parametrize('mode', MODES)
def test_sys_is_read_only(attacked, mode):
    # README: "/sys locked read-only". The remount attempt above fails in a user namespace even
    # when /sys is writable; this reads the mount's flag itself. On a read-write /sys the
    # privileged root could write the host's kernel and device settings.
    assert_blocked(attacked[mode], 'sys-writable')


@pytest.mark.parametrize('mode', MODES)
def test_the_host_kernel_log_cannot_be_read(attacked, mode):
    # Before: dmesg showed the host's kernel log.
    assert_blocked(attacked[mode], 'syslog', 'proc-kmsg', 'dev-kmsg')


@pytest.mark.parametrize('mode', MODES)
def test_kernel_code_keyrings_raw_io_and_host_disks_are_out_of_reach(attacked, mode):
    # Before: the privileged root had the host root's kernel keyring (no seccomp); modules,
    # kexec, raw I/O and device nodes were refused by the capabilities dropped then already.
    assert_blocked(attacked[mode], 'init-module', 'finit-module', 'kexec-load', 'iopl', 'keyring')
    if attacked[mode].get('mknod-block', ('BLOCKED',))[0] == 'SUCCEEDED':
        assert_blocked(attacked[mode], 'read-block')  # a node, but the devices cgroup refuses it
    else:
        assert_blocked(attacked[mode], 'mknod-block')


@pytest.mark.parametrize('mode', MODES)
def test_cgroup_limits_cannot_be_lifted_from_inside(attacked, mode):
    # Before: the root mounted the devices hierarchy (its cgroup namespace shows its own group
    # as the root) and wrote 'a' to devices.allow: every device of the host, the disks included.
    assert_blocked(attacked[mode], 'cgroup-devices.allow', 'cgroup-memory.limit_in_bytes', 'cgroup-memory.max')


@pytest.mark.parametrize('mode', [m for m in MODES if m != 'privnet'])
def test_the_host_network_cannot_be_sniffed_or_reconfigured(attacked, mode):
    # Before: the privileged root on the host's network kept net_raw and net_admin. (With a
    # network of its own, both act on that network only: the privnet container keeps them.)
    assert_blocked(attacked[mode], 'packet-socket', 'interface-flags')


@pytest.mark.parametrize('mode', MODES)
def test_a_host_process_entered_into_the_container_cannot_be_traced(attacked, mode):
    # Before: with CAP_SYS_PTRACE the privileged root attached to the process virsh
    # lxc-enter-namespace started (the host's root, with every capability).
    outcome, detail = attacked[mode]['ptrace-host-process']
    assert 'PTRACE_ATTACH' in detail or outcome == 'SUCCEEDED', detail  # the victim was found
    assert outcome == 'BLOCKED', detail
