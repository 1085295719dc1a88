/* cases.md C12: a clone3 child and a CLONE_UNTRACED child each try one
 * outside write.  Usage: spawn_escape BASE  (writes BASE.clone3 and
 * BASE.untraced).  If clone3 is refused with ENOSYS (a sandbox may do that so
 * that callers fall back, as glibc does), fall back to a plain fork-like clone
 * exactly as glibc would; the child's write must be caught either way. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch(const char *base, const char *tag) {
    char p[4096];
    snprintf(p, sizeof p, "%s.%s", base, tag);
    int fd = syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT, 0644);
    dprintf(2, "child %d: open(%s) -> %d\n", getpid(), p, fd);
    _exit(fd < 0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s BASE\n", argv[0]);
        return 2;
    }
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        touch(argv[1], "clone3");
    if (pid < 0 && errno == ENOSYS) {
        printf("clone3: ENOSYS, falling back to clone\n");
        pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid == 0)
            touch(argv[1], "clone3");
    }
    printf("clone3 -> %ld\n", pid);
    long pid2 = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0); /* fork-like */
    if (pid2 == 0)
        touch(argv[1], "untraced");
    printf("clone(CLONE_UNTRACED) -> %ld\n", pid2);
    fflush(stdout);
    int st, rc = 0;
    while (wait(&st) > 0)
        rc |= !WIFEXITED(st) || WEXITSTATUS(st);
    if (pid < 0 || pid2 < 0)
        rc = 1;
    return rc;
}
