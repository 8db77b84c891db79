#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scale, Corral next to Debian's libvirt in one run, through the same clients: define of N
QEMU domains (python3-libvirt, every definition durable before the call returns), `virsh list
--all` and `virsh dominfo` with N domains, listAllDomains in process, lookup+info calls per
second with 1 and 4 clients, daemon restart with N domains (signal to a listing of all N), daemon
RSS idle and with N domains, undefine of N. Prints medians, ratios and the issue's targets and
writes bench/results/scale.{json,md}.

    sudo bash bench/setup.sh && /usr/bin/python3 bench/scale.py [--domains 1000] [--runs 7]
"""
import argparse
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import libvirt

from benchlib import (HERE, ROOT, RawRemoteClient, corral_daemon, disk_flush_ns, libvirtd, ms, socket_round_trip_ns,
                      steal_percent, timed, virsh_timed)

PREFIX = 'corral-bench-scale-'
GUEST = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>
    <source file='/var/lib/corral-bench/{name}.raw'/><target dev='vda' bus='virtio'/></disk>
  <interface type='user'><mac address='52:54:00:{a:02x}:{b:02x}:{c:02x}'/></interface></devices>
</domain>"""

TARGETS = {
    'virsh list --all': 'at least 4x faster than libvirt',
    'listAllDomains': 'at least 10x faster than libvirt',
    'lookup+info/s, 1 client': 'at least 3x libvirt',
    'lookup+info/s, 4 clients': 'at least 3x libvirt',
    'define N': 'at least 5x faster, every definition durable',
    'RSS with N domains': 'at most a third of libvirtd',
    'RSS idle': 'at most a third of libvirtd',
}


def names(n):
    return [f'{PREFIX}{i:04d}' for i in range(n)]


def xml_of(i, name):
    return GUEST.format(name=name, a=(i >> 16) & 255, b=(i >> 8) & 255, c=i & 255)


def clean(uri):
    conn = libvirt.open(uri)
    for d in conn.listAllDomains():
        if d.name().startswith(PREFIX):
            if d.isActive():
                d.destroy()
            d.undefine()
    conn.close()


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def private_kib(pid):
    """Memory only this process holds (USS: private clean and dirty pages), without the shared
    libraries' pages that RSS counts in full."""
    total = 0
    with open(f'/proc/{pid}/smaps_rollup') as f:
        for line in f:
            if line.startswith(('Private_Clean:', 'Private_Dirty:')):
                total += int(line.split()[1])
    return total


def socket_of(uri):
    """The unix socket a URI connects to: ?socket=, or libvirtd's default."""
    if 'socket=' in uri:
        return uri.split('socket=', 1)[1].split('&')[0]
    return '/var/run/libvirt/libvirt-sock'


def raw_list_all_ms(uri, runs):
    """CONNECT_LIST_ALL_DOMAINS (273) {need_results 1, flags ACTIVE|INACTIVE} on the wire."""
    import struct
    client = RawRemoteClient(socket_of(uri), uri.split('+unix')[0] + ':///system' if '+unix' in uri else uri)
    args = struct.pack('>iI', 1, 3)
    client.call(273, args)  # warm
    out = statistics.median(timed(lambda: client.call(273, args)) for _ in range(runs))
    client.close()
    return ms(out)


def lookup_worker(uri, domain_names, seconds, out):
    conn = libvirt.open(uri)
    count = 0
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        conn.lookupByName(domain_names[i % len(domain_names)]).info()
        i += 1
        count += 1
    conn.close()
    out.put(count)


def lookups_per_second(uri, domain_names, clients, seconds=3.0):
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=lookup_worker, args=(uri, domain_names[k::clients], seconds, q))
             for k in range(clients)]
    for p in procs:
        p.start()
    total = sum(q.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def wait_listing(uri, n, timeout=120):
    # Refused connections are expected while the daemon restarts: keep libvirt from printing each.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = libvirt.open(uri)
            got = len([d for d in conn.listAllDomains() if d.name().startswith(PREFIX)])
            conn.close()
            if got == n:
                return
        except libvirt.libvirtError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f'{uri}: {n} domains not listed after restart')


def measure(uri, n, runs, pid_of, restart):
    """Every figure for one system; `pid_of()` gives the daemon's pid now, `restart()` stops and
    starts it and returns when it answers."""
    clean(uri)
    out = {'rss_idle_kib': rss_kib(pid_of()), 'private_idle_kib': private_kib(pid_of())}
    conn = libvirt.open(uri)
    all_names = names(n)
    t0 = time.perf_counter_ns()
    for i, name in enumerate(all_names):
        conn.defineXML(xml_of(i, name))
    out['define_s'] = (time.perf_counter_ns() - t0) / 1e9
    conn.close()
    time.sleep(1)
    out['rss_n_kib'] = rss_kib(pid_of())
    out['private_n_kib'] = private_kib(pid_of())
    out['virsh_list_ms'] = ms(statistics.median(virsh_timed(uri, 'list', '--all') for _ in range(runs)))
    out['virsh_dominfo_ms'] = ms(statistics.median(virsh_timed(uri, 'dominfo', all_names[n // 2])
                                                   for _ in range(runs)))
    conn = libvirt.open(uri)
    conn.listAllDomains()  # warm
    out['list_all_ms'] = ms(statistics.median(timed(conn.listAllDomains) for _ in range(runs * 3)))
    conn.close()
    out['raw_list_all_ms'] = raw_list_all_ms(uri, runs * 3)
    out['lookup_1'] = lookups_per_second(uri, all_names, 1)
    out['lookup_4'] = lookups_per_second(uri, all_names, 4)
    t0 = time.perf_counter_ns()
    restart()
    wait_listing(uri, n)
    out['restart_s'] = (time.perf_counter_ns() - t0) / 1e9
    conn = libvirt.open(uri)
    t0 = time.perf_counter_ns()
    for d in conn.listAllDomains():
        if d.name().startswith(PREFIX):
            d.undefine()
    out['undefine_s'] = (time.perf_counter_ns() - t0) / 1e9
    conn.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--domains', type=int, default=1000)
    ap.add_argument('--runs', type=int, default=7)
    args = ap.parse_args()
    corrald = os.path.join(ROOT, 'build', 'bin', 'corrald')
    if not shutil.which('virsh') or not os.path.exists(corrald):
        sys.exit('build Corral first (bash scripts/test.sh or cmake --build build) and run bench/setup.sh')
    workdir = tempfile.mkdtemp(prefix='corral-bench-scale-')
    n = args.domains
    with libvirtd():
        state = {}
        state['daemon'], corral_uri = corral_daemon(workdir)

        def corral_restart():
            state['daemon'].send_signal(signal.SIGTERM)
            state['daemon'].wait()
            root = os.path.join(workdir, 'corral-root')
            state['daemon'] = subprocess.Popen([corrald, '--root', root], stdout=subprocess.DEVNULL,
                                               stderr=open(os.path.join(workdir, 'corrald.log'), 'a'))

        def libvirt_pid():
            return int(subprocess.run(['pgrep', '-x', 'libvirtd'], capture_output=True, text=True).stdout.split()[0])

        def libvirt_restart():
            subprocess.run(['bash', os.path.join(HERE, 'libvirtd.sh'), 'stop'], check=True)
            subprocess.run(['bash', os.path.join(HERE, 'libvirtd.sh'), 'start'], check=True)

        try:
            def run_all():
                clean('qemu:///system')
                libvirt_restart()  # fresh, as corrald is: its idle RSS is not one after earlier benches
                c = measure(corral_uri, n, args.runs, lambda: state['daemon'].pid, corral_restart)
                lv = measure('qemu:///system', n, args.runs, libvirt_pid, libvirt_restart)
                return c, lv
            (corral, libvirt_), steal = steal_percent(run_all)
            round_trip_us = socket_round_trip_ns() / 1000
            flush_us = disk_flush_ns(workdir) / 1000
        finally:
            clean('qemu:///system')
            state['daemon'].terminate()
            state['daemon'].wait()
            shutil.rmtree(workdir, ignore_errors=True)

    def row(label, key, unit, higher_is_better=False):
        c, lv = corral[key], libvirt_[key]
        ratio = (c / lv) if higher_is_better else (lv / c)
        return {'measure': label.replace('N', str(n)), 'unit': unit, 'corral': round(c, 2), 'libvirt': round(lv, 2),
                'advantage': round(ratio, 1), 'target': TARGETS.get(label, '')}

    rows = [row('define N', 'define_s', 's'),
            row('virsh list --all', 'virsh_list_ms', 'ms'),
            row('virsh dominfo', 'virsh_dominfo_ms', 'ms'),
            row('listAllDomains', 'list_all_ms', 'ms'),
            row('listAllDomains on the wire (no client library)', 'raw_list_all_ms', 'ms'),
            row('lookup+info/s, 1 client', 'lookup_1', 'calls/s', True),
            row('lookup+info/s, 4 clients', 'lookup_4', 'calls/s', True),
            row('restart with N domains', 'restart_s', 's'),
            row('undefine N', 'undefine_s', 's'),
            row('RSS idle', 'rss_idle_kib', 'KiB'),
            row('RSS with N domains', 'rss_n_kib', 'KiB'),
            row('private memory idle', 'private_idle_kib', 'KiB'),
            row('private memory with N domains', 'private_n_kib', 'KiB')]
    # What no daemon can beat on this machine: one socket round trip per call.
    floor = {'round_trip_us': round(round_trip_us, 1),
             'virsh_list_calls_ms': round(n * round_trip_us / 1000, 1),
             'lookup_info_per_client': round(1e6 / (2 * round_trip_us)),
             'flush_us': round(flush_us, 1),
             'define_n_s': round(n * (round_trip_us + flush_us) / 1e6, 3)}
    result = {'bench': 'scale', 'domains': n, 'runs': args.runs, 'steal_percent': round(steal, 1), 'rows': rows,
              'floor': floor,
              'date': time.strftime('%Y-%m-%d %H:%M:%S')}
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'scale.json'), 'w') as f:
        json.dump(result, f, indent=2)
    lines = [f"# Scale: Corral and libvirt with {n} domains {result['date']}", '',
             f"Medians of {args.runs} runs (listAllDomains: {args.runs * 3}); lookup+info for 3 s per client count; "
             f"steal {result['steal_percent']} %. 'advantage' is how many times better Corral is.", '',
             '| measure | unit | Corral | libvirt | advantage | target |', '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['measure']} | {r['unit']} | {r['corral']} | {r['libvirt']} | {r['advantage']}x | "
                     f"{r['target']} |")
    lines += ['', f"Floor on this machine: one call costs at least a unix-socket round trip between two processes on "
              f"different CPUs, "
              f"{floor['round_trip_us']} us here (mostly waking an idle vCPU, twice). `virsh list --all` makes {n} "
              f"GET_STATE calls after its listing: at least {floor['virsh_list_calls_ms']} ms plus virsh's own start; "
              f"lookup+info is two calls: at most {floor['lookup_info_per_client']}/s for one client. "
              f"A durable define is a call and a disk flush ({floor['flush_us']} us for 4 KiB + fdatasync here): "
              f"{n} one after another take at least {floor['define_n_s']} s. "
              f"'listAllDomains' includes python3-libvirt building {n} objects; the row after it times the same "
              f"call with no client library. Private memory leaves out the shared libraries' pages RSS counts."]
    md = '\n'.join(lines) + '\n'
    with open(os.path.join(HERE, 'results', 'scale.md'), 'w') as f:
        f.write(md)
    print(md)


if __name__ == '__main__':
    main()
