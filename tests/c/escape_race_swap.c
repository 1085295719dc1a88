/* issue 8 case 11: a directory in the path swapped for a symlink to outside
 * between catbox's check and the call.  One thread exchanges A and B with
 * renameat2(RENAME_EXCHANGE) in a loop (A a directory, B a symlink to an
 * outside directory, both in the build dir); the main thread opens TARGET
 * (A/f) O_WRONLY|O_CREAT|O_APPEND and writes one byte, TRIES times or for
 * SECONDS, whichever ends first.  With A = "-" no swapping thread runs (the
 * test swaps from outside the sandbox).
 *
 *   escape_race_swap A B TARGET TRIES SECONDS
 *
 * Prints "tries=N opened=M eacces=K other=O swaps=S".  Exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2
#endif

static const char *a, *b;
static volatile int stop;
static long swaps;

static void *swapper(void *arg) {
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
        if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0) swaps++;
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s A B TARGET TRIES SECONDS\n", argv[0]); return 2; }
    a = argv[1];
    b = argv[2];
    const char *target = argv[3];
    long tries = atol(argv[4]);
    double limit = atof(argv[5]), t0 = now();
    pthread_t th;
    int swapping = strcmp(a, "-") != 0;
    if (swapping && pthread_create(&th, NULL, swapper, NULL) != 0) { perror("pthread_create"); return 2; }
    long n = 0, opened = 0, eacces = 0, other = 0;
    for (; n < tries; n++) {
        if ((n & 255) == 0 && now() - t0 > limit) break;
        int fd = open(target, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            opened++;
            if (write(fd, "x", 1) != 1) other++;
            close(fd);
        } else if (errno == EACCES) {
            eacces++;
        } else {
            other++;
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    if (swapping) pthread_join(th, NULL);
    printf("tries=%ld opened=%ld eacces=%ld other=%ld swaps=%ld seconds=%.1f\n", n, opened, eacces, other, swaps, now() - t0);
    return 0;
}
