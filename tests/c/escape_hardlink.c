/* issue 8 case 6: a hard link of an outside file into the build dir, then a
 * write through the link.
 *
 *   escape_hardlink VICTIM DIR
 *
 * Makes DIR/l1..l4 by link(VICTIM), linkat(VICTIM), linkat(fd, "",
 * AT_EMPTY_PATH) on a read-only fd of VICTIM, and linkat("/proc/self/fd/N",
 * AT_SYMLINK_FOLLOW) on the same fd; after each, opens DIR/lN with
 * O_WRONLY|O_APPEND and writes "pwned".  One line per call:
 * "WHAT -> RET errno=E".  Exit 0 if no write went through a link.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int wrote;

static void through(const char *link) {
    errno = 0;
    int fd = open(link, O_WRONLY | O_APPEND);
    printf("open(%s, O_WRONLY|O_APPEND) -> %d errno=%s\n", link, fd, fd < 0 ? strerrorname_np(errno) : "0");
    if (fd >= 0) {
        if (write(fd, "pwned\n", 6) == 6) wrote++;
        close(fd);
    }
}

static void note(const char *what, long r) {
    printf("%s -> %ld errno=%s\n", what, r, r < 0 ? strerrorname_np(errno) : "0");
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s VICTIM DIR\n", argv[0]); return 2; }
    setvbuf(stdout, NULL, _IONBF, 0);
    char l[4][4096];
    for (int i = 0; i < 4; i++) snprintf(l[i], sizeof l[i], "%s/l%d", argv[2], i + 1);
    errno = 0;
    note("link", syscall(SYS_link, argv[1], l[0]));
    through(l[0]);
    errno = 0;
    note("linkat", syscall(SYS_linkat, AT_FDCWD, argv[1], AT_FDCWD, l[1], 0));
    through(l[1]);
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open victim"); return 2; }
    errno = 0;
    note("linkat(AT_EMPTY_PATH)", syscall(SYS_linkat, fd, "", AT_FDCWD, l[2], AT_EMPTY_PATH));
    through(l[2]);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    errno = 0;
    note("linkat(/proc/self/fd, AT_SYMLINK_FOLLOW)",
         syscall(SYS_linkat, AT_FDCWD, proc, AT_FDCWD, l[3], AT_SYMLINK_FOLLOW));
    through(l[3]);
    printf("wrote=%d\n", wrote);
    return wrote ? 1 : 0;
}
