/* net-link.h — links, addresses and routes through rtnetlink (libnl-route): the host bridge, a veth pair
 * per container, the container side's address, default route, MTU and IPv6 switch. No firewall here. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* An IPv4 prefix in host byte order: 10.88.0.0/24 is { 0x0a580000, 24 }. */
struct net_prefix {
        uint32_t addr;
        int len;
};

/* Parses "10.88.0.0/16" (or a bare address, as /32). The address is masked to the prefix. */
int net_prefix_parse(const char *s, struct net_prefix *ret, struct coi_error *err);
/* Formats a host-order address as dotted quad into buf (at least 16 bytes); returns buf. */
char *net_ipv4_format(uint32_t addr, char *buf);
uint32_t net_prefix_mask(int len);
bool net_prefix_overlaps(const struct net_prefix *a, const struct net_prefix *b);

/* Picks the first /len subnet of pool that overlaps neither any route in any of the current network
 * namespace's routing tables nor any address configured on it. */
int net_subnet_pick(const struct net_prefix *pool, int len, struct net_prefix *ret, struct coi_error *err);

/* Creates the bridge if missing (up, with addr/len and mtu; mtu 0 = kernel default). If the bridge
 * exists, its first IPv4 address is returned in ret_addr instead and nothing is changed. */
int net_bridge_ensure(const char *name, const struct net_prefix *addr, unsigned mtu,
                      struct net_prefix *ret_addr, struct coi_error *err);
/* Returns the bridge's IPv4 address/prefix in ret; -ENODEV if the bridge or its address is missing. */
int net_bridge_get_address(const char *name, struct net_prefix *ret, struct coi_error *err);
/* Number of links enslaved to the bridge (its ports); -ENODEV if it does not exist. */
int net_bridge_count_ports(const char *name, struct coi_error *err);
/* Deletes a link by name in the current namespace; a missing link is success. */
int net_link_delete(const char *name, struct coi_error *err);
bool net_link_exists(const char *name);

struct net_veth_config {
        const char *host_name; /* host side, enslaved to bridge, isolated port */
        const char *bridge;    /* bridge name in the current namespace */
        int netns_fd;          /* the container's network namespace */
        const char *peer_name; /* name inside the container, e.g. "eth0" */
        uint32_t peer_addr;    /* host order */
        int prefix_len;        /* of the bridge subnet */
        uint32_t gateway;      /* host order: the bridge address */
        unsigned mtu;          /* 0 = the bridge's MTU */
        bool disable_ipv6;     /* sysctl net.ipv6.conf.{all,default}.disable_ipv6=1 in the netns */
};

/* Creates the veth pair with the peer directly inside netns_fd, enslaves the host side to the bridge as an
 * isolated port (containers cannot reach each other on layer 2), then configures lo, the peer's address,
 * its default route via the gateway and MTU inside the namespace. On failure nothing is left behind. */
int net_veth_setup(const struct net_veth_config *cfg, struct coi_error *err);

/* Writes a sysctl (path under /proc/sys) as seen from the network namespace netns_fd (-1 = current). */
int net_sysctl_write(int netns_fd, const char *path, const char *value, struct coi_error *err);
