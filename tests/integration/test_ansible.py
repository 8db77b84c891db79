# SPDX-License-Identifier: LGPL-2.1-or-later
# Ansible's community.libvirt (virt, virt_net, virt_pool: every command and state they offer)
# against corrald, and the same playbook against Debian's libvirtd on this machine. Every step
# must work on corrald, and the values the modules report must be the true ones (the guest's
# state at each step, the pool's and the network's facts).
import os
import shutil

import pytest

from framework.clients import record, run_ansible_playbook
from framework.libvirtd import guest_files_for_libvirtd, libvirtd  # noqa: F401 (fixture)
from framework.qemu_fixtures import guest_files, guest_xml, pytestmark, qemu_pids  # noqa: F401
from framework.tools import virsh

pytestmark = [pytestmark, pytest.mark.skipif(shutil.which('ansible-playbook') is None,
                                             reason='ansible is not installed (scripts/setup.sh installs it)')]


def playbook_vars(uri, guest_files, work_dir, bridge, octet):
    serial = os.path.join(work_dir, 'ansguest.serial')
    net = f'ansnet{os.getpid() % 10000}'
    return {
        'uri': uri,
        'guest_xml': guest_xml('ansguest', guest_files, serial),
        'guest_serial': serial,
        'net_name': net,
        'net_xml': (f"<network><name>{net}</name><forward mode='nat'/><bridge name='{bridge}'/>"
                    f"<ip address='10.{octet}.0.1' netmask='255.255.255.0'>"
                    f"<dhcp><range start='10.{octet}.0.100' end='10.{octet}.0.150'/></dhcp></ip></network>"),
        'net_host_xml': f"<host mac='52:54:00:ab:cd:01' name='fixed' ip='10.{octet}.0.20'/>",
        'pool_name': f'anspool{os.getpid() % 10000}',
        'pool_xml': (f"<pool type='dir'><name>anspool{os.getpid() % 10000}</name>"
                     f"<target><path>{os.path.join(work_dir, 'pool')}</path></target></pool>"),
    }


def results(steps, name):
    assert steps[name].ok, f'{name}: {steps[name].message()}'
    return steps[name].result


def run_on_libvirtd(sock, guest_files, octet):
    """The playbook against Debian's libvirtd (qemu:///session, as nobody)."""
    work, copies = guest_files_for_libvirtd(sock, 'ansible', guest_files)
    return run_ansible_playbook('ansible_libvirt.yml', playbook_vars(
        f'qemu:///session?socket={sock}', copies, work, f'crlanl{os.getpid() % 10000}', octet))


def test_every_module_command_works_on_corrald_as_on_libvirtd(daemon, libvirtd, tmpdir_path, guest_files):
    octet = 100 + os.getpid() % 100
    theirs = run_on_libvirtd(libvirtd, guest_files, octet)
    record('ansible', 'libvirtd', theirs)
    uri = daemon.uri('qemu')
    v = playbook_vars(uri, guest_files, tmpdir_path, f'crlans{os.getpid() % 10000}', octet)
    try:
        steps = run_ansible_playbook('ansible_libvirt.yml', v)
    finally:
        for pid in qemu_pids('ansguest'):
            os.kill(pid, 9)
    record('ansible', 'corrald', steps)
    # Same steps, and no step libvirtd passes fails here (corrald passes them all).
    assert list(steps) == list(theirs)
    failed = [f'{s.name}: {s.message()}' for s in steps.values()
              if not s.ok and s.name != 'virt: status of an unknown guest fails']
    assert failed == []

    # The values, not only the absence of errors.
    assert results(steps, 'virt: virttype')['virttype'] == 'QEMU'
    node = results(steps, 'virt: nodeinfo')
    assert int(node['cpus']) == os.cpu_count() and int(node['phymemory']) > 0
    assert int(results(steps, 'virt: freemem')['freemem']) > 0
    assert results(steps, 'virt: define')['created'] == 'ansguest'
    assert results(steps, 'virt: define again (idempotent)').get('changed') is not True
    assert 'ansguest' in results(steps, 'virt: list_vms')['list_vms']
    assert 'ansguest' in results(steps, 'virt: list_vms state=shutdown')['list_vms']
    assert results(steps, 'virt: status (defined)')['status'] == 'shutdown'
    assert '<name>ansguest</name>' in results(steps, 'virt: get_xml')['get_xml']
    assert results(steps, 'virt: status (started)')['status'] == 'running'
    info = results(steps, 'virt: info')['ansguest']
    assert info['state'] == 'running' and info['autostart'] == 1 and int(info['maxMem']) == 192 * 1024
    assert int(info['nrVirtCpu']) == 1
    assert results(steps, 'virt: status (paused)')['status'] == 'paused'
    assert results(steps, 'virt: state=paused')['changed'] is True
    assert results(steps, 'virt: state=running (from paused)')['changed'] is True
    assert 'ansguest' in results(steps, 'virt: list_vms state=running')['list_vms']
    assert results(steps, 'virt: status until shut off')['status'] == 'shutdown'
    assert results(steps, 'virt: state=destroyed')['changed'] is True
    assert not steps['virt: status of an unknown guest fails'].ok
    assert 'ansguest' in steps['virt: status of an unknown guest fails'].message()

    net = v['net_name']
    assert net in results(steps, 'virt_net: list_nets')['list_nets']
    assert net in results(steps, 'virt_net: list_nets state=inactive')['list_nets']
    assert results(steps, 'virt_net: status (defined)')['status'] == 'inactive'
    assert results(steps, 'virt_net: status (started)')['status'] == 'active'
    facts = results(steps, 'virt_net: facts')['ansible_facts']['ansible_libvirt_networks'][net]
    assert facts['state'] == 'active' and facts['autostart'] == 'yes' and facts['persistent'] == 'yes'
    assert facts['bridge'] == f'crlans{os.getpid() % 10000}' and facts['forward_mode'] == 'nat'
    assert facts['dhcp_leases'] == []
    assert results(steps, 'virt_net: info')['networks'][net]['state'] == 'active'
    assert net in results(steps, 'virt_net: list_nets state=active')['list_nets']
    assert results(steps, 'virt_net: state=absent')['changed'] is True
    assert net not in virsh(uri, 'net-list', '--all').out

    pool = v['pool_name']
    pool_dir = os.path.join(tmpdir_path, 'pool')
    assert pool in results(steps, 'virt_pool: list_pools state=inactive')['list_pools']
    assert results(steps, 'virt_pool: status (defined)')['status'] == 'inactive'
    pfacts = results(steps, 'virt_pool: facts')['ansible_facts']['ansible_libvirt_pools'][pool]
    assert pfacts['status'] == 'running' and pfacts['autostart'] == 'yes' and pfacts['type'] == 'dir'
    assert pfacts['path'] == pool_dir and pfacts['volume_count'] == 0
    assert int(pfacts['size_total']) > 0
    assert results(steps, 'virt_pool: info')['pools'][pool]['state'] == 'active'
    assert pool in results(steps, 'virt_pool: list_pools state=active')['list_pools']
    assert results(steps, 'virt_pool: delete')['changed'] is True
    assert results(steps, 'virt_pool: state=absent')['changed'] is True
    assert not os.path.exists(pool_dir) and pool not in virsh(uri, 'pool-list', '--all').out

