/* cases.md C20: try to PTRACE_ATTACH (or PTRACE_SEIZE) another process.
 * Usage: ptrace_other PID [attach|seize]
 * Prints "RET ERRNO", e.g. "-1 1" for EPERM; detaches again on success. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PID [attach|seize]\n", argv[0]);
        return 2;
    }
    pid_t pid = (pid_t)atoi(argv[1]);
    int seize = argc > 2 && !strcmp(argv[2], "seize");
    errno = 0;
    long r = ptrace(seize ? PTRACE_SEIZE : PTRACE_ATTACH, pid, 0, 0);
    int e = r < 0 ? errno : 0;
    printf("%ld %d\n", r, e);
    fflush(stdout);
    if (r == 0) {
        if (!seize)
            waitpid(pid, 0, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
    }
    return r == 0 ? 0 : 1;
}
