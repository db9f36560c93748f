/* monitor-net.h — a container's sockets seen from the host: NETLINK_SOCK_DIAG dumps of TCP in its
 * network namespace, and what a remote address says (metadata endpoint, private range, C2 port). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct monitor_sock {
        uint32_t inode;
        uint8_t family; /* AF_INET, AF_INET6 */
        uint8_t proto;  /* IPPROTO_TCP, IPPROTO_UDP */
        uint8_t state;  /* TCP_ESTABLISHED … (linux/tcp.h numbering) */
        uint8_t src[16], dst[16];
        uint16_t sport, dport;
};

/* A NETLINK_SOCK_DIAG socket in the network namespace of pid (made there by a short setns). */
int monitor_net_open(pid_t pid, int *ret_fd, struct coi_error *err);
/* Every TCP socket (IPv4 and IPv6) of fd's namespace; *ret allocated. (UDP is not dumped: no rule
 * uses it, and every dump costs on each tick.) */
int monitor_net_dump(int fd, struct monitor_sock **ret, size_t *ret_n, struct coi_error *err);

/* "1.2.3.4:80" or "[::1]:80". */
void monitor_sock_addr(const struct monitor_sock *s, bool remote, char *buf, size_t size);
const char *monitor_tcp_state(uint8_t state);

enum monitor_dest {
        MONITOR_DEST_PUBLIC,
        MONITOR_DEST_LOOPBACK,
        MONITOR_DEST_PRIVATE,  /* RFC 1918, CGNAT, link-local, ULA */
        MONITOR_DEST_METADATA, /* 169.254.169.254, fd00:ec2::254 */
};
enum monitor_dest monitor_net_classify(uint8_t family, const uint8_t addr[16]);
/* Ports reverse shells and C2 frameworks use by default (4444, 1337, 31337, …). */
bool monitor_net_c2_port(uint16_t port);
