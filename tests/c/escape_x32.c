/* issue 8 case 2: x32-ABI system call numbers (nr | 0x40000000) from an
 * x86_64 process: open(PATH, O_WRONLY|O_CREAT) and openat(AT_FDCWD, ...).
 *
 *   escape_x32 PATH
 *
 * Prints "x32 open -> RET" for each call that returns (natively: an fd, or
 * -1 ENOSYS on kernels without CONFIG_X86_X32_ABI) and exits 0; under catbox
 * the seccomp filter kills the process with SIGSYS at the first call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define X32 0x40000000L

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PATH\n", argv[0]); return 2; }
    char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (buf == MAP_FAILED || strlen(argv[1]) + 2 >= 4096) { perror("mmap"); return 2; }
    strcpy(buf, argv[1]);
    fprintf(stderr, "x32: open(%s) with nr %#lx\n", buf, X32 | SYS_open);
    errno = 0;
    long r = syscall(X32 | SYS_open, buf, O_WRONLY | O_CREAT, 0644);
    printf("x32 open -> %ld errno=%d\n", r, r < 0 ? errno : 0);
    strcat(buf, "2");
    errno = 0;
    r = syscall(X32 | SYS_openat, AT_FDCWD, buf, O_WRONLY | O_CREAT, 0644);
    printf("x32 openat -> %ld errno=%d\n", r, r < 0 ? errno : 0);
    return 0;
}
