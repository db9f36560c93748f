/* net.h — a container's network, the facade: set up and tear down (bridge, veth, nftables, DNS forwarder),
 * live allow/deny, show, blocked-attempt log, orphan cleanup. The state is one record file per container. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "net-link.h"
#include "net-nft.h"

/*
 * Usage (what `coi run` does around a container):
 *
 *     struct net_options o;
 *     net_options_init(&o);                 // defaults, then COI_NET_* from the environment if wanted
 *     struct net_container_config c = { .name = "box1", .netns_fd = -1, .pid = init_pid,
 *                                       .policy = { .mode = NET_MODE_ALLOWLIST },
 *                                       .allowed = (char *[]){ "*.github.com", "1.2.3.4", NULL } };
 *     struct net_container_info info;
 *     r = net_container_setup(&o, &c, &info, &err);   // then write info.dns into the rootfs resolv.conf
 *     …
 *     r = net_container_teardown(&o, "box1", &err);   // idempotent
 *
 * Every function is idempotent where that makes sense and safe to run from several processes at once
 * (an flock on STATE_DIR/lock). A container whose network namespace died without teardown (kill -9) is an
 * orphan: net_orphans_remove() removes what it left. NET_LINGER_MS after the last container went, the
 * forwarder takes the bridge and the table down and exits, so a host with no container has nothing of coi
 * in its network configuration; net_orphans_remove() does that at once.
 */

#define NET_STATE_DIR "/run/coi/net"
#define NET_BRIDGE    "coibr0"
#define NET_POOL      "10.209.0.0/16" /* not podman's 10.88/16, docker's 172.17/16 or libvirt's */
#define NET_LOG_GROUP 7
#define NET_NAME_MAX  48
/* How long the bridge, the table and the forwarder outlive the last container (a run of short `coi run`s
 * shares them instead of paying their set-up and removal each time). */
#define NET_LINGER_MS 2000

struct net_options {
        const char *state_dir;   /* NET_STATE_DIR */
        const char *bridge;      /* NET_BRIDGE */
        const char *pool;        /* NET_POOL: the bridge subnet is the first free /subnet_len in it */
        int subnet_len;          /* 24 */
        unsigned mtu;            /* 0: 1500 for the bridge, the bridge's for each veth */
        const char *resolv_conf; /* /etc/resolv.conf: the forwarder's upstream servers */
        uint16_t log_group;      /* NFLOG group of rejected packets: NET_LOG_GROUP */
};

/* Defaults; then the environment variables COI_NET_STATE_DIR, COI_NET_BRIDGE, COI_NET_POOL and
 * COI_NET_RESOLV_CONF override when use_env (the CLI and the tests use them). */
void net_options_init(struct net_options *o, bool use_env);

struct net_container_config {
        const char *name; /* [A-Za-z0-9_.-], at most NET_NAME_MAX */
        int netns_fd;     /* the container's network namespace, or -1 to use pid */
        pid_t pid;        /* a process in it (used when netns_fd < 0) */
        struct net_policy policy;
        char *const *allowed; /* NULL-terminated: names ("example.com", "*.example.com"), IPs, CIDRs */
        const char *ifname;   /* inside the container: "eth0" */
};

struct net_container_info {
        uint32_t addr; /* host order */
        int prefix_len;
        uint32_t gateway; /* the bridge address; also the DNS server to put in resolv.conf */
        char host_ifname[16];
};

int net_container_setup(const struct net_options *o, const struct net_container_config *c,
                        struct net_container_info *ret, struct coi_error *err);
/* Removes the veth, the container's chain, sets and map element, and its record; when it was the last
 * container, the bridge, the table and the forwarder too. A container that is not there is success. */
int net_container_teardown(const struct net_options *o, const char *name, struct coi_error *err);
/* Tears down every container whose veth is gone (its namespace died) and every chain without a record;
 * returns how many were removed. */
int net_orphans_remove(const struct net_options *o, struct coi_error *err);

/* Live changes. `what` is a name pattern or an IPv4 address/CIDR. allow: a name joins the allowlist (the
 * forwarder reads records at each query), a CIDR goes into the container's allowed set and out of the denied
 * one. deny: a name leaves the allowlist, gets refused by the forwarder, and the addresses it was answered
 * with leave the learned set; a CIDR leaves the allowed set and enters the denied one (cut at once, open
 * connections included). */
int net_allow(const struct net_options *o, const char *name, const char *what, struct coi_error *err);
int net_deny(const struct net_options *o, const char *name, const char *what, struct coi_error *err);

/* The container's network as text or JSON (malloc'ed in *ret). name NULL: every container. */
int net_show(const struct net_options *o, const char *name, bool json, char **ret, struct coi_error *err);
/* Blocked attempts seen by the forwarder (refused names), one line each, oldest first (malloc'ed). */
int net_blocked_read(const struct net_options *o, const char *name, char **ret, struct coi_error *err);

/* ---- the policy record: the one format of a container's network policy (net-record.c) ----
 *
 * A JSON object: {"mode": "restricted|allowlist|open", "allow_local_network_access": bool,
 * "block_metadata_endpoint": bool, "block_private_networks": bool, "allowed": [names and CIDRs],
 * "denied": [names and CIDRs]} ("denied" may be absent). The container layer keeps it as
 * containers/NAME/network.json, the policy every start applies; the runtime record below holds the live
 * one (that policy plus `coi network allow/deny`) under "policy" while the network exists. */

struct net_policy_record {
        struct net_policy policy;
        char **allow; /* name patterns and CIDRs, as given */
        char **deny;
};

void net_policy_record_done(struct net_policy_record *rec);
/* Writes rec to dirfd/path atomically with the given mode. */
int net_policy_record_save_at(int dirfd, const char *path, const struct net_policy_record *rec, mode_t mode,
                              struct coi_error *err);
/* Reads dirfd/path; what names it in errors. -ENOENT when there is none. */
int net_policy_record_load_at(int dirfd, const char *path, const char *what, struct net_policy_record *ret,
                              struct coi_error *err);

/* ---- the runtime record of one container (STATE_DIR/containers/NAME), shared with net-dns.c ----
 * JSON: {"address": "10.209.0.2", "host_interface": "coi-…", "policy": {the live policy record}}. */

struct net_record {
        char name[NET_NAME_MAX + 1];
        uint32_t addr;
        char host_ifname[16];
        struct net_policy policy; /* the live policy, in the policy record's format */
        char **allow;             /* name patterns and CIDRs, as given */
        char **deny;
};

bool net_name_valid(const char *name);
int net_record_load(const char *state_dir, const char *name, struct net_record *ret, struct coi_error *err);
int net_record_save(const char *state_dir, const struct net_record *rec, struct coi_error *err);
void net_record_done(struct net_record *rec);
/* Names of every record (NULL-terminated, possibly empty). */
int net_record_list(const char *state_dir, char ***ret, struct coi_error *err);
