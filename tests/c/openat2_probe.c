/* cases.md C6: openat2 with write intent, then with RESOLVE_IN_ROOT. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s FILE DIR\n", argv[0]); return 2; }
    struct open_how how = { .flags = O_WRONLY | O_CREAT, .mode = 0644 };
    long fd = syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof how);
    printf("openat2(%s) -> %ld\n", argv[1], fd);
    int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
    how.resolve = RESOLVE_IN_ROOT;          /* "/in-root" means "<dfd>/in-root" */
    long fd2 = syscall(SYS_openat2, dfd, "/in-root", &how, sizeof how);
    printf("openat2(dfd, \"/in-root\", RESOLVE_IN_ROOT) -> %ld\n", fd2);
    return (fd < 0 || fd2 < 0);
}
