/* Make N calls that the operation log records (access() of a missing file),
 * to check that a log of a million events is complete and valid. */
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    for (long i = 0; i < n; i++) access("/nonexistent-catbox-path", F_OK);
    return 0;
}
