/* issue 8 case 3: io_uring operations that open and write a file, with raw
 * system calls (no liburing): io_uring_setup, then IORING_OP_OPENAT
 * (O_WRONLY|O_CREAT) and IORING_OP_WRITE on PATH.  The operations run in the
 * kernel's io_uring workers, where no seccomp filter or tracer sees them.
 *
 *   escape_io_uring PATH
 *
 * Prints "io_uring_setup -> RET errno=E"; exit 1 if the setup failed, 0 if
 * the file was opened and written through the ring, 3 on a later failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
} R;

static long run_one(struct io_uring_sqe *tmpl) {
    unsigned tail = *R.sq_tail, idx = tail & *R.sq_mask;
    R.sqes[idx] = *tmpl;
    R.sq_array[idx] = idx;
    __atomic_store_n(R.sq_tail, tail + 1, __ATOMIC_RELEASE);
    long r = syscall(SYS_io_uring_enter, R.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    if (r < 0) return -errno;
    unsigned head = __atomic_load_n(R.cq_head, __ATOMIC_ACQUIRE);
    if (head == __atomic_load_n(R.cq_tail, __ATOMIC_ACQUIRE)) return -EAGAIN;
    long res = R.cqes[head & *R.cq_mask].res;
    __atomic_store_n(R.cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PATH\n", argv[0]); return 2; }
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    errno = 0;
    long fd = syscall(SYS_io_uring_setup, 4, &p);
    printf("io_uring_setup -> %ld errno=%d\n", fd, fd < 0 ? errno : 0);
    fflush(stdout);
    if (fd < 0) return 1;
    R.fd = (int)fd;
    size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(0, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, R.fd, IORING_OFF_SQ_RING);
    char *cq = mmap(0, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, R.fd, IORING_OFF_CQ_RING);
    R.sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_POPULATE, R.fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || R.sqes == MAP_FAILED) { perror("mmap"); return 3; }
    R.sq_tail = (unsigned *)(sq + p.sq_off.tail);
    R.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    R.sq_array = (unsigned *)(sq + p.sq_off.array);
    R.cq_head = (unsigned *)(cq + p.cq_off.head);
    R.cq_tail = (unsigned *)(cq + p.cq_off.tail);
    R.cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    R.cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);

    struct io_uring_sqe s;
    memset(&s, 0, sizeof s);
    s.opcode = IORING_OP_OPENAT;
    s.fd = AT_FDCWD;
    s.addr = (unsigned long)argv[1];
    s.open_flags = O_WRONLY | O_CREAT | O_TRUNC;
    s.len = 0644;
    long ofd = run_one(&s);
    printf("IORING_OP_OPENAT -> %ld\n", ofd);
    if (ofd < 0) return 3;
    static const char msg[] = "written through io_uring\n";
    memset(&s, 0, sizeof s);
    s.opcode = IORING_OP_WRITE;
    s.fd = (int)ofd;
    s.addr = (unsigned long)msg;
    s.len = sizeof msg - 1;
    s.off = 0;
    long w = run_one(&s);
    printf("IORING_OP_WRITE -> %ld\n", w);
    return w == (long)(sizeof msg - 1) ? 0 : 3;
}
