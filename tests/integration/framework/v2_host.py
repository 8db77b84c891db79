# SPDX-License-Identifier: LGPL-2.1-or-later
# A real cgroup v2 host for the tests: Debian's kernel booted in a TCG guest with every controller
# on the unified hierarchy (cgroup_no_v1=all; its init mounts only cgroup2 at /sys/fs/cgroup). The
# machine the tests run on binds its controllers to v1, so this is where corrald's v2 path meets
# the kernel. Nothing is faked: the guest's /usr and /etc are this host's (9p, read-only), so it
# runs this host's corrald, corral-lxc, QEMU and python; the container's root is an ext4 disk
# (the kernel's tmpfs cannot be id-mapped before 6.3, and containers are unprivileged).
#
# The guest's init switches to a tmpfs root, mounts what a host mounts and runs
# framework/v2_scenario.py, which writes its findings as `CGV2 {json}` lines on the second
# serial port and powers the guest off. The kernel and everything the scenario prints go to the
# first one.
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import time

from framework.guest import _cpio_entry, find_kernel, write_initrd

INIT = r'''#!/bin/busybox sh
# Stage 1 (initramfs): the 9p modules, a tmpfs root with this host's /usr and /etc, switch_root.
# Stage 2 (pid 1 in the new root): the mounts a host has, then the scenario.
if [ "$1" != stage2 ]; then
    /bin/busybox mkdir -p /proc /dev /new
    /bin/busybox mount -t proc proc /proc
    /bin/busybox mount -t devtmpfs dev /dev
    for m in netfs fscache 9pnet virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
             9pnet_virtio 9p; do
        /bin/busybox insmod /lib/modules/$m.ko || echo "CGV2-BOOT-FAILED insmod $m" > /dev/ttyS0
    done
    /bin/busybox mount -t tmpfs -o mode=0755 root /new
    cd /new || exit 1
    /bin/busybox mkdir -p usr etc proc sys dev tmp run var corral tests
    for l in bin sbin lib lib64; do /bin/busybox ln -s usr/$l $l; done
    opts=trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144
    for share in usr:usr etc:etc corralbin:corral tests:tests; do
        /bin/busybox mount -t 9p -o $opts ${share%%:*} /new/${share#*:} ||
            echo "CGV2-BOOT-FAILED 9p ${share%%:*}" > /dev/ttyS0
    done
    /bin/busybox cp /init /new/run/init
    /bin/busybox mount --move /proc /new/proc
    /bin/busybox mount --move /dev /new/dev
    exec /bin/busybox switch_root /new /run/init stage2
fi
export PATH=/usr/sbin:/usr/bin HOME=/root LANG=C.UTF-8
mount -t sysfs sys /sys
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for d in /tmp /run /var /root; do mkdir -p $d && mount -t tmpfs -o mode=0755 tmpfs $d; done
chmod 1777 /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666,mode=0620 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
hostname cgv2
/usr/bin/python3 -u /tests/framework/v2_scenario.py > /dev/ttyS0 2>&1
echo "CGV2-SCENARIO-EXIT $?" > /dev/ttyS1
sync
poweroff -f
'''

MODULES = {
    'netfs': 'kernel/fs/netfs/netfs.ko',
    'fscache': 'kernel/fs/fscache/fscache.ko',
    '9pnet': 'kernel/net/9p/9pnet.ko',
    'virtio_ring': 'kernel/drivers/virtio/virtio_ring.ko',
    'virtio': 'kernel/drivers/virtio/virtio.ko',
    'virtio_pci_legacy_dev': 'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
    'virtio_pci_modern_dev': 'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
    'virtio_pci': 'kernel/drivers/virtio/virtio_pci.ko',
    '9pnet_virtio': 'kernel/net/9p/9pnet_virtio.ko',
    '9p': 'kernel/fs/9p/9p.ko',
}

# The container's init: says it runs, then waits. The scenario needs nothing else from it.
CONTAINER_INIT = '''#!/bin/sh
echo CGV2-CT-READY
while true; do
    sleep 1 &
    wait $!
done
'''


def build_initramfs(cache_dir):
    """(kernel, initramfs) for the v2 guest, the initramfs built into cache_dir once per content;
    None when there is no Debian kernel, its modules or busybox."""
    found = find_kernel()
    busybox = shutil.which('busybox')
    if not found or not busybox:
        return None
    kernel, release = found
    paths = {name: os.path.join('/lib/modules', release, rel) for name, rel in MODULES.items()}
    if not all(os.path.exists(p) for p in paths.values()):
        return None
    digest = hashlib.sha256((INIT + repr(sorted(MODULES.items())) + release).encode()).hexdigest()[:12]
    os.makedirs(cache_dir, exist_ok=True)
    initrd = os.path.join(cache_dir, f'corral-v2-host-{digest}.cpio.gz')
    if os.path.exists(initrd):
        return kernel, initrd
    buf = io.BytesIO()
    for d in ('bin', 'lib', 'lib/modules'):
        _cpio_entry(buf, d, stat.S_IFDIR | 0o755)
    with open(busybox, 'rb') as f:
        _cpio_entry(buf, 'bin/busybox', stat.S_IFREG | 0o755, f.read())
    _cpio_entry(buf, 'init', stat.S_IFREG | 0o755, INIT.encode())
    for name, path in paths.items():
        with open(path, 'rb') as f:
            _cpio_entry(buf, f'lib/modules/{name}.ko', stat.S_IFREG | 0o644, f.read())
    write_initrd(buf, initrd)
    return kernel, initrd


def build_container_disk(path, workdir):
    """An ext4 image holding the container's root: busybox, its applets, the init above."""
    root = os.path.join(workdir, 'ct-root')
    for d in ('bin', 'sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root'):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2(shutil.which('busybox'), os.path.join(root, 'bin', 'busybox'))
    for applet in ('sh', 'sleep', 'echo', 'cat', 'ls'):
        os.symlink('busybox', os.path.join(root, 'bin', applet))
    with open(os.path.join(root, 'sbin', 'init'), 'w') as f:
        f.write(CONTAINER_INIT)
    os.chmod(os.path.join(root, 'sbin', 'init'), 0o755)
    subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', '-d', root, path, '16M'], check=True,
                   capture_output=True)
    shutil.rmtree(root)


class V2Host:
    """One boot of the guest. `report` is the second serial port (the scenario's findings),
    `console` the first (the kernel and everything the scenario printed)."""

    def __init__(self, workdir, kernel, initrd, bin_dir, tests_dir, memory_mib=1024):
        self.workdir = workdir
        self.console = os.path.join(workdir, 'console.log')
        self.report = os.path.join(workdir, 'report.log')
        disk = os.path.join(workdir, 'ct.img')
        build_container_disk(disk, workdir)
        shares = {'usr': '/usr', 'etc': '/etc', 'corralbin': bin_dir, 'tests': tests_dir}
        argv = ['qemu-system-x86_64', '-machine', 'pc,accel=tcg', '-m', str(memory_mib), '-smp', '1',
                '-nodefaults', '-display', 'none', '-no-reboot',
                '-kernel', kernel, '-initrd', initrd,
                '-append', 'console=ttyS0 loglevel=4 cgroup_no_v1=all panic=-1',
                '-serial', f'file:{self.console}', '-serial', f'file:{self.report}',
                '-drive', f'file={disk},if=virtio,format=raw']
        for tag, path in shares.items():
            argv += ['-virtfs', f'local,path={path},mount_tag={tag},security_model=none,readonly=on']
        self.started = time.monotonic()
        with open(os.path.join(workdir, 'qemu.stderr'), 'w') as stderr:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)

    def lines(self):
        try:
            with open(self.report, errors='replace') as f:
                return f.read().splitlines()
        except OSError:
            return []

    def console_text(self):
        try:
            with open(self.console, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def findings(self):
        """The scenario's `CGV2 {json}` lines, as a dict by name (each name reported once)."""
        found = {}
        for line in self.lines():
            if line.startswith('CGV2 '):
                item = json.loads(line[5:])
                found[item.pop('name')] = item
        return found

    def wait(self, timeout):
        """Waits until the guest powers off (the scenario ended) or `timeout` seconds, a ceiling
        for a slow machine, pass; returns QEMU's exit status or None."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
