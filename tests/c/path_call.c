/* path_call OP ARGS...: one raw system call, for the path/flag tests.
 *
 *   open PATH FLAGS                 FLAGS: '|'-separated rdonly wronly rdwr creat
 *                                   excl trunc nofollow directory tmpfile append
 *   openat2 DIR PATH FLAGS RESOLVE [SIZE [TAIL]]
 *                                   DIR "-" = AT_FDCWD; RESOLVE: '|'-separated
 *                                   in_root beneath no_symlinks no_magiclinks, or 0;
 *                                   SIZE: the size argument (default sizeof
 *                                   struct open_how); TAIL: a byte value put
 *                                   after the struct (default 0)
 *   mkdir PATH
 *   symlink TARGET PATH
 *   linkat SRC DST follow|0
 *   fchownat PATH nofollow|0        (to the caller's own uid/gid)
 *   chown PATH / lchown PATH
 *   utimensat PATH nofollow|0       (times = 1000000000)
 *   fchmodat PATH                   (0600)
 *   fchmodat2 PATH nofollow|0       (0600)
 *   unlinkat PATH removedir|0
 *   renameat2 SRC DST noreplace|exchange|0
 *   fchownat_empty PATH / fchmodat2_empty PATH / utimensat_empty PATH
 *                                   open PATH read-only, then the call on
 *                                   (fd, "", ..., AT_EMPTY_PATH)
 *
 * Prints "OP -> RET errno=NAME"; exit 0 success, 1 EACCES, 2 other error,
 * 3 usage error.  A successful open with write access writes "X".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2
#endif

static int has(const char *list, const char *word) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *s = strtok(buf, "|"); s; s = strtok(0, "|"))
        if (!strcmp(s, word)) return 1;
    return 0;
}

static long oflags(const char *s) {
    long f = 0;
    if (has(s, "wronly")) f |= O_WRONLY;
    if (has(s, "rdwr")) f |= O_RDWR;
    if (has(s, "creat")) f |= O_CREAT;
    if (has(s, "excl")) f |= O_EXCL;
    if (has(s, "trunc")) f |= O_TRUNC;
    if (has(s, "nofollow")) f |= O_NOFOLLOW;
    if (has(s, "directory")) f |= O_DIRECTORY;
    if (has(s, "tmpfile")) f |= O_TMPFILE;
    if (has(s, "append")) f |= O_APPEND;
    return f;
}

static void need(int argc, int n) {
    if (argc < n) { fprintf(stderr, "path_call: missing arguments\n"); exit(3); }
}

int main(int argc, char **argv) {
    need(argc, 3);
    const char *op = argv[1];
    long r;
    int wfd = 0;
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    if (!strcmp(op, "open")) {
        need(argc, 4);
        long f = oflags(argv[3]);
        r = syscall(SYS_open, argv[2], f, 0644);
        wfd = (f & (O_WRONLY | O_RDWR)) != 0;
    } else if (!strcmp(op, "openat2")) {
        need(argc, 6);
        int dfd = AT_FDCWD;
        if (strcmp(argv[2], "-")) {
            dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
            if (dfd < 0) { perror("open dir"); return 3; }
        }
        struct { struct open_how how; unsigned char tail[64]; } h;
        memset(&h, 0, sizeof h);
        h.how.flags = oflags(argv[4]);
        h.how.mode = (h.how.flags & (O_CREAT | O_TMPFILE)) ? 0644 : 0;
        if (has(argv[5], "in_root")) h.how.resolve |= RESOLVE_IN_ROOT;
        if (has(argv[5], "beneath")) h.how.resolve |= RESOLVE_BENEATH;
        if (has(argv[5], "no_symlinks")) h.how.resolve |= RESOLVE_NO_SYMLINKS;
        if (has(argv[5], "no_magiclinks")) h.how.resolve |= RESOLVE_NO_MAGICLINKS;
        size_t size = argc > 6 ? strtoul(argv[6], 0, 0) : sizeof h.how;
        if (argc > 7) memset(h.tail, (int)strtol(argv[7], 0, 0), sizeof h.tail);
        if (size > sizeof h) return 3;
        r = syscall(SYS_openat2, dfd, argv[3], &h, size);
        wfd = (h.how.flags & (O_WRONLY | O_RDWR)) != 0;
    } else if (!strcmp(op, "mkdir")) {
        r = syscall(SYS_mkdir, argv[2], 0755);
    } else if (!strcmp(op, "symlink")) {
        need(argc, 4);
        r = syscall(SYS_symlink, argv[2], argv[3]);
    } else if (!strcmp(op, "linkat")) {
        need(argc, 5);
        r = syscall(SYS_linkat, AT_FDCWD, argv[2], AT_FDCWD, argv[3],
                    has(argv[4], "follow") ? AT_SYMLINK_FOLLOW : 0);
    } else if (!strcmp(op, "fchownat")) {
        need(argc, 4);
        r = syscall(SYS_fchownat, AT_FDCWD, argv[2], getuid(), getgid(),
                    has(argv[3], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0);
    } else if (!strcmp(op, "chown")) {
        r = syscall(SYS_chown, argv[2], getuid(), getgid());
    } else if (!strcmp(op, "lchown")) {
        r = syscall(SYS_lchown, argv[2], getuid(), getgid());
    } else if (!strcmp(op, "utimensat")) {
        need(argc, 4);
        r = syscall(SYS_utimensat, AT_FDCWD, argv[2], ts,
                    has(argv[3], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0);
    } else if (!strcmp(op, "fchmodat")) {
        r = syscall(SYS_fchmodat, AT_FDCWD, argv[2], 0600);
    } else if (!strcmp(op, "fchmodat2")) {
        need(argc, 4);
        r = syscall(SYS_fchmodat2, AT_FDCWD, argv[2], 0600,
                    has(argv[3], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0);
    } else if (!strcmp(op, "unlinkat")) {
        need(argc, 4);
        r = syscall(SYS_unlinkat, AT_FDCWD, argv[2],
                    has(argv[3], "removedir") ? AT_REMOVEDIR : 0);
    } else if (!strcmp(op, "renameat2")) {
        need(argc, 5);
        long fl = 0;
        if (has(argv[4], "noreplace")) fl |= RENAME_NOREPLACE;
        if (has(argv[4], "exchange")) fl |= RENAME_EXCHANGE;
        r = syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], fl);
    } else if (!strcmp(op, "fchownat_empty") || !strcmp(op, "fchmodat2_empty") ||
               !strcmp(op, "utimensat_empty")) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0) { perror("open"); return 3; }
        if (!strcmp(op, "fchownat_empty"))
            r = syscall(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH);
        else if (!strcmp(op, "utimensat_empty"))
            r = syscall(SYS_utimensat, fd, "", ts, AT_EMPTY_PATH);
        else
            r = syscall(SYS_fchmodat2, fd, "", 0600, AT_EMPTY_PATH);
    } else {
        fprintf(stderr, "path_call: unknown op %s\n", op);
        return 3;
    }
    int e = errno;
    printf("%s -> %ld errno=%s\n", op, r, r < 0 ? strerrorname_np(e) : "0");
    fflush(stdout);
    if (r >= 0 && wfd && write((int)r, "X", 1) != 1) {
        printf("write failed: %s\n", strerror(errno));
        return 3;
    }
    if (r >= 0) return 0;
    return e == EACCES ? 1 : 2;
}
