# SPDX-License-Identifier: LGPL-2.1-or-later
# "What Corral accepts, it enforces", end to end with the real virsh: definitions that were once
# accepted and then ran without what they asked for are refused at define, naming the part; a
# definition stored before this rule existed is still listed but cannot start without it; a
# qemu.conf that asks for console TLS the driver does not give stops the daemon.
import os

import pytest

from framework.tools import virsh


def define(daemon, driver, name, xml):
    path = os.path.join(daemon.root, name + '.xml')
    with open(path, 'w') as f:
        f.write(xml)
    return virsh(daemon.uri(driver), 'define', path)


def vm(name, devices='', extra='', os_attrs=''):
    return (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>"
            f"<os{os_attrs}><type arch='x86_64' machine='pc'>hvm</type></os>{extra}"
            f"<devices>{devices}</devices></domain>")


@pytest.mark.parametrize('name,xml,part', [
    ('filtered', vm('filtered', "<interface type='user'><filterref filter='clean-traffic'/></interface>"),
     '<interface><filterref>'),
    ('shaped', vm('shaped', "<interface type='user'><bandwidth><inbound average='1000'/></bandwidth></interface>"),
     '<interface><bandwidth>'),
    ('connected', vm('connected', "<graphics type='vnc' autoport='yes' passwd='x' connected='fail'/>"),
     "<graphics connected='fail'>"),
    ('efi', vm('efi', os_attrs=" firmware='efi'"), "<os firmware='efi'>"),
])
def test_qemu_definition_that_would_run_without_what_it_asks_is_refused(daemon, name, xml, part):
    r = define(daemon, 'qemu', name, xml)
    assert r.rc != 0
    assert f'unsupported configuration: {part}' in r.err, r.err
    assert "not supported by the 'qemu' driver" in r.err, r.err
    assert virsh(daemon.uri('qemu'), 'domstate', name).rc != 0  # nothing was defined


@pytest.mark.parametrize('name,extra,devices,part', [
    ('hostdev', '', "<hostdev mode='capabilities' type='storage'><source><block>/dev/sda</block></source></hostdev>",
     '<hostdev>'),
    ('selinux', "<seclabel type='static' model='selinux'><label>system_u:system_r:svirt_lxc_net_t:s0</label>"
                "</seclabel>", '', '<seclabel>'),
])
def test_container_definition_that_would_run_without_what_it_asks_is_refused(daemon, name, extra, devices, part):
    xml = (f"<domain type='lxc'><name>{name}</name><memory unit='MiB'>64</memory>"
           f"<os><type>exe</type><init>/bin/sh</init></os>{extra}<devices>{devices}</devices></domain>")
    r = define(daemon, 'lxc', name, xml)
    assert r.rc != 0 and f'unsupported configuration: {part}' in r.err, r.err
    assert "not supported by the 'lxc' driver" in r.err, r.err


def test_network_with_dns_records_it_would_not_serve_is_refused(daemon):
    path = os.path.join(daemon.root, 'n.xml')
    with open(path, 'w') as f:
        f.write("<network><name>recs</name><bridge name='crlrecs0'/>"
                "<dns><host ip='192.168.150.5'><hostname>db</hostname></host></dns>"
                "<ip address='192.168.150.1' prefix='24'/></network>")
    r = virsh(daemon.uri('qemu'), 'net-define', path)
    assert r.rc != 0 and '<dns><host>' in r.err and 'not supported by the network driver' in r.err, r.err


def test_qemu_conf_asking_for_console_tls_stops_the_daemon(daemon):
    # TLS without its certificates, or a key this driver does not act on: the daemon does not
    # start, naming the file, the line and the key, instead of offering consoles without them.
    daemon.stop()
    conf = os.path.join(daemon.root, 'etc', 'corral')
    os.makedirs(conf, exist_ok=True)
    empty = os.path.join(daemon.root, 'no-pki')
    os.makedirs(empty, exist_ok=True)
    with open(os.path.join(conf, 'qemu.conf'), 'w') as f:
        f.write(f'vnc_listen = "127.0.0.1"\nspice_tls = 1\nspice_tls_x509_cert_dir = "{empty}"\n')
    with pytest.raises(RuntimeError) as failed:
        daemon.start()
    assert f"spice_tls = 1 needs '{empty}/ca-cert.pem'" in str(failed.value)
    with open(os.path.join(conf, 'qemu.conf'), 'w') as f:
        f.write('vnc_listen = "127.0.0.1"\nspice_password = "pw"\n')
    with pytest.raises(RuntimeError) as failed:
        daemon.start()
    assert 'qemu.conf:2: spice_password: a default SPICE password is not supported yet' in str(failed.value)
    with open(os.path.join(conf, 'qemu.conf'), 'w') as f:
        f.write('spice_tls = 0\n')
    daemon.start()
