/* cases.md C12: vfork and posix_spawn children must be traced.
 * Usage: vfork_spawn VFORK_TARGET SPAWN_TARGET
 * A vfork child and a posix_spawn child each exec /bin/sh, which tries
 * `echo > TARGET`.  Exits 0 only if both shells succeeded. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s VFORK_TARGET SPAWN_TARGET\n", argv[0]);
        return 2;
    }
    int rc = 0, st;
    pid_t v = vfork();
    if (v == 0) {
        execl("/bin/sh", "sh", "-c", "echo vfork > \"$0\"", argv[1], (char *)0);
        _exit(127);
    }
    if (v < 0) {
        perror("vfork");
        return 2;
    }
    if (waitpid(v, &st, 0) != v)
        return 2;
    printf("vfork child status %d\n", st);
    rc |= !WIFEXITED(st) || WEXITSTATUS(st);

    pid_t s;
    char *args[] = {"sh", "-c", "echo spawn > \"$0\"", argv[2], 0};
    int e = posix_spawn(&s, "/bin/sh", 0, 0, args, environ);
    if (e) {
        fprintf(stderr, "posix_spawn: %d\n", e);
        return 2;
    }
    if (waitpid(s, &st, 0) != s)
        return 2;
    printf("posix_spawn child status %d\n", st);
    rc |= !WIFEXITED(st) || WEXITSTATUS(st);
    return rc;
}
