/* net-link.c — links, addresses and routes through rtnetlink (libnl-route): the host bridge, a veth pair
 * per container, the container side's address, default route, MTU and IPv6 switch. No firewall here. */
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "net-link.h"

DEFINE_POINTER_CLEANUP(struct nl_sock, nl_socket_free, nl_sock_freep)
DEFINE_POINTER_CLEANUP(struct rtnl_link, rtnl_link_put, rtnl_link_putp)
DEFINE_POINTER_CLEANUP(struct rtnl_addr, rtnl_addr_put, rtnl_addr_putp)
DEFINE_POINTER_CLEANUP(struct rtnl_route, rtnl_route_put, rtnl_route_putp)
DEFINE_POINTER_CLEANUP(struct nl_addr, nl_addr_put, nl_addr_putp)
DEFINE_POINTER_CLEANUP(struct nl_cache, nl_cache_free, nl_cache_freep)
DEFINE_POINTER_CLEANUP(struct nl_msg, nlmsg_free, nlmsg_freep)
#define _cleanup_nlsock_  _cleanup_(nl_sock_freep)
#define _cleanup_link_    _cleanup_(rtnl_link_putp)
#define _cleanup_addr_    _cleanup_(rtnl_addr_putp)
#define _cleanup_route_   _cleanup_(rtnl_route_putp)
#define _cleanup_nladdr_  _cleanup_(nl_addr_putp)
#define _cleanup_nlcache_ _cleanup_(nl_cache_freep)
#define _cleanup_nlmsg_   _cleanup_(nlmsg_freep)

/* libnl returns -NLE_* codes; callers of this module get errno values. */
static int nl_errno(int nlerr)
{
        switch (-nlerr) {
        case NLE_EXIST:
                return EEXIST;
        case NLE_OBJ_NOTFOUND:
        case NLE_NODEV:
                return ENODEV;
        case NLE_PERM:
                return EPERM;
        case NLE_NOMEM:
                return ENOMEM;
        case NLE_INVAL:
                return EINVAL;
        case NLE_BUSY:
                return EBUSY;
        case NLE_OPNOTSUPP:
                return EOPNOTSUPP;
        case NLE_NOADDR:
                return EADDRNOTAVAIL;
        default:
                return EIO;
        }
}

static int nl_fail(struct coi_error *err, int nlerr, const char *what, const char *obj)
{
        return coi_error_set(err, nl_errno(nlerr), "%s %s: %s", what, obj, nl_geterror(nlerr));
}

static int route_socket(struct nl_sock **ret, struct coi_error *err)
{
        _cleanup_nlsock_ struct nl_sock *sk = nl_socket_alloc();
        if (!sk)
                return coi_error_set(err, ENOMEM, "allocate rtnetlink socket");
        int r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_fail(err, r, "connect", "rtnetlink");
        *ret = TAKE_PTR(sk);
        return 0;
}

/* Runs with the calling thread inside netns_fd for the duration of fn, then switches back. A netlink
 * socket or a /proc/sys file opened meanwhile stays bound to that namespace. */
static int enter_netns(int netns_fd, int *ret_saved_fd, struct coi_error *err)
{
        _cleanup_close_ int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (saved < 0)
                return coi_error_set(err, errno, "open /proc/thread-self/ns/net: %m");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return coi_error_set(err, errno, "setns into the container's network namespace: %m");
        *ret_saved_fd = TAKE_FD(saved);
        return 0;
}

static int leave_netns(int saved_fd, struct coi_error *err)
{
        int r = setns(saved_fd, CLONE_NEWNET) < 0 ? -errno : 0;
        close(saved_fd);
        if (r < 0)
                return coi_error_set(err, -r, "setns back into the host network namespace: %m");
        return 0;
}

static int route_socket_in(int netns_fd, struct nl_sock **ret, struct coi_error *err)
{
        if (netns_fd < 0)
                return route_socket(ret, err);
        int saved = -1;
        int r = enter_netns(netns_fd, &saved, err);
        if (r < 0)
                return r;
        struct coi_error ignored = { 0 };
        r = route_socket(ret, err);
        int r2 = leave_netns(saved, r < 0 ? &ignored : err);
        if (r2 < 0 && r >= 0) {
                nl_socket_free(*ret);
                *ret = NULL;
                return r2;
        }
        return r;
}

uint32_t net_prefix_mask(int len)
{
        return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
}

int net_prefix_parse(const char *s, struct net_prefix *ret, struct coi_error *err)
{
        char buf[64];
        if (!s || strlen(s) >= sizeof(buf))
                return coi_error_set(err, EINVAL, "invalid IPv4 prefix '%s'", s ? s : "(null)");
        strcpy(buf, s);
        int len = 32;
        char *slash = strchr(buf, '/');
        if (slash) {
                *slash = '\0';
                char *end = NULL;
                errno = 0;
                long l = strtol(slash + 1, &end, 10);
                if (errno || !*(slash + 1) || *end || l < 0 || l > 32)
                        return coi_error_set(err, EINVAL, "invalid prefix length in '%s'", s);
                len = (int)l;
        }
        struct in_addr in;
        if (inet_pton(AF_INET, buf, &in) != 1)
                return coi_error_set(err, EINVAL, "invalid IPv4 address in '%s'", s);
        ret->addr = ntohl(in.s_addr) & net_prefix_mask(len);
        ret->len = len;
        return 0;
}

char *net_ipv4_format(uint32_t addr, char *buf)
{
        struct in_addr in = { .s_addr = htonl(addr) };
        inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
        return buf;
}

bool net_prefix_overlaps(const struct net_prefix *a, const struct net_prefix *b)
{
        int len = a->len < b->len ? a->len : b->len;
        uint32_t m = net_prefix_mask(len);
        return (a->addr & m) == (b->addr & m);
}

static int nladdr_to_prefix(struct nl_addr *a, struct net_prefix *ret)
{
        if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4)
                return -EINVAL;
        uint32_t be;
        memcpy(&be, nl_addr_get_binary_addr(a), 4);
        ret->len = nl_addr_get_prefixlen(a);
        ret->addr = ntohl(be) & net_prefix_mask(ret->len);
        return 0;
}

static struct nl_addr *prefix_to_nladdr(uint32_t addr, int len)
{
        uint32_t be = htonl(addr);
        struct nl_addr *a = nl_addr_build(AF_INET, &be, 4);
        if (a)
                nl_addr_set_prefixlen(a, len);
        return a;
}

int net_subnet_pick(const struct net_prefix *pool, int len, struct net_prefix *ret, struct coi_error *err)
{
        if (len < pool->len || len > 30)
                return coi_error_set(err, EINVAL, "subnet size /%d does not fit the pool /%d", len,
                                     pool->len);
        _cleanup_nlsock_ struct nl_sock *sk = NULL;
        int r = route_socket(&sk, err);
        if (r < 0)
                return r;
        _cleanup_nlcache_ struct nl_cache *routes = NULL, *addrs = NULL;
        r = rtnl_route_alloc_cache(sk, AF_INET, 0, &routes);
        if (r < 0)
                return nl_fail(err, r, "list", "routes");
        r = rtnl_addr_alloc_cache(sk, &addrs);
        if (r < 0)
                return nl_fail(err, r, "list", "addresses");

        uint64_t count = 1ull << (len - pool->len);
        for (uint64_t i = 0; i < count; i++) {
                struct net_prefix cand = { pool->addr + (uint32_t)(i << (32 - len)), len };
                bool used = false;
                for (struct nl_object *o = nl_cache_get_first(routes); o && !used; o = nl_cache_get_next(o)) {
                        struct net_prefix p;
                        /* the default route overlaps everything; it is no reason to avoid a subnet */
                        if (nladdr_to_prefix(rtnl_route_get_dst((struct rtnl_route *)o), &p) == 0 &&
                            p.len > 0)
                                used = net_prefix_overlaps(&cand, &p);
                }
                for (struct nl_object *o = nl_cache_get_first(addrs); o && !used; o = nl_cache_get_next(o)) {
                        struct net_prefix p;
                        if (nladdr_to_prefix(rtnl_addr_get_local((struct rtnl_addr *)o), &p) == 0)
                                used = net_prefix_overlaps(&cand, &p);
                }
                if (!used) {
                        *ret = cand;
                        return 0;
                }
        }
        char buf[INET_ADDRSTRLEN];
        return coi_error_set(err, EADDRNOTAVAIL, "every /%d in the pool %s/%d is already routed on this host",
                             len, net_ipv4_format(pool->addr, buf), pool->len);
}

static int get_link(struct nl_sock *sk, const char *name, struct rtnl_link **ret, struct coi_error *err)
{
        int r = rtnl_link_get_kernel(sk, 0, name, ret);
        if (r < 0)
                return nl_fail(err, r, "look up link", name);
        return 0;
}

static int add_address(struct nl_sock *sk, int ifindex, const char *ifname, uint32_t addr, int len,
                       struct coi_error *err)
{
        _cleanup_addr_ struct rtnl_addr *a = rtnl_addr_alloc();
        _cleanup_nladdr_ struct nl_addr *local = prefix_to_nladdr(addr, len);
        if (!a || !local)
                return coi_error_set(err, ENOMEM, "allocate address for %s", ifname);
        rtnl_addr_set_ifindex(a, ifindex);
        int r = rtnl_addr_set_local(a, local);
        if (r >= 0)
                r = rtnl_addr_add(sk, a, 0);
        if (r < 0) {
                char buf[INET_ADDRSTRLEN];
                return coi_error_set(err, nl_errno(r), "add address %s/%d to %s: %s",
                                     net_ipv4_format(addr, buf), len, ifname, nl_geterror(r));
        }
        return 0;
}

static int first_ipv4(struct nl_sock *sk, int ifindex, struct net_prefix *ret)
{
        _cleanup_nlcache_ struct nl_cache *addrs = NULL;
        if (rtnl_addr_alloc_cache(sk, &addrs) < 0)
                return -EIO;
        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *)o;
                struct nl_addr *local = rtnl_addr_get_local(a);
                if (rtnl_addr_get_ifindex(a) != ifindex || !local || nl_addr_get_family(local) != AF_INET)
                        continue;
                uint32_t be;
                memcpy(&be, nl_addr_get_binary_addr(local), 4);
                ret->addr = ntohl(be);
                ret->len = nl_addr_get_prefixlen(local);
                return 0;
        }
        return -ENODEV;
}

int net_bridge_get_address(const char *name, struct net_prefix *ret, struct coi_error *err)
{
        _cleanup_nlsock_ struct nl_sock *sk = NULL;
        int r = route_socket(&sk, err);
        if (r < 0)
                return r;
        int ifindex = (int)if_nametoindex(name);
        if (ifindex == 0)
                return coi_error_set(err, ENODEV, "bridge %s does not exist", name);
        if (first_ipv4(sk, ifindex, ret) < 0)
                return coi_error_set(err, ENODEV, "bridge %s has no IPv4 address", name);
        return 0;
}

int net_bridge_ensure(const char *name, const struct net_prefix *addr, unsigned mtu,
                      struct net_prefix *ret_addr, struct coi_error *err)
{
        _cleanup_nlsock_ struct nl_sock *sk = NULL;
        int r = route_socket(&sk, err);
        if (r < 0)
                return r;
        _cleanup_link_ struct rtnl_link *existing = NULL;
        if (rtnl_link_get_kernel(sk, 0, name, &existing) == 0) {
                if (!rtnl_link_is_bridge(existing))
                        return coi_error_set(err, EEXIST, "link %s exists and is not a bridge", name);
                if (first_ipv4(sk, rtnl_link_get_ifindex(existing), ret_addr) < 0)
                        return coi_error_set(err, ENODEV, "bridge %s exists without an IPv4 address", name);
                return 0;
        }

        _cleanup_link_ struct rtnl_link *br = rtnl_link_bridge_alloc();
        if (!br)
                return coi_error_set(err, ENOMEM, "allocate bridge %s", name);
        rtnl_link_set_name(br, name);
        if (mtu)
                rtnl_link_set_mtu(br, mtu);
        r = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return nl_fail(err, r, "create bridge", name);

        _cleanup_link_ struct rtnl_link *created = NULL, *change = rtnl_link_alloc();
        r = get_link(sk, name, &created, err);
        if (r < 0 || !change) {
                net_link_delete(name, NULL);
                return r < 0 ? r : coi_error_set(err, ENOMEM, "allocate link change for %s", name);
        }
        r = add_address(sk, rtnl_link_get_ifindex(created), name, addr->addr, addr->len, err);
        if (r < 0) {
                net_link_delete(name, NULL);
                return r;
        }
        rtnl_link_set_flags(change, IFF_UP);
        r = rtnl_link_change(sk, created, change, 0);
        if (r < 0) {
                net_link_delete(name, NULL);
                return nl_fail(err, r, "bring up bridge", name);
        }
        *ret_addr = *addr;
        return 0;
}

int net_bridge_count_ports(const char *name, struct coi_error *err)
{
        _cleanup_nlsock_ struct nl_sock *sk = NULL;
        int r = route_socket(&sk, err);
        if (r < 0)
                return r;
        int ifindex = (int)if_nametoindex(name);
        if (ifindex == 0)
                return coi_error_set(err, ENODEV, "bridge %s does not exist", name);
        _cleanup_nlcache_ struct nl_cache *links = NULL;
        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
        if (r < 0)
                return nl_fail(err, r, "list", "links");
        int n = 0;
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o))
                if (rtnl_link_get_master((struct rtnl_link *)o) == ifindex)
                        n++;
        return n;
}

bool net_link_exists(const char *name)
{
        return if_nametoindex(name) != 0;
}

int net_link_delete(const char *name, struct coi_error *err)
{
        _cleanup_nlsock_ struct nl_sock *sk = NULL;
        int r = route_socket(&sk, err);
        if (r < 0)
                return r;
        _cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
        if (!l)
                return coi_error_set(err, ENOMEM, "allocate link %s", name);
        rtnl_link_set_name(l, name);
        r = rtnl_link_delete(sk, l);
        if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
                return nl_fail(err, r, "delete link", name);
        return 0;
}

/* IFLA_BRPORT_ISOLATED has no libnl setter: an isolated port only talks to non-isolated ones (the bridge
 * itself), so two containers on the bridge cannot reach each other on layer 2, below nftables' view. */
static int set_port_isolated(struct nl_sock *sk, int ifindex, const char *ifname, struct coi_error *err)
{
        _cleanup_nlmsg_ struct nl_msg *m = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
        if (!m)
                return coi_error_set(err, ENOMEM, "allocate bridge port message for %s", ifname);
        struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = ifindex };
        if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
                return coi_error_set(err, ENOMEM, "build bridge port message for %s", ifname);
        struct nlattr *protinfo = nla_nest_start(m, IFLA_PROTINFO | NLA_F_NESTED);
        if (!protinfo || nla_put_u8(m, IFLA_BRPORT_ISOLATED, 1) < 0)
                return coi_error_set(err, ENOMEM, "build bridge port message for %s", ifname);
        nla_nest_end(m, protinfo);
        int r = nl_send_auto(sk, m);
        if (r >= 0)
                r = nl_wait_for_ack(sk);
        if (r < 0)
                return nl_fail(err, r, "isolate bridge port", ifname);
        return 0;
}

static int set_up(struct nl_sock *sk, const char *name, unsigned mtu, struct coi_error *err)
{
        _cleanup_link_ struct rtnl_link *l = NULL, *change = rtnl_link_alloc();
        int r = get_link(sk, name, &l, err);
        if (r < 0)
                return r;
        if (!change)
                return coi_error_set(err, ENOMEM, "allocate link change for %s", name);
        rtnl_link_set_flags(change, IFF_UP);
        if (mtu)
                rtnl_link_set_mtu(change, mtu);
        r = rtnl_link_change(sk, l, change, 0);
        if (r < 0)
                return nl_fail(err, r, "bring up", name);
        return 0;
}

static int add_default_route(struct nl_sock *sk, int ifindex, const char *ifname, uint32_t gateway,
                             struct coi_error *err)
{
        _cleanup_route_ struct rtnl_route *rt = rtnl_route_alloc();
        _cleanup_nladdr_ struct nl_addr *dst = prefix_to_nladdr(0, 0), *gw = prefix_to_nladdr(gateway, 32);
        struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
        if (!rt || !dst || !gw || !nh) {
                if (nh)
                        rtnl_route_nh_free(nh);
                return coi_error_set(err, ENOMEM, "allocate default route for %s", ifname);
        }
        rtnl_route_set_family(rt, AF_INET);
        rtnl_route_set_dst(rt, dst);
        rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_add_nexthop(rt, nh); /* rt owns nh from here */
        int r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return nl_fail(err, r, "add default route via", ifname);
        return 0;
}

static int configure_peer(const struct net_veth_config *cfg, unsigned mtu, struct coi_error *err)
{
        _cleanup_nlsock_ struct nl_sock *sk = NULL;
        int r = route_socket_in(cfg->netns_fd, &sk, err);
        if (r < 0)
                return r;
        r = set_up(sk, "lo", 0, err);
        if (r < 0)
                return r;
        r = set_up(sk, cfg->peer_name, mtu, err);
        if (r < 0)
                return r;
        int ifindex = 0;
        {
                _cleanup_link_ struct rtnl_link *peer = NULL;
                r = get_link(sk, cfg->peer_name, &peer, err);
                if (r < 0)
                        return r;
                ifindex = rtnl_link_get_ifindex(peer);
        }
        r = add_address(sk, ifindex, cfg->peer_name, cfg->peer_addr, cfg->prefix_len, err);
        if (r < 0)
                return r;
        return add_default_route(sk, ifindex, cfg->peer_name, cfg->gateway, err);
}

int net_veth_setup(const struct net_veth_config *cfg, struct coi_error *err)
{
        _cleanup_nlsock_ struct nl_sock *sk = NULL;
        int r = route_socket(&sk, err);
        if (r < 0)
                return r;
        _cleanup_link_ struct rtnl_link *br = NULL;
        r = get_link(sk, cfg->bridge, &br, err);
        if (r < 0)
                return r;
        unsigned mtu = cfg->mtu ? cfg->mtu : rtnl_link_get_mtu(br);

        _cleanup_link_ struct rtnl_link *veth = rtnl_link_veth_alloc();
        if (!veth)
                return coi_error_set(err, ENOMEM, "allocate veth %s", cfg->host_name);
        struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
        rtnl_link_set_name(veth, cfg->host_name);
        rtnl_link_set_master(veth, rtnl_link_get_ifindex(br));
        rtnl_link_set_mtu(veth, mtu);
        rtnl_link_set_name(peer, cfg->peer_name);
        rtnl_link_set_mtu(peer, mtu);
        /* created directly inside the container's namespace: the name never exists on the host */
        rtnl_link_set_ns_fd(peer, cfg->netns_fd);
        rtnl_link_put(peer);
        r = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return nl_fail(err, r, "create veth pair", cfg->host_name);

        /* from here on, deleting the host side removes the pair whatever fails */
        r = set_port_isolated(sk, (int)if_nametoindex(cfg->host_name), cfg->host_name, err);
        if (r >= 0)
                r = set_up(sk, cfg->host_name, 0, err);
        if (r >= 0 && cfg->disable_ipv6) {
                /* IPv6 stays off inside the container on purpose: the firewall rules are IPv4 only, and a
                 * container with IPv6 on could reach link-local neighbours around them. */
                r = net_sysctl_write(cfg->netns_fd, "net/ipv6/conf/all/disable_ipv6", "1", err);
                if (r >= 0)
                        r = net_sysctl_write(cfg->netns_fd, "net/ipv6/conf/default/disable_ipv6", "1", err);
        }
        if (r >= 0)
                r = configure_peer(cfg, mtu, err);
        if (r < 0) {
                net_link_delete(cfg->host_name, NULL);
                return r;
        }
        return 0;
}

int net_sysctl_write(int netns_fd, const char *path, const char *value, struct coi_error *err)
{
        _cleanup_free_ char *full = xasprintf("/proc/sys/%s", path);
        if (!full)
                return coi_error_set(err, ENOMEM, "sysctl %s", path);
        /* /proc/sys/net resolves against the opener's namespace at open time */
        int saved = -1;
        if (netns_fd >= 0) {
                int r = enter_netns(netns_fd, &saved, err);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int fd = open(full, O_WRONLY | O_CLOEXEC);
        int open_errno = errno;
        if (saved >= 0) {
                int r = leave_netns(saved, err);
                if (r < 0)
                        return r;
        }
        if (fd < 0) {
                /* no IPv6 in this kernel: nothing to switch off */
                if (open_errno == ENOENT && strstr(path, "ipv6"))
                        return 0;
                return coi_error_set(err, open_errno, "open %s: %s", full, strerror(open_errno));
        }
        if (write(fd, value, strlen(value)) < 0)
                return coi_error_set(err, errno, "write %s=%s: %m", full, value);
        return 0;
}
