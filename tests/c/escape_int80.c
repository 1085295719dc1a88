/* issue 8 case 1: the 32-bit system call interface (int 0x80) from an x86_64
 * process.  creat(PATH, 0644) is made with the i386 number (8), the path in a
 * buffer below 4 GiB (MAP_32BIT) since the 32-bit ABI truncates pointers.
 *
 *   escape_int80 PATH
 *
 * Prints "int80 creat -> RET" if the call returns (natively: a new fd, or
 * -ENOSYS where the kernel has no ia32 emulation) and exits 0; under catbox
 * the seccomp filter kills the process with SIGSYS before the call runs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PATH\n", argv[0]); return 2; }
    char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (buf == MAP_FAILED || strlen(argv[1]) >= 4096) { perror("mmap"); return 2; }
    strcpy(buf, argv[1]);
    fprintf(stderr, "int80: creat(%s) via int 0x80\n", buf);
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(8L /* __NR_creat, i386 */), "b"((long)buf), "c"(0644L)
                     : "memory");
    printf("int80 creat -> %ld\n", ret);
    if (ret >= 0) {
        /* write through the fd with the 32-bit write (4) too */
        long w;
        __asm__ volatile("int $0x80" : "=a"(w) : "a"(4L), "b"(ret), "c"((long)buf), "d"(1L) : "memory");
        printf("int80 write -> %ld\n", w);
    }
    return 0;
}
