# SPDX-License-Identifier: LGPL-2.1-or-later
# Lifecycle calls racing on one domain never leave a guest the daemon does not track. Clients in
# threads (python3-libvirt, a connection each) issue every pair of start, create, destroy,
# undefine, define, save, restore and shutdown at the same moment on one domain, then eight
# clients issue a fixed random sequence of them over a few domains; afterwards every QEMU
# process, every container controller and every task or group in the guests' cgroups belongs to
# a domain the API lists as running, each running domain has exactly one, and the files a guest
# was given are back with their owner once it stopped. On QEMU (TCG guests started paused: a
# guest need not boot) and LXC. A fixed number of rounds, no timing: the outcome of each race
# is free, only what it leaves behind is checked.
import collections
import functools
import itertools
import os
import random
import signal
import threading
import uuid

import libvirt
import pytest

from framework import cgroups
from framework.container import build_rootfs, container_xml
from framework.qemu_fixtures import guest_files, guest_xml, wait_for  # noqa: F401

OPS = ('start', 'create', 'destroy', 'undefine', 'define', 'save', 'restore', 'shutdown')
PAIRS = list(itertools.combinations_with_replacement(OPS, 2))  # all 36, each call against itself too
# Errors a refused or lost race may give; anything else (a dropped connection, an internal
# error, a job that never ended) fails the test.
FORBIDDEN_ERRORS = {libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_OPERATION_TIMEOUT,
                    libvirt.VIR_ERR_NO_CONNECT}
DOMAINS = 3        # raced side by side, each with its own share of the pairs
SOAK_CLIENTS = 8
SOAK_CALLS = 12    # per client


class Driver:
    """One driver's domains for the race: their definitions, how their processes are found."""

    def __init__(self, kind, daemon, tmpdir, token, xml_for):
        self.kind = kind
        self.daemon = daemon
        self.uri = daemon.uri(kind)
        self.tmpdir = tmpdir
        self.names = [f'race{token}{kind[0]}{i}' for i in range(DOMAINS)]
        self.uuids = {n: str(uuid.uuid4()) for n in self.names}
        self.xml = {}
        for n in self.names:
            text = xml_for(n)
            self.xml[n] = text.replace('</name>', f'</name><uuid>{self.uuids[n]}</uuid>', 1)
        self.images = {}     # restore source per domain (QEMU)
        self.errors = []     # unexpected failures, with the call that got them
        self.outcomes = collections.Counter()  # (call, 'ok' or libvirt's error code)
        self.lock = threading.Lock()

    def serial(self, name):
        return os.path.join(self.tmpdir, name + '.serial')

    # -- the calls -------------------------------------------------------------------------------

    def call(self, conn, op, name, client):
        try:
            if op == 'start':
                conn.lookupByName(name).createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
            elif op == 'create':
                conn.createXML(self.xml[name], libvirt.VIR_DOMAIN_START_PAUSED)
            elif op == 'destroy':
                conn.lookupByName(name).destroy()
            elif op == 'undefine':
                conn.lookupByName(name).undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            elif op == 'define':
                conn.defineXML(self.xml[name])
            elif op == 'save':
                conn.lookupByName(name).save(os.path.join(self.tmpdir, f'{name}.{client}.save'))
            elif op == 'restore':
                conn.restoreFlags(self.images.get(name, os.path.join(self.tmpdir, 'no-image')), None,
                                  libvirt.VIR_DOMAIN_SAVE_PAUSED)
            elif op == 'shutdown':
                conn.lookupByName(name).shutdown()
            outcome = 'ok'
        except libvirt.libvirtError as e:
            outcome = e.get_error_code()
            if outcome in FORBIDDEN_ERRORS:
                with self.lock:
                    self.errors.append(f'{op} {name} (client {client}): {e}')
        with self.lock:
            self.outcomes[op, outcome] += 1

    def reset(self, conn, name, running):
        """Brings `name` to defined and shut off, or running (paused), whatever the last round left."""
        try:
            conn.lookupByName(name).destroy()
        except libvirt.libvirtError:
            pass
        dom = conn.defineXML(self.xml[name])
        if running:
            dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)

    # -- what runs on the host -------------------------------------------------------------------

    def processes(self):
        """{pid: domain name} of each guest main process of this test: QEMU by its -uuid, a
        container by its controller's plan file."""
        by_uuid = {u: n for n, u in self.uuids.items()}
        plans = {os.path.join(self.daemon.root, 'run', 'corral', 'lxc', n + '.plan'): n for n in self.names}
        found = {}
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/cmdline', 'rb') as f:
                    argv = f.read().decode(errors='replace').split('\0')
            except OSError:
                continue
            if self.kind == 'qemu' and '-uuid' in argv[:-1]:
                name = by_uuid.get(argv[argv.index('-uuid') + 1])
            elif self.kind == 'lxc' and argv[0].endswith('corral-lxc') and len(argv) > 2:
                name = plans.get(argv[2])
            else:
                name = None
            if name:
                found[int(pid)] = name
        return found

    def cgroup_members(self):
        """{pid: domain name} of every task on the host in a group of this test's domains."""
        found = {}
        suffixes = {f'/{self.kind}/{n}': n for n in self.names}
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open(f'/proc/{pid}/cgroup') as f:
                    paths = [line.rstrip('\n').split(':', 2)[2] for line in f]
            except (OSError, IndexError):
                continue
            for path in paths:
                for suffix, name in suffixes.items():
                    if path.endswith(suffix) or suffix + '/' in path:
                        found[int(pid)] = name
        return found

    def cgroup_dirs(self):
        """{directory: domain name} of the groups of this test's domains, in every hierarchy of
        the host's layout (each v1 controller's mount, or the one v2 mount), in this daemon's
        partition."""
        found = {}
        for partition in cgroups.partition_dirs(self.daemon.root):
            for n in self.names:
                if os.path.isdir(os.path.join(partition, self.kind, n)):
                    found[os.path.join(partition, self.kind, n)] = n
        return found


def check_everything_tracked(drv, conn):
    """The invariant: nothing runs for a domain the API does not list as running."""
    running = {d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)}
    procs = drv.processes()
    untracked = {pid: n for pid, n in procs.items() if n not in running}
    assert not untracked, f'{drv.kind} guests running with no running domain: {untracked} (running: {running})'
    members = {pid: n for pid, n in drv.cgroup_members().items() if n not in running}
    assert not members, f'tasks in the cgroups of domains that are not running: {members}'
    groups = [d for d, n in drv.cgroup_dirs().items() if n not in running]
    assert not groups, f'cgroups of domains that are not running: {groups}'
    per_domain = collections.Counter(procs.values())
    assert all(c == 1 for c in per_domain.values()), f'several guests for one domain: {per_domain}'

    # Each running domain has its guest. A container asked to shut down is still listed until its
    # controller's exit has been seen: wait for that, not for time.
    def each_running_has_its_guest():
        listed = {d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
                  if d.name() in drv.names}
        return listed == set(drv.processes().values())
    wait_for(each_running_has_its_guest, timeout=60, what='every running domain to have its guest')
    # What a stopped guest was given is back with its owner (the serial log is the guest's file).
    for n in drv.names:
        if n not in running and os.path.exists(drv.serial(n)):
            assert os.stat(drv.serial(n)).st_uid == 0, f'{drv.serial(n)} still belongs to the guest of {n}'


def run_together(*targets):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def race(drv):
    conns = [libvirt.open(drv.uri) for _ in range(2 * DOMAINS)]
    try:
        # Every pair, on the domains side by side: domain i takes pairs i, i+DOMAINS, ...
        def domain_worker(i):
            name = drv.names[i]
            mine = conns[2 * i:2 * i + 2]
            for a, b in PAIRS[i::DOMAINS]:
                # A start, create or restore races best against a domain that is not running;
                # the other calls against one that is.
                try:
                    drv.reset(mine[0], name, running=not {a, b} & {'start', 'create', 'restore'})
                except libvirt.libvirtError as e:
                    with drv.lock:
                        drv.errors.append(f'preparing {name} for {a} + {b}: {e}')
                    continue
                together = threading.Barrier(2)

                def client(k, op):
                    together.wait(60)
                    drv.call(mine[k], op, name, k)
                run_together(lambda: client(0, a), lambda: client(1, b))
        run_together(*[functools.partial(domain_worker, i) for i in range(DOMAINS)])
        check_everything_tracked(drv, conns[0])
        assert not drv.errors, drv.errors
        # The races were real: each call the driver supports got through in some round.
        refused = {'save', 'restore'} if drv.kind == 'lxc' else set()
        assert all(drv.outcomes[op, 'ok'] > 0 for op in set(OPS) - refused), drv.outcomes

        # Then eight clients, a fixed random sequence each, over all the domains at once.
        soak = [libvirt.open(drv.uri) for _ in range(SOAK_CLIENTS)]
        together = threading.Barrier(SOAK_CLIENTS)

        def soak_client(k):
            rng = random.Random(1000 + k)
            together.wait(60)
            for _ in range(SOAK_CALLS):
                drv.call(soak[k], rng.choice(OPS), rng.choice(drv.names), 100 + k)
        run_together(*[functools.partial(soak_client, k) for k in range(SOAK_CLIENTS)])
        for c in soak:
            c.close()
        check_everything_tracked(drv, conns[0])
        assert not drv.errors, drv.errors

        # Whatever is left can be stopped and removed through the API, leaving nothing at all.
        for name in drv.names:
            drv.reset(conns[0], name, running=False)
            conns[0].lookupByName(name).undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        assert not conns[0].listAllDomains(), [d.name() for d in conns[0].listAllDomains()]
        check_everything_tracked(drv, conns[0])
        assert not drv.processes() and not drv.cgroup_members() and not drv.cgroup_dirs()
        assert drv.daemon.alive()
    finally:
        for c in conns:
            c.close()
        # On failure, end what leaked (nothing is left otherwise): a paused guest sits frozen,
        # where even SIGKILL waits, and a container's init is not found by its command line.
        for group in drv.cgroup_dirs():
            if os.path.exists(os.path.join(group, 'freezer.state')):
                with open(os.path.join(group, 'freezer.state'), 'w') as f:
                    f.write('THAWED')
        for pid in drv.cgroup_members():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def token():
    return uuid.uuid4().hex[:6]  # names no other test on this host uses (cgroups are host-wide)


@pytest.mark.skipif(not os.path.exists('/usr/bin/qemu-system-x86_64'), reason='qemu-system-x86 is not installed')
def test_qemu_lifecycle_races_leave_no_untracked_guest(daemon, tmpdir_path, guest_files, token):  # noqa: F811
    drv = Driver('qemu', daemon, tmpdir_path, token,
                 lambda n: guest_xml(n, guest_files, os.path.join(tmpdir_path, n + '.serial')))
    conn = libvirt.open(drv.uri)
    try:
        # One save image per domain for the restores to race with.
        for name in drv.names:
            drv.reset(conn, name, running=True)
            image = os.path.join(tmpdir_path, name + '.image')
            conn.lookupByName(name).save(image)
            drv.images[name] = image
    finally:
        conn.close()
    race(drv)


@pytest.mark.skipif(not os.path.exists('/bin/busybox'), reason='busybox-static is not installed')
def test_lxc_lifecycle_races_leave_no_untracked_container(daemon, tmpdir_path, token):
    rootfs = build_rootfs(os.path.join(tmpdir_path, 'rootfs'))
    # Containers cannot be saved: save and restore are refused, and race as refusals.
    race(Driver('lxc', daemon, tmpdir_path, token, lambda n: container_xml(n, rootfs)))
