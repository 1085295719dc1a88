/* cases.md C7: renameat2 and fchmodat2 with raw syscalls. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452                   /* same number on every architecture */
#endif
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s SRC DST CHMOD_TARGET\n", argv[0]); return 2; }
    long r1 = syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 0);
    long r2 = syscall(SYS_fchmodat2, AT_FDCWD, argv[3], 0755, AT_SYMLINK_NOFOLLOW);
    printf("renameat2=%ld fchmodat2=%ld\n", r1, r2);
    return (r1 || r2);
}
