# SPDX-License-Identifier: LGPL-2.1-or-later
# libvirt-dbus (Debian's libvirt-dbus 1.4) on a private bus, driven step by step through GDBus.
# libvirt-dbus has no URI option: with --system it opens qemu:///system, whose socket is
# /run/libvirt/libvirt-sock, so for corrald it runs in a private mount namespace where that path
# is corrald's socket; with --session it opens qemu:///session under $XDG_RUNTIME_DIR, which is
# how Debian's libvirtd (a session daemon here) is reached. Nothing of the host's buses is used.
import os
import subprocess
import tempfile

from gi.repository import Gio, GLib

from framework.clients import Step

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{kind}</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class LibvirtDbus:
    """A private bus and a libvirt-dbus on it; `stop()` ends both."""

    def __init__(self, corrald_socket=None, session_runtime_dir=None):
        self.dir = tempfile.mkdtemp(prefix='corral-dbus-')
        kind = 'system' if corrald_socket else 'session'
        config = os.path.join(self.dir, 'bus.conf')
        with open(config, 'w') as f:
            f.write(BUS_CONFIG.format(kind=kind, path=os.path.join(self.dir, 'bus')))
        self.bus = subprocess.Popen(['dbus-daemon', '--config-file', config, '--nofork', '--print-address'],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.address = self.bus.stdout.readline().strip()
        if not self.address:
            raise RuntimeError('dbus-daemon printed no address')
        self.log = open(os.path.join(self.dir, 'libvirt-dbus.log'), 'w')
        if corrald_socket:
            env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
            script = ('set -e; mount -t tmpfs corral-test /run/libvirt 2>/dev/null || '
                      '{ mkdir -p /run/libvirt && mount -t tmpfs corral-test /run/libvirt; }; '
                      f'touch /run/libvirt/libvirt-sock; mount --bind "{corrald_socket}" /run/libvirt/libvirt-sock; '
                      'exec libvirt-dbus --system')
            argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script]
        else:
            # As the session daemon's own user: libvirt maps root's qemu:///session to the system
            # daemon.
            os.chmod(self.dir, 0o755)
            env = {'DBUS_SESSION_BUS_ADDRESS': self.address, 'XDG_RUNTIME_DIR': session_runtime_dir,
                   'HOME': os.path.dirname(session_runtime_dir), 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}
            argv = ['runuser', '-u', 'nobody', '--', 'env'] + [f'{k}={v}' for k, v in env.items()] + \
                ['libvirt-dbus', '--session']
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=self.log)
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        # Its name on the bus is the readiness signal.
        deadline = GLib.get_monotonic_time() + 30_000_000
        while not self._has_owner('org.libvirt'):
            if self.proc.poll() is not None or GLib.get_monotonic_time() > deadline:
                raise RuntimeError('libvirt-dbus did not start: ' + open(self.log.name).read()[-2000:])
            GLib.usleep(100_000)

    def _has_owner(self, name):
        reply = self.conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                    'NameHasOwner', GLib.Variant('(s)', (name,)), GLib.VariantType('(b)'),
                                    Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0]

    def call(self, path, interface, method, signature='()', args=()):
        v = GLib.Variant(signature, tuple(args)) if signature != '()' else None
        reply = self.conn.call_sync('org.libvirt', path, interface, method, v, None, Gio.DBusCallFlags.NONE,
                                    120_000, None)
        out = reply.unpack()
        return out[0] if len(out) == 1 else (out if out else None)

    def props(self, path, interface):
        return self.call(path, 'org.freedesktop.DBus.Properties', 'GetAll', '(s)', (interface,))

    def stop(self):
        for p in (self.proc, self.bus):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.close()


def run_libvirt_dbus_steps(client, guest_xml, net_xml, pool_xml):
    """The steps of test_libvirt_dbus.py on one libvirt-dbus; each step's value or message."""
    steps = {}
    state = {}
    root = '/org/libvirt/QEMU'
    C = 'org.libvirt.Connect'

    def step(name, fn):
        try:
            value = fn()
            steps[name] = Step(name, True, {'msg': value})
        except GLib.Error as e:
            Gio.DBusError.strip_remote_error(e)
            steps[name] = Step(name, False, {'msg': e.message})
        except KeyError as e:
            steps[name] = Step(name, False, {'msg': f'no {e} from an earlier step'})

    step('Connect properties', lambda: sorted(client.props(root, C)))
    step('Connect.GetCapabilities', lambda: '<host>' in client.call(root, C, 'GetCapabilities'))
    step('Connect.NodeGetFreeMemory', lambda: client.call(root, C, 'NodeGetFreeMemory') > 0)
    step('Connect.ListDomains', lambda: len(client.call(root, C, 'ListDomains', '(u)', (0,))))
    step('Connect.DomainDefineXML', lambda: state.__setitem__('dom', client.call(root, C, 'DomainDefineXML', '(s)',
                                                                                   (guest_xml,))) or 'defined')
    dom = lambda: state['dom']  # noqa: E731
    D = 'org.libvirt.Domain'
    step('Domain properties', lambda: {k: v for k, v in client.props(dom(), D).items()
                                       if k in ('Name', 'Active', 'Persistent', 'Id')})
    step('Domain.Create', lambda: client.call(dom(), D, 'Create', '(u)', (0,)))
    step('Domain.GetState (running)', lambda: list(client.call(dom(), D, 'GetState', '(u)', (0,))))
    step('Domain.Suspend', lambda: client.call(dom(), D, 'Suspend'))
    step('Domain.GetState (paused)', lambda: list(client.call(dom(), D, 'GetState', '(u)', (0,))))
    step('Domain.Resume', lambda: client.call(dom(), D, 'Resume'))
    step('Domain.GetVcpus', lambda: client.call(dom(), D, 'GetVcpus', '(u)', (0,)))
    step('Domain.GetXMLDesc', lambda: '<name>dbusguest</name>' in client.call(dom(), D, 'GetXMLDesc', '(u)', (0,)))
    step('Domain.Destroy', lambda: client.call(dom(), D, 'Destroy', '(u)', (0,)))
    step('Domain.GetState (shut off)', lambda: list(client.call(dom(), D, 'GetState', '(u)', (0,))))
    step('Domain.Undefine', lambda: client.call(dom(), D, 'Undefine', '(u)', (0,)))
    step('Connect.DomainLookupByName (gone)', lambda: client.call(root, C, 'DomainLookupByName', '(s)', ('dbusguest',)))

    N = 'org.libvirt.Network'
    step('Connect.NetworkDefineXML', lambda: state.__setitem__('net', client.call(root, C, 'NetworkDefineXML', '(s)',
                                                                                   (net_xml,))) or 'defined')
    step('Network.Create', lambda: client.call(state['net'], N, 'Create'))
    step('Network properties', lambda: {k: v for k, v in client.props(state['net'], N).items()
                                        if k in ('Name', 'Active', 'Persistent')})
    step('Connect.ListNetworks', lambda: len(client.call(root, C, 'ListNetworks', '(u)', (0,))))
    step('Network.GetDHCPLeases', lambda: len(client.call(state['net'], N, 'GetDHCPLeases', '(su)', ('', 0))))
    step('Network.Destroy', lambda: client.call(state['net'], N, 'Destroy'))
    step('Network.Undefine', lambda: client.call(state['net'], N, 'Undefine'))

    P, V = 'org.libvirt.StoragePool', 'org.libvirt.StorageVol'
    step('Connect.StoragePoolDefineXML', lambda: state.__setitem__(
        'pool', client.call(root, C, 'StoragePoolDefineXML', '(su)', (pool_xml, 0))) or 'defined')
    step('StoragePool.Build', lambda: client.call(state['pool'], P, 'Build', '(u)', (0,)))
    step('StoragePool.Create', lambda: client.call(state['pool'], P, 'Create', '(u)', (0,)))
    step('StoragePool.GetInfo', lambda: client.call(state['pool'], P, 'GetInfo')[0])
    step('StoragePool.StorageVolCreateXML', lambda: state.__setitem__('vol', client.call(
        state['pool'], P, 'StorageVolCreateXML', '(su)',
        ("<volume><name>d1.qcow2</name><capacity unit='M'>8</capacity><target><format type='qcow2'/>"
         "</target></volume>", 0))) or 'created')
    step('StoragePool.ListStorageVolumes', lambda: len(client.call(state['pool'], P, 'ListStorageVolumes', '(u)', (0,))))
    step('StorageVol properties', lambda: client.props(state['vol'], V)['Name'])
    step('StorageVol.GetInfo', lambda: list(client.call(state['vol'], V, 'GetInfo', '(u)', (0,)))[1])
    step('StorageVol.Delete', lambda: client.call(state['vol'], V, 'Delete', '(u)', (0,)))
    step('StoragePool.Destroy', lambda: client.call(state['pool'], P, 'Destroy'))
    step('StoragePool.Delete', lambda: client.call(state['pool'], P, 'Delete', '(u)', (0,)))
    step('StoragePool.Undefine', lambda: client.call(state['pool'], P, 'Undefine'))

    S = 'org.libvirt.Secret'
    step('Connect.SecretDefineXML', lambda: state.__setitem__('sec', client.call(
        root, C, 'SecretDefineXML', '(su)',
        ("<secret ephemeral='no' private='yes'><usage type='volume'><volume>/var/lib/dbus-test.img</volume>"
         "</usage></secret>", 0))) or 'defined')
    step('Secret.SetValue', lambda: client.call(state['sec'], S, 'SetValue', '(ayu)', (b'dbus-s3cret', 0)))
    step('Secret.GetValue (private)', lambda: bytes(client.call(state['sec'], S, 'GetValue', '(u)', (0,))))
    step('Secret properties', lambda: client.props(state['sec'], S)['UsageID'])
    step('Secret.Undefine', lambda: client.call(state['sec'], S, 'Undefine'))
    return steps
