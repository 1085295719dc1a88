/*
 * sandbox: run a command with writes confined to one directory, and print
 * each violation as the `catbox` command does:
 *
 *   catbox: violation: openat "/etc/x" -> "/etc/x" (pid 123, EACCES)
 *
 * Usage: sandbox [--image DIR] WRITABLE_DIR COMMAND [ARG...]
 *
 * With --image DIR (the root view), the command sees the host's whole tree
 * and its writes outside WRITABLE_DIR land in DIR (new or empty) instead of
 * the host; at the end it prints, as `catbox --image` does,
 *
 *   catbox: image DIR: 2 added, 0 modified, 0 removed
 *
 * Exit status: the command's (128+N if killed by signal N); 125 if catbox
 * itself failed, 126/127 if the command cannot be executed / is not found.
 *
 * Build against an installed libcatbox (see catbox-ffi/README.md):
 *
 *   cc -Wall -Wextra -Werror sandbox.c -o sandbox \
 *      $(pkg-config --cflags --libs catbox) \
 *      -Wl,-rpath,$(pkg-config --variable=libdir catbox)
 */
#include <catbox.h>

#include <stdio.h>
#include <string.h>

/* Print s in double quotes, escaped as the catbox command (Rust's `{:?}`)
 * prints it: \" \\ \t \r \n \0 and other control characters as \u{hex}.
 * Bytes from 0x80 up are printed as they are (UTF-8 text). */
static void print_quoted(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        case '\n': fputs("\\n", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u{%x}", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* Called by catbox for each violation, as it happens. */
static void on_violation(const catbox_violation *v, void *user_data) {
    FILE *out = user_data;
    fprintf(out, "catbox: violation: %s ", v->operation);
    print_quoted(out, v->path);
    fputs(" -> ", out);
    print_quoted(out, v->canonical);
    if (v->errno_name != NULL)
        fprintf(out, " (pid %d, %s)\n", v->pid, v->errno_name);
    else
        fprintf(out, " (pid %d, allowed: collect-only)\n", v->pid);
    fflush(out);
}

static int fail(const char *what, int status) {
    const char *msg = catbox_last_error();
    fprintf(stderr, "catbox: %s: %s\n", what, msg ? msg : catbox_status_string(status));
    switch (status) {
    case CATBOX_ERR_COMMAND_NOT_FOUND: return 127;
    case CATBOX_ERR_NOT_EXECUTABLE: return 126;
    default: return 125;
    }
}

int main(int argc, char **argv) {
    const char *image = NULL;
    if (argc >= 3 && strcmp(argv[1], "--image") == 0) {
        image = argv[2];
        argc -= 2;
        argv += 2;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: sandbox [--image DIR] WRITABLE_DIR COMMAND [ARG...]\n");
        return 125;
    }

    catbox_config *config = catbox_config_new();
    if (config == NULL)
        return fail("cannot create a configuration", CATBOX_ERR_OTHER);

    int status = catbox_config_allow_write(config, argv[1]);
    if (status != CATBOX_OK) {
        catbox_config_free(config);
        return fail("bad writable directory", status);
    }
    if (image != NULL && (status = catbox_config_set_image(config, image)) != CATBOX_OK) {
        catbox_config_free(config);
        return fail("bad image directory", status);
    }
    catbox_config_set_violation_callback(config, on_violation, stderr);

    catbox_report *report = NULL;
    status = catbox_run_argv(config, (const char *const *)&argv[2], &report);
    catbox_config_free(config);
    if (status != CATBOX_OK)
        return fail("cannot run the command", status);

    /* The report also holds the violations: catbox_report_violations_len()
     * and catbox_report_violation(report, i, &v); and with an image, each
     * path: catbox_report_image_added(report, i, &path) and so on. */
    if (catbox_report_has_image(report))
        fprintf(stderr, "catbox: image %s: %zu added, %zu modified, %zu removed\n",
                catbox_report_image_dir(report), catbox_report_image_added_len(report),
                catbox_report_image_modified_len(report),
                catbox_report_image_removed_len(report));
    int code = catbox_report_exit_code(report);
    if (code < 0)
        code = 128 + catbox_report_signal(report);
    catbox_report_free(report);
    return code;
}
