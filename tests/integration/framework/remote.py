# SPDX-License-Identifier: LGPL-2.1-or-later
# Remote-access fixtures: certificates made with tools/corral-pki in the daemon's libvirt-style
# layout, SASL's configuration and password database, and URIs for virsh over tls:// and tcp://.
import os
import shutil
import subprocess

from framework.sshd import free_port

PKI = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'corral-pki', 'corral-pki')


def pki(*args):
    # RSA: virsh's sanity check wants keyEncipherment, which certtool leaves out for EC keys.
    subprocess.run([PKI, *args], check=True, capture_output=True)


class RemotePki:
    """A CA and a server certificate for 127.0.0.1 under the daemon's ROOT/etc/pki, and client
    certificate directories (pkipath=) made on request."""

    def __init__(self, root, workdir):
        self.ca_dir = os.path.join(root, 'etc', 'pki', 'CA')
        self.server_dir = os.path.join(root, 'etc', 'pki', 'libvirt')
        self.workdir = workdir
        pki('ca', self.ca_dir)
        pki('--ca', self.ca_dir, 'server', self.server_dir, '127.0.0.1', 'localhost')
        # The CA's copy the server step made beside its certificate is not where corrald looks.
        self.other_ca = os.path.join(workdir, 'other-ca')

    def client(self, name, dn, *options, ca_dir=None):
        """A pkipath directory: cacert.pem (the daemon's CA), clientcert.pem, clientkey.pem."""
        made = os.path.join(self.workdir, 'made-' + name)
        pki('--ca', ca_dir or self.ca_dir, *options, 'client', made, dn)
        path = os.path.join(self.workdir, name)
        os.makedirs(path, exist_ok=True)
        shutil.copy(os.path.join(self.ca_dir, 'cacert.pem'), os.path.join(path, 'cacert.pem'))
        shutil.copy(os.path.join(made, 'clientcert.pem'), os.path.join(path, 'clientcert.pem'))
        shutil.copy(os.path.join(made, 'private', 'clientkey.pem'), os.path.join(path, 'clientkey.pem'))
        os.chmod(os.path.join(path, 'clientkey.pem'), 0o600)
        return path

    def revoke(self, pkipath):
        """Revokes the client certificate of `pkipath` in a CRL where corrald looks for one
        (ROOT/etc/pki/CA/cacrl.pem, read at start)."""
        info = os.path.join(self.workdir, 'crl.info')
        with open(info, 'w') as f:
            f.write('crl_next_update = 30\ncrl_number = 1\n')
        subprocess.run(['certtool', '--generate-crl', '--load-ca-privkey', os.path.join(self.ca_dir, 'cakey.pem'),
                        '--load-ca-certificate', os.path.join(self.ca_dir, 'cacert.pem'),
                        '--load-certificate', os.path.join(pkipath, 'clientcert.pem'), '--template', info,
                        '--outfile', os.path.join(self.ca_dir, 'cacrl.pem')], check=True, capture_output=True)

    def foreign_client(self, name, dn):
        """A client certificate from a CA the daemon does not trust."""
        if not os.path.exists(os.path.join(self.other_ca, 'cacert.pem')):
            pki('--cn', 'Someone Else', 'ca', self.other_ca)
        return self.client(name, dn, ca_dir=self.other_ca)


def sasl_setup(root, users, mechs='scram-sha-256 digest-md5'):
    """ROOT/etc/sasl2/corral.conf and a sasldb with `users` {name: password}."""
    conf_dir = os.path.join(root, 'etc', 'sasl2')
    os.makedirs(conf_dir, exist_ok=True)
    db = os.path.join(conf_dir, 'corral.sasldb')
    with open(os.path.join(conf_dir, 'corral.conf'), 'w') as f:
        f.write(f'mech_list: {mechs}\nsasldb_path: {db}\n')
    for user, password in users.items():
        subprocess.run(['saslpasswd2', '-f', db, '-a', 'corral', '-p', '-c', user], input=password.encode(),
                       check=True)
    return db


def auth_file(workdir, user, password, host='127.0.0.1'):
    """libvirt's client credentials file (LIBVIRT_AUTH_FILE / ?authfile=)."""
    path = os.path.join(workdir, f'auth-{user}.conf')
    with open(path, 'w') as f:
        f.write(f'[credentials-c]\nauthname={user}\npassword={password}\n\n[auth-libvirt-{host}]\ncredentials=c\n')
    return path


def remote_config(daemon, extra='', tls=True, tcp=False):
    """Writes corrald.conf with loopback TLS and/or TCP listeners on free ports; restarts."""
    ports = {'tls': free_port(), 'tcp': free_port()}
    text = f'listen_addr = "127.0.0.1"\ntls_port = "{ports["tls"]}"\ntcp_port = "{ports["tcp"]}"\n'
    text += f'listen_tls = {1 if tls else 0}\nlisten_tcp = {1 if tcp else 0}\n' + extra
    if daemon.alive():
        daemon.stop()
    daemon.write_config(text)
    daemon.start()
    return ports
