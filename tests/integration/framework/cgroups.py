# SPDX-License-Identifier: LGPL-2.1-or-later
# The host's cgroup layout as corrald finds it (src/host/cgroup.cpp: the v1 controllers when any
# is mounted, otherwise the unified v2 mount), the file each setting lives in on either version,
# and the partitions a test daemon's guests use (corral-HASH, see src/drivers/registry.cpp).
import ctypes
import os
import signal
import struct

V1_CONTROLLERS = ('cpu', 'cpuacct', 'cpuset', 'memory', 'blkio', 'pids', 'devices', 'freezer')


class Layout:
    def __init__(self, mountinfo_text):
        self.v1 = {}        # controller -> mount point
        self.unified = None
        for line in mountinfo_text.splitlines():
            fields = line.split()
            if '-' not in fields:
                continue
            dash = fields.index('-')
            mount, fstype, options = fields[4], fields[dash + 1], fields[dash + 3]
            if fstype == 'cgroup2':
                self.unified = mount
            elif fstype == 'cgroup':
                for option in options.split(','):
                    if option in V1_CONTROLLERS:
                        self.v1[option] = mount
        self.v2 = not self.v1

    def mounts(self):
        """Every hierarchy corrald creates groups in, each once."""
        if self.v2:
            return [self.unified] if self.unified else []
        return sorted(set(self.v1.values()))

    def mount_of(self, controller):
        if self.v2:
            return self.unified
        return self.v1.get(controller)


def host_layout():
    with open('/proc/self/mountinfo') as f:
        return Layout(f.read())


def group_dir(pid, controller):
    """The directory of the group `pid` is in, in the hierarchy of `controller` (v1 name)."""
    layout = host_layout()
    with open(f'/proc/{pid}/cgroup') as f:
        entries = [line.rstrip('\n').split(':', 2) for line in f]
    for _, controllers, path in entries:
        if layout.v2 and controllers == '':
            return layout.unified + path
        if not layout.v2 and controller in controllers.split(','):
            return layout.v1[controller] + path
    raise AssertionError(f'no {controller} cgroup for pid {pid} in {entries}')


def read(path):
    with open(path) as f:
        return f.read().strip()


V1_UNLIMITED = '9223372036854771712'  # what v1 memory files hold when no limit is set


def _quota(text):
    quota = text.split()[0]
    return '-1' if quota == 'max' else quota


def _throttles(text):
    """io.max lines 'MAJ:MIN rbps=N wbps=max ...' as v1's read_bps_device lines 'MAJ:MIN N'."""
    lines = []
    for line in text.splitlines():
        fields = line.split()
        limits = dict(kv.split('=', 1) for kv in fields[1:])
        if limits.get('rbps', 'max') != 'max':
            lines.append(f"{fields[0]} {limits['rbps']}")
    return '\n'.join(lines)


# v1 file -> (v2 file holding the same setting as corrald writes it, v2 text -> v1 text).
V2_EQUIVALENTS = {
    'cpu.shares': ('cpu.weight', str),  # host::Cgroup::setCpuShares writes the value as the weight
    'cpu.cfs_quota_us': ('cpu.max', _quota),
    'cpu.cfs_period_us': ('cpu.max', lambda t: t.split()[1]),
    'memory.limit_in_bytes': ('memory.max', lambda t: V1_UNLIMITED if t == 'max' else t),
    'memory.soft_limit_in_bytes': ('memory.high', lambda t: V1_UNLIMITED if t == 'max' else t),
    'tasks': ('cgroup.threads', str),
    'freezer.state': ('cgroup.freeze', lambda t: 'FROZEN' if t == '1' else 'THAWED'),
    'blkio.throttle.read_bps_device': ('io.max', _throttles),
}


def read_as_v1(group, name):
    """The setting a v1 file `name` holds in `group`, read from the file that holds it on this
    host: the file itself on v1, its v2 equivalent (converted to v1's text) on v2. Files named
    alike on both (pids.max, cpuset.cpus, cgroup.procs) are read as they are."""
    if host_layout().v2 and name in V2_EQUIVALENTS:
        v2_name, convert = V2_EQUIVALENTS[name]
        return convert(read(f'{group}/{v2_name}'))
    return read(f'{group}/{name}')


def setting(pid, controller, name):
    """read_as_v1 in the group `pid` is in for `controller`."""
    return read_as_v1(group_dir(pid, controller), name)


def blkio_weight_file(group):
    """The weight file this host's I/O scheduler offers, or None (no BFQ: no weights)."""
    names = ('io.weight', 'io.bfq.weight') if host_layout().v2 else ('blkio.weight', 'blkio.bfq.weight')
    return next((f'{group}/{n}' for n in names if os.path.exists(f'{group}/{n}')), None)


def blkio_weight(path):
    """v1 holds the number; v2 'default N' (and per-device lines)."""
    text = read(path)
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 1:
            return int(fields[0])
        if fields[0] == 'default':
            return int(fields[1])
    raise AssertionError(f'no weight in {path}: {text!r}')


def set_frozen(group, value):
    """What an administrator does to freeze or thaw a group by hand."""
    if host_layout().v2:
        with open(f'{group}/cgroup.freeze', 'w') as f:
            f.write('1' if value else '0')
    else:
        with open(f'{group}/freezer.state', 'w') as f:
            f.write('FROZEN' if value else 'THAWED')


def device_rules(group):
    """v1: the devices whitelist (devices.list lines). v2 has no list to read: the rules are a
    BPF program attached to the group, so the answer is the number of device programs attached."""
    if not host_layout().v2:
        return read(f'{group}/devices.list').split('\n')
    return attached_device_programs(group)


def attached_device_programs(group):
    """BPF_PROG_QUERY for BPF_CGROUP_DEVICE on the group's directory."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(group, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # union bpf_attr.query: target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
        attr = ctypes.create_string_buffer(struct.pack('=IIIIQI', fd, 6, 0, 0, 0, 0), 128)
        if libc.syscall(ctypes.c_long(321), ctypes.c_long(16), attr, ctypes.c_long(128)) != 0:  # SYS_bpf, BPF_PROG_QUERY
            raise OSError(ctypes.get_errno(), f'BPF_PROG_QUERY on {group}')
        return struct.unpack_from('=I', attr.raw, 24)[0]
    finally:
        os.close(fd)


def partition_name(root):
    """corrald --root ROOT puts its guests under corral-HASH, HASH the FNV-1a of its run directory."""
    h = 2166136261
    for byte in os.path.join(root, 'run', 'corral').encode():
        h = ((h ^ byte) * 16777619) & 0xffffffff
    return f'corral-{h:08x}'


def partition_dirs(root):
    """The partition of `root`'s daemon in each hierarchy where it exists."""
    name = partition_name(root)
    return [os.path.join(m, name) for m in host_layout().mounts() if os.path.isdir(os.path.join(m, name))]


def remove_partition(root):
    """Kills what is left in `root`'s partition and removes its groups, deepest first. Returns the
    directories that existed (what the test left behind)."""
    left = partition_dirs(root)
    for top in left:
        for path, _, _ in os.walk(top):
            try:
                pids = read(os.path.join(path, 'cgroup.procs')).split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
    for top in left:
        for path, _, _ in sorted(os.walk(top), key=lambda entry: -entry[0].count('/')):
            _rmdir_when_empty(path)
    return left


def _rmdir_when_empty(path):
    import time
    deadline = time.monotonic() + 10
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            # A killed process stays counted until the kernel has torn it down.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
