/*
 * A C test of every function in include/catbox.h, its error paths and its
 * callbacks. Built and run (also under valgrind) by catbox-ffi/tests/c_api.rs:
 *
 *   cc -Wall -Wextra -Werror -I include catbox-ffi/tests/c/api_test.c \
 *      -L target/debug -lcatbox -Wl,-rpath,$PWD/target/debug -o api_test
 *   ./api_test
 *
 * Exit status 0 when every check passes; each failed check prints a line.
 */
#define _GNU_SOURCE
#include <catbox.h>
#include <catbox.h> /* twice: the include guard must hold */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
static int checks;

#define CHECK(cond)                                                         \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, \
                    __LINE__, #cond, last_error_text());                    \
        }                                                                   \
    } while (0)

static const char *last_error_text(void) {
    const char *e = catbox_last_error();
    return e ? e : "(none)";
}

/* The last error contains `needle`. */
static int error_says(const char *needle) {
    const char *e = catbox_last_error();
    return e != NULL && strstr(e, needle) != NULL;
}

static char tmpdir[] = "/tmp/catbox-capi-XXXXXX";

/* ---- callbacks ---------------------------------------------------------- */

struct seen {
    int magic;
    int violations;
    char first_operation[64];
    char first_canonical[4096];
    char first_errno[32];
    int initialized;
    int initialized_pid;
    int died;
};

static void on_violation(const catbox_violation *v, void *user_data) {
    struct seen *s = user_data;
    if (s->magic != 0x5eed)
        abort();
    if (s->violations++ == 0) {
        snprintf(s->first_operation, sizeof s->first_operation, "%s", v->operation);
        snprintf(s->first_canonical, sizeof s->first_canonical, "%s", v->canonical);
        snprintf(s->first_errno, sizeof s->first_errno, "%s",
                 v->errno_name ? v->errno_name : "(null)");
    }
}

static void on_event(int event, int pid, void *user_data) {
    struct seen *s = user_data;
    if (s->magic != 0x5eed)
        abort();
    if (event == CATBOX_EVENT_CHILD_INITIALIZED) {
        s->initialized++;
        s->initialized_pid = pid;
    } else if (event == CATBOX_EVENT_CHILD_DIED_UNEXPECTEDLY) {
        s->died++;
    }
}

/* ---- functions run in the sandboxed child ------------------------------ */

struct child_args {
    char allowed[4200];
    char denied[256];
};

/* Write an allowed file and a denied one; exit 42 if both behaved. */
static int child_writes(void *user_data) {
    struct child_args *a = user_data;
    int fd = open(a->allowed, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 10;
    close(fd);
    fd = open(a->denied, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        return 11;
    if (errno != EACCES)
        return 12;
    return 42;
}

/* A unix socket, denied in strict mode only. */
static int child_socket(void *user_data) {
    (void)user_data;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno == EACCES ? 7 : 8;
}

static int child_nothing(void *user_data) {
    (void)user_data;
    return 0;
}

/* ---- the tests ----------------------------------------------------------- */

static void test_version(void) {
    CHECK(catbox_version() != NULL);
    CHECK(strcmp(catbox_version(), CATBOX_VERSION) == 0);
    CHECK(CATBOX_VERSION_MAJOR >= 0 && CATBOX_VERSION_MINOR >= 0 && CATBOX_VERSION_PATCH >= 0);
    CHECK(strcmp(catbox_status_string(CATBOX_OK), "ok") == 0);
    CHECK(strcmp(catbox_status_string(CATBOX_ERR_INVALID_REGEX), "invalid regular expression") == 0);
    CHECK(strcmp(catbox_status_string(12345), "unknown status") == 0);
}

static void test_config_errors(void) {
    catbox_config_free(NULL);
    catbox_report_free(NULL);
    catbox_string_free(NULL);

    catbox_config *c = catbox_config_new();
    CHECK(c != NULL);

    CHECK(catbox_config_allow_write(NULL, "/tmp") == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: config"));
    CHECK(catbox_config_allow_write(c, NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: path"));
    CHECK(catbox_config_allow_write(c, "build") == CATBOX_ERR_RELATIVE_PATH);
    CHECK(error_says("not absolute"));
    CHECK(catbox_config_allow_write(c, "/tmp") == CATBOX_OK);

    CHECK(catbox_config_allow_write_prefix(c, "tmp/x") == CATBOX_ERR_RELATIVE_PATH);
    CHECK(catbox_config_allow_write_prefix(c, NULL) == CATBOX_ERR_NULL);
    CHECK(catbox_config_allow_write_prefix(NULL, "/tmp") == CATBOX_ERR_NULL);
    CHECK(catbox_config_allow_write_prefix(c, "/var/tmp/cat") == CATBOX_OK);

    CHECK(catbox_config_allow_write_regex(c, "(unclosed") == CATBOX_ERR_INVALID_REGEX);
    CHECK(error_says("invalid regular expression"));
    CHECK(catbox_config_allow_write_regex(c, NULL) == CATBOX_ERR_NULL);
    CHECK(catbox_config_allow_write_regex(NULL, "x") == CATBOX_ERR_NULL);
    CHECK(catbox_config_allow_write_regex(c, "\xff(") == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(catbox_config_allow_write_regex(c, "^/dev/shm/catbox-.*$") == CATBOX_OK);

    CHECK(catbox_config_set_network(c, 7) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("unknown network mode 7"));
    CHECK(catbox_config_set_network(NULL, CATBOX_NETWORK_DENIED) == CATBOX_ERR_NULL);
    CHECK(catbox_config_set_network(c, CATBOX_NETWORK_ALLOWED) == CATBOX_OK);
    CHECK(catbox_config_set_network(c, CATBOX_NETWORK_STRICT) == CATBOX_OK);
    CHECK(catbox_config_set_network(c, CATBOX_NETWORK_DENIED) == CATBOX_OK);

    CHECK(catbox_config_set_collect_only(NULL, true) == CATBOX_ERR_NULL);
    CHECK(catbox_config_set_collect_only(c, false) == CATBOX_OK);

    CHECK(catbox_config_set_violation_callback(NULL, on_violation, NULL) == CATBOX_ERR_NULL);
    CHECK(catbox_config_set_event_callback(NULL, on_event, NULL) == CATBOX_ERR_NULL);
    CHECK(catbox_config_set_violation_callback(c, NULL, NULL) == CATBOX_OK);
    CHECK(catbox_config_set_event_callback(c, NULL, NULL) == CATBOX_OK);

    /* Running: NULL arguments, missing and empty commands. The out-param
     * must stay untouched on failure. */
    catbox_report *sentinel = (catbox_report *)&failures;
    catbox_report *r = sentinel;
    const char *missing[] = {"catbox-no-such-command-xyz", "arg", NULL};
    CHECK(catbox_run_argv(c, missing, &r) == CATBOX_ERR_COMMAND_NOT_FOUND);
    CHECK(error_says("catbox-no-such-command-xyz: command not found"));
    CHECK(r == sentinel);
    const char *empty[] = {NULL};
    CHECK(catbox_run_argv(c, empty, &r) == CATBOX_ERR_EMPTY_COMMAND);
    CHECK(error_says("no command"));
    CHECK(r == sentinel);
    const char *truecmd[] = {"true", NULL};
    CHECK(catbox_run_argv(NULL, truecmd, &r) == CATBOX_ERR_NULL);
    CHECK(catbox_run_argv(c, NULL, &r) == CATBOX_ERR_NULL);
    CHECK(catbox_run_argv(c, truecmd, NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: report_out"));
    CHECK(catbox_run_function(c, NULL, NULL, &r) == CATBOX_ERR_NULL);
    CHECK(catbox_run_function(NULL, child_nothing, NULL, &r) == CATBOX_ERR_NULL);
    CHECK(catbox_run_function(c, child_nothing, NULL, NULL) == CATBOX_ERR_NULL);
    CHECK(r == sentinel);

    /* Report getters on NULL. */
    catbox_violation v;
    memset(&v, 0, sizeof v);
    CHECK(catbox_report_exit_code(NULL) == -1);
    CHECK(catbox_report_signal(NULL) == -1);
    CHECK(catbox_report_violations_len(NULL) == 0);
    CHECK(catbox_report_processes(NULL) == 0);
    CHECK(catbox_report_violation(NULL, 0, &v) == CATBOX_ERR_NULL);
    CHECK(v.operation == NULL);

    catbox_config_free(c);
}

static void test_run_argv(void) {
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    seen.magic = 0x5eed;

    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_violation_callback(c, on_violation, &seen) == CATBOX_OK);
    CHECK(catbox_config_set_event_callback(c, on_event, &seen) == CATBOX_OK);

    char script[8192];
    snprintf(script, sizeof script,
             "echo ok > %s/allowed && echo no > /etc/catbox-capi-denied; exit 3", tmpdir);
    const char *argv[] = {"sh", "-c", script, NULL};
    catbox_report *r = NULL;
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_OK);
    CHECK(r != NULL);
    if (r == NULL) {
        catbox_config_free(c);
        return;
    }
    CHECK(catbox_report_exit_code(r) == 3);
    CHECK(catbox_report_signal(r) == 0);
    CHECK(catbox_report_processes(r) >= 1);
    CHECK(catbox_report_violations_len(r) == 1);

    catbox_violation v;
    CHECK(catbox_report_violation(r, 0, &v) == CATBOX_OK);
    CHECK(v.pid > 0);
    CHECK(strncmp(v.operation, "open", 4) == 0);
    CHECK(strcmp(v.path, "/etc/catbox-capi-denied") == 0);
    CHECK(strcmp(v.canonical, "/etc/catbox-capi-denied") == 0);
    CHECK(v.errnum == EACCES);
    CHECK(v.errno_name != NULL && strcmp(v.errno_name, "EACCES") == 0);

    catbox_violation untouched;
    memset(&untouched, 0, sizeof untouched);
    CHECK(catbox_report_violation(r, 1, &untouched) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("out of range"));
    CHECK(untouched.operation == NULL);
    CHECK(catbox_report_violation(r, 0, NULL) == CATBOX_ERR_NULL);

    /* The callbacks saw the same, with our user_data. */
    CHECK(seen.violations == 1);
    CHECK(strcmp(seen.first_canonical, "/etc/catbox-capi-denied") == 0);
    CHECK(strcmp(seen.first_errno, "EACCES") == 0);
    CHECK(strcmp(seen.first_operation, v.operation) == 0);
    CHECK(seen.initialized == 1);
    CHECK(seen.initialized_pid > 0);

    char allowed[4200];
    snprintf(allowed, sizeof allowed, "%s/allowed", tmpdir);
    CHECK(access(allowed, F_OK) == 0);
    CHECK(access("/etc/catbox-capi-denied", F_OK) != 0);
    catbox_report_free(r);

    /* A config runs more than once; killed by a signal. */
    const char *killed[] = {"sh", "-c", "kill -9 $$", NULL};
    r = NULL;
    CHECK(catbox_run_argv(c, killed, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) == -1);
    CHECK(catbox_report_signal(r) == 9);
    CHECK(catbox_report_violations_len(r) == 0);
    catbox_report_free(r);

    /* Not executable: a directory. */
    const char *notexec[] = {"/tmp", NULL};
    r = NULL;
    int st = catbox_run_argv(c, notexec, &r);
    CHECK(st == CATBOX_ERR_NOT_EXECUTABLE);
    CHECK(r == NULL);

    catbox_config_free(c);
}

static void test_collect_only(void) {
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    seen.magic = 0x5eed;
    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, "/nonexistent-catbox-dir") == CATBOX_OK);
    CHECK(catbox_config_set_collect_only(c, true) == CATBOX_OK);
    CHECK(catbox_config_set_violation_callback(c, on_violation, &seen) == CATBOX_OK);
    char script[8192];
    snprintf(script, sizeof script, "echo x > %s/collected", tmpdir);
    const char *argv[] = {"sh", "-c", script, NULL};
    catbox_report *r = NULL;
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) == 0);
    CHECK(catbox_report_violations_len(r) == 1);
    catbox_violation v;
    CHECK(catbox_report_violation(r, 0, &v) == CATBOX_OK);
    CHECK(v.errnum == 0 && v.errno_name == NULL);
    CHECK(seen.violations == 1 && strcmp(seen.first_errno, "(null)") == 0);
    char collected[4200];
    snprintf(collected, sizeof collected, "%s/collected", tmpdir);
    CHECK(access(collected, F_OK) == 0);
    catbox_report_free(r);
    catbox_config_free(c);
}

static void test_run_function(void) {
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    seen.magic = 0x5eed;
    struct child_args args;
    snprintf(args.allowed, sizeof args.allowed, "%s/from-function", tmpdir);
    snprintf(args.denied, sizeof args.denied, "/etc/catbox-capi-function");

    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_violation_callback(c, on_violation, &seen) == CATBOX_OK);
    CHECK(catbox_config_set_event_callback(c, on_event, &seen) == CATBOX_OK);
    catbox_report *r = NULL;
    CHECK(catbox_run_function(c, child_writes, &args, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) == 42);
    CHECK(catbox_report_violations_len(r) == 1);
    catbox_violation v;
    CHECK(catbox_report_violation(r, 0, &v) == CATBOX_OK);
    CHECK(strcmp(v.canonical, "/etc/catbox-capi-function") == 0);
    CHECK(seen.violations == 1);
    CHECK(seen.initialized == 1);
    CHECK(access(args.allowed, F_OK) == 0);
    catbox_report_free(r);

    /* Network: a unix socket is fine when denied, a violation when strict. */
    r = NULL;
    CHECK(catbox_run_function(c, child_socket, NULL, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) == 0);
    CHECK(catbox_report_violations_len(r) == 0);
    catbox_report_free(r);
    CHECK(catbox_config_set_network(c, CATBOX_NETWORK_STRICT) == CATBOX_OK);
    r = NULL;
    CHECK(catbox_run_function(c, child_socket, NULL, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) == 7);
    CHECK(catbox_report_violations_len(r) == 1);
    CHECK(catbox_report_violation(r, 0, &v) == CATBOX_OK);
    CHECK(strcmp(v.operation, "socket") == 0);
    CHECK(strcmp(v.canonical, "AF_UNIX") == 0);
    catbox_report_free(r);
    catbox_config_free(c);
}

static void test_run_under_valgrind(void) {
    struct seen seen;
    memset(&seen, 0, sizeof seen);
    seen.magic = 0x5eed;
    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_violation_callback(c, on_violation, &seen) == CATBOX_OK);
    CHECK(catbox_config_set_event_callback(c, on_event, &seen) == CATBOX_OK);
    catbox_report *r = NULL;
    CHECK(catbox_run_function(c, child_nothing, NULL, &r) == CATBOX_ERR_SECCOMP_NOT_PERMITTED);
    CHECK(error_says("seccomp"));
    CHECK(r == NULL);
    const char *argv[] = {"true", NULL};
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_ERR_SECCOMP_NOT_PERMITTED);
    CHECK(r == NULL);
    catbox_config_free(c);
}

static void test_canonical(void) {
    char *out = NULL;
    CHECK(catbox_canonical("/tmp/../etc//passwd", true, 0, &out) == CATBOX_OK);
    CHECK(out != NULL && strcmp(out, "/etc/passwd") == 0);
    catbox_string_free(out);

    char link[4200], target[4200];
    snprintf(link, sizeof link, "%s/link", tmpdir);
    snprintf(target, sizeof target, "%s/target", tmpdir);
    CHECK(symlink(target, link) == 0);
    out = NULL;
    CHECK(catbox_canonical(link, true, getpid(), &out) == CATBOX_OK);
    CHECK(out != NULL && strcmp(out, target) == 0);
    catbox_string_free(out);
    out = NULL;
    CHECK(catbox_canonical(link, false, 0, &out) == CATBOX_OK);
    CHECK(out != NULL && strcmp(out, link) == 0);
    catbox_string_free(out);

    /* Relative: against the cwd. */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmpdir) == 0);
    CHECK(mkdir("new", 0755) == 0);
    out = NULL;
    CHECK(catbox_canonical("./new/../newfile", true, 0, &out) == CATBOX_OK);
    char expect[4300];
    snprintf(expect, sizeof expect, "%s/newfile", tmpdir);
    CHECK(out != NULL && strcmp(out, expect) == 0);
    catbox_string_free(out);
    CHECK(chdir(cwd) == 0);

    char *untouched = (char *)"untouched";
    out = untouched;
    CHECK(catbox_canonical(NULL, true, 0, &out) == CATBOX_ERR_NULL);
    CHECK(catbox_canonical("/tmp", true, 0, NULL) == CATBOX_ERR_NULL);
    CHECK(catbox_canonical("relative", true, 999999999, &out) == CATBOX_ERR_OS);
    CHECK(error_says("failed to resolve"));
    CHECK(out == untouched);
}

int main(void) {
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_version();
    test_config_errors();
    if (getenv("CATBOX_TEST_UNDER_VALGRIND") != NULL) {
        /* valgrind cannot emulate seccomp(2) in the forked child, so no
         * sandboxed run can start under it: check that this fails cleanly
         * (and leaks nothing); the runs are checked natively and under
         * AddressSanitizer. */
        test_run_under_valgrind();
    } else {
        test_run_argv();
        test_collect_only();
        test_run_function();
    }
    test_canonical();

    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", tmpdir);

    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
