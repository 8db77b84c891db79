# SPDX-License-Identifier: LGPL-2.1-or-later
# The test container: a busybox root file system built by the tests. Its init prints what the
# container sees (hostname, its pid, the processes it can see, whether mknod, /proc/sys and a
# bound host device work) on its console, then waits; SIGTERM makes it exit (a shutdown).
# With the init argument "hog" it fills its own memory until the cgroup's limit stops it; with
# "attack" it runs ct_attack.c, which tries each escape of issue 16 and prints the outcome; with
# "hostile MODE" it runs ct_hostile.c beside it, which spends what the container is given.
import os
import shutil
import subprocess

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
if [ "$1" = natdns ]; then
    # A guest on a NAT network: takes its DHCP lease (address, default route, DNS server), asks
    # that DNS server for the name $2, and sends a line to $3 port $4 beyond the host.
    printf '#!/bin/sh\n[ "$1" = bound ] || exit 0\nip addr add $ip/24 dev eth0\nip route add default via $router\necho "CORRAL-CT-LEASE $ip router=$router dns=$dns"\necho $dns > /tmp/dns\n' > /tmp/lease
    chmod +x /tmp/lease
    udhcpc -i eth0 -n -q -t 20 -T 1 -s /tmp/lease 2>/dev/null
    echo "CORRAL-CT-DNS $(nslookup "$2" "$(cat /tmp/dns)" 2>&1 | tr '\n' ' ')"
    if echo "hello from $(hostname)" | nc -w 10 "$3" "$4"; then echo CORRAL-CT-SENT; else echo CORRAL-CT-NOT-SENT; fi
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
if [ "$1" = passfd ]; then
    echo "CORRAL-CT-LISTEN-FDS $LISTEN_FDS $LISTEN_PID"
    exec /bin/fd3-accept
fi
if [ "$1" = initctl ]; then
    # A SysV init's control FIFO: one request is read, reported and obeyed by exiting.
    mkdir -p /run && mkfifo /run/initctl
    echo CORRAL-CT-INITCTL-READY
    head -c 384 /run/initctl > /tmp/request
    echo "CORRAL-CT-INITCTL size=$(wc -c < /tmp/request) magic=$(od -An -tx1 -N4 /tmp/request | tr -d ' ') runlevel=$(dd if=/tmp/request bs=1 skip=8 count=1 2>/dev/null)"
    exit 0
fi
if [ "$1" = meminfo ]; then
    echo "CORRAL-CT-MEMINFO $(grep MemTotal /proc/meminfo | tr -s ' ') uptime=$(cut -d. -f1 /proc/uptime)"
fi
if [ "$1" = privnet ]; then
    echo "CORRAL-CT-NETDEVS $(ls /sys/class/net | tr '\n' ' ')"
fi
if [ "$1" = attack ]; then
    /bin/ct-attack
fi
if [ "$1" = hostile ]; then
    /bin/ct-hostile "$2" &
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


# Socket activation's other half: accepts connections on descriptor 3, which the container's
# init was handed (virsh start --pass-fds), and greets each one.
FD3_ACCEPT = r'''
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    for (;;) {
        int c = accept(3, NULL, NULL);
        if (c < 0) { perror("accept on fd 3"); return 1; }
        char msg[128];
        int n = snprintf(msg, sizeof msg, "CORRAL-FD3 hello from pid %d\n", (int)getpid());
        (void)!write(c, msg, (size_t)n);
        close(c);
    }
}
'''


def build_fd3_accept(rootfs):
    """Compiles the fd-3 server statically into the root (the root has no C library)."""
    src = os.path.join(rootfs, 'tmp', 'fd3-accept.c')
    with open(src, 'w') as f:
        f.write(FD3_ACCEPT)
    subprocess.run(['gcc', '-static', '-O1', '-o', os.path.join(rootfs, 'bin', 'fd3-accept'), src], check=True)
    os.unlink(src)


def build_attack(rootfs):
    """Compiles the escape attempts (framework/ct_attack.c) statically into the root."""
    src = os.path.join(os.path.dirname(__file__), 'ct_attack.c')
    subprocess.run(['gcc', '-static', '-O1', '-o', os.path.join(rootfs, 'bin', 'ct-attack'), src], check=True)


def build_hostile(rootfs):
    """Compiles the resource attacks (framework/ct_hostile.c) statically into the root."""
    src = os.path.join(os.path.dirname(__file__), 'ct_hostile.c')
    subprocess.run(['gcc', '-static', '-O1', '-Wall', '-Werror', '-o', os.path.join(rootfs, 'bin', 'ct-hostile'), src],
                   check=True)


def build_rootfs(path):
    """A minimal root: busybox and its applets, the init above, empty mount points."""
    if os.path.exists(path):
        shutil.rmtree(path)
    for d in ('bin', 'sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'data', 'mnt/proc', 'mnt/sys',
              'mnt/cgroup'):
        os.makedirs(os.path.join(path, d))
    shutil.copy2('/bin/busybox', os.path.join(path, 'bin', 'busybox'))
    for applet in ('sh', 'echo', 'ls', 'wc', 'cat', 'head', 'tr', 'sleep', 'hostname', 'mknod', 'dd', 'ps',
                   'mount', 'id', 'true', 'ip', 'ping', 'udhcpc', 'chmod', 'printf', 'grep', 'touch', 'reboot',
                   'mkdir', 'mkfifo', 'od', 'cut', 'nc', 'nslookup'):
        os.symlink('busybox', os.path.join(path, 'bin', applet))
    build_fd3_accept(path)
    build_attack(path)
    build_hostile(path)
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
