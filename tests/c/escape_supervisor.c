/* issue 8 case 8: a tracee against its supervisor (its parent when it is
 * catbox's first child).
 *
 *   escape_supervisor [fds]
 *
 * One line per attempt, "WHAT -> RET errno=E":
 *   open /proc/PPID/mem O_RDWR and O_WRONLY; ptrace ATTACH and SEIZE of
 *   PPID; process_vm_writev into PPID; open /proc/PPID/mem O_RDONLY (as is,
 *   then with CAP_SYS_PTRACE dropped from the effective set) and a read of
 *   the supervisor's first readable mapping through it.
 * Then "fds: N N N" (this process's open fds, /proc/self/fd), and
 * "supervisor fd N -> TARGET" for each fd of the supervisor it can see.
 * With "fds", only the "fds:" line (for a native run to compare with).
 * Exit 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void note(const char *what, long r, int e) {
    printf("%s -> %ld errno=%s\n", what, r, r < 0 ? strerrorname_np(e) : "0");
}

static unsigned long first_readable(pid_t pid) {
    char p[64], line[512];
    snprintf(p, sizeof p, "/proc/%d/maps", pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    unsigned long lo = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && perms[0] == 'r') { lo = a; break; }
    }
    fclose(f);
    return lo;
}

static void read_mem(const char *what, pid_t pid) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/mem", pid);
    errno = 0;
    int fd = open(p, O_RDONLY);
    note(what, fd, errno);
    if (fd < 0) return;
    unsigned long addr = first_readable(pid);
    char buf[64];
    errno = 0;
    long n = addr ? pread(fd, buf, sizeof buf, (off_t)addr) : -1;
    char w[160];
    snprintf(w, sizeof w, "%s: pread at %#lx", what, addr);
    note(w, n, errno);
    errno = 0;
    long wr = pwrite(fd, buf, 1, (off_t)addr);
    snprintf(w, sizeof w, "%s: pwrite", what);
    note(w, wr, errno);
    close(fd);
}

static void list_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    printf("fds:");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
            printf(" %s", e->d_name);
        }
        closedir(d);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "fds")) {
        list_fds();
        return 0;
    }
    pid_t pp = getppid();
    printf("ppid=%d\n", pp);
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/mem", pp);
    errno = 0;
    long r = open(p, O_RDWR);
    note("open mem O_RDWR", r, errno);
    errno = 0;
    r = open(p, O_WRONLY);
    note("open mem O_WRONLY", r, errno);
    if (r >= 0) close((int)r);
    errno = 0;
    r = ptrace(PTRACE_ATTACH, pp, 0, 0);
    note("ptrace ATTACH", r, errno);
    if (r == 0) { waitpid(pp, 0, __WALL); ptrace(PTRACE_DETACH, pp, 0, 0); }
    errno = 0;
    r = ptrace(PTRACE_SEIZE, pp, 0, 0);
    note("ptrace SEIZE", r, errno);
    if (r == 0) ptrace(PTRACE_DETACH, pp, 0, 0);
    char byte = 0;
    struct iovec local = {&byte, 1}, remote = {(void *)first_readable(pp), 1};
    errno = 0;
    r = syscall(SYS_process_vm_writev, pp, &local, 1, &remote, 1, 0);
    note("process_vm_writev", r, errno);

    read_mem("open mem O_RDONLY", pp);
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) == 0) {
        data[CAP_SYS_PTRACE / 32].effective &= ~(1u << (CAP_SYS_PTRACE % 32));
        if (syscall(SYS_capset, &hdr, data) != 0) perror("capset");
    }
    read_mem("open mem O_RDONLY without CAP_SYS_PTRACE", pp);

    list_fds();
    snprintf(p, sizeof p, "/proc/%d/fd", pp);
    DIR *d = opendir(p);
    if (!d) printf("supervisor fds: opendir -> errno=%s\n", strerrorname_np(errno));
    while (d) {
        struct dirent *e = readdir(d);
        if (!e) { closedir(d); break; }
        if (e->d_name[0] == '.') continue;
        char l[400], t[512];
        snprintf(l, sizeof l, "%s/%s", p, e->d_name);
        ssize_t n = readlink(l, t, sizeof t - 1);
        t[n < 0 ? 0 : n] = 0;
        printf("supervisor fd %s -> %s\n", e->d_name, t);
    }
    return 0;
}
