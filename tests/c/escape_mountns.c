/* issue 8 case 7: a new user and mount namespace, then a bind mount that
 * makes an outside directory appear inside the build dir, then writes there.
 *
 *   escape_mountns OUT ALLOWED
 *
 * unshare(CLONE_NEWUSER|CLONE_NEWNS); tries to write /proc/self/setgroups
 * and /proc/self/uid_map (as `unshare -r` does); then
 *   (a) mount(OUT, ALLOWED/mnt, MS_BIND|MS_REC), and writes ALLOWED/mnt/new
 *       (create) and ALLOWED/mnt/existing (append);
 *   (b) open_tree(OUT, OPEN_TREE_CLONE) + move_mount(..., ALLOWED/mnt2), and
 *       writes ALLOWED/mnt2/new2 and ALLOWED/mnt2/existing.
 * One line per call: "WHAT -> RET errno=E".  Exit 4 if unshare is refused
 * (the kernel does not allow user namespaces here), else 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif

static void note(const char *what, long r) {
    printf("%s -> %ld errno=%s\n", what, r, r < 0 ? strerrorname_np(errno) : "0");
}

static void write_file(const char *what, const char *path, int flags, const char *data) {
    errno = 0;
    int fd = open(path, flags, 0666);
    long r = fd;
    if (fd >= 0) {
        r = write(fd, data, strlen(data));
        close(fd);
    }
    note(what, r);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s OUT ALLOWED\n", argv[0]); return 2; }
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *out = argv[1], *allowed = argv[2];
    char p[4096];
    int uid = (int)getuid(), gid = (int)getgid();
    errno = 0;
    long r = unshare(CLONE_NEWUSER | CLONE_NEWNS);
    note("unshare(CLONE_NEWUSER|CLONE_NEWNS)", r);
    if (r < 0) return 4;
    write_file("write /proc/self/setgroups", "/proc/self/setgroups", O_WRONLY, "deny");
    snprintf(p, sizeof p, "0 %d 1", uid);
    write_file("write /proc/self/uid_map", "/proc/self/uid_map", O_WRONLY, p);
    snprintf(p, sizeof p, "0 %d 1", gid);
    write_file("write /proc/self/gid_map", "/proc/self/gid_map", O_WRONLY, p);

    char mnt[2048], mnt2[2048];
    if (strlen(allowed) > 2000) return 2;
    snprintf(mnt, sizeof mnt, "%s/mnt", allowed);
    snprintf(mnt2, sizeof mnt2, "%s/mnt2", allowed);
    mkdir(mnt, 0755);
    mkdir(mnt2, 0755);
    errno = 0;
    note("mount(OUT, ALLOWED/mnt, MS_BIND|MS_REC)", mount(out, mnt, NULL, MS_BIND | MS_REC, NULL));
    snprintf(p, sizeof p, "%s/new", mnt);
    write_file("create ALLOWED/mnt/new", p, O_WRONLY | O_CREAT, "pwned\n");
    snprintf(p, sizeof p, "%s/existing", mnt);
    write_file("append ALLOWED/mnt/existing", p, O_WRONLY | O_APPEND, "pwned\n");

    errno = 0;
    long t = syscall(SYS_open_tree, AT_FDCWD, out, 1 /* OPEN_TREE_CLONE */ | 0x8000 /* AT_RECURSIVE */);
    note("open_tree(OUT, OPEN_TREE_CLONE)", t);
    if (t >= 0) {
        errno = 0;
        note("move_mount(tree, ALLOWED/mnt2)",
             syscall(SYS_move_mount, (int)t, "", AT_FDCWD, mnt2, 4 /* MOVE_MOUNT_F_EMPTY_PATH */));
    }
    snprintf(p, sizeof p, "%s/new2", mnt2);
    write_file("create ALLOWED/mnt2/new2", p, O_WRONLY | O_CREAT, "pwned\n");
    snprintf(p, sizeof p, "%s/existing", mnt2);
    write_file("append ALLOWED/mnt2/existing", p, O_WRONLY | O_APPEND, "pwned\n");
    return 0;
}
