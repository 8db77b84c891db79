/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A compromised container init that spends what it is given instead of escaping: compiled
 * statically by the tests into the container's root, run by its init as `ct-hostile MODE`.
 * Each mode prints "HOSTILE MODE ..." lines on the console when it reaches its steady state,
 * then keeps attacking (or holds what it took) until the container is destroyed:
 *   fork     forks children that wait, until fork fails (the pids limit); keeps retrying
 *   flood    writes to its console as fast as it can, forever; /tmp/hostile-progress says how
 *            many MiB went out so far
 *   deaf     never reads its console (the default init does not either); prints a marker
 *   initctl  makes /run/initctl a FIFO held open and never read, fills it, then writes forever
 *   views    opens /proc/meminfo (a FUSE view the controller serves) as often as it can and
 *            never reads or closes one */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("HOSTILE %s\n", line);
    fflush(stdout);
}

static void hold(void) __attribute__((noreturn));
static void hold(void) {
    for (;;) {
        pause();
    }
}

static int forks(void) __attribute__((noreturn));
static int forks(void) {
    long made = 0;
    int reported = 0;
    signal(SIGCHLD, SIG_IGN); /* children that die are reaped by the kernel: no zombies */
    for (;;) {
        pid_t p = fork();
        if (p == 0) {
            hold();
        }
        if (p > 0) {
            made++;
            continue;
        }
        if (!reported) {
            say("fork limit after %ld children: %s", made, strerror(errno));
            reported = 1;
        }
        /* Keep knocking, as a fork bomb does: the limit must hold however often it is asked. */
        usleep(1000);
    }
}

static int flood(void) __attribute__((noreturn));
static int flood(void) {
    static char block[4096];
    memset(block, 'x', sizeof block);
    block[sizeof block - 1] = '\n';
    /* How far it got, for the test (the console log is bounded, so it cannot tell). */
    int progress = open("/tmp/hostile-progress", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long long written = 0;
    say("flood starting");
    for (;;) {
        ssize_t n = write(1, block, sizeof block);
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            say("flood stopped: %s", strerror(errno));
            hold();
        }
        if (n > 0 && (written + n) / (1 << 20) != written / (1 << 20) && progress >= 0) {
            char text[32];
            int len = snprintf(text, sizeof text, "%lld\n", (written + n) / (1 << 20));
            (void)!pwrite(progress, text, (size_t)len, 0);
        }
        written += n > 0 ? n : 0;
    }
}

static int initctl(void) __attribute__((noreturn));
static int initctl(void) {
    mkdir("/run", 0755);
    unlink("/run/initctl");
    if (mkfifo("/run/initctl", 0600) != 0) {
        say("initctl cannot mkfifo: %s", strerror(errno));
        hold();
    }
    /* Read-write: the FIFO has a reader (this process), so writers are not refused (ENXIO),
     * but nothing is ever read from it. */
    int fd = open("/run/initctl", O_RDWR | O_NONBLOCK);
    if (fd < 0) {
        say("initctl cannot open: %s", strerror(errno));
        hold();
    }
    char junk[384];
    memset(junk, 0xa5, sizeof junk);
    long bytes = 0;
    ssize_t n;
    while ((n = write(fd, junk, sizeof junk)) > 0) {
        bytes += n;
    }
    say("initctl full after %ld bytes", bytes);
    /* And then a blocking writer, forever. */
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    for (;;) {
        (void)!write(fd, junk, sizeof junk);
    }
}

static int views(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    long opened = 0;
    int err = 0;
    for (;;) {
        int fd = open("/proc/meminfo", O_RDONLY);
        if (fd < 0) {
            err = errno;
            break;
        }
        opened++;
    }
    say("views opened %ld then %s", opened, strerror(err));
    hold();
    return 0;
}

static int deaf(void) {
    say("deaf and holding its console");
    hold();
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "fork") == 0) {
        return forks();
    }
    if (strcmp(mode, "flood") == 0) {
        return flood();
    }
    if (strcmp(mode, "initctl") == 0) {
        return initctl();
    }
    if (strcmp(mode, "views") == 0) {
        return views();
    }
    if (strcmp(mode, "deaf") == 0) {
        return deaf();
    }
    say("unknown mode '%s'", mode);
    return 2;
}
