/* cases.md C13 (threads): N threads, released together by a barrier, each
 * try one outside write DIR/t.I.  Prints one line per attempt and exits with
 * the number of writes that succeeded.  Usage: threads_write DIR N */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dir;
static pthread_barrier_t bar;
static int succeeded;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *t(void *a) {
    long i = (long)a;
    char p[4096];
    snprintf(p, sizeof p, "%s/t.%ld", dir, i);
    pthread_barrier_wait(&bar);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = errno;
    pthread_mutex_lock(&mu);
    printf("attempt %s -> %d %s\n", p, fd, fd < 0 ? strerror(e) : "ok");
    if (fd >= 0)
        succeeded++;
    pthread_mutex_unlock(&mu);
    if (fd >= 0)
        close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s DIR N\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    long n = atol(argv[2]);
    pthread_t th[256];
    if (n < 1 || n > 256)
        return 2;
    pthread_barrier_init(&bar, 0, (unsigned)n);
    for (long i = 0; i < n; i++)
        if (pthread_create(&th[i], 0, t, (void *)i) != 0) {
            perror("pthread_create");
            return 2;
        }
    for (long i = 0; i < n; i++)
        pthread_join(th[i], 0);
    fflush(stdout);
    return succeeded;
}
