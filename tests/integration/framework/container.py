# SPDX-License-Identifier: LGPL-2.1-or-later
# The test container: a busybox root file system built by the tests. Its init prints what the
# container sees (hostname, its pid, the processes it can see, whether mknod, /proc/sys and a
# bound host device work) on its console, then waits; SIGTERM makes it exit (a shutdown).
# With the init argument "hog" it fills its own memory until the cgroup's limit stops it.
import os
import shutil

INIT = r'''#!/bin/sh
echo CORRAL-CT-READY
echo "hostname=$(hostname)"
echo "pid=$$"
echo "procs=$(ls -d /proc/[0-9]* | wc -l)"
if mknod /tmp/sda b 8 0 2>/dev/null; then echo MKNOD-ALLOWED; else echo MKNOD-DENIED; fi
if echo intruder > /proc/sys/kernel/hostname 2>/dev/null; then echo PROCSYS-WRITABLE; else echo PROCSYS-READONLY; fi
if [ -e /dev/hostdisk ]; then
    if dd if=/dev/hostdisk of=/dev/null bs=512 count=1 2>/dev/null; then echo DEVICE-OPENED; else echo DEVICE-DENIED; fi
fi
echo "env=$LIBVIRT_LXC_NAME/$CORRAL_LXC_UUID/$container/$PATH/$TERM/$CORRAL_LXC_CMDLINE"
echo "cgroup=$(cat /proc/self/cgroup | head -1)"
echo "devices=$(ls /dev | tr '\n' ' ')"
trap 'echo CORRAL-CT-TERM; exit 0' TERM
if [ "$1" = net ]; then
    echo "netdevs=$(ls /sys/class/net | tr '\n' ' ')"
    ip addr add "$2" dev eth0
    if ping -c 1 -W 5 "$3" > /dev/null 2>&1; then echo PING-OK; else echo PING-FAILED; fi
fi
if [ "$1" = dhcp ]; then
    printf '#!/bin/sh\n[ "$1" = bound ] && echo "CORRAL-CT-LEASE $ip"\nexit 0\n' > /tmp/lease
    chmod +x /tmp/lease
    udhcpc -i eth0 -n -q -t 20 -T 1 -s /tmp/lease 2>/dev/null
fi
if [ "$1" = files ]; then
    echo "id=$(id -u):$(id -g)"
    if echo hello > /data/made-inside; then echo FILE-WRITTEN; fi
    echo FILES-DONE
fi
if [ "$1" = reboot ]; then
    if [ -e /data/rebooted ]; then echo CORRAL-CT-AFTER-REBOOT; else touch /data/rebooted; reboot -f; fi
fi
if [ "$1" = shell ]; then
    echo CORRAL-CT-SHELL
    exec sh -i
fi
if [ "$1" = hog ]; then
    echo CORRAL-CT-HOG
    x=$(head -c 400000000 /dev/zero | tr '\0' a)
    echo "CORRAL-CT-SURVIVED ${#x}"
fi
while true; do
    sleep 1 &
    wait $!
done
'''


def build_rootfs(path):
    """A minimal root: busybox and its applets, the init above, empty mount points."""
    if os.path.exists(path):
        shutil.rmtree(path)
    for d in ('bin', 'sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'data'):
        os.makedirs(os.path.join(path, d))
    shutil.copy2('/bin/busybox', os.path.join(path, 'bin', 'busybox'))
    for applet in ('sh', 'echo', 'ls', 'wc', 'cat', 'head', 'tr', 'sleep', 'hostname', 'mknod', 'dd', 'ps',
                   'mount', 'id', 'true', 'ip', 'ping', 'udhcpc', 'chmod', 'printf', 'grep', 'touch', 'reboot'):
        os.symlink('busybox', os.path.join(path, 'bin', applet))
    init = os.path.join(path, 'sbin', 'init')
    with open(init, 'w') as f:
        f.write(INIT)
    os.chmod(init, 0o755)
    return path


def container_xml(name, rootfs, memory_mib=128, initargs=(), extra_devices='', extra=''):
    args = ''.join(f'<initarg>{a}</initarg>' for a in initargs)
    return f"""<domain type='lxc'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <os><type>exe</type><init>/sbin/init</init>{args}</os>
  {extra}
  <devices>
    <filesystem type='mount'><source dir='{rootfs}'/><target dir='/'/></filesystem>
    <console type='pty'/>
    {extra_devices}
  </devices>
</domain>"""
