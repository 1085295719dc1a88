/* issue 8 case 5: open_by_handle_at on a file handle of an outside file.
 *
 *   escape_handle HANDLE_FILE MOUNT_DIR [NAME]
 *
 * HANDLE_FILE holds a raw struct file_handle (handle_bytes, handle_type,
 * f_handle) made outside the sandbox by name_to_handle_at; MOUNT_DIR is any
 * directory on the same filesystem.  Tries open_by_handle_at with O_WRONLY,
 * O_RDWR|O_TRUNC and O_WRONLY|O_APPEND, writing "pwned" through every fd it
 * gets, then O_RDONLY (a read, allowed) and a write through that fd.  With
 * NAME, also name_to_handle_at(NAME) from inside the sandbox.
 * One line per call: "WHAT -> RET errno=E".  Exit 0 if nothing was written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s HANDLE_FILE MOUNT_DIR [NAME]\n", argv[0]); return 2; }
    setvbuf(stdout, NULL, _IONBF, 0);
    static unsigned char raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    int hf = open(argv[1], O_RDONLY);
    if (hf < 0) { perror("open handle file"); return 2; }
    ssize_t n = read(hf, raw, sizeof raw);
    close(hf);
    if (n < (ssize_t)sizeof(struct file_handle)) { fprintf(stderr, "short handle\n"); return 2; }
    struct file_handle *h = (struct file_handle *)raw;
    int mfd = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (mfd < 0) { perror("open mount dir"); return 2; }
    int wrote = 0;
    static const struct { const char *name; int flags; } tries[] = {
        {"O_WRONLY", O_WRONLY},
        {"O_RDWR|O_TRUNC", O_RDWR | O_TRUNC},
        {"O_WRONLY|O_APPEND", O_WRONLY | O_APPEND},
    };
    for (unsigned i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        errno = 0;
        long fd = syscall(SYS_open_by_handle_at, mfd, h, tries[i].flags);
        printf("open_by_handle_at(%s) -> %ld errno=%s\n", tries[i].name, fd,
               fd < 0 ? strerrorname_np(errno) : "0");
        if (fd >= 0) {
            if (write((int)fd, "pwned\n", 6) > 0) wrote++;
            close((int)fd);
        }
    }
    errno = 0;
    long rfd = syscall(SYS_open_by_handle_at, mfd, h, O_RDONLY);
    printf("open_by_handle_at(O_RDONLY) -> %ld errno=%s\n", rfd, rfd < 0 ? strerrorname_np(errno) : "0");
    if (rfd >= 0) {
        errno = 0;
        long w = write((int)rfd, "pwned\n", 6);
        printf("write(read-only fd) -> %ld errno=%s\n", w, w < 0 ? strerrorname_np(errno) : "0");
        if (w > 0) wrote++;
    }
    if (argc > 3) {
        unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
        struct file_handle *h2 = (struct file_handle *)buf;
        h2->handle_bytes = MAX_HANDLE_SZ;
        int mount_id;
        errno = 0;
        long r = syscall(SYS_name_to_handle_at, AT_FDCWD, argv[3], h2, &mount_id, 0);
        printf("name_to_handle_at -> %ld errno=%s\n", r, r < 0 ? strerrorname_np(errno) : "0");
    }
    printf("wrote=%d\n", wrote);
    return wrote ? 1 : 0;
}
