/* net-nft.h — coi's nftables state through libnftnl/libmnl: the one table `inet coi` (verdict map, base
 * chains, masquerade) and, per container, a chain and two sets that teardown removes exactly. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "net-link.h"

#define NET_NFT_TABLE "coi"

/* What a container may reach (docs/network.md). */
enum net_mode {
        NET_MODE_RESTRICTED, /* internet yes; private ranges, link-local, CGNAT and the host: rejected */
        NET_MODE_ALLOWLIST,  /* only addresses learned from allowlisted names, and literal prefixes */
        NET_MODE_OPEN,       /* everything, minus the block_* switches */
};

const char *net_mode_to_string(enum net_mode mode);
int net_mode_from_string(const char *s, enum net_mode *ret);

struct net_policy {
        enum net_mode mode;
        bool allow_local_network_access; /* restricted/allowlist: private ranges and the host are fine */
        bool block_metadata_endpoint;    /* open: reject 169.254.169.254 */
        bool block_private_networks;     /* open: reject private ranges and the host */
};

/* Creates the table (verdict map `containers`, chains forward/input/postrouting, masquerade of subnet
 * leaving through any other interface than bridge) unless it exists already. */
int net_nft_host_ensure(const char *bridge, const struct net_prefix *subnet, struct coi_error *err);
/* Deletes the whole table; a missing table is success. */
int net_nft_host_remove(struct coi_error *err);
bool net_nft_host_exists(void);

/* Adds, in one transaction: sets `a-NAME` (addresses learned from DNS, with timeouts), `p-NAME` (literal
 * prefixes allowed) and `d-NAME` (literal prefixes denied), chain `ct-NAME` with the policy's rules, and the
 * map element addr → jump ct-NAME. Rejected packets are logged to NFLOG group log_group with the prefix
 * "coi NAME ". */
int net_nft_container_add(const char *name, uint32_t addr, uint32_t bridge_addr,
                          const struct net_policy *policy, uint16_t log_group, struct coi_error *err);
/* Removes exactly what net_nft_container_add added; pieces already gone are fine. */
int net_nft_container_remove(const char *name, uint32_t addr, struct coi_error *err);

/* Adds addr to `a-NAME` with a timeout (ms, 0 = none), replacing an existing element's timeout. */
int net_nft_learned_add(const char *name, uint32_t addr, uint64_t timeout_ms, struct coi_error *err);
/* Removes addr from `a-NAME`; absent is success. */
int net_nft_learned_del(const char *name, uint32_t addr, struct coi_error *err);
/* Adds / removes a literal prefix in `p-NAME` (deny = false) or `d-NAME` (deny = true); adding twice or
 * removing an absent prefix is success. */
int net_nft_prefix_add(const char *name, bool deny, const struct net_prefix *p, struct coi_error *err);
int net_nft_prefix_del(const char *name, bool deny, const struct net_prefix *p, struct coi_error *err);

struct net_nft_elem {
        uint32_t addr;       /* host order */
        int len;             /* prefix length (32 for `a-` sets) */
        uint64_t expires_ms; /* remaining time; 0 = no timeout */
};
/* Lists one of the container's sets: 'a', 'p' or 'd'. *ret is malloc'ed. */
int net_nft_list(const char *name, char set, struct net_nft_elem **ret, size_t *ret_n, struct coi_error *err);
/* Names of the containers that have a chain in the table (NULL-terminated strv; empty if no table). */
int net_nft_list_containers(char ***ret, struct coi_error *err);
/* The address the map `containers` sends to the container's chain; -ENOENT when no element does. */
int net_nft_container_addr(const char *name, uint32_t *ret, struct coi_error *err);

/* Who dialled what and was rejected: one packet logged by a container's rules. */
struct net_blocked_packet {
        struct timespec time;  /* when it was read (CLOCK_REALTIME) */
        char prefix[64];       /* "coi NAME " */
        uint32_t saddr, daddr; /* host order */
        uint8_t proto;         /* IPPROTO_* */
        uint16_t dport;        /* TCP/UDP only, else 0 */
};
/* Binds NFLOG group (one reader per group at a time: EBUSY otherwise) and calls fn for every packet until fn
 * returns non-zero or timeout_ms passes (-1: forever). */
int net_nflog_follow(uint16_t group, int timeout_ms, int (*fn)(const struct net_blocked_packet *, void *),
                     void *data, struct coi_error *err);

/* Shared by net-nft.c and net-nft-read.c. */
struct mnl_socket;
int net_nft_socket_open(struct mnl_socket **ret, struct coi_error *err);
/* "a-NAME", "p-NAME", "d-NAME". */
void net_nft_set_name(char *buf, size_t size, char kind, const char *name);
