/*
 * Every stat-family call on a set of paths and fds, each result printed as
 * one line: the return value, errno, uid, gid and the raw bytes of the
 * buffer (pre-filled with 0xAA; uid/gid bytes zeroed, printed apart).
 * tests/fakeroot_stat.rs compares a native run with a run under
 * `catbox --fakeroot`, which answers most of these calls itself.
 *
 * Usage: stat_compare DIR   (DIR holds f, d/, d/g, l -> f, dl -> d,
 *                           x -> missing, n/ (mode 000), and is made the cwd)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned char buf[512];

static void dump(const char *what, const char *arg, long rc, int err, size_t size,
                 size_t uid_off, size_t gid_off) {
    unsigned uid, gid;
    memcpy(&uid, buf + uid_off, 4);
    memcpy(&gid, buf + gid_off, 4);
    if (rc != 0) uid = gid = 0xAAAAAAAAu;
    memset(buf + uid_off, 0, 4);
    memset(buf + gid_off, 0, 4);
    printf("%s %s rc=%ld errno=%d uid=%u gid=%u ", what, arg, rc, rc ? err : 0, uid, gid);
    for (size_t i = 0; i < size; i++) printf("%02x", buf[i]);
    printf("\n");
}

static void st(const char *what, const char *arg, long rc) {
    dump(what, arg, rc, errno, sizeof(struct stat), offsetof(struct stat, st_uid),
         offsetof(struct stat, st_gid));
}

static void sx(const char *what, const char *arg, long rc) {
    dump(what, arg, rc, errno, sizeof(struct statx), offsetof(struct statx, stx_uid),
         offsetof(struct statx, stx_gid));
}

#define FILL() (memset(buf, 0xAA, sizeof buf), errno = 0)

static const unsigned masks[] = {0, STATX_BASIC_STATS, STATX_ALL | STATX_MNT_ID | 0x2000,
                                 STATX_TYPE | STATX_SIZE, 0xffffu};

static void by_path(int dfd, const char *tag, const char *p) {
    char what[64];
    FILL(); st("stat", p, dfd == AT_FDCWD ? syscall(SYS_stat, p, buf) : -2);
    FILL(); st("lstat", p, dfd == AT_FDCWD ? syscall(SYS_lstat, p, buf) : -2);
    snprintf(what, sizeof what, "newfstatat-%s-0", tag);
    FILL(); st(what, p, syscall(SYS_newfstatat, dfd, p, buf, 0));
    snprintf(what, sizeof what, "newfstatat-%s-nofollow", tag);
    FILL(); st(what, p, syscall(SYS_newfstatat, dfd, p, buf, AT_SYMLINK_NOFOLLOW));
    snprintf(what, sizeof what, "newfstatat-%s-noauto", tag);
    FILL(); st(what, p, syscall(SYS_newfstatat, dfd, p, buf, AT_NO_AUTOMOUNT));
    for (unsigned i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        static const int fl[] = {0, AT_SYMLINK_NOFOLLOW, AT_STATX_DONT_SYNC,
                                 AT_STATX_FORCE_SYNC | AT_SYMLINK_NOFOLLOW};
        for (unsigned j = 0; j < 4; j++) {
            snprintf(what, sizeof what, "statx-%s-%x-%x", tag, fl[j], masks[i]);
            FILL(); sx(what, p, syscall(SYS_statx, dfd, p, fl[j], masks[i], buf));
        }
    }
}

static void by_fd(const char *tag, int fd) {
    char what[64];
    snprintf(what, sizeof what, "fstat-%s", tag);
    FILL(); st(what, "-", syscall(SYS_fstat, fd, buf));
    snprintf(what, sizeof what, "newfstatat-empty-%s", tag);
    FILL(); st(what, "-", syscall(SYS_newfstatat, fd, "", buf, AT_EMPTY_PATH));
    snprintf(what, sizeof what, "newfstatat-empty-nofollow-%s", tag);
    FILL(); st(what, "-", syscall(SYS_newfstatat, fd, "", buf, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
    for (unsigned i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        snprintf(what, sizeof what, "statx-empty-%s-%x", tag, masks[i]);
        FILL(); sx(what, "-", syscall(SYS_statx, fd, "", AT_EMPTY_PATH, masks[i], buf));
    }
}

int main(int argc, char **argv) {
    if (argc != 2 || chdir(argv[1]) != 0) {
        perror("chdir");
        return 2;
    }
    char abs[4096];
    if (!getcwd(abs, sizeof abs - 64)) return 2;
    static const char *rel[] = {"f", "d", "l", "dl", "x", "missing", "f/", "l/", "dl/",
                                "d/g", "d/../f", "./f", "d//g", "missing/f", "",
                                ".", "..", "/", "/dev/null", "/proc/self/exe", "/dev/stdin",
                                "/proc/self/cwd/f", "/dev/fd/0", "n", "n/f", "n/"};
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    int dpath = open("d", O_PATH | O_DIRECTORY);
    int ffd = open("f", O_RDONLY);
    for (unsigned i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        by_path(AT_FDCWD, "cwd", rel[i]);
        if (rel[i][0] && rel[i][0] != '/') {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", abs, rel[i]);
            by_path(AT_FDCWD, "abs", p);
        }
    }
    static const char *in_d[] = {"g", "../f", "missing", ".", ""};
    for (unsigned i = 0; i < sizeof in_d / sizeof in_d[0]; i++) {
        by_path(dfd, "dirfd", in_d[i]);
        by_path(dpath, "dirpath", in_d[i]);
    }
    /* a dirfd that is a file, or not open */
    by_path(ffd, "filefd", "g");
    by_path(999, "badfd", "g");
    by_fd("file", ffd);
    by_fd("dir", dfd);
    by_fd("opath-dir", dpath);
    by_fd("opath-link", open("l", O_PATH | O_NOFOLLOW));
    by_fd("opath-dangling", open("x", O_PATH | O_NOFOLLOW));
    by_fd("cwd", AT_FDCWD);
    by_fd("bad", 999);
    by_fd("neg", -5);
    int pfd[2];
    if (pipe(pfd) == 0) by_fd("pipe", pfd[0]);
    /* invalid flags, masks and buffers: the kernel's errors */
    FILL(); st("newfstatat-badflags", "f", syscall(SYS_newfstatat, AT_FDCWD, "f", buf, 0x1));
    FILL(); sx("statx-badflags", "f", syscall(SYS_statx, AT_FDCWD, "f", 0x1, 0, buf));
    FILL(); sx("statx-bothsync", "f",
               syscall(SYS_statx, AT_FDCWD, "f", AT_STATX_SYNC_TYPE, 0, buf));
    FILL(); sx("statx-reserved", "f", syscall(SYS_statx, AT_FDCWD, "f", 0, 0x80000000u, buf));
    errno = 0;
    printf("stat-badbuf rc=%ld errno=%d\n", syscall(SYS_stat, "f", (void *)8), errno);
    errno = 0;
    printf("statx-badbuf rc=%ld errno=%d\n",
           syscall(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, (void *)8), errno);
    errno = 0;
    printf("fstat-badbuf rc=%ld errno=%d\n", syscall(SYS_fstat, ffd, (void *)8), errno);
    /* procfs through self: the tracee's own entries, not the supervisor's */
    struct stat a, b;
    int sfd = open("/proc/self/status", O_RDONLY);
    int same = sfd >= 0 && syscall(SYS_stat, "/proc/self/status", &a) == 0 &&
               syscall(SYS_fstat, sfd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
    printf("proc-self-status-same=%d\n", same);
    int fdd = open("/dev/fd", O_PATH);
    same = fdd >= 0 && syscall(SYS_stat, "/dev/fd", &a) == 0 && syscall(SYS_fstat, fdd, &b) == 0 &&
           a.st_ino == b.st_ino && a.st_dev == b.st_dev;
    printf("dev-fd-same=%d\n", same);
    return 0;
}
