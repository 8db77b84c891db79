# SPDX-License-Identifier: LGPL-2.1-or-later
# Sys::Virt, the Perl binding (libsys-virt-perl 9.0), against corrald: host facts, the old list
# calls of every family (Sys::Virt's list_networks and friends use them), a guest's life, a
# network, a pool with a volume, a private secret. The same script runs against Debian's
# libvirtd; every step it passes passes here, and the values printed are the true ones.
import os
import shutil

import pytest

from framework.clients import record, run_sys_virt_script
from framework.libvirtd import guest_files_for_libvirtd, libvirtd  # noqa: F401 (fixture)
from framework.qemu_fixtures import guest_files, guest_xml, pytestmark, qemu_pids  # noqa: F401

pytestmark = [pytestmark, pytest.mark.skipif(shutil.which('perl') is None, reason='perl is not installed')]


def write_inputs(work_dir, guest_files, bridge, octet):
    files = {}
    texts = {
        'guest': guest_xml('perlguest', guest_files, os.path.join(work_dir, 'perlguest.serial')),
        'net': (f"<network><name>perlnet</name><bridge name='{bridge}'/>"
                f"<ip address='10.{octet}.0.1' prefix='24'><dhcp><range start='10.{octet}.0.10' "
                f"end='10.{octet}.0.20'/></dhcp></ip></network>"),
        'pool': (f"<pool type='dir'><name>perlpool</name><target><path>{os.path.join(work_dir, 'pool')}</path>"
                 "</target></pool>"),
    }
    for key, text in texts.items():
        files[key] = os.path.join(work_dir, key + '.xml')
        with open(files[key], 'w') as f:
            f.write(text)
        os.chmod(files[key], 0o644)
    return files


def run(uri, files):
    return run_sys_virt_script(uri, files['guest'], files['net'], files['pool'])


def value(steps, name):
    assert steps[name].ok, f'{name}: {steps[name].message()}'
    return steps[name].message()


def test_the_perl_binding_works_on_corrald_as_on_libvirtd(daemon, libvirtd, tmpdir_path, guest_files):
    octet = 100 + (os.getpid() + 7) % 100
    # Debian's libvirtd as nobody (qemu:///session).
    their_dir, copies = guest_files_for_libvirtd(libvirtd, 'perl', guest_files)
    theirs = run(f'qemu:///session?socket={libvirtd}',
                 write_inputs(their_dir, copies, f'crlpl{os.getpid() % 10000}', octet))
    record('sys-virt', 'libvirtd', theirs)

    try:
        ours = run(daemon.uri('qemu'), write_inputs(tmpdir_path, guest_files, f'crlpc{os.getpid() % 10000}', octet))
    finally:
        for pid in qemu_pids('perlguest'):
            os.kill(pid, 9)
    record('sys-virt', 'corrald', ours)

    assert list(ours) == list(theirs)
    expected_failures = {'get_domain_by_name (gone)', 'secret get_value (private)'}
    failed = [f'{n}: {s.message()}' for n, s in ours.items() if not s.ok and n not in expected_failures]
    assert failed == []
    worse = [n for n in theirs if theirs[n].ok and not ours[n].ok]
    assert worse == []

    assert value(ours, 'get_type') == 'QEMU'
    assert value(ours, 'get_node_info').startswith(f'cpus={os.cpu_count()} ')
    assert value(ours, 'define_domain') == 'perlguest'
    assert 'perlguest' in value(ours, 'list_defined_domains').split(',')
    assert value(ours, 'domain get_id (inactive)') == '-1'
    assert value(ours, 'list_domains') == 'perlguest' and value(ours, 'num_of_domains') == '1'
    assert value(ours, 'domain get_info') == f'state=1 maxMem={192 * 1024} nrVirtCpu=1'
    assert value(ours, 'domain suspend') == '3' and value(ours, 'domain resume') == '1'
    assert value(ours, 'domain destroy') == '5'
    assert not ours['get_domain_by_name (gone)'].ok and 'perlguest' in ours['get_domain_by_name (gone)'].message()
    assert value(ours, 'list_defined_networks') == 'perlnet' and value(ours, 'num_of_defined_networks') == '1'
    assert value(ours, 'network create') == '1' and value(ours, 'list_networks') == 'perlnet'
    assert value(ours, 'network get_bridge_name') == f'crlpc{os.getpid() % 10000}'
    assert value(ours, 'network get_dhcp_leases') == '0'
    assert value(ours, 'network destroy') == '0'
    assert value(ours, 'list_storage_pools') == 'perlpool' and value(ours, 'storage pool create') == '1'
    assert value(ours, 'storage pool list_volumes') == 'v1.qcow2'
    assert value(ours, 'storage vol get_info') == f'capacity={8 * 1024 * 1024}'
    assert value(ours, 'storage vol get_path') == os.path.join(tmpdir_path, 'pool', 'v1.qcow2')
    assert value(ours, 'get_storage_volume_by_path') == 'v1.qcow2'
    assert value(ours, 'storage pool refresh') == '0'
    # A private secret's value never leaves the daemon.
    assert not ours['secret get_value (private)'].ok
    assert ours['secret get_value (private)'].message() == theirs['secret get_value (private)'].message()
    assert 's3cret' not in ours['secret get_value (private)'].message()
    assert value(ours, 'get_secret_by_usage') == value(ours, 'define_secret')
