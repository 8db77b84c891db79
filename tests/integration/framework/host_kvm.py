# SPDX-License-Identifier: LGPL-2.1-or-later
# Whether this host can really run KVM guests, decided independently of corrald: /dev/kvm opens,
# KVM_GET_API_VERSION answers 12 and KVM_CREATE_VM succeeds, in a child process that is given
# 10 s (a nested KVM whose KVM_CREATE_VM hangs counts as no KVM).
import os
import subprocess
import sys

_PROBE = r'''
import fcntl, os, sys
fd = os.open('/dev/kvm', os.O_RDWR)
if fcntl.ioctl(fd, 0xAE00) != 12:      # KVM_GET_API_VERSION
    sys.exit(2)
vm = fcntl.ioctl(fd, 0xAE01, 0)        # KVM_CREATE_VM
os.close(vm)
print('ok')
'''


def kvm_usable():
    if not os.path.exists('/dev/kvm'):
        return False
    try:
        p = subprocess.run([sys.executable, '-c', _PROBE], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode == 0 and p.stdout.strip() == 'ok'
