/* cases.md C11: metadata changes through a read-only fd and a NULL path. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 2; }
    long a = syscall(SYS_utimensat, fd, (char *)0, (void *)0, 0);  /* NULL path: acts on fd */
    int b = fchmod(fd, 0600);
    int c = fchown(fd, getuid(), getgid());
    printf("utimensat(fd,NULL)=%ld fchmod=%d fchown=%d\n", a, b, c);
    return (a || b || c);
}
