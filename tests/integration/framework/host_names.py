# SPDX-License-Identifier: LGPL-2.1-or-later
# Where a named object lives on the host, computed independently of the daemon: the escaped file
# and cgroup names (systemd-escape's \xNN, '-' kept), the nft table of a network, a process's
# cgroup directory, and a QEMU found by its exact -name argument.
import os


def escape(name):
    """A name as one path component: bytes outside [A-Za-z0-9:_.-] and a leading '.' as \\xNN."""
    out = ''
    for i, b in enumerate(name.encode()):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in ':_.-') and not (i == 0 and c == '.'):
            out += c
        else:
            out += f'\\x{b:02x}'
    return out


def nft_table_name(network):
    """corral_net_ + letters and digits as they are, '_' doubled, any other byte as _XX."""
    out = 'corral_net_'
    for b in network.encode():
        c = chr(b)
        if c.isascii() and c.isalnum():
            out += c
        elif c == '_':
            out += '__'
        else:
            out += f'_{b:02x}'
    return out


def cgroup_dir(pid, controller):
    """The directory of `pid`'s group for `controller` (v1 mount or the unified one)."""
    with open(f'/proc/{pid}/cgroup') as f:
        lines = [line.rstrip('\n').split(':', 2) for line in f]
    mounts = {}
    with open('/proc/self/mounts') as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == 'cgroup':
                for o in opts.split(','):
                    mounts[o] = mnt
            elif fstype == 'cgroup2':
                mounts.setdefault('', mnt)
    for _, ctrls, path in lines:
        if controller in ctrls.split(','):
            return mounts[controller] + path
    return mounts[''] + [p for _, c, p in lines if c == ''][0]


def read(path):
    with open(path) as f:
        return f.read().strip()


def memory_limit(group_dir):
    """The group's memory hard limit in bytes, None when unlimited (v1 or v2 file)."""
    for name in ('memory.limit_in_bytes', 'memory.max'):
        path = os.path.join(group_dir, name)
        if os.path.exists(path):
            text = read(path)
            return None if text == 'max' or int(text) >= 1 << 62 else int(text)
    raise AssertionError(f'no memory limit file in {group_dir}')


def qemu_process(name):
    """(pid, argv) of the QEMU whose -name argument is exactly this guest's, or (None, None)."""
    wanted = ('guest=' + name.replace(',', ',,') + ',debug-threads=on').encode()
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if argv and b'qemu-system' in argv[0] and wanted in argv:
            return int(pid), [a.decode(errors='replace') for a in argv]
    return None, None
