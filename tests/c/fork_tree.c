/* An orphaning fork tree: the main process forks K children and exits at
 * once; each child forks M grandchildren and exits before them; the
 * grandchildren wait a little, so that they run as orphans.  Every process
 * tries one outside write DIR/ft.PID and then prints one "attempt" line to
 * stdout (a single write(2), so lines never interleave).
 * Usage: fork_tree DIR K M */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

static void attempt(void) {
    char p[4096], line[4200];
    snprintf(p, sizeof p, "%s/ft.%d", dir, (int)getpid());
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    int e = errno;
    int n = snprintf(line, sizeof line, "attempt %s -> %d %s\n", p, fd,
                     fd < 0 ? strerror(e) : "ok");
    if (write(1, line, (size_t)n) != n)
        _exit(3);
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DIR K M\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    int k = atoi(argv[2]), m = atoi(argv[3]);
    attempt();
    for (int i = 0; i < k; i++) {
        pid_t c = fork();
        if (c < 0) {
            perror("fork");
            return 1;
        }
        if (c == 0) {
            pid_t parent = getpid();
            for (int j = 0; j < m; j++) {
                pid_t g = fork();
                if (g < 0) {
                    perror("fork");
                    _exit(1);
                }
                if (g == 0) {
                    /* let the parent exit first: wait (at most ~3 s) until
                     * this process has been reparented */
                    struct timespec ts = {0, 10 * 1000 * 1000};
                    for (int w = 0; w < 300 && getppid() == parent; w++)
                        nanosleep(&ts, 0);
                    attempt();
                    _exit(0);
                }
            }
            attempt();
            _exit(0); /* exits before its children */
        }
    }
    return 0; /* exits without waiting for anybody */
}
