/* write_calls OP DIR [DIR2]
 *
 * Performs exactly one write call of SPEC 3.2 (with raw syscall() where it
 * matters) on a fixed name under DIR (two-path calls: source under DIR,
 * destination under DIR2, which defaults to DIR).  The test sets up the
 * fixture natively before running this under catbox:
 *   DIR/f       regular file "data\n", mode 0644, mtime 2001-01-01,
 *               xattr user.test=v (if the file system supports it)
 *   DIR/victim  regular file
 *   DIR/d       empty directory
 * Names created: DIR/new (or DIR2/new), DIR/sock.
 *
 * Prints "OP -> RET errno=NAME" and exits 0 if the call succeeded, 1 if it
 * failed with EACCES, 2 for any other error (3 for a usage/setup error).
 * After a successful open with write access it writes "X" to the file so that
 * the effect is visible.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static char buf1[8192];

static const char *P(const char *dir, const char *name, char *buf) {
    snprintf(buf, 8192, "%s/%s", dir, name);
    return buf;
}

static int ro_fd(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("setup open(%s) failed: %s\n", path, strerror(errno));
        exit(3);
    }
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s OP DIR [DIR2]\n", argv[0]);
        return 3;
    }
    const char *op = argv[1], *dir = argv[2];
    const char *dir2 = argc > 3 ? argv[3] : dir;
    const char *f = P(dir, "f", buf1);
    char nb[8192];
    const char *newp = P(dir2, "new", nb);
    char vb[8192], db[8192];
    const char *victim = P(dir, "victim", vb);
    const char *d = P(dir, "d", db);
    uid_t uid = getuid();
    gid_t gid = getgid();
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    struct utimbuf ub = {1000000000, 1000000000};
    long r;
    int wfd = -1; /* fd to write "X" to after a successful open */

    if (!strcmp(op, "open_creat")) {
        r = syscall(SYS_open, newp, O_WRONLY | O_CREAT, 0644);
        wfd = r;
    } else if (!strcmp(op, "open_rdwr")) {
        r = syscall(SYS_open, f, O_RDWR);
        wfd = r;
    } else if (!strcmp(op, "open_trunc")) {
        r = syscall(SYS_open, f, O_RDONLY | O_TRUNC);
    } else if (!strcmp(op, "open_rdonly")) {
        r = syscall(SYS_open, f, O_RDONLY);
    } else if (!strcmp(op, "creat")) {
        r = syscall(SYS_creat, newp, 0644);
        wfd = r;
    } else if (!strcmp(op, "openat")) {
        r = syscall(SYS_openat, AT_FDCWD, newp, O_WRONLY | O_CREAT, 0644);
        wfd = r;
    } else if (!strcmp(op, "openat2")) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = O_WRONLY | O_CREAT;
        how.mode = 0644;
        r = syscall(SYS_openat2, AT_FDCWD, newp, &how, sizeof how);
        wfd = r;
    } else if (!strcmp(op, "o_tmpfile")) {
        r = syscall(SYS_open, dir, O_TMPFILE | O_WRONLY, 0600);
    } else if (!strcmp(op, "truncate")) {
        r = syscall(SYS_truncate, f, 0L);
    } else if (!strcmp(op, "mkdir")) {
        r = syscall(SYS_mkdir, newp, 0755);
    } else if (!strcmp(op, "mkdirat")) {
        r = syscall(SYS_mkdirat, AT_FDCWD, newp, 0755);
    } else if (!strcmp(op, "rmdir")) {
        r = syscall(SYS_rmdir, d);
    } else if (!strcmp(op, "unlink")) {
        r = syscall(SYS_unlink, victim);
    } else if (!strcmp(op, "unlinkat")) {
        r = syscall(SYS_unlinkat, AT_FDCWD, victim, 0);
    } else if (!strcmp(op, "unlinkat_removedir")) {
        r = syscall(SYS_unlinkat, AT_FDCWD, d, AT_REMOVEDIR);
    } else if (!strcmp(op, "rename")) {
        r = syscall(SYS_rename, f, newp);
    } else if (!strcmp(op, "renameat")) {
        r = syscall(SYS_renameat, AT_FDCWD, f, AT_FDCWD, newp);
    } else if (!strcmp(op, "renameat2")) {
        r = syscall(SYS_renameat2, AT_FDCWD, f, AT_FDCWD, newp, 0);
    } else if (!strcmp(op, "link")) {
        r = syscall(SYS_link, f, newp);
    } else if (!strcmp(op, "linkat")) {
        r = syscall(SYS_linkat, AT_FDCWD, f, AT_FDCWD, newp, 0);
    } else if (!strcmp(op, "symlink")) {
        r = syscall(SYS_symlink, "target", newp);
    } else if (!strcmp(op, "symlinkat")) {
        r = syscall(SYS_symlinkat, "target", AT_FDCWD, newp);
    } else if (!strcmp(op, "mknod")) {
        r = syscall(SYS_mknod, newp, S_IFIFO | 0644, 0);
    } else if (!strcmp(op, "mknodat")) {
        r = syscall(SYS_mknodat, AT_FDCWD, newp, S_IFIFO | 0644, 0);
    } else if (!strcmp(op, "chmod")) {
        r = syscall(SYS_chmod, f, 0600);
    } else if (!strcmp(op, "fchmodat")) {
        r = syscall(SYS_fchmodat, AT_FDCWD, f, 0600);
    } else if (!strcmp(op, "fchmodat2")) {
        r = syscall(SYS_fchmodat2, AT_FDCWD, f, 0600, 0);
    } else if (!strcmp(op, "chown")) {
        r = syscall(SYS_chown, f, uid, gid);
    } else if (!strcmp(op, "lchown")) {
        r = syscall(SYS_lchown, f, uid, gid);
    } else if (!strcmp(op, "fchownat")) {
        r = syscall(SYS_fchownat, AT_FDCWD, f, uid, gid, 0);
    } else if (!strcmp(op, "fchown")) {
        int fd = ro_fd(f);
        r = syscall(SYS_fchown, fd, uid, gid);
    } else if (!strcmp(op, "fchmod")) {
        int fd = ro_fd(f);
        r = syscall(SYS_fchmod, fd, 0600);
    } else if (!strcmp(op, "utime")) {
        r = syscall(SYS_utime, f, &ub);
    } else if (!strcmp(op, "utimes")) {
        r = syscall(SYS_utimes, f, tv);
    } else if (!strcmp(op, "futimesat")) {
        r = syscall(SYS_futimesat, AT_FDCWD, f, tv);
    } else if (!strcmp(op, "utimensat")) {
        r = syscall(SYS_utimensat, AT_FDCWD, f, ts, 0);
    } else if (!strcmp(op, "utimensat_fd")) {
        int fd = ro_fd(f);
        r = syscall(SYS_utimensat, fd, (char *)0, (void *)0, 0);
    } else if (!strcmp(op, "setxattr")) {
        r = syscall(SYS_setxattr, f, "user.test", "w", 1, 0);
    } else if (!strcmp(op, "lsetxattr")) {
        r = syscall(SYS_lsetxattr, f, "user.test", "w", 1, 0);
    } else if (!strcmp(op, "fsetxattr")) {
        int fd = ro_fd(f);
        r = syscall(SYS_fsetxattr, fd, "user.test", "w", 1, 0);
    } else if (!strcmp(op, "removexattr")) {
        r = syscall(SYS_removexattr, f, "user.test");
    } else if (!strcmp(op, "lremovexattr")) {
        r = syscall(SYS_lremovexattr, f, "user.test");
    } else if (!strcmp(op, "fremovexattr")) {
        int fd = ro_fd(f);
        r = syscall(SYS_fremovexattr, fd, "user.test");
    } else if (!strcmp(op, "bind")) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) {
            printf("setup socket failed: %s\n", strerror(errno));
            return 3;
        }
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(dir) + 6 >= sizeof sa.sun_path) {
            printf("socket path too long\n");
            return 3;
        }
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", dir);
        r = syscall(SYS_bind, s, (struct sockaddr *)&sa, sizeof sa);
    } else if (!strcmp(op, "name_to_handle_at")) {
        struct {
            struct file_handle fh;
            unsigned char space[MAX_HANDLE_SZ];
        } h;
        int mount_id;
        h.fh.handle_bytes = MAX_HANDLE_SZ;
        r = syscall(SYS_name_to_handle_at, AT_FDCWD, f, &h.fh, &mount_id, 0);
    } else {
        fprintf(stderr, "unknown op %s\n", op);
        return 3;
    }
    int e = errno;
    printf("%s -> %ld errno=%s\n", op, r, r < 0 ? strerrorname_np(e) : "0");
    fflush(stdout);
    if (r >= 0 && wfd >= 0) {
        if (write(wfd, "X", 1) != 1) {
            printf("write after open failed: %s\n", strerror(errno));
            return 3;
        }
    }
    if (r >= 0)
        return 0;
    return e == EACCES ? 1 : 2;
}
