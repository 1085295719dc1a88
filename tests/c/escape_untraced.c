/* issue 8 case 4: children made with CLONE_UNTRACED, which the kernel does
 * not auto-attach to the tracer.  Each child tries open(BASE.KIND,
 * O_WRONLY|O_CREAT) and exits 0 if that succeeded.
 *
 *   escape_untraced BASE
 *
 * KIND: "fork"   clone(CLONE_UNTRACED|SIGCHLD)                (fork-like)
 *       "vfork"  clone(CLONE_UNTRACED|CLONE_VM|CLONE_VFORK|SIGCHLD)
 *       "thread" glibc clone() with CLONE_UNTRACED|CLONE_THREAD|CLONE_VM|...
 *       "clone3" clone3 with CLONE_UNTRACED in clone_args.flags
 * Prints one line per child: "KIND: open -> FD errno=E", or for clone3 that
 * failed "clone3: -> -1 errno=E".  Exit 0 if no child could write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *base;
static volatile int thread_done, thread_fd = -2, thread_errno;

static int try_open(const char *kind, int *err) {
    char p[4096];
    snprintf(p, sizeof p, "%s.%s", base, kind);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT, 0644);
    *err = fd < 0 ? errno : 0;
    return fd;
}

static void child(const char *kind) {
    int e, fd = try_open(kind, &e);
    dprintf(1, "%s: open -> %d errno=%d\n", kind, fd, e);
    syscall(SYS_exit_group, fd < 0 ? 1 : 0);
}

static int thread_fn(void *arg) {
    (void)arg;
    int e, fd = try_open("thread", &e);
    thread_fd = fd;
    thread_errno = e;
    __atomic_store_n(&thread_done, 1, __ATOMIC_RELEASE);
    syscall(SYS_exit, 0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s BASE\n", argv[0]); return 2; }
    base = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    int escaped = 0, st;

    long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) child("fork");
    if (pid < 0) printf("fork: clone -> -1 errno=%d\n", errno);
    else if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) escaped++;

    pid = syscall(SYS_clone, CLONE_UNTRACED | CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) child("vfork");
    if (pid < 0) printf("vfork: clone -> -1 errno=%d\n", errno);
    else if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) escaped++;

    static char stack[256 * 1024] __attribute__((aligned(16)));
    int tflags = CLONE_UNTRACED | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                 CLONE_THREAD | CLONE_SYSVSEM;
    int tid = clone(thread_fn, stack + sizeof stack, tflags, NULL);
    if (tid < 0) {
        printf("thread: clone -> -1 errno=%d\n", errno);
    } else {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (!__atomic_load_n(&thread_done, __ATOMIC_ACQUIRE)) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if (t.tv_sec - t0.tv_sec > 10) { printf("thread: no answer\n"); break; }
            sched_yield();
        }
        if (thread_done) {
            printf("thread: open -> %d errno=%d\n", thread_fd, thread_errno);
            if (thread_fd >= 0) escaped++;
        }
    }

    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_UNTRACED;
    ca.exit_signal = SIGCHLD;
    errno = 0;
    pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) child("clone3");
    if (pid < 0) printf("clone3: -> -1 errno=%d\n", errno);
    else if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) escaped++;

    printf("escaped=%d\n", escaped);
    return escaped ? 1 : 0;
}
