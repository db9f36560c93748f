/* monitor-net.c — a container's sockets seen from the host: NETLINK_SOCK_DIAG dumps of TCP in its
 * network namespace, and what a remote address says (metadata endpoint, private range, C2 port). */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include "monitor-net.h"

int monitor_net_open(pid_t pid, int *ret_fd, struct coi_error *err)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
        _cleanup_close_ int target = open(path, O_RDONLY | O_CLOEXEC);
        if (target < 0)
                return coi_error_set(err, errno, "open %s: %m", path);
        _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return coi_error_set(err, errno, "open /proc/self/ns/net: %m");
        /* A netlink socket belongs to the namespace it was made in: make it there, come straight back. */
        if (setns(target, CLONE_NEWNET) < 0)
                return coi_error_set(err, errno, "enter the network namespace of %d: %m", (int)pid);
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        int saved = errno;
        if (setns(self, CLONE_NEWNET) < 0) {
                if (fd >= 0)
                        close(fd);
                return coi_error_set(err, errno, "return to the host's network namespace: %m");
        }
        if (fd < 0)
                return coi_error_set(err, saved, "sock_diag socket in the network namespace of %d: %s",
                                     (int)pid, strerror(saved));
        *ret_fd = fd;
        return 0;
}

static int dump_one(int fd, uint8_t family, uint8_t proto, struct monitor_sock **v, size_t *n, size_t *cap,
                    struct coi_error *err)
{
        struct {
                struct nlmsghdr nh;
                struct inet_diag_req_v2 req;
        } msg = { .nh = { .nlmsg_len = sizeof(msg),
                          .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                          .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                  .req = { .sdiag_family = family, .sdiag_protocol = proto, .idiag_states = ~0u } };
        if (send(fd, &msg, sizeof(msg), 0) < 0)
                return coi_error_set(err, errno, "sock_diag request: %m");
        static __thread char buf[32768];
        for (;;) {
                ssize_t len = recv(fd, buf, sizeof(buf), 0);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        return coi_error_set(err, errno, "sock_diag answer: %m");
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
                     h = NLMSG_NEXT(h, len)) {
                        if (h->nlmsg_type == NLMSG_DONE)
                                return 0;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                /* no IPv6 in that namespace (or no UDP diag module): nothing to list */
                                if (e->error == -ENOENT || e->error == -EAFNOSUPPORT || e->error == -EINVAL)
                                        return 0;
                                return coi_error_set(err, -e->error, "sock_diag: %s", strerror(-e->error));
                        }
                        const struct inet_diag_msg *m = NLMSG_DATA(h);
                        if (*n == *cap) {
                                size_t nc = *cap ? *cap * 2 : 64;
                                struct monitor_sock *nv = realloc(*v, nc * sizeof(**v));
                                if (!nv)
                                        return coi_error_set(err, ENOMEM, "sockets: %m");
                                *v = nv;
                                *cap = nc;
                        }
                        struct monitor_sock *s = &(*v)[(*n)++];
                        memset(s, 0, sizeof(*s));
                        s->inode = m->idiag_inode;
                        s->family = m->idiag_family;
                        s->proto = proto;
                        s->state = m->idiag_state;
                        memcpy(s->src, m->id.idiag_src, 16);
                        memcpy(s->dst, m->id.idiag_dst, 16);
                        s->sport = ntohs(m->id.idiag_sport);
                        s->dport = ntohs(m->id.idiag_dport);
                }
        }
}

int monitor_net_dump(int fd, struct monitor_sock **ret, size_t *ret_n, struct coi_error *err)
{
        static const uint8_t families[] = { AF_INET, AF_INET6 }, protos[] = { IPPROTO_TCP };
        struct monitor_sock *v = NULL;
        size_t n = 0, cap = 0;
        for (size_t f = 0; f < ELEMENTSOF(families); f++)
                for (size_t p = 0; p < ELEMENTSOF(protos); p++) {
                        int r = dump_one(fd, families[f], protos[p], &v, &n, &cap, err);
                        if (r < 0) {
                                free(v);
                                return r;
                        }
                }
        *ret = v;
        *ret_n = n;
        return 0;
}

void monitor_sock_addr(const struct monitor_sock *s, bool remote, char *buf, size_t size)
{
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(s->family, remote ? s->dst : s->src, ip, sizeof(ip));
        snprintf(buf, size, s->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
                 (unsigned)(remote ? s->dport : s->sport));
}

const char *monitor_tcp_state(uint8_t state)
{
        static const char *const names[] = { "UNKNOWN",    "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                             "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                             "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING" };
        return state < ELEMENTSOF(names) ? names[state] : "UNKNOWN";
}

enum monitor_dest monitor_net_classify(uint8_t family, const uint8_t a[16])
{
        if (family == AF_INET) {
                if (a[0] == 169 && a[1] == 254 && a[2] == 169 && a[3] == 254)
                        return MONITOR_DEST_METADATA;
                if (a[0] == 127)
                        return MONITOR_DEST_LOOPBACK;
                if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
                    (a[0] == 100 && (a[1] & 0xc0) == 64) || (a[0] == 169 && a[1] == 254))
                        return MONITOR_DEST_PRIVATE;
                return MONITOR_DEST_PUBLIC;
        }
        static const uint8_t loop6[16] = { [15] = 1 };
        static const uint8_t ec2[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 };
        if (memcmp(a, ec2, 16) == 0)
                return MONITOR_DEST_METADATA;
        if (memcmp(a, loop6, 16) == 0)
                return MONITOR_DEST_LOOPBACK;
        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        if (memcmp(a, mapped, 12) == 0) {
                uint8_t v4[16] = { a[12], a[13], a[14], a[15] };
                return monitor_net_classify(AF_INET, v4);
        }
        if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
                return MONITOR_DEST_PRIVATE;
        return MONITOR_DEST_PUBLIC;
}

bool monitor_net_c2_port(uint16_t port)
{
        static const uint16_t ports[] = {
                1337, 4444, 4445, 5555, 6666, 6667, 6697, 9001, 12345, 31337, 54321
        };
        for (size_t i = 0; i < ELEMENTSOF(ports); i++)
                if (ports[i] == port)
                        return true;
        return false;
}
