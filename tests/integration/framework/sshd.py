# SPDX-License-Identifier: LGPL-2.1-or-later
# A real OpenSSH server on a loopback port for the ssh transport's tests: its own host key, key
# authentication only (a key made for the test), and PATH set so that corral-ssh-helper from
# the build is found on the "far" side, as it would be on an installed Corral host.
import os
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Sshd:
    def __init__(self, directory, helper_dir):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = free_port()
        self.host_key = os.path.join(directory, 'host_key')
        self.client_key = os.path.join(directory, 'client_key')
        self.known_hosts = os.path.join(directory, 'known_hosts')
        for key in (self.host_key, self.client_key):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], check=True)
        with open(self.client_key + '.pub') as f, open(os.path.join(directory, 'authorized_keys'), 'w') as out:
            out.write(f.read())
        with open(self.host_key + '.pub') as f:
            self.host_public = f.read().split()[:2]
        self.trust_host_key()
        config = os.path.join(directory, 'sshd_config')
        with open(config, 'w') as f:
            f.write(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
AuthorizedKeysFile {directory}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
PidFile {directory}/sshd.pid
SetEnv PATH={helper_dir}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
""")
        os.makedirs('/run/sshd', exist_ok=True)
        self.proc = subprocess.Popen(['/usr/sbin/sshd', '-D', '-e', '-f', config],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(directory, 'sshd.log'), 'w'))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError('sshd did not start: ' + self.log())

    def trust_host_key(self, public=None):
        with open(self.known_hosts, 'w') as f:
            f.write(f'[127.0.0.1]:{self.port} {" ".join(public or self.host_public)}\n')

    def log(self):
        with open(os.path.join(self.dir, 'sshd.log')) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
