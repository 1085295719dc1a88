/* mknod with an inline `syscall` instruction: the x86_64 syscall ABI
 * preserves every register but rax, rcx and r11, so the mode (rsi) and the
 * device (rdx) must hold what the program put there after the call, even
 * when fakeroot mode turned the device node into a regular file.
 * Usage: fakeroot_mknod_regs PATH; prints "ret=R rsi=... rdx=..." and exits
 * 0 when both registers are unchanged. */
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    long mode = 020644, dev = (long)makedev(1, 3), rsi, rdx, ret;
    asm volatile("syscall"
                 : "=a"(ret), "=S"(rsi), "=d"(rdx)
                 : "0"((long)SYS_mknod), "D"(argv[1]), "1"(mode), "2"(dev)
                 : "rcx", "r11", "memory");
    printf("ret=%ld rsi=%lo rdx=%lx (put there: rsi=%lo rdx=%lx)\n", ret, rsi, rdx, mode, dev);
    return !(ret == 0 && rsi == mode && rdx == dev);
}
