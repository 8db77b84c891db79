# SPDX-License-Identifier: LGPL-2.1-or-later
# Queries of a running QEMU guest through the real virsh and python3-libvirt: vCPUs, disks,
# interfaces, memory, IOThreads, the VNC display and domstats, with figures that move.
import os
import subprocess

import libvirt

from framework.qemu_fixtures import (guest_files, guest_xml, pytestmark, qemu, qemu_pids,  # noqa: F401
                                     serial_text, state, wait_for)
from framework.tools import virsh


def fields(text):
    """'name  value' lines of virsh output as a dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            out[parts[-2].rstrip(':')] = parts[-1]
    return out


def test_queries_of_a_running_guest(qemu, tmpdir_path):
    bridge = 'crlq%d' % (os.getpid() % 10000)
    subprocess.run(['ip', 'link', 'add', bridge, 'type', 'bridge'], check=True)
    subprocess.run(['ip', 'link', 'set', bridge, 'up'], check=True)
    try:
        disk = os.path.join(tmpdir_path, 'q.raw')
        subprocess.run(['qemu-img', 'create', '-f', 'raw', disk, '8M'], check=True, capture_output=True)
        devices = (f"<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='1'/>"
                   f"<source file='{disk}'/><target dev='vda' bus='virtio'/></disk>"
                   f"<interface type='bridge'><mac address='52:54:00:aa:bb:07'/><source bridge='{bridge}'/>"
                   f"<model type='virtio'/></interface>"
                   f"<memballoon model='virtio'/><graphics type='vnc' autoport='yes'/>")
        serial = qemu.define('q', extra_devices=devices, vcpus=2, iothreads=2)
        assert virsh(qemu.uri, 'start', 'q').rc == 0
        wait_for(lambda: 'counter 1' in serial_text(serial), what='the guest to boot')
        assert 'CORRAL-GUEST-DISK-READ' in serial_text(serial), serial_text(serial)
        uri = qemu.uri

        assert virsh(uri, 'vcpucount', 'q', '--live', '--active').out.strip() == '2'
        info = virsh(uri, 'vcpuinfo', 'q')
        assert info.rc == 0, info.err
        assert info.out.count('VCPU:') == 2 and 'State:          running' in info.out
        assert 'CPU Affinity:' in info.out

        assert 'vda' in virsh(uri, 'domblklist', 'q').out
        blk = virsh(uri, 'domblkstat', 'q', 'vda')
        assert blk.rc == 0, blk.err
        # The guest read its disk at boot (the init script's dd).
        assert int(fields(blk.out)['rd_bytes']) >= 64 * 4096, blk.out
        bad = virsh(uri, 'domblkstat', 'q', 'vdz')
        assert bad.rc == 1 and 'invalid path: vdz' in bad.err

        tap = virsh(uri, 'domiflist', 'q').out.split('\n')[2].split()[0]
        assert tap.startswith('vnet')
        wait_for(lambda: int(fields(virsh(uri, 'domifstat', 'q', tap).out).get('tx_packets', '0')) > 0,
                 what='the guest to send packets')
        by_mac = virsh(uri, 'domifstat', 'q', '52:54:00:aa:bb:07')
        assert by_mac.rc == 0 and 'rx_bytes' in by_mac.out

        mem = fields(virsh(uri, 'dommemstat', 'q').out)
        assert mem['actual'] == str(192 * 1024) and int(mem['rss']) > 0

        threads = virsh(uri, 'iothreadinfo', 'q')
        assert threads.rc == 0, threads.err
        assert [line.split()[0] for line in threads.out.splitlines()[2:] if line.strip()] == ['1', '2']

        display = virsh(uri, 'vncdisplay', 'q').out.strip()
        assert display.startswith('127.0.0.1:')

        stats = virsh(uri, 'domstats', 'q', '--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block')
        assert stats.rc == 0, stats.err
        for needle in ('state.state=1', 'cpu.time=', 'balloon.current=196608', 'vcpu.current=2', 'vcpu.1.time=',
                       f'net.0.name={tap}', 'net.0.tx.pkts=', 'block.count=1', 'block.0.name=vda',
                       f'block.0.path={disk}', 'block.0.rd.bytes='):
            assert needle in stats.out, (needle, stats.out)

        # The same through python3-libvirt.
        conn = libvirt.open(uri)
        try:
            dom = conn.lookupByName('q')
            rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.blockStats('vda')
            assert rd_bytes >= 64 * 4096 and rd_req > 0
            assert len(dom.interfaceStats(tap)) == 8
            assert dom.memoryStats()['actual'] == 192 * 1024
            vcpus, maps = dom.vcpus()
            assert [v[0] for v in vcpus] == [0, 1] and all(v[2] > 0 for v in vcpus)
            records = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BLOCK)
            [(d, params)] = [(d, p) for d, p in records if d.name() == 'q']
            assert params['state.state'] == libvirt.VIR_DOMAIN_RUNNING and params['block.0.name'] == 'vda'
        finally:
            conn.close()

        # A shut-off guest answers what a definition can tell, and refuses live counters.
        assert virsh(uri, 'destroy', 'q').rc == 0
        r = virsh(uri, 'domblkstat', 'q', 'vda')
        assert r.rc == 1 and 'not running' in r.err
        off = virsh(uri, 'domstats', 'q')
        assert 'state.state=5' in off.out and 'block.0.name=vda' in off.out
        inactive = virsh(uri, 'vcpuinfo', 'q')
        assert inactive.rc == 0 and inactive.out.count('VCPU:') == 2 and 'CPU Affinity:' in inactive.out, inactive.err
        cfg = virsh(uri, 'iothreadinfo', 'q', '--config')
        assert cfg.rc == 0 and len([line for line in cfg.out.splitlines()[2:] if line.strip()]) == 2
    finally:
        subprocess.run(['ip', 'link', 'del', bridge])
