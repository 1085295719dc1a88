/* cases.md C13: execve from a thread that is not the thread-group leader.
 * Usage: exec_from_thread 'SHELL COMMAND' [leader-exits]
 * With "leader-exits", the main thread calls pthread_exit() first (a zombie
 * leader), and the thread execs a little later (ranweiler/pete #107). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int leader_exits;

static char *cmd;

static void *t(void *a) {
    (void)a;
    if (leader_exits) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, 0);
    }
    execl("/bin/sh", "sh", "-c", cmd, (char *)0);
    perror("execl");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    cmd = argv[1];
    leader_exits = argc > 2 && !strcmp(argv[2], "leader-exits");
    pthread_t th;
    pthread_create(&th, 0, t, 0);
    if (leader_exits)
        pthread_exit(0);
    pthread_join(th, 0); /* never returns: exec replaces the process */
    return 99;
}
