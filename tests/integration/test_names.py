# SPDX-License-Identifier: LGPL-2.1-or-later
# Names that reach the host, tried as an attacker would. A guest named '..' or '.' gets a cgroup
# and files of its own: its memory limit never lands on the partition, destroying it never takes
# another guest's group (QEMU and containers). A ',' in a name cannot add QEMU options (read back
# from the real command line and from QEMU itself), and a ',' in a graphics listen address is
# refused. A newline in a new name is refused at define in libvirt's words, while a definition an
# older daemon stored with one still lists and undefines. Networks the old table names merged
# each get their own nft table; values that would reach nft or dnsmasq unquoted are refused.
import json
import os
import sqlite3
import subprocess
import uuid as uuidlib

import pytest

from framework.container import build_rootfs, container_xml
from framework.host_names import cgroup_dir, escape, memory_limit, nft_table_name, qemu_process, read
from framework.qemu_fixtures import guest_files, guest_xml, qemu, wait_for  # noqa: F401
from framework.qemu_fixtures import pytestmark as needs_qemu
from framework.tools import virsh

HARD_LIMIT = 900 * 1024 * 1024


def define_guest(qemu, tmpdir_path, name, file_tag, memtune=''):
    """Defines the tiny guest under `name`; `file_tag` names its files in the test's directory."""
    xml = guest_xml(name, qemu.guest_files, os.path.join(tmpdir_path, file_tag + '.serial'))
    if memtune:
        xml = xml.replace('</vcpu>', '</vcpu>' + memtune, 1)
    path = os.path.join(tmpdir_path, file_tag + '.xml')
    with open(path, 'w') as f:
        f.write(xml)
    r = virsh(qemu.uri, 'define', path)
    assert r.rc == 0, r.err


@pytest.fixture
def guests(qemu, tmpdir_path, guest_files):
    """Guests started here by name; every one left is destroyed at the end."""
    qemu.guest_files = guest_files
    started = []

    def start(name, file_tag, memtune=''):
        define_guest(qemu, tmpdir_path, name, file_tag, memtune)
        r = virsh(qemu.uri, 'start', name)
        assert r.rc == 0, r.err
        started.append(name)
        pid, argv = qemu_process(name)
        assert pid is not None, f'no QEMU runs with the name {name!r}'
        return pid, argv

    yield start
    for name in started:
        virsh(qemu.uri, 'destroy', name)


@needs_qemu
def test_domain_named_dotdot_or_dot_gets_its_own_cgroup_and_spares_other_guests(qemu, guests):
    bystander, _ = guests('web1', 'web1')
    bystander_group = os.path.dirname(cgroup_dir(bystander, 'memory'))
    partition = os.path.dirname(os.path.dirname(bystander_group))
    assert memory_limit(partition) is None
    memtune = f"<memtune><hard_limit unit='KiB'>{HARD_LIMIT // 1024}</hard_limit></memtune>"
    for name, tag in (('..', 'dotdot'), ('.', 'dot')):
        pid, _ = guests(name, tag, memtune)
        group = os.path.dirname(cgroup_dir(pid, 'memory'))  # QEMU's own threads are in .../emulator
        # Its own directory below PARTITION/qemu, named with the escaped name, not the
        # partition (..) or the qemu level (.) itself.
        assert os.path.basename(group) == escape(name), group
        assert os.path.dirname(group) == os.path.join(partition, 'qemu'), group
        assert memory_limit(group) == HARD_LIMIT
        assert memory_limit(partition) is None, 'the guest limit reached every guest'
        assert memory_limit(os.path.join(partition, 'qemu')) is None
        assert virsh(qemu.uri, 'destroy', name).rc == 0
        assert not os.path.exists(group)
        # The other guest, its group and its place in it are untouched.
        assert os.path.exists(f'/proc/{bystander}')
        assert os.path.isdir(bystander_group)
        assert os.path.dirname(cgroup_dir(bystander, 'memory')) == bystander_group
    # Only the other guest's files are left in the run directory.
    run_dir = os.path.join(qemu.daemon.root, 'run', 'corral', 'qemu')
    assert all(f.startswith('web1.') for f in os.listdir(run_dir)), os.listdir(run_dir)


@needs_qemu
def test_comma_in_a_name_cannot_add_qemu_options(qemu, guests):
    # "process=" is a real -name option: injected, it would rename QEMU's process to "evil".
    name = 'x,process=evil'
    pid, argv = guests(name, 'comma')
    assert argv[argv.index('-name') + 1] == 'guest=x,,process=evil,debug-threads=on'
    assert read(f'/proc/{pid}/comm') != 'evil'
    # QEMU itself reads the whole name back.
    r = virsh(qemu.uri, 'qemu-monitor-command', name, '{"execute":"query-name"}')
    assert r.rc == 0, r.err
    assert json.loads(r.out)['return']['name'] == name
    assert os.path.exists(os.path.join(qemu.daemon.root, 'run', 'corral', 'qemu', escape(name) + '.pid'))


def cgroup_mounts():
    """Every cgroup hierarchy's mount point (v1 controllers and the v2 mount)."""
    with open('/proc/self/mounts') as f:
        return sorted({line.split()[1] for line in f if line.split()[2] in ('cgroup', 'cgroup2')})


@needs_qemu
def test_guest_started_by_a_daemon_before_escaping_is_found_after_the_upgrade(qemu, guests):
    # Made into what an older daemon left: files and group under the bare name 'a b'.
    name = 'a b'
    pid, _ = guests(name, 'upgrade')
    group = os.path.dirname(cgroup_dir(pid, 'memory'))
    run_dir = os.path.join(qemu.daemon.root, 'run', 'corral', 'qemu')
    log_dir = os.path.join(qemu.daemon.root, 'log', 'corral', 'qemu')
    qemu.daemon.kill9()
    for directory, suffix in ((run_dir, '.pid'), (run_dir, '.monitor'), (log_dir, '.log')):
        os.rename(os.path.join(directory, escape(name) + suffix), os.path.join(directory, name + suffix))
    with open(f'/proc/{pid}/cgroup') as f:  # the guest's group below each mount
        relative = [line.rstrip('\n').split(':', 2)[2] for line in f if ':memory:' in line or line.startswith('0::')][0]
    relative = os.path.dirname(relative).lstrip('/')
    renamed = []
    for mount in cgroup_mounts():
        old = os.path.join(mount, relative)
        if os.path.isdir(old):
            try:
                os.rename(old, os.path.join(os.path.dirname(old), name))
            except OSError as e:  # cgroup v2 renames nothing: the group stays where it is
                assert not renamed, e
                break
            renamed.append(mount)
    qemu.daemon.start()
    # Reconnected: running, managed, its files under the escaped name again.
    assert virsh(qemu.uri, 'domstate', name).out.strip() == 'running'
    assert os.path.exists(os.path.join(run_dir, escape(name) + '.pid'))
    assert not os.path.exists(os.path.join(run_dir, name + '.pid'))
    r = virsh(qemu.uri, 'qemu-monitor-command', name, '{"execute":"query-name"}')
    assert r.rc == 0 and json.loads(r.out)['return']['name'] == name, r.err
    legacy_group = os.path.join(os.path.dirname(group), name) if renamed else group
    assert os.path.dirname(cgroup_dir(pid, 'memory')) == legacy_group
    assert virsh(qemu.uri, 'destroy', name).rc == 0
    assert qemu_process(name) == (None, None)  # gone (a zombie of init's has no command line)
    assert not os.path.exists(legacy_group), 'the older daemon\'s group was left behind'


@needs_qemu
def test_comma_in_a_graphics_listen_address_is_refused_before_qemu_runs(qemu, write_file, guest_files):
    for listen in ('127.0.0.1,share=force-shared', '0.0.0.0,password=off'):
        xml = guest_xml('gfx', guest_files, '/dev/null',
                        extra_devices=f"<graphics type='vnc' autoport='yes' listen='{listen}'/>")
        path = write_file('gfx.xml', xml)
        for command in ('define', 'create'):
            r = virsh(qemu.uri, command, path)
            assert r.rc != 0, f'{command} accepted listen={listen!r}'
            assert f"listen address '{listen}' is not an IP address or host name" in r.err, r.err
    assert qemu_process('gfx') == (None, None)
    assert virsh(qemu.uri, 'list', '--all', '--name').out.split() == []


def test_newline_in_a_new_name_is_refused_at_define_in_libvirts_words(daemon):
    import libvirt
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        xml = ("<domain type='qemu'><name>web&#10;evil</name><memory unit='MiB'>64</memory>"
               "<os><type>hvm</type></os></domain>")
        for call in (conn.defineXML, conn.createXML):
            with pytest.raises(libvirt.libvirtError) as e:
                call(xml)
            assert e.value.get_error_code() == libvirt.VIR_ERR_XML_DETAIL
            assert 'invalid char in name: \\n' in str(e.value)
        with pytest.raises(libvirt.libvirtError) as e:
            conn.networkDefineXML('<network><name>net&#10;evil</name></network>')
        assert 'invalid char in name: \\n' in str(e.value)
        assert conn.listAllDomains() == [] and conn.listAllNetworks() == []
    finally:
        conn.close()


def test_definitions_stored_by_an_older_daemon_with_such_names_list_and_undefine(daemon):
    import libvirt
    daemon.stop()
    db = sqlite3.connect(os.path.join(daemon.root, 'lib', 'corral', 'corral.db'))
    dom_uuid, net_uuid = str(uuidlib.uuid4()), str(uuidlib.uuid4())
    with db:
        db.execute('INSERT INTO definitions (driver, uuid, name, xml) VALUES (?, ?, ?, ?)',
                   ('qemu', dom_uuid, 'old\nname',
                    f"<domain type='qemu'><name>old&#10;name</name><uuid>{dom_uuid}</uuid>"
                    "<memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>"))
        db.execute('INSERT INTO definitions (driver, uuid, name, xml) VALUES (?, ?, ?, ?)',
                   ('network', net_uuid, 'old\nnet',
                    f"<network><name>old&#10;net</name><uuid>{net_uuid}</uuid><bridge name='br\"x'/></network>"))
    db.close()
    daemon.start()
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        assert [d.name() for d in conn.listAllDomains()] == ['old\nname']
        assert [n.name() for n in conn.listAllNetworks()] == ['old\nnet']
        # Starting the network is refused (its bridge name would end nft's quotes), not run.
        with pytest.raises(libvirt.libvirtError) as e:
            conn.networkLookupByName('old\nnet').create()
        assert '<bridge name>' in str(e.value)
        conn.lookupByName('old\nname').undefine()
        conn.networkLookupByName('old\nnet').undefine()
        assert conn.listAllDomains() == [] and conn.listAllNetworks() == []
    finally:
        conn.close()


def test_networks_the_old_table_names_merged_get_their_own_tables(daemon, write_file):
    uri = daemon.uri('qemu')
    tag = os.getpid() % 10000
    nets = {f'nt{tag}-x': f'crlna{tag}', f'nt{tag}.x': f'crlnb{tag}'}  # both were corral_net_ntN_x
    started = []
    try:
        for name, bridge in nets.items():
            path = write_file('net.xml', f"<network><name>{name}</name><bridge name='{bridge}'/></network>")
            assert virsh(uri, 'net-define', path).rc == 0
            r = virsh(uri, 'net-start', name)
            assert r.rc == 0, r.err
            started.append(name)
        tables = {}
        for name, bridge in nets.items():
            listed = subprocess.run(['nft', 'list', 'table', 'ip', nft_table_name(name)], capture_output=True, text=True)
            assert listed.returncode == 0, listed.stderr
            assert f'"{bridge}"' in listed.stdout
            tables[name] = nft_table_name(name)
        assert len(set(tables.values())) == 2
        first, second = list(nets)
        assert virsh(uri, 'net-destroy', first).rc == 0
        started.remove(first)
        assert subprocess.run(['nft', 'list', 'table', 'ip', tables[first]], capture_output=True).returncode != 0
        rest = subprocess.run(['nft', 'list', 'table', 'ip', tables[second]], capture_output=True, text=True)
        assert rest.returncode == 0 and f'"{nets[second]}"' in rest.stdout
    finally:
        for name in started:
            virsh(uri, 'net-destroy', name)

    # What would reach nft or dnsmasq unquoted is refused at define, naming it.
    for xml, needle in (("<network><name>q</name><bridge name='br\" accept'/></network>", '<bridge name>'),
                        ("<network><name>q</name><forward mode='nat' dev='eth0;'/></network>", '<forward dev>'),
                        ("<network><name>q</name><ip address='10.99.0.1' prefix='24'><dhcp>"
                         "<host mac='52:54:00:00:00:09' name='h,set:x' ip='10.99.0.9'/></dhcp></ip></network>",
                         'not a host name')):
        r = virsh(uri, 'net-define', write_file('bad.xml', xml))
        assert r.rc != 0 and needle in r.err, r.err


@pytest.mark.skipif(not os.path.exists('/bin/busybox'), reason='busybox-static is not installed')
def test_container_named_dotdot_gets_its_own_cgroup_and_spares_other_containers(daemon, tmpdir_path, write_file):
    uri = daemon.uri('lxc')
    rootfs = build_rootfs(os.path.join(tmpdir_path, 'rootfs'))
    run_dir = os.path.join(daemon.root, 'run', 'corral', 'lxc')

    def init_pid(name):
        with open(os.path.join(run_dir, escape(name) + '.state')) as f:
            return int(f.read().split()[1])

    def start(name, tag):
        assert virsh(uri, 'define', write_file(tag + '.xml', container_xml(name, rootfs))).rc == 0
        r = virsh(uri, 'start', name)
        assert r.rc == 0, r.err
        return init_pid(name)

    try:
        web = start('web', 'web')
        web_group = cgroup_dir(web, 'memory')
        partition = os.path.dirname(os.path.dirname(web_group))
        dotdot = start('..', 'dotdot')
        group = cgroup_dir(dotdot, 'memory')
        assert os.path.basename(group) == escape('..') and os.path.dirname(group) == os.path.join(partition, 'lxc')
        assert memory_limit(group) == 128 * 1024 * 1024
        assert memory_limit(partition) is None, "the container's limit reached every container"
        assert virsh(uri, 'destroy', '..').rc == 0
        wait_for(lambda: not os.path.exists(f'/proc/{dotdot}'), timeout=10, what='the container to stop')
        assert os.path.exists(f'/proc/{web}') and cgroup_dir(web, 'memory') == web_group
        assert os.path.isdir(web_group)
        # A mount target that climbs out of the container's root is refused at define.
        bad = container_xml('climb', rootfs, extra_devices="<filesystem type='mount'><source dir='/tmp'/>"
                                                           "<target dir='/../../tmp/escaped'/></filesystem>")
        r = virsh(uri, 'define', write_file('climb.xml', bad))
        assert r.rc != 0 and "'.' or '..' components" in r.err, r.err
    finally:
        for name in ('..', 'web'):
            virsh(uri, 'destroy', name)
