/* Fakeroot mode (issue 4): each call done with a raw syscall(), so that the
 * test knows exactly which system call ran (glibc maps stat() and fstat() to
 * newfstatat, chown() to fchownat, ...).
 *
 * Usage: fakeroot_calls OP ARGS... [; OP ARGS...]...
 * Ops (one output line each; "OP rc=0" or "OP rc=-1 errno=NAME"):
 *   ids                         getuid geteuid getgid getegid getresuid getresgid
 *   setids                      setuid(0) setgid(0) setresuid(0,0,0) setresgid(0,0,0)
 *                               setreuid(0,0) setregid(0,0) setgroups(0)
 *   stat PATH                   every stat call on PATH, one line each:
 *                               "VIA uid=U gid=G mode=OCTAL rdev=MAJ,MIN ino=I"
 *   chown|lchown PATH UID GID   (UID/GID -1 = unchanged)
 *   fchown PATH UID GID         through an O_RDONLY fd
 *   fchownat PATH UID GID FL    FL: 0, nofollow, or empty (fd + "" + AT_EMPTY_PATH)
 *   chmod|fchmod PATH MODE      MODE octal
 *   fchmodat PATH MODE
 *   mknod PATH c|b|p MAJ MIN    mode 0666 | type
 *   mknodat PATH c|b|p MAJ MIN  relative to an O_PATH fd of the parent dir
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    default: return strerror(e);
    }
}

static int report(const char *op, long rc) {
    if (rc < 0) {
        printf("%s rc=-1 errno=%s\n", op, ename(errno));
        return 1;
    }
    printf("%s rc=%ld\n", op, rc);
    return 0;
}

static void show_stat(const char *via, long rc, const struct stat *st) {
    if (rc < 0) {
        printf("%s rc=-1 errno=%s\n", via, ename(errno));
        return;
    }
    printf("%s uid=%u gid=%u mode=%o rdev=%u,%u ino=%llu\n", via, st->st_uid, st->st_gid,
           st->st_mode, major(st->st_rdev), minor(st->st_rdev),
           (unsigned long long)st->st_ino);
}

static void show_statx(const char *via, long rc, const struct statx *sx) {
    if (rc < 0) {
        printf("%s rc=-1 errno=%s\n", via, ename(errno));
        return;
    }
    printf("%s uid=%u gid=%u mode=%o rdev=%u,%u ino=%llu\n", via, sx->stx_uid, sx->stx_gid,
           sx->stx_mode, sx->stx_rdev_major, sx->stx_rdev_minor,
           (unsigned long long)sx->stx_ino);
}

static int do_stat(const char *path) {
    struct stat st;
    struct statx sx;
    long rc;
    memset(&st, 0, sizeof st);
    rc = syscall(SYS_stat, path, &st);
    show_stat("stat", rc, &st);
    memset(&st, 0, sizeof st);
    rc = syscall(SYS_lstat, path, &st);
    show_stat("lstat", rc, &st);
    memset(&st, 0, sizeof st);
    rc = syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0);
    show_stat("newfstatat", rc, &st);
    memset(&sx, 0, sizeof sx);
    rc = syscall(SYS_statx, AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx);
    show_statx("statx", rc, &sx);
    /* O_PATH works on anything (devices faked as files, FIFOs without a
     * writer, symlinks' targets) without opening it for I/O. */
    int fd = open(path, O_PATH);
    if (fd < 0) {
        printf("open rc=-1 errno=%s\n", ename(errno));
        return 1;
    }
    memset(&st, 0, sizeof st);
    rc = syscall(SYS_fstat, fd, &st);
    show_stat("fstat", rc, &st);
    memset(&st, 0, sizeof st);
    rc = syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH);
    show_stat("newfstatat_empty", rc, &st);
    memset(&sx, 0, sizeof sx);
    rc = syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx);
    show_statx("statx_empty", rc, &sx);
    close(fd);
    return 0;
}

static int do_ids(void) {
    unsigned r = 1, e = 1, s = 1;
    printf("getuid=%ld\n", syscall(SYS_getuid));
    printf("geteuid=%ld\n", syscall(SYS_geteuid));
    printf("getgid=%ld\n", syscall(SYS_getgid));
    printf("getegid=%ld\n", syscall(SYS_getegid));
    long rc = syscall(SYS_getresuid, &r, &e, &s);
    printf("getresuid rc=%ld %u %u %u\n", rc, r, e, s);
    r = e = s = 1;
    rc = syscall(SYS_getresgid, &r, &e, &s);
    printf("getresgid rc=%ld %u %u %u\n", rc, r, e, s);
    return 0;
}

static int do_setids(void) {
    int bad = 0;
    bad |= report("setuid", syscall(SYS_setuid, 0));
    bad |= report("setgid", syscall(SYS_setgid, 0));
    bad |= report("setresuid", syscall(SYS_setresuid, 0, 0, 0));
    bad |= report("setresgid", syscall(SYS_setresgid, 0, 0, 0));
    bad |= report("setreuid", syscall(SYS_setreuid, 0, 0));
    bad |= report("setregid", syscall(SYS_setregid, 0, 0));
    bad |= report("setgroups", syscall(SYS_setgroups, 0, NULL));
    return bad;
}

static unsigned type_of(const char *t) {
    switch (t[0]) {
    case 'c': return S_IFCHR;
    case 'b': return S_IFBLK;
    case 'p': return S_IFIFO;
    default: fprintf(stderr, "bad type %s\n", t); exit(2);
    }
}

/* One op at argv[0]; returns how many arguments it used, sets *bad. */
static int one(char **argv, int argc, int *bad) {
    const char *op = argv[0];
#define NEED(n)                                                                    \
    do {                                                                           \
        if (argc < (n) + 1) {                                                      \
            fprintf(stderr, "%s needs %d arguments\n", op, n);                     \
            exit(2);                                                               \
        }                                                                          \
    } while (0)
    if (!strcmp(op, "ids")) {
        do_ids();
        return 1;
    }
    if (!strcmp(op, "setids")) {
        *bad |= do_setids();
        return 1;
    }
    if (!strcmp(op, "stat")) {
        NEED(1);
        *bad |= do_stat(argv[1]);
        return 2;
    }
    if (!strcmp(op, "chown") || !strcmp(op, "lchown") || !strcmp(op, "fchown")) {
        NEED(3);
        long u = atol(argv[2]), g = atol(argv[3]);
        long rc;
        if (!strcmp(op, "chown")) {
            rc = syscall(SYS_chown, argv[1], u, g);
        } else if (!strcmp(op, "lchown")) {
            rc = syscall(SYS_lchown, argv[1], u, g);
        } else {
            int fd = open(argv[1], O_RDONLY);
            if (fd < 0) {
                *bad |= report("open", -1);
                return 4;
            }
            rc = syscall(SYS_fchown, fd, u, g);
            close(fd);
        }
        *bad |= report(op, rc);
        return 4;
    }
    if (!strcmp(op, "fchownat")) {
        NEED(4);
        long u = atol(argv[2]), g = atol(argv[3]);
        long rc;
        if (!strcmp(argv[4], "empty")) {
            int fd = open(argv[1], O_RDONLY);
            if (fd < 0) {
                *bad |= report("open", -1);
                return 5;
            }
            rc = syscall(SYS_fchownat, fd, "", u, g, AT_EMPTY_PATH);
            close(fd);
        } else {
            /* relative to an fd of the parent directory */
            char *a = strdup(argv[1]), *b = strdup(argv[1]);
            int dfd = open(dirname(a), O_PATH | O_DIRECTORY);
            int fl = !strcmp(argv[4], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0;
            rc = syscall(SYS_fchownat, dfd, basename(b), u, g, fl);
            close(dfd);
        }
        *bad |= report(op, rc);
        return 5;
    }
    if (!strcmp(op, "chmod") || !strcmp(op, "fchmod") || !strcmp(op, "fchmodat")) {
        NEED(2);
        long m = strtol(argv[2], NULL, 8);
        long rc;
        if (!strcmp(op, "chmod")) {
            rc = syscall(SYS_chmod, argv[1], m);
        } else if (!strcmp(op, "fchmodat")) {
            rc = syscall(SYS_fchmodat, AT_FDCWD, argv[1], m);
        } else {
            int fd = open(argv[1], O_RDONLY);
            if (fd < 0) {
                *bad |= report("open", -1);
                return 3;
            }
            rc = syscall(SYS_fchmod, fd, m);
            close(fd);
        }
        *bad |= report(op, rc);
        return 3;
    }
    if (!strcmp(op, "mknod") || !strcmp(op, "mknodat")) {
        NEED(4);
        unsigned mode = type_of(argv[2]) | 0666;
        unsigned dev = (unsigned)makedev(atoi(argv[3]), atoi(argv[4]));
        long rc;
        if (!strcmp(op, "mknod")) {
            rc = syscall(SYS_mknod, argv[1], mode, dev);
        } else {
            char *a = strdup(argv[1]), *b = strdup(argv[1]);
            int dfd = open(dirname(a), O_PATH | O_DIRECTORY);
            rc = syscall(SYS_mknodat, dfd, basename(b), mode, dev);
            close(dfd);
        }
        *bad |= report(op, rc);
        return 5;
    }
    fprintf(stderr, "unknown op %s\n", op);
    exit(2);
}

int main(int argc, char **argv) {
    int bad = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int i = 1;
    while (i < argc) {
        if (!strcmp(argv[i], ";")) {
            i++;
            continue;
        }
        i += one(argv + i, argc - i, &bad);
    }
    return bad;
}
