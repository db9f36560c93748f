/* net-dns.h — the containers' DNS forwarder: UDP and TCP on the bridge address, forwards to the host's
 * resolvers, logs every query, answers only allowlisted names in allowlist mode and opens their addresses. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define NET_DNS_RCODE_SERVFAIL 2
#define NET_DNS_RCODE_NXDOMAIN 3
#define NET_DNS_RCODE_REFUSED  5

struct net_dns_config {
        const char *state_dir;   /* containers/NAME records (net-record.c) and dns.log */
        uint32_t listen_addr;    /* host order: the bridge address */
        uint16_t port;           /* 53 */
        const char *resolv_conf; /* upstream servers: its `nameserver` IPv4 lines */
        int ready_fd;  /* written "ok" once listening, or the error message; then closed (-1: none) */
        int linger_ms; /* return once no container record was left for this long */
};

/* Serves until no container record was left in state_dir for linger_ms (checked at least every second),
 * then closes its sockets and returns 0; or until SIGTERM. Runs in a process of its own (net.c starts it,
 * and removes the host pieces when it returns, unless a container came meanwhile: then it calls again). */
int net_dns_run(const struct net_dns_config *cfg, struct coi_error *err);

/* Pure helpers, exposed for the unit tests. */

/* "example.com" matches only itself; "*.example.com" matches every name below example.com (not
 * example.com itself). Case-insensitive, a trailing dot is ignored. */
bool net_dns_name_matches(const char *pattern, const char *name);
/* Reads the question: name (lower case, no trailing dot), type, and the offset after the question. */
int net_dns_parse_question(const uint8_t *msg, size_t len, char *name, size_t name_size, uint16_t *ret_type,
                           size_t *ret_end);
/* Calls fn for every A record of the answer section (address in host order, TTL in seconds). Returns the
 * number of A records or -EBADMSG. */
int net_dns_for_each_a(const uint8_t *msg, size_t len, void (*fn)(uint32_t addr, uint32_t ttl, void *data),
                       void *data);
/* Builds an answer with rcode and no records for the query in out (at least qlen bytes); returns its length
 * or -EBADMSG. */
int net_dns_make_error(const uint8_t *query, size_t qlen, int rcode, uint8_t *out, size_t out_size);
/* The IPv4 `nameserver` lines of a resolv.conf, at most max; returns how many. */
int net_resolv_conf_servers(const char *path, uint32_t *ret, size_t max, struct coi_error *err);
