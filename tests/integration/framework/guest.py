# SPDX-License-Identifier: LGPL-2.1-or-later
# The tiny test guest: Debian's kernel plus a busybox initramfs built here. Its init prints
# "counter N" once a second on the first serial port, changes its RTC and writes its disk on
# request (corral.rtc_shift=1, corral.write_disk=1), powers off on the ACPI power button
# (busybox acpid), fills its memory on request (corral.hog_mib=MIB), panics on request
# (kernel argument corral.panic_after=SECONDS) so the pvpanic device reports it, and starts an
# i6300esb watchdog it never feeds on request (corral.watchdog=1), and reports its disks as
# they come and go (corral.watch_disks=1), its NICs with their MACs as they come and go
# (corral.watch_nics=1: "CORRAL-GUEST-NICS eth0=52:54:00:00:00:01 ..."), writing to each new one (corral.write_new_disks=1),
# reads back and leaves a mark on its first disk (corral.disk_marker=WORD),
# and suspends itself to RAM once (corral.pm_suspend=N, at counter N), lists its PCI devices
# (corral.list_pci=1: "CORRAL-GUEST-PCI 0000:00:03.0=0x1af4:0x1000 ..."), and keeps its vCPU busy
# (corral.busy=1: a shell loop that never sleeps). Each line typed on its serial port comes back
# as "CORRAL-GUEST-ECHO LINE" ("write WORD" also writes /mnt/WORD, "settime EPOCH" sets the
# clock and not the RTC). The image built with
# agent=True also carries Debian's qemu-guest-agent, started by corral.agent=1 (see INIT_SCRIPT);
# guests that do not ask boot as before.
import glob
import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess

INIT_SCRIPT = r'''#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in evdev button pvpanic pvpanic-mmio virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
         virtio_pci virtio_blk failover net_failover virtio_net virtio_balloon; do
    insmod /lib/modules/$m.ko 2>/dev/null
done
# Some I/O for the statistics tests: read the first virtio disk, bring the first NIC up (it
# sends IPv6 neighbour discovery on its own).
if grep -q virtio /proc/modules; then
    for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
fi
if [ -b /dev/vda ]; then
    dd if=/dev/vda of=/dev/null bs=4096 count=64 2>/dev/null && echo CORRAL-GUEST-DISK-READ > /dev/ttyS0
fi
ip link set eth0 up 2>/dev/null
# corral.disk_marker=WORD (encrypted disk tests): report the mark an earlier boot left at the
# start of the first disk ("CORRAL-GUEST-DISK-HAD WORD", empty when none), then fill its first
# MiB with this boot's mark, past the page cache, and report it.
disk_marker=$(sed -n 's/.*corral.disk_marker=\([A-Za-z0-9-]*\).*/\1/p' /proc/cmdline)
if [ -n "$disk_marker" ] && [ -b /dev/vda ]; then
    had=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -cd 'A-Za-z0-9<>-' |
          sed -n 's/^[^<]*MARK<\([A-Za-z0-9-]*\)>.*/\1/p')
    echo "CORRAL-GUEST-DISK-HAD $had" > /dev/ttyS0
    yes "MARK<$disk_marker>" | head -c 1048576 > /tmp/mark
    dd if=/tmp/mark of=/dev/vda bs=65536 oflag=direct conv=fsync 2>/dev/null &&
        echo "CORRAL-GUEST-DISK-MARKED $disk_marker" > /dev/ttyS0
fi
# Events on request: corral.rtc_shift=1 sets the guest's clock exactly 365 days ahead of its
# own (whatever today's date) and writes it to the RTC (QEMU reports RTC_CHANGE);
# corral.write_disk=1 writes 4 MiB to the first disk (on a full host file system QEMU pauses the
# guest with an I/O error).
if grep -q corral.rtc_shift=1 /proc/cmdline; then
    date -s "@$(($(date +%s) + 31536000))" > /dev/null && hwclock -w -u && echo CORRAL-GUEST-RTC > /dev/ttyS0
fi
if grep -q corral.write_disk=1 /proc/cmdline && [ -b /dev/vda ]; then
    dd if=/dev/urandom of=/dev/vda bs=65536 count=64 oflag=direct 2>/dev/null
    echo CORRAL-GUEST-DISK-WRITTEN > /dev/ttyS0
fi
if grep -q corral.dhcp=1 /proc/cmdline; then
    printf '#!/bin/sh\n[ "$1" = bound ] && echo "CORRAL-GUEST-LEASE $ip" > /dev/ttyS0\nexit 0\n' > /bin/lease-report
    chmod +x /bin/lease-report
    udhcpc -i eth0 -n -q -t 20 -T 1 -s /bin/lease-report > /dev/null 2>&1 &
fi
# corral.watchdog=1: open the i6300esb watchdog (1 s per stage), feed it once, never again; the
# descriptor stays open in this shell, so QEMU's watchdog fires about two seconds later.
if grep -q corral.watchdog=1 /proc/cmdline; then
    insmod /lib/modules/watchdog.ko 2>/dev/null
    insmod /lib/modules/i6300esb.ko heartbeat=1 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10; do [ -c /dev/watchdog ] && break; sleep 0.2; done
    [ -c /dev/watchdog ] && exec 3>/dev/watchdog && echo x >&3 && echo CORRAL-GUEST-WATCHDOG > /dev/ttyS0
fi
# corral.watch_disks=1: report the guest's disks whenever the set changes (hotplug tests).
if grep -q corral.watch_disks=1 /proc/cmdline; then
    (last=-; while true; do
        now=$(ls /sys/block | grep '^vd' | tr '\n' ' ')
        if [ "$now" != "$last" ]; then
            echo "CORRAL-GUEST-DISKS $now" > /dev/ttyS0
            # corral.write_new_disks=1: write 4 MiB to each disk that just appeared.
            for d in $now; do
                case " $last " in *" $d "*) ;; *)
                    grep -q corral.write_new_disks=1 /proc/cmdline && [ "$last" != - ] &&
                        dd if=/dev/urandom of=/dev/$d bs=65536 count=64 oflag=direct 2>/dev/null ;;
                esac
            done
            last=$now
        fi
        sleep 0.5
    done) &
fi
# corral.watch_nics=1: report the guest's network interfaces (name=MAC) whenever the set changes.
if grep -q corral.watch_nics=1 /proc/cmdline; then
    (last=-; while true; do
        now=''
        for n in /sys/class/net/*; do
            [ "${n##*/}" = lo ] || now="$now ${n##*/}=$(cat $n/address 2>/dev/null)"
        done
        if [ "$now" != "$last" ]; then echo "CORRAL-GUEST-NICS$now" > /dev/ttyS0; last=$now; fi
        sleep 0.5
    done) &
fi
if grep -q corral.watch_link=1 /proc/cmdline; then
    (last=-; while true; do
        now=$(cat /sys/class/net/eth0/carrier 2>/dev/null)
        if [ "$now" != "$last" ]; then echo "CORRAL-GUEST-LINK $now" > /dev/ttyS0; last=$now; fi
        sleep 0.2
    done) &
fi
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\necho CORRAL-GUEST-POWEROFF > /dev/ttyS0\npoweroff -f\n' > /etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
acpid -l /tmp/acpid.log
panic_after=$(sed -n 's/.*corral.panic_after=\([0-9]*\).*/\1/p' /proc/cmdline)
start=0
if [ -f /counter-start ]; then start=$(cat /counter-start); fi
if grep -q corral.busy=1 /proc/cmdline; then
    (while :; do :; done) &
    echo CORRAL-GUEST-BUSY > /dev/ttyS0
fi
# corral.list_pci=1: the PCI devices the guest found, each as ADDRESS=VENDOR:DEVICE.
if grep -q corral.list_pci=1 /proc/cmdline; then
    pci=''
    for d in /sys/bus/pci/devices/*; do pci="$pci ${d##*/}=$(cat $d/vendor):$(cat $d/device)"; done
    echo "CORRAL-GUEST-PCI$pci" > /dev/ttyS0
fi
# corral.agent=MODE (guests built with the agent): the virtio console driver, the agent's port
# under its usual name, and then MODE: 1 runs Debian's qemu-ga on it (the host name set from
# corral.hostname=NAME first, the clock reported each second as "CORRAL-GUEST-CLOCK EPOCH");
# the hostile modes put something else on the port: silent (opens it, never writes), garbage
# (random bytes without end), flood (a 0xFF, then one line that never ends).
agent=$(sed -n 's/.*corral.agent=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$agent" ]; then
    insmod /lib/modules/virtio_console.ko 2>/dev/null
    host=$(sed -n 's/.*corral.hostname=\([A-Za-z0-9.-]*\).*/\1/p' /proc/cmdline)
    [ -n "$host" ] && hostname "$host"
    port=''
    for i in $(seq 1 100); do
        for p in /sys/class/virtio-ports/*; do
            [ "$(cat $p/name 2>/dev/null)" = org.qemu.guest_agent.0 ] && port=/dev/${p##*/}
        done
        [ -n "$port" ] && [ -c "$port" ] && break
        sleep 0.1
    done
    mkdir -p /dev/virtio-ports /sbin /run /var/run /etc /mnt
    ln -sf "$port" /dev/virtio-ports/org.qemu.guest_agent.0
    ln -sf /bin/busybox /sbin/hwclock
    # qemu-ga sets passwords with chpasswd ("USER:PASSWORD" lines, -e: already hashed); busybox
    # has none, so this one writes /etc/shadow with busybox's mkpasswd.
    echo 'root:x:0:0:root:/:/bin/sh' > /etc/passwd
    echo 'root:*:19000:0:99999:7:::' > /etc/shadow
    printf '%s\n' '#!/bin/sh' 'while IFS=: read -r user pass; do' \
        '  if [ "$1" = -e ]; then hash=$pass; else hash=$(mkpasswd -m sha512 "$pass") || exit 1; fi' \
        '  grep -q "^$user:" /etc/shadow || exit 1' \
        '  sed -i "s|^$user:[^:]*:|$user:$hash:|" /etc/shadow' \
        'done' > /bin/chpasswd
    chmod +x /bin/chpasswd
    # corral.agent_disk=1: an ext2 file system on the first disk, mounted at /mnt (freeze tests);
    # each line "write WORD" typed on the serial port writes /mnt/WORD, reported before and after.
    if grep -q corral.agent_disk=1 /proc/cmdline && [ -b /dev/vda ]; then
        for m in crc16 mbcache jbd2 crc32c_generic ext4; do insmod /lib/modules/$m.ko 2>/dev/null; done
        mke2fs -q /dev/vda && mount -t ext2 /dev/vda /mnt && echo CORRAL-GUEST-MOUNTED > /dev/ttyS0
    fi
    export PATH=/bin:/sbin
    case "$agent" in
        1) qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run 2>/dev/null &
           echo CORRAL-GUEST-AGENT > /dev/ttyS0 ;;
        silent) exec 4<>"$port"; echo CORRAL-GUEST-AGENT-SILENT > /dev/ttyS0 ;;
        garbage) (while :; do head -c 65536 /dev/urandom; done > "$port") &
                 echo CORRAL-GUEST-AGENT-GARBAGE > /dev/ttyS0 ;;
        flood) (printf '\377{"return": '; yes 1234567890 | tr -d '\n') > "$port" &
               echo CORRAL-GUEST-AGENT-FLOOD > /dev/ttyS0 ;;
    esac
fi
# What is typed on the first serial port (virsh console) comes back line by line, prefixed.
(while read -r line; do
    echo "CORRAL-GUEST-ECHO $line"
    case "$line" in
        "write "*) w=${line#write }; echo "CORRAL-GUEST-WRITING $w"
                   echo "$w" > "/mnt/$w" && sync && echo "CORRAL-GUEST-WROTE $w" ;;
        "settime "*) date -s "@${line#settime }" > /dev/null ;;
    esac
done < /dev/ttyS0 > /dev/ttyS0) &
echo CORRAL-GUEST-READY > /dev/ttyS0
hog_mib=$(sed -n 's/.*corral.hog_mib=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$hog_mib" ]; then
    # Touch guest memory until QEMU's process outgrows its cgroup's limit.
    mkdir -p /hog && mount -t tmpfs -o size=${hog_mib}m tmpfs /hog
    echo CORRAL-GUEST-HOG > /dev/ttyS0
    dd if=/dev/zero of=/hog/fill bs=1M count=$hog_mib 2>/dev/null
fi
pm_suspend_at=$(sed -n 's/.*corral.pm_suspend=\([0-9]*\).*/\1/p' /proc/cmdline)
n=$start
while true; do
    echo "counter $n" > /dev/ttyS0
    [ "$agent" = 1 ] && echo "CORRAL-GUEST-CLOCK $(date +%s)" > /dev/ttyS0
    # corral.pm_suspend=N: at counter N, suspend to RAM (ACPI S3) once; the host wakes it up.
    if [ -n "$pm_suspend_at" ] && [ "$n" -eq "$pm_suspend_at" ]; then
        echo CORRAL-GUEST-SUSPENDING > /dev/ttyS0
        echo mem > /sys/power/state
        echo CORRAL-GUEST-WOKE > /dev/ttyS0
    fi
    if [ -n "$panic_after" ] && [ "$n" -ge "$panic_after" ]; then
        echo c > /proc/sysrq-trigger
    fi
    n=$((n+1))
    sleep 1
done
'''

MODULES = {
    'evdev': 'kernel/drivers/input/evdev.ko',
    'button': 'kernel/drivers/acpi/button.ko',
    'pvpanic': 'kernel/drivers/misc/pvpanic/pvpanic.ko',
    'pvpanic-mmio': 'kernel/drivers/misc/pvpanic/pvpanic-mmio.ko',
    'virtio': 'kernel/drivers/virtio/virtio.ko',
    'virtio_ring': 'kernel/drivers/virtio/virtio_ring.ko',
    'virtio_pci_legacy_dev': 'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
    'virtio_pci_modern_dev': 'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
    'virtio_pci': 'kernel/drivers/virtio/virtio_pci.ko',
    'virtio_blk': 'kernel/drivers/block/virtio_blk.ko',
    'failover': 'kernel/net/core/failover.ko',
    'net_failover': 'kernel/drivers/net/net_failover.ko',
    'virtio_net': 'kernel/drivers/net/virtio_net.ko',
    'virtio_balloon': 'kernel/drivers/virtio/virtio_balloon.ko',
    'watchdog': 'kernel/drivers/watchdog/watchdog.ko',
    'i6300esb': 'kernel/drivers/watchdog/i6300esb.ko',
}

# Only in the image with the guest agent (build_guest(agent=True)): the agent's port and the
# file system its freeze tests mount.
AGENT_MODULES = {
    'virtio_console': 'kernel/drivers/char/virtio_console.ko',
    'crc16': 'kernel/lib/crc16.ko',
    'mbcache': 'kernel/fs/mbcache.ko',
    'jbd2': 'kernel/fs/jbd2/jbd2.ko',
    'crc32c_generic': 'kernel/crypto/crc32c_generic.ko',
    'ext4': 'kernel/fs/ext4/ext4.ko',
}
QEMU_GA = '/usr/sbin/qemu-ga'


def _libraries(binary):
    """The shared libraries `binary` loads (ldd), the dynamic loader included."""
    out = subprocess.run(['ldd', binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if '=>' in parts and len(parts) > 2 else parts[0]
        if path.startswith('/'):
            libs.append(path)
    return libs


def find_kernel():
    kernels = sorted(glob.glob('/boot/vmlinuz-*'))
    if not kernels:
        return None
    kernel = kernels[-1]
    release = os.path.basename(kernel)[len('vmlinuz-'):]
    return kernel, release


def _cpio_entry(out, name, mode, data=b'', ino=[1000]):
    ino[0] += 1
    fields = [ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    header = b'070701' + b''.join(b'%08X' % f for f in fields)
    out.write(header + name.encode() + b'\0')
    out.write(b'\0' * ((4 - (110 + len(name) + 1) % 4) % 4))
    out.write(data)
    out.write(b'\0' * ((4 - len(data) % 4) % 4))


def build_guest(cache_dir, agent=False):
    """Returns (kernel, initrd) paths, building the initramfs into cache_dir once. With `agent`
    the image also holds Debian's qemu-ga with its libraries (None when it is not installed)."""
    found = find_kernel()
    busybox = shutil.which('busybox')
    if not found or not busybox or (agent and not os.path.exists(QEMU_GA)):
        return None
    kernel, release = found
    os.makedirs(cache_dir, exist_ok=True)
    modules = dict(MODULES, **AGENT_MODULES) if agent else MODULES
    # The name changes with what goes in, so an older cached image is never reused.
    digest = hashlib.sha256((INIT_SCRIPT + repr(sorted(modules.items())) + release + repr(agent)).encode()).hexdigest()[:12]
    initrd = os.path.join(cache_dir, f'corral-test-guest-{"agent-" if agent else ""}{digest}.cpio.gz')
    if os.path.exists(initrd):
        return kernel, initrd
    buf = io.BytesIO()
    for d in ('bin', 'dev', 'proc', 'sys', 'etc', 'lib', 'lib/modules', 'tmp'):
        _cpio_entry(buf, d, stat.S_IFDIR | 0o755)
    with open(busybox, 'rb') as f:
        _cpio_entry(buf, 'bin/busybox', stat.S_IFREG | 0o755, f.read())
    _cpio_entry(buf, 'init', stat.S_IFREG | 0o755, INIT_SCRIPT.encode())
    if agent:
        files = [QEMU_GA] + _libraries(QEMU_GA)
        made = set()
        for path in files:
            parts = path.strip('/').split('/')
            for i in range(1, len(parts)):
                d = '/'.join(parts[:i])
                if d not in made and d not in ('bin', 'lib', 'etc', 'tmp', 'dev', 'proc', 'sys'):
                    _cpio_entry(buf, d, stat.S_IFDIR | 0o755)
                made.add(d)
            with open(os.path.realpath(path), 'rb') as f:
                name = 'bin/qemu-ga' if path == QEMU_GA else path.strip('/')
                _cpio_entry(buf, name, stat.S_IFREG | 0o755, f.read())
    for name, rel in modules.items():
        path = os.path.join('/lib/modules', release, rel)
        if os.path.exists(path):
            with open(path, 'rb') as f:
                _cpio_entry(buf, f'lib/modules/{name}.ko', stat.S_IFREG | 0o644, f.read())
    write_initrd(buf, initrd)
    return kernel, initrd


def write_initrd(buf, initrd):
    """Ends the cpio archive in `buf` and puts it, compressed, at `initrd` in one rename (a
    test beside this one never reads half an archive)."""
    _cpio_entry(buf, 'TRAILER!!!', 0)
    tmp = initrd + '.tmp'
    with gzip.open(tmp, 'wb', compresslevel=1) as f:
        f.write(buf.getvalue())
    os.rename(tmp, initrd)
