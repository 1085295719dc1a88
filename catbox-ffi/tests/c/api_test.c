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
#include <sys/sysmacros.h>
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

/* The whole of a (small) file, NUL-terminated, to free; NULL if unreadable. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
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

/* Fakeroot: chown one file, chmod another setuid, make a device node, and
 * check what the sandboxed process sees. Exit 0 if all is as faked, else
 * the number of the first check that failed. */
struct fake_args {
    char owned[4200];
    char setuid[4200];
    char device[4200];
};

static int child_fakeroot(void *user_data) {
    struct fake_args *a = user_data;
    if (getuid() != 0 || geteuid() != 0 || getgid() != 0 || getegid() != 0)
        return 1;
    int fd = open(a->owned, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 2;
    close(fd);
    if (chown(a->owned, 1234, 5678) != 0)
        return 3;
    struct stat st;
    if (stat(a->owned, &st) != 0 || st.st_uid != 1234 || st.st_gid != 5678)
        return 4;
    fd = open(a->setuid, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd < 0)
        return 5;
    close(fd);
    if (chmod(a->setuid, 04755) != 0)
        return 6;
    /* Not chowned: owned by the real user, so it appears root's. */
    if (stat(a->setuid, &st) != 0 || (st.st_mode & 07777) != 04755 || st.st_uid != 0 ||
        st.st_gid != 0)
        return 7;
    if (mknod(a->device, S_IFCHR | 0666, makedev(1, 3)) != 0)
        return 8;
    if (lstat(a->device, &st) != 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 ||
        minor(st.st_rdev) != 3)
        return 9;
    return 0;
}

/* Fakeroot, a later run: exit 0 if the owner faked by an earlier run (with
 * the same state file) is still seen. */
static int child_sees_owner(void *user_data) {
    struct fake_args *a = user_data;
    struct stat st;
    if (stat(a->owned, &st) != 0)
        return 1;
    return st.st_uid == 1234 && st.st_gid == 5678 ? 0 : 2;
}

/* ---- the tests ----------------------------------------------------------- */

static void test_version(void) {
    CHECK(catbox_version() != NULL);
    CHECK(strcmp(catbox_version(), CATBOX_VERSION) == 0);
    CHECK(CATBOX_VERSION_MAJOR >= 0 && CATBOX_VERSION_MINOR >= 0 && CATBOX_VERSION_PATCH >= 0);
    CHECK(strcmp(catbox_status_string(CATBOX_OK), "ok") == 0);
    CHECK(strcmp(catbox_status_string(CATBOX_ERR_INVALID_REGEX), "invalid regular expression") == 0);
    CHECK(strcmp(catbox_status_string(12345), "unknown status") == 0);
    CHECK(strcmp(catbox_status_string(CATBOX_ERR_FAKEROOT_STATE), "bad fakeroot state file") == 0);
    CHECK(strcmp(catbox_status_string(CATBOX_ERR_TRACE_LOG), "operation log incomplete") == 0);
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

    CHECK(catbox_config_set_fakeroot(NULL, true) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: config"));
    CHECK(catbox_config_set_fakeroot_state(NULL, "/tmp/state") == CATBOX_ERR_NULL);
    CHECK(catbox_config_set_fakeroot_state(c, NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: path"));
    CHECK(catbox_config_set_manifest(NULL, "/tmp/m", "/tmp") == CATBOX_ERR_NULL);
    CHECK(catbox_config_set_manifest(c, NULL, "/tmp") == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: file"));
    CHECK(catbox_config_set_manifest(c, "/tmp/m", NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: root"));
    CHECK(catbox_config_set_trace_file(NULL, "/tmp/log") == CATBOX_ERR_NULL);
    CHECK(catbox_config_set_trace_file(c, NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: path"));
    CHECK(catbox_config_set_trace_file(c, "/nonexistent-catbox-dir/log.jsonl") == CATBOX_ERR_OS);
    CHECK(error_says("operation log"));
    CHECK(access("/nonexistent-catbox-dir", F_OK) != 0);
    CHECK(catbox_config_set_image(NULL, "/tmp/image") == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: config"));
    CHECK(catbox_config_set_image(c, NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: dir"));
    CHECK(catbox_config_set_image(c, "") == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("empty"));
    /* On and off again: this config runs without fakeroot below. */
    CHECK(catbox_config_set_fakeroot(c, true) == CATBOX_OK);
    CHECK(catbox_config_set_fakeroot(c, false) == CATBOX_OK);

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
    catbox_ownership o;
    memset(&o, 0, sizeof o);
    catbox_mode m;
    memset(&m, 0, sizeof m);
    CHECK(catbox_report_ownerships_len(NULL) == 0);
    CHECK(catbox_report_modes_len(NULL) == 0);
    CHECK(catbox_report_ownership(NULL, 0, &o) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: report"));
    CHECK(catbox_report_mode(NULL, 0, &m) == CATBOX_ERR_NULL);
    CHECK(o.path == NULL && m.path == NULL);
    const char *p = NULL;
    CHECK(!catbox_report_has_image(NULL));
    CHECK(catbox_report_image_dir(NULL) == NULL);
    CHECK(catbox_report_image_added_len(NULL) == 0);
    CHECK(catbox_report_image_modified_len(NULL) == 0);
    CHECK(catbox_report_image_removed_len(NULL) == 0);
    CHECK(catbox_report_image_added(NULL, 0, &p) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: report"));
    CHECK(catbox_report_image_modified(NULL, 0, &p) == CATBOX_ERR_NULL);
    CHECK(catbox_report_image_removed(NULL, 0, &p) == CATBOX_ERR_NULL);
    CHECK(p == NULL);

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

    /* No root view: no image. */
    const char *p = NULL;
    CHECK(!catbox_report_has_image(r));
    CHECK(catbox_report_image_dir(r) == NULL);
    CHECK(catbox_report_image_added_len(r) == 0);
    CHECK(catbox_report_image_modified_len(r) == 0);
    CHECK(catbox_report_image_removed_len(r) == 0);
    CHECK(catbox_report_image_added(r, 0, &p) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("image added index 0 out of range (the report has 0)"));
    CHECK(p == NULL);

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

static void test_fakeroot(void) {
    struct fake_args a;
    snprintf(a.owned, sizeof a.owned, "%s/owned", tmpdir);
    snprintf(a.setuid, sizeof a.setuid, "%s/setuid", tmpdir);
    snprintf(a.device, sizeof a.device, "%s/null", tmpdir);
    char state[4200], manifest[4200];
    snprintf(state, sizeof state, "%s/fakeroot.state", tmpdir);
    snprintf(manifest, sizeof manifest, "%s/manifest.mtree", tmpdir);
    char root[4200];
    snprintf(root, sizeof root, "%s/root", tmpdir);
    CHECK(mkdir(root, 0755) == 0);

    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_fakeroot(c, true) == CATBOX_OK);
    CHECK(catbox_config_set_fakeroot_state(c, state) == CATBOX_OK);
    CHECK(catbox_config_set_manifest(c, manifest, root) == CATBOX_OK);
    catbox_report *r = NULL;
    CHECK(catbox_run_function(c, child_fakeroot, &a, &r) == CATBOX_OK);
    if (r == NULL) {
        catbox_config_free(c);
        return;
    }
    CHECK(catbox_report_exit_code(r) == 0);
    CHECK(catbox_report_violations_len(r) == 0);

    CHECK(catbox_report_ownerships_len(r) == 1);
    catbox_ownership o;
    memset(&o, 0, sizeof o);
    CHECK(catbox_report_ownership(r, 0, &o) == CATBOX_OK);
    CHECK(o.path != NULL && strcmp(o.path, a.owned) == 0);
    CHECK(o.uid == 1234 && o.gid == 5678);
    catbox_ownership o_untouched;
    memset(&o_untouched, 0, sizeof o_untouched);
    CHECK(catbox_report_ownership(r, 1, &o_untouched) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("ownership index 1 out of range"));
    CHECK(o_untouched.path == NULL);
    CHECK(catbox_report_ownership(r, 0, NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: out"));

    /* Sorted by path: ".../null" before ".../setuid". */
    CHECK(catbox_report_modes_len(r) == 2);
    catbox_mode m;
    memset(&m, 0, sizeof m);
    CHECK(catbox_report_mode(r, 0, &m) == CATBOX_OK);
    CHECK(m.path != NULL && strcmp(m.path, a.device) == 0);
    CHECK(S_ISCHR(m.mode));
    CHECK(catbox_report_mode(r, 1, &m) == CATBOX_OK);
    CHECK(m.path != NULL && strcmp(m.path, a.setuid) == 0);
    CHECK(S_ISREG(m.mode) && (m.mode & 07777) == 04755);
    catbox_mode m_untouched;
    memset(&m_untouched, 0, sizeof m_untouched);
    CHECK(catbox_report_mode(r, 2, &m_untouched) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("mode index 2 out of range"));
    CHECK(m_untouched.path == NULL);
    CHECK(catbox_report_mode(r, 0, NULL) == CATBOX_ERR_NULL);
    catbox_report_free(r);

    /* Outside, nothing was faked: the files belong to whoever ran this,
     * and the device is an empty regular file. */
    struct stat st;
    CHECK(stat(a.owned, &st) == 0 && st.st_uid == getuid() && st.st_gid == getgid());
    CHECK(lstat(a.device, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    CHECK(access(state, F_OK) == 0);
    char *text = slurp(manifest);
    CHECK(text != NULL && strncmp(text, "#mtree", 6) == 0);
    free(text);

    /* A second run with the same state file sees the faked owner. */
    catbox_config *c2 = catbox_config_new();
    CHECK(catbox_config_set_fakeroot_state(c2, state) == CATBOX_OK);
    r = NULL;
    CHECK(catbox_run_function(c2, child_sees_owner, &a, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) == 0);
    CHECK(catbox_report_ownerships_len(r) == 1);
    catbox_report_free(r);
    catbox_config_free(c2);

    /* Without fakeroot, the report has no ownerships and no modes. */
    CHECK(catbox_config_set_fakeroot(c, false) == CATBOX_OK);
    r = NULL;
    CHECK(catbox_run_function(c, child_sees_owner, &a, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) == (getuid() == 1234 ? 0 : 2));
    CHECK(catbox_report_ownerships_len(r) == 0);
    CHECK(catbox_report_modes_len(r) == 0);
    catbox_report_free(r);
    catbox_config_free(c);
}

/* A corrupt state file fails the run before anything runs (so this also
 * works under valgrind, where no sandboxed run can start). */
static void test_bad_fakeroot_state(void) {
    char state[4200], marker[4200];
    snprintf(state, sizeof state, "%s/corrupt.state", tmpdir);
    snprintf(marker, sizeof marker, "%s/ran", tmpdir);
    FILE *f = fopen(state, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("this is not a fakeroot state file\n", f);
    fclose(f);

    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_fakeroot_state(c, state) == CATBOX_OK);
    catbox_report *sentinel = (catbox_report *)&failures;
    catbox_report *r = sentinel;
    char script[8300];
    snprintf(script, sizeof script, "touch %s", marker);
    const char *argv[] = {"sh", "-c", script, NULL};
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_ERR_FAKEROOT_STATE);
    CHECK(error_says("fakeroot state file"));
    CHECK(error_says("corrupt.state"));
    CHECK(r == sentinel);
    CHECK(catbox_run_function(c, child_nothing, NULL, &r) == CATBOX_ERR_FAKEROOT_STATE);
    CHECK(r == sentinel);
    CHECK(access(marker, F_OK) != 0);
    /* Still corrupt, not replaced by an empty state. */
    char *text = slurp(state);
    CHECK(text != NULL && strstr(text, "not a fakeroot state") != NULL);
    free(text);
    catbox_config_free(c);
}

static void test_trace(void) {
    char log[4200], first[4200], second[4200];
    snprintf(log, sizeof log, "%s/trace.jsonl", tmpdir);
    snprintf(first, sizeof first, "%s/first-written", tmpdir);
    snprintf(second, sizeof second, "%s/second-written", tmpdir);

    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_trace_file(c, log) == CATBOX_OK);
    CHECK(access(log, F_OK) == 0); /* created at once */
    char script[8300];
    snprintf(script, sizeof script, "echo x > %s; echo y > /etc/catbox-capi-traced", first);
    const char *argv[] = {"sh", "-c", script, NULL};
    catbox_report *r = NULL;
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_OK);
    CHECK(catbox_report_exit_code(r) != -1);
    CHECK(catbox_report_violations_len(r) == 1);
    catbox_report_free(r);
    char *text = slurp(log);
    CHECK(text != NULL);
    if (text != NULL) {
        char needle[4300];
        snprintf(needle, sizeof needle, "\"canonical\":\"%s\"", first);
        CHECK(strstr(text, needle) != NULL);
        CHECK(strstr(text, "\"event\":\"write\"") != NULL);
        CHECK(strstr(text, "\"event\":\"exec\"") != NULL);
        CHECK(strstr(text, "\"event\":\"exit\"") != NULL);
        /* The denied write is there with its errno. */
        CHECK(strstr(text, "\"canonical\":\"/etc/catbox-capi-traced\",\"result\":\"EACCES\"") != NULL);
        /* JSON Lines: every line is an object and the file ends a line. */
        size_t n = strlen(text);
        CHECK(n > 0 && text[0] == '{' && text[n - 1] == '\n');
        CHECK(strstr(text, "\n\n") == NULL);
        for (char *nl = strchr(text, '\n'); nl != NULL && nl[1] != '\0'; nl = strchr(nl + 1, '\n'))
            CHECK(nl[1] == '{' && nl[-1] == '}');
    }
    free(text);

    /* The config runs again: a fresh log of the second run only. */
    snprintf(script, sizeof script, "echo x > %s", second);
    r = NULL;
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_OK);
    catbox_report_free(r);
    text = slurp(log);
    CHECK(text != NULL && strstr(text, second) != NULL && strstr(text, first) == NULL);
    free(text);

    /* A log that cannot be written (/dev/full: ENOSPC) fails the run,
     * saying so, and gives no report: never a silently truncated log. */
    CHECK(catbox_config_set_trace_file(c, "/dev/full") == CATBOX_OK);
    catbox_report *sentinel = (catbox_report *)&failures;
    r = sentinel;
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_ERR_TRACE_LOG);
    CHECK(error_says("failed to write the operation log"));
    CHECK(error_says("/dev/full"));
    CHECK(error_says("exited with code 0"));
    CHECK(r == sentinel);
    CHECK(catbox_run_function(c, child_nothing, NULL, &r) == CATBOX_ERR_TRACE_LOG);
    CHECK(r == sentinel);
    catbox_config_free(c);
}

/* Whether the report's image list `which` (0 added, 1 modified, 2 removed)
 * holds `path`. */
static int image_lists(const catbox_report *r, int which, const char *path) {
    size_t n = which == 0   ? catbox_report_image_added_len(r)
               : which == 1 ? catbox_report_image_modified_len(r)
                            : catbox_report_image_removed_len(r);
    for (size_t i = 0; i < n; i++) {
        const char *p = NULL;
        int st = which == 0   ? catbox_report_image_added(r, i, &p)
                 : which == 1 ? catbox_report_image_modified(r, i, &p)
                              : catbox_report_image_removed(r, i, &p);
        if (st != CATBOX_OK || p == NULL)
            return 0;
        if (strcmp(p, path) == 0)
            return 1;
    }
    return 0;
}

/* How many paths of the report's added list lie in or below `dir`. */
static size_t image_added_below(const catbox_report *r, const char *dir) {
    size_t n = 0, len = strlen(dir);
    for (size_t i = 0; i < catbox_report_image_added_len(r); i++) {
        const char *p = NULL;
        if (catbox_report_image_added(r, i, &p) == CATBOX_OK && strncmp(p, dir, len) == 0 &&
            (p[len] == '\0' || p[len] == '/'))
            n++;
    }
    return n;
}

/* `file` holds exactly `text`. */
static int holds(const char *file, const char *text) {
    char *got = slurp(file);
    int same = got != NULL && strcmp(got, text) == 0;
    free(got);
    return same;
}

/* The root view: a program writes where it may not (a new directory in
 * /usr/local/share, a change to and a removal of files outside the writable
 * paths); its writes land in the image directory and the host is unchanged. */
static void test_image(void) {
    char ro[] = "/tmp/catbox-capi-ro-XXXXXX"; /* outside the writable paths */
    CHECK(mkdtemp(ro) != NULL);
    char mod[64], gone[64], share[128], shared_file[160], direct[4200];
    snprintf(mod, sizeof mod, "%s/mod", ro);
    snprintf(gone, sizeof gone, "%s/gone", ro);
    snprintf(share, sizeof share, "/usr/local/share/catbox-capi-%ld", (long)getpid());
    snprintf(shared_file, sizeof shared_file, "%s/f", share);
    snprintf(direct, sizeof direct, "%s/direct", tmpdir);
    FILE *f = fopen(mod, "w");
    CHECK(f != NULL && fputs("old\n", f) >= 0 && fclose(f) == 0);
    f = fopen(gone, "w");
    CHECK(f != NULL && fclose(f) == 0);
    CHECK(access(share, F_OK) != 0);

    /* A relative image directory is taken against the cwd of the call. */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmpdir) == 0);
    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_image(c, "image") == CATBOX_OK);
    CHECK(chdir(cwd) == 0);
    char image[4200];
    snprintf(image, sizeof image, "%s/image", tmpdir);

    char script[16384];
    snprintf(script, sizeof script,
             "mkdir -p %s && echo hi > %s && test \"$(cat %s)\" = hi && "
             "echo new > %s && rm %s && test ! -e %s && echo direct > %s",
             share, shared_file, shared_file, mod, gone, gone, direct);
    const char *argv[] = {"sh", "-c", script, NULL};
    catbox_report *r = NULL;
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_OK);
    if (r == NULL) {
        catbox_config_free(c);
        return;
    }
    CHECK(catbox_report_exit_code(r) == 0);
    CHECK(catbox_report_violations_len(r) == 0);
    CHECK(catbox_report_has_image(r));
    const char *dir = catbox_report_image_dir(r);
    CHECK(dir != NULL && strcmp(dir, image) == 0);

    /* The report lists each path as the program saw it. */
    CHECK(image_lists(r, 0, share));
    CHECK(image_lists(r, 0, shared_file));
    /* Only these two (not counting the whole list: unprivileged, a host
     * directory another process removes during the run is listed too). */
    CHECK(image_added_below(r, share) == 2);
    CHECK(image_added_below(r, ro) == 0);
    CHECK(image_lists(r, 1, mod));
    CHECK(catbox_report_image_modified_len(r) == 1);
    CHECK(image_lists(r, 2, gone));
    CHECK(catbox_report_image_removed_len(r) == 1);
    const char *p = NULL;
    size_t added = catbox_report_image_added_len(r);
    CHECK(catbox_report_image_added(r, added, &p) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("image added index"));
    CHECK(error_says("out of range"));
    CHECK(catbox_report_image_modified(r, 1, &p) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(catbox_report_image_removed(r, 1, &p) == CATBOX_ERR_INVALID_ARGUMENT);
    CHECK(error_says("image removed index 1 out of range"));
    CHECK(p == NULL);
    CHECK(catbox_report_image_added(r, 0, NULL) == CATBOX_ERR_NULL);
    CHECK(error_says("null parameter: out"));

    /* The image holds the writes at the same paths; the host is unchanged,
     * except in the writable paths. */
    char in_image[8400];
    snprintf(in_image, sizeof in_image, "%s%s", image, shared_file);
    CHECK(holds(in_image, "hi\n"));
    snprintf(in_image, sizeof in_image, "%s%s", image, mod);
    CHECK(holds(in_image, "new\n"));
    snprintf(in_image, sizeof in_image, "%s/.catbox-removed", image);
    char *removed = slurp(in_image);
    CHECK(removed != NULL && strstr(removed, gone) != NULL);
    free(removed);
    CHECK(access(share, F_OK) != 0);
    CHECK(holds(mod, "old\n"));
    CHECK(access(gone, F_OK) == 0);
    CHECK(holds(direct, "direct\n"));
    catbox_report_free(r);

    /* The same config again: the image directory is no longer empty. The
     * run fails before anything runs, saying so, and the image is kept. */
    CHECK(unlink(direct) == 0);
    catbox_report *sentinel = (catbox_report *)&failures;
    r = sentinel;
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_ERR_IMAGE);
    CHECK(error_says("not empty"));
    CHECK(error_says(image));
    CHECK(r == sentinel);
    CHECK(strcmp(catbox_status_string(CATBOX_ERR_IMAGE), "root view (image directory) failed") == 0);
    snprintf(in_image, sizeof in_image, "%s%s", image, shared_file);
    CHECK(holds(in_image, "hi\n"));
    CHECK(access(direct, F_OK) != 0);
    catbox_config_free(c);

    snprintf(script, sizeof script, "rm -rf '%s'", ro);
    if (system(script) != 0)
        fprintf(stderr, "warning: could not remove %s\n", ro);
}

/* A non-empty image directory fails the run before anything runs (so this
 * also works under valgrind) and keeps what the directory held. */
static void test_image_not_empty(void) {
    char image[4200], kept[4300], marker[4200];
    snprintf(image, sizeof image, "%s/full-image", tmpdir);
    snprintf(kept, sizeof kept, "%s/kept", image);
    snprintf(marker, sizeof marker, "%s/ran", tmpdir);
    CHECK(mkdir(image, 0755) == 0);
    FILE *f = fopen(kept, "w");
    CHECK(f != NULL && fputs("mine\n", f) >= 0 && fclose(f) == 0);

    catbox_config *c = catbox_config_new();
    CHECK(catbox_config_allow_write(c, tmpdir) == CATBOX_OK);
    CHECK(catbox_config_set_image(c, image) == CATBOX_OK);
    catbox_report *sentinel = (catbox_report *)&failures;
    catbox_report *r = sentinel;
    char script[8300];
    snprintf(script, sizeof script, "touch %s", marker);
    const char *argv[] = {"sh", "-c", script, NULL};
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_ERR_IMAGE);
    CHECK(error_says("root view: the image directory"));
    CHECK(error_says("is not empty"));
    CHECK(r == sentinel);
    CHECK(catbox_run_function(c, child_nothing, NULL, &r) == CATBOX_ERR_IMAGE);
    CHECK(r == sentinel);
    CHECK(access(marker, F_OK) != 0);
    CHECK(holds(kept, "mine\n"));

    /* A file is no image directory either. */
    CHECK(catbox_config_set_image(c, kept) == CATBOX_OK);
    CHECK(catbox_run_argv(c, argv, &r) == CATBOX_ERR_IMAGE);
    CHECK(error_says("is not a directory"));
    CHECK(r == sentinel);
    CHECK(holds(kept, "mine\n"));
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
        test_fakeroot();
        test_trace();
        test_image();
    }
    test_bad_fakeroot_state();
    test_image_not_empty();
    test_canonical();

    char cmd[8300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", tmpdir);

    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
