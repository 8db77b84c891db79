# SPDX-License-Identifier: LGPL-2.1-or-later
# Secrets with the real virsh, python3-libvirt and corral: every secret command on qemu:///system
# (the host's secret driver, values sealed on disk) and on test:///default (in memory). Attacks:
# values over the wire's 64 KiB limit, binary values, UUID and usage collisions, a read-only
# client asking for a value, a private value asked for, undefine racing set-value, the store's
# file modes and contents, and set-value under access rules that deny it.
import base64
import json
import os
import stat
import threading

import libvirt
import pytest

from framework.tools import corral, virsh

# test:///default's state lives while a connection is open (docs/test-driver.md): one is held
# so that a secret defined by one virsh call is there for the next.
pytestmark = pytest.mark.usefixtures('held_test_state')

UUID = '0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'
OTHER = '11111111-2222-4333-8444-555555555555'


def secret_xml(uuid=UUID, usage="<usage type='volume'><volume>/img/a.luks</volume></usage>", flags=''):
    return f"<secret {flags}><uuid>{uuid}</uuid><description>disk key</description>{usage}</secret>"


def secrets_dir(daemon):
    return os.path.join(daemon.root, 'lib', 'corral', 'secrets')


def key_file(daemon):
    return os.path.join(daemon.root, 'etc', 'corral', 'secrets-encryption-key')


def store_bytes(daemon):
    out = b''
    for name in os.listdir(secrets_dir(daemon)):
        with open(os.path.join(secrets_dir(daemon), name), 'rb') as f:
            out += f.read()
    return out


@pytest.mark.parametrize('driver', ['qemu', 'test'])
def test_every_virsh_secret_command(daemon, write_file, driver):
    uri = daemon.uri(driver)
    r = virsh(uri, 'secret-define', write_file('s.xml', secret_xml()))
    assert r.rc == 0 and f'Secret {UUID} created' in r.out, r.err
    listed = virsh(uri, 'secret-list').out
    assert UUID in listed and 'volume /img/a.luks' in listed
    dumped = virsh(uri, 'secret-dumpxml', UUID).out
    assert "<usage type='volume'>" in dumped and '<volume>/img/a.luks</volume>' in dumped
    value = 'correct horse battery staple'
    r = virsh(uri, 'secret-set-value', UUID, base64.b64encode(value.encode()).decode())
    assert r.rc == 0 and 'Secret value set' in r.out, r.err
    r = virsh(uri, 'secret-get-value', UUID)
    assert r.rc == 0 and base64.b64decode(r.out.strip()).decode() == value
    # The value appears in no definition and no log.
    assert value not in virsh(uri, 'secret-dumpxml', UUID).out
    assert value not in daemon.stderr()
    r = virsh(uri, 'secret-undefine', UUID)
    assert r.rc == 0 and f'Secret {UUID} deleted' in r.out
    r = virsh(uri, 'secret-dumpxml', UUID)
    assert r.rc == 1 and 'Secret not found' in r.err


def test_python_usage_lookups_and_list_flags(daemon):
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        usages = [
            (libvirt.VIR_SECRET_USAGE_TYPE_VOLUME, 'volume', 'volume', '/img/v'),
            (libvirt.VIR_SECRET_USAGE_TYPE_CEPH, 'ceph', 'name', 'client.admin'),
            (libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, 'iscsi', 'target', 'iqn.2026-12.example:t'),
            (libvirt.VIR_SECRET_USAGE_TYPE_TLS, 'tls', 'name', 'tls-one'),
            (libvirt.VIR_SECRET_USAGE_TYPE_VTPM, 'vtpm', 'name', 'vtpm-one'),
        ]
        for i, (kind, word, element, ident) in enumerate(usages):
            flags = "ephemeral='yes' private='yes'" if i == 0 else ''
            conn.secretDefineXML(f"<secret {flags}><usage type='{word}'><{element}>{ident}</{element}></usage></secret>")
        for kind, word, element, ident in usages:
            s = conn.secretLookupByUsage(kind, ident)
            assert s.usageType() == kind and s.usageID() == ident
            assert conn.secretLookupByUUIDString(s.UUIDString()).usageID() == ident
        assert len(conn.listAllSecrets()) == 5
        assert [s.usageID() for s in conn.listAllSecrets(libvirt.VIR_CONNECT_LIST_SECRETS_EPHEMERAL)] == ['/img/v']
        assert len(conn.listAllSecrets(libvirt.VIR_CONNECT_LIST_SECRETS_NO_PRIVATE)) == 4
        assert conn.numOfSecrets() == 5 and len(conn.listSecrets()) == 5
        with pytest.raises(libvirt.libvirtError) as e:
            conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_CEPH, 'nobody')
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_SECRET
    finally:
        conn.close()


def test_store_is_sealed_owner_only_and_survives_restart(daemon, write_file):
    uri = daemon.uri('qemu')
    plain = b'PLAINTEXT-MARKER-' + os.urandom(8).hex().encode()
    assert virsh(uri, 'secret-define', write_file('s.xml', secret_xml())).rc == 0
    assert virsh(uri, 'secret-set-value', UUID, base64.b64encode(plain).decode()).rc == 0
    assert stat.S_IMODE(os.stat(secrets_dir(daemon)).st_mode) == 0o700
    for name in os.listdir(secrets_dir(daemon)):
        assert stat.S_IMODE(os.stat(os.path.join(secrets_dir(daemon), name)).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(key_file(daemon)).st_mode) == 0o600
    assert plain not in store_bytes(daemon)
    with open(os.path.join(daemon.root, 'lib', 'corral', 'corral.db'), 'rb') as f:
        assert plain not in f.read()
    # The key lives outside the store: not among the secrets' files.
    assert not key_file(daemon).startswith(secrets_dir(daemon))

    daemon.kill9()
    daemon.start()
    r = virsh(uri, 'secret-get-value', UUID)
    assert r.rc == 0 and base64.b64decode(r.out.strip()) == plain

    # Without the key the stored value is useless: a new key, the secret loads without it.
    daemon.stop()
    os.unlink(key_file(daemon))
    daemon.start()
    r = virsh(uri, 'secret-get-value', UUID)
    assert r.rc == 1 and 'does not have a value' in r.err


def test_ephemeral_secret_never_touches_disk(daemon, write_file):
    uri = daemon.uri('qemu')
    plain = b'EPHEMERAL-' + os.urandom(8).hex().encode()
    assert virsh(uri, 'secret-define', write_file('s.xml', secret_xml(flags="ephemeral='yes'"))).rc == 0
    assert virsh(uri, 'secret-set-value', UUID, base64.b64encode(plain).decode()).rc == 0
    assert os.listdir(secrets_dir(daemon)) == []
    daemon.stop()
    daemon.start()
    assert UUID not in virsh(uri, 'secret-list').out


def test_private_value_never_leaves_and_cannot_be_made_public(daemon, write_file):
    uri = daemon.uri('qemu')
    assert virsh(uri, 'secret-define', write_file('s.xml', secret_xml(flags="private='yes'"))).rc == 0
    assert virsh(uri, 'secret-set-value', UUID, base64.b64encode(b'hidden').decode()).rc == 0
    r = virsh(uri, 'secret-get-value', UUID)
    assert r.rc == 1 and 'Invalid secret: secret is private' in r.err
    conn = libvirt.open(uri)
    try:
        s = conn.secretLookupByUUIDString(UUID)
        for flags in (0, 1, 0x80000000):
            with pytest.raises(libvirt.libvirtError):
                s.value(flags)
        with pytest.raises(libvirt.libvirtError) as e:
            conn.secretDefineXML(secret_xml(flags="private='no'"))
        assert 'private flag' in str(e.value)
    finally:
        conn.close()
    assert virsh(uri, 'secret-get-value', UUID).rc == 1


def test_read_only_client_gets_no_value(daemon, write_file):
    uri = daemon.uri('qemu')
    assert virsh(uri, 'secret-define', write_file('s.xml', secret_xml())).rc == 0
    assert virsh(uri, 'secret-set-value', UUID, base64.b64encode(b'value').decode()).rc == 0
    ro = daemon.uri('qemu', readonly=True)
    assert UUID in virsh(ro, 'secret-list', readonly=True).out
    for args in (['secret-get-value', UUID], ['secret-set-value', UUID, 'eA=='], ['secret-undefine', UUID]):
        r = virsh(ro, *args, readonly=True)
        assert r.rc == 1 and 'read only access prevents' in r.err, (args, r.err)


def test_large_binary_values_and_the_wire_limit(daemon, write_file):
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        s = conn.secretDefineXML(secret_xml())
        binary = bytes(range(256)) * 256  # 65536 bytes, every byte value, NULs included
        s.setValue(binary)
        assert s.value() == binary
        with pytest.raises(libvirt.libvirtError):
            s.setValue(binary + b'x')  # over REMOTE_SECRET_VALUE_MAX: refused, old value kept
        assert s.value() == binary
    finally:
        conn.close()
    daemon.stop()
    daemon.start()
    conn = libvirt.open(daemon.uri('qemu'))
    try:
        assert conn.secretLookupByUUIDString(UUID).value() == binary
    finally:
        conn.close()


def test_uuid_and_usage_collisions(daemon, write_file):
    uri = daemon.uri('qemu')
    assert virsh(uri, 'secret-define', write_file('a.xml', secret_xml())).rc == 0
    r = virsh(uri, 'secret-define', write_file('b.xml', secret_xml(uuid=OTHER)))
    assert r.rc == 1 and f'a secret with UUID {UUID} already defined for use with /img/a.luks' in r.err
    r = virsh(uri, 'secret-define', write_file('c.xml', secret_xml(
        usage="<usage type='ceph'><name>x</name></usage>")))
    assert r.rc == 1 and 'is already defined for use with /img/a.luks' in r.err
    r = virsh(uri, 'secret-define', write_file('d.xml', secret_xml(flags="ephemeral='yes'")))
    assert r.rc == 1 and 'ephemeral flag' in r.err
    r = virsh(uri, 'secret-define', write_file('e.xml', "<secret><value>eA==</value></secret>"))
    assert r.rc == 1 and '<value>' in r.err
    assert len(virsh(uri, 'secret-list').out.strip().splitlines()) == 3  # header, rule, one secret


def test_undefine_racing_set_value_leaves_no_orphan(daemon, write_file):
    uri = daemon.uri('qemu')
    for round_ in range(20):
        conn_a = libvirt.open(uri)
        conn_b = libvirt.open(uri)
        try:
            s = conn_a.secretDefineXML(secret_xml())
            s_b = conn_b.secretLookupByUUIDString(UUID)
            start = threading.Barrier(2)
            outcome = {}

            def setter():
                start.wait()
                try:
                    s_b.setValue(b'racing value %d' % round_)
                    outcome['set'] = True
                except libvirt.libvirtError as e:
                    outcome['set'] = e.get_error_code()

            t = threading.Thread(target=setter)
            t.start()
            start.wait()
            s.undefine()
            t.join()
            assert outcome['set'] is True or outcome['set'] == libvirt.VIR_ERR_NO_SECRET
            assert os.listdir(secrets_dir(daemon)) == [], round_
        finally:
            conn_a.close()
            conn_b.close()


def test_set_value_goes_through_access_rules(daemon, write_file):
    uri = daemon.uri('qemu')
    assert virsh(uri, 'secret-define', write_file('s.xml', secret_xml())).rc == 0
    rules = os.path.join(daemon.root, 'etc', 'corral', 'access.conf')
    with open(rules, 'w') as f:
        f.write('allow unix-uid=0 ops=read\ndeny any ops=*\n')
    daemon.stop()
    daemon.write_config('access_rules_file = "access.conf"\n')
    daemon.start()
    assert UUID in virsh(uri, 'secret-list').out
    for args in (['secret-set-value', UUID, 'eA=='], ['secret-get-value', UUID], ['secret-undefine', UUID]):
        r = virsh(uri, *args)
        assert r.rc == 1 and 'access denied' in r.err.lower(), (args, r.err)


def test_corral_secret_commands_with_json(daemon, bin_dir, write_file):
    uri = daemon.uri('qemu')
    r = corral(bin_dir, uri, 'secret-define', write_file('s.xml', secret_xml()))
    assert r.rc == 0 and f'Secret {UUID} created' in r.out, r.err
    assert corral(bin_dir, uri, 'secret-set-value', UUID, base64.b64encode(b'\x00\xffkey').decode()).rc == 0
    listed = json.loads(corral(bin_dir, uri, 'secret-list', '--json').out)
    assert listed == [{'uuid': UUID, 'usage': 'volume', 'usage_id': '/img/a.luks'}]
    got = json.loads(corral(bin_dir, uri, 'secret-get-value', UUID, '--json').out)
    assert base64.b64decode(got['value_base64']) == b'\x00\xffkey'
    text = corral(bin_dir, uri, 'secret-list').out
    assert text == virsh(uri, 'secret-list').out
    assert corral(bin_dir, uri, 'secret-dumpxml', UUID).out == virsh(uri, 'secret-dumpxml', UUID).out
    r = corral(bin_dir, uri, 'secret-undefine', UUID)
    assert r.rc == 0 and f'Secret {UUID} deleted' in r.out
