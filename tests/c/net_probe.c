/* Network probe for tests/network.rs.  Runs a list of operations on a
 * "current" socket and prints one line per operation: NAME=RET/ERRNO
 * (ERRNO is 0 on success).  Always exits 0 unless the arguments are bad.
 *
 *   socket4 | socket6 | socketu | socketnl | udp4 | udp6
 *                          create a socket (stream; udp* = datagram), make it current
 *   fd N                   make the inherited descriptor N current
 *   connect4 PORT          connect to 127.0.0.1:PORT
 *   connect6 PORT          connect to [::1]:PORT
 *   connectu PATH          connect to the unix socket PATH
 *   sendto4 PORT | sendto6 PORT     sendto("ping") to 127.0.0.1 / ::1
 *   sendmsg4 PORT | sendmsg6 PORT   sendmsg("ping") with msg_name set
 *   write TEXT             write TEXT to the current socket
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void report(const char *name, long ret) {
    printf("%s=%ld/%d\n", name, ret, ret < 0 ? errno : 0);
    fflush(stdout);
}

static socklen_t addr(const char *op, const char *arg, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    size_t n = strlen(op);
    char fam = op[n - 1];
    if (fam == '4') {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)atoi(arg));
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sizeof *a;
    }
    if (fam == '6') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)atoi(arg));
        a->sin6_addr = in6addr_loopback;
        return sizeof *a;
    }
    struct sockaddr_un *a = (struct sockaddr_un *)ss;
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s", arg);
    return sizeof *a;
}

int main(int argc, char **argv) {
    int cur = -1;
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        const char *arg = i + 1 < argc ? argv[i + 1] : 0;
        struct sockaddr_storage ss;
        if (!strcmp(op, "socket4")) {
            report(op, cur = socket(AF_INET, SOCK_STREAM, 0));
        } else if (!strcmp(op, "socket6")) {
            report(op, cur = socket(AF_INET6, SOCK_STREAM, 0));
        } else if (!strcmp(op, "socketu")) {
            report(op, cur = socket(AF_UNIX, SOCK_STREAM, 0));
        } else if (!strcmp(op, "socketnl")) {
            report(op, cur = socket(AF_NETLINK, SOCK_RAW, 0));
        } else if (!strcmp(op, "udp4")) {
            report(op, cur = socket(AF_INET, SOCK_DGRAM, 0));
        } else if (!strcmp(op, "udp6")) {
            report(op, cur = socket(AF_INET6, SOCK_DGRAM, 0));
        } else if (!arg) {
            fprintf(stderr, "net_probe: %s needs an argument\n", op);
            return 2;
        } else if (!strcmp(op, "fd")) {
            cur = atoi(arg);
            i++;
        } else if (!strncmp(op, "connect", 7)) {
            socklen_t len = addr(op, arg, &ss);
            report(op, connect(cur, (struct sockaddr *)&ss, len));
            i++;
        } else if (!strncmp(op, "sendto", 6)) {
            socklen_t len = addr(op, arg, &ss);
            report(op, sendto(cur, "ping", 4, 0, (struct sockaddr *)&ss, len));
            i++;
        } else if (!strncmp(op, "sendmsg", 7)) {
            socklen_t len = addr(op, arg, &ss);
            char buf[] = "ping";
            struct iovec iov = {buf, 4};
            struct msghdr m;
            memset(&m, 0, sizeof m);
            m.msg_name = &ss;
            m.msg_namelen = len;
            m.msg_iov = &iov;
            m.msg_iovlen = 1;
            report(op, sendmsg(cur, &m, 0));
            i++;
        } else if (!strcmp(op, "write")) {
            report(op, write(cur, arg, strlen(arg)));
            i++;
        } else {
            fprintf(stderr, "net_probe: unknown operation %s\n", op);
            return 2;
        }
    }
    return 0;
}
