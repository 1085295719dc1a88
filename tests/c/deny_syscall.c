/* Run a command with one system call made to fail with EPERM by a seccomp
 * filter, to show how catbox reports a system where ptrace or seccomp is not
 * permitted, or user namespaces are not (unshare):
 *   deny_syscall ptrace|seccomp|unshare COMMAND [ARG...] */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s ptrace|seccomp|unshare CMD...\n", argv[0]); return 2; }
    unsigned nr = strcmp(argv[1], "ptrace") == 0    ? SYS_ptrace
                  : strcmp(argv[1], "unshare") == 0 ? SYS_unshare
                                                    : SYS_seccomp;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof f / sizeof f[0], f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("seccomp"); return 2;
    }
    execvp(argv[2], argv + 2);
    perror("execvp");
    return 127;
}
