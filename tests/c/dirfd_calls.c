/* cases.md C5: *at() calls relative to a dirfd.
 *
 *   dirfd_calls calls DIR    openat(dfd,"x",O_WRONLY|O_CREAT), mkdirat(dfd,"d"),
 *                            unlinkat(dfd,"victim",0), renameat(dfd,"a",dfd,"b"),
 *                            symlinkat("t",dfd,"s"); DIR/victim and DIR/a must exist.
 *   dirfd_calls escape DIR   openat(dfd,"../escape",O_WRONLY|O_CREAT)
 *
 * Prints one line per call.  Exit 0 if every call succeeded, 1 if every call
 * failed with EACCES, 2 otherwise (3: usage/setup error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int ok, eacces, other;

static void note(const char *what, long r) {
    int e = errno;
    printf("%s -> %ld errno=%s\n", what, r, r < 0 ? strerrorname_np(e) : "0");
    if (r >= 0) ok++;
    else if (e == EACCES) eacces++;
    else other++;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s calls|escape DIR\n", argv[0]); return 3; }
    int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (dfd < 0) { perror("open dir"); return 3; }
    if (!strcmp(argv[1], "calls")) {
        note("openat", syscall(SYS_openat, dfd, "x", O_WRONLY | O_CREAT, 0644));
        note("mkdirat", syscall(SYS_mkdirat, dfd, "d", 0755));
        note("unlinkat", syscall(SYS_unlinkat, dfd, "victim", 0));
        note("renameat", syscall(SYS_renameat, dfd, "a", dfd, "b"));
        note("symlinkat", syscall(SYS_symlinkat, "t", dfd, "s"));
    } else if (!strcmp(argv[1], "escape")) {
        note("openat", syscall(SYS_openat, dfd, "../escape", O_WRONLY | O_CREAT, 0644));
    } else {
        return 3;
    }
    fflush(stdout);
    if (other || (ok && eacces)) return 2;
    return eacces ? 1 : 0;
}
