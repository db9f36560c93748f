/* net-nft.c — coi's nftables state through libnftnl/libmnl: the one table `inet coi` (verdict map, base
 * chains, masquerade) and, per container, a chain and three sets that teardown removes exactly. */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "net-nft.h"
#include "net-nft-internal.h"

#define TYPE_IPADDR 7 /* nft's datatype id for ipv4_addr: only used when nft lists the set */
#define BATCH_LIMIT (64 * 1024)

/* The ranges that restricted mode keeps a container away from. */
static const struct {
        uint32_t addr;
        int len;
} private_ranges[] = {
        { 0x0a000000, 8 },  /* 10/8 */
        { 0xac100000, 12 }, /* 172.16/12 */
        { 0xc0a80000, 16 }, /* 192.168/16 */
        { 0xa9fe0000, 16 }, /* 169.254/16, the metadata endpoint too */
        { 0x64400000, 10 }, /* 100.64/10 */
};

const char *net_mode_to_string(enum net_mode mode)
{
        switch (mode) {
        case NET_MODE_ALLOWLIST:
                return "allowlist";
        case NET_MODE_OPEN:
                return "open";
        default:
                return "restricted";
        }
}

int net_mode_from_string(const char *s, enum net_mode *ret)
{
        if (streq(s, "restricted"))
                *ret = NET_MODE_RESTRICTED;
        else if (streq(s, "allowlist"))
                *ret = NET_MODE_ALLOWLIST;
        else if (streq(s, "open"))
                *ret = NET_MODE_OPEN;
        else
                return -EINVAL;
        return 0;
}

/* ---- transport: one batch = one transaction ---- */

struct batch {
        char *buf;
        struct mnl_nlmsg_batch *b;
        uint32_t seq;
        bool oom;
};

static void batch_done(struct batch *bt)
{
        if (bt->b)
                mnl_nlmsg_batch_stop(bt->b);
        free(bt->buf);
}

static int batch_start(struct batch *bt, struct coi_error *err)
{
        *bt = (struct batch){ .seq = (uint32_t)time(NULL) };
        /* libmnl wants room for one message past the limit */
        bt->buf = malloc(2 * BATCH_LIMIT);
        if (!bt->buf)
                return coi_error_set(err, ENOMEM, "allocate nftables batch");
        bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_LIMIT);
        nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
        mnl_nlmsg_batch_next(bt->b);
        return 0;
}

static struct nlmsghdr *batch_hdr(struct batch *bt, uint16_t type, uint16_t flags)
{
        return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET, flags | NLM_F_ACK,
                                     bt->seq++);
}

static void batch_next(struct batch *bt)
{
        if (!mnl_nlmsg_batch_next(bt->b))
                bt->oom = true;
}

/* Sends the batch and collects every answer. nfnetlink handles a batch synchronously inside sendmsg(),
 * so all acks and errors are queued when it returns: read until the queue is empty. */
static int batch_commit(struct batch *bt, const char *what, struct coi_error *err)
{
        if (bt->oom)
                return coi_error_set(err, ENOMEM, "%s: nftables batch too large", what);
        nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
        mnl_nlmsg_batch_next(bt->b);

        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        int r = net_nft_socket_open(&nl, err);
        if (r < 0)
                return r;
        if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b)) < 0)
                return coi_error_set(err, errno, "%s: send nftables batch: %m", what);
        unsigned portid = mnl_socket_get_portid(nl);
        int first = 0;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        for (int i = 0; i < 4096; i++) {
                ssize_t n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (mnl_cb_run(buf, (size_t)n, 0, portid, NULL, NULL) < 0 && first == 0)
                        first = errno ? errno : EIO;
        }
        if (first)
                return coi_error_set(err, first, "%s: %s", what, strerror(first));
        return 0;
}

/* ---- rule building ---- */

struct rb {
        struct nftnl_rule *r;
        bool oom;
};

static struct nftnl_expr *x_new(struct rb *rb, const char *name)
{
        struct nftnl_expr *e = nftnl_expr_alloc(name);
        if (!e)
                rb->oom = true;
        return e;
}

static void x_add(struct rb *rb, struct nftnl_expr *e)
{
        if (e)
                nftnl_rule_add_expr(rb->r, e);
}

static void x_meta(struct rb *rb, uint32_t key)
{
        struct nftnl_expr *e = x_new(rb, "meta");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
        }
        x_add(rb, e);
}

static void x_cmp(struct rb *rb, uint32_t op, const void *data, uint32_t len)
{
        struct nftnl_expr *e = x_new(rb, "cmp");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
                nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
        }
        x_add(rb, e);
}

static void x_payload(struct rb *rb, uint32_t base, uint32_t offset, uint32_t len)
{
        struct nftnl_expr *e = x_new(rb, "payload");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
        }
        x_add(rb, e);
}

static void x_bitwise(struct rb *rb, const void *mask, uint32_t len)
{
        uint8_t zero[16] = { 0 };
        struct nftnl_expr *e = x_new(rb, "bitwise");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
        }
        x_add(rb, e);
}

static void x_lookup(struct rb *rb, const char *set, bool vmap)
{
        struct nftnl_expr *e = x_new(rb, "lookup");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
                nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
                if (vmap)
                        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
        }
        x_add(rb, e);
}

static void x_verdict(struct rb *rb, int verdict)
{
        struct nftnl_expr *e = x_new(rb, "immediate");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
        }
        x_add(rb, e);
}

static void x_log_reject(struct rb *rb, const char *name, uint16_t group)
{
        char prefix[128];
        snprintf(prefix, sizeof(prefix), "coi %s ", name);
        struct nftnl_expr *log = x_new(rb, "log");
        if (log) {
                nftnl_expr_set_str(log, NFTNL_EXPR_LOG_PREFIX, prefix);
                nftnl_expr_set_u16(log, NFTNL_EXPR_LOG_GROUP, group);
        }
        x_add(rb, log);
        /* icmpx admin-prohibited: the dialler fails at once instead of waiting for a timeout */
        struct nftnl_expr *rej = x_new(rb, "reject");
        if (rej) {
                nftnl_expr_set_u32(rej, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
                nftnl_expr_set_u8(rej, NFTNL_EXPR_REJECT_CODE, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
        }
        x_add(rb, rej);
}

static void m_ipv4(struct rb *rb)
{
        uint8_t proto = NFPROTO_IPV4;
        x_meta(rb, NFT_META_NFPROTO);
        x_cmp(rb, NFT_CMP_EQ, &proto, 1);
}

static void m_ifname(struct rb *rb, uint32_t key, const char *name, uint32_t op)
{
        char buf[IFNAMSIZ] = { 0 };
        snprintf(buf, sizeof(buf), "%s", name);
        x_meta(rb, key);
        x_cmp(rb, op, buf, (uint32_t)strlen(buf) + 1);
}

/* ip saddr (offset 12) or daddr (16) within prefix; the caller has matched IPv4 first. */
static void m_addr(struct rb *rb, uint32_t offset, uint32_t addr, int len)
{
        m_ipv4(rb); /* lets `nft list` show "ip daddr" and keeps the match exact if IPv6 ever gets here */
        x_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
        if (len < 32) {
                uint32_t mask = htonl(net_prefix_mask(len));
                x_bitwise(rb, &mask, 4);
        }
        uint32_t be = htonl(addr & net_prefix_mask(len));
        x_cmp(rb, NFT_CMP_EQ, &be, 4);
}

static void m_dport(struct rb *rb, uint8_t l4proto, uint16_t port)
{
        uint16_t be = htons(port);
        x_meta(rb, NFT_META_L4PROTO);
        x_cmp(rb, NFT_CMP_EQ, &l4proto, 1);
        x_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        x_cmp(rb, NFT_CMP_EQ, &be, 2);
}

static void m_ct_established(struct rb *rb)
{
        uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED), zero = 0;
        struct nftnl_expr *e = x_new(rb, "ct");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        }
        x_add(rb, e);
        x_bitwise(rb, &mask, 4);
        x_cmp(rb, NFT_CMP_NEQ, &zero, 4);
}

static void m_daddr_local(struct rb *rb)
{
        uint32_t local = RTN_LOCAL;
        struct nftnl_expr *e = x_new(rb, "fib");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
                nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        }
        x_add(rb, e);
        x_cmp(rb, NFT_CMP_EQ, &local, 4);
}

static int rule_begin(struct rb *rb, const char *chain)
{
        *rb = (struct rb){ .r = nftnl_rule_alloc() };
        if (!rb->r)
                return -ENOMEM;
        nftnl_rule_set_u32(rb->r, NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(rb->r, NFTNL_RULE_TABLE, NET_NFT_TABLE);
        nftnl_rule_set_str(rb->r, NFTNL_RULE_CHAIN, chain);
        return 0;
}

/* Appends the rule to the batch and frees it. */
static void rule_end(struct batch *bt, struct rb *rb)
{
        if (!rb->r || rb->oom) {
                bt->oom = true;
        } else {
                struct nlmsghdr *nlh = batch_hdr(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
                nftnl_rule_nlmsg_build_payload(nlh, rb->r);
                batch_next(bt);
        }
        if (rb->r)
                nftnl_rule_free(rb->r);
        rb->r = NULL;
}

/* ---- objects ---- */

static void add_table(struct batch *bt, uint16_t type)
{
        struct nftnl_table *t = nftnl_table_alloc();
        if (!t) {
                bt->oom = true;
                return;
        }
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, NET_NFT_TABLE);
        struct nlmsghdr *nlh = batch_hdr(bt, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
        nftnl_table_nlmsg_build_payload(nlh, t);
        batch_next(bt);
        nftnl_table_free(t);
}

/* hook < 0: a regular chain. */
static void add_chain(struct batch *bt, uint16_t type, const char *name, int hook, int prio,
                      const char *ctype)
{
        struct nftnl_chain *c = nftnl_chain_alloc();
        if (!c) {
                bt->oom = true;
                return;
        }
        nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NET_NFT_TABLE);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
        if (hook >= 0) {
                nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
                nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
                nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, ctype);
                nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        }
        struct nlmsghdr *nlh = batch_hdr(bt, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE | NLM_F_EXCL : 0);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        batch_next(bt);
        nftnl_chain_free(c);
}

static void flush_chain(struct batch *bt, const char *name)
{
        struct nftnl_rule *r = nftnl_rule_alloc();
        if (!r) {
                bt->oom = true;
                return;
        }
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NET_NFT_TABLE);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
        struct nlmsghdr *nlh = batch_hdr(bt, NFT_MSG_DELRULE, 0);
        nftnl_rule_nlmsg_build_payload(nlh, r);
        batch_next(bt);
        nftnl_rule_free(r);
}

static struct nftnl_set *set_new(const char *name)
{
        struct nftnl_set *s = nftnl_set_alloc();
        if (!s)
                return NULL;
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NET_NFT_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);
        return s;
}

static void add_set(struct batch *bt, const char *name, uint32_t flags, uint32_t id)
{
        struct nftnl_set *s = set_new(name);
        if (!s) {
                bt->oom = true;
                return;
        }
        nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_IPADDR);
        nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
        nftnl_set_set_u32(s, NFTNL_SET_ID, id);
        if (flags & NFT_SET_MAP)
                nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
        struct nlmsghdr *nlh = batch_hdr(bt, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL);
        nftnl_set_nlmsg_build_payload(nlh, s);
        batch_next(bt);
        nftnl_set_free(s);
}

static void del_set(struct batch *bt, const char *name)
{
        struct nftnl_set *s = set_new(name);
        if (!s) {
                bt->oom = true;
                return;
        }
        struct nlmsghdr *nlh = batch_hdr(bt, NFT_MSG_DELSET, 0);
        nftnl_set_nlmsg_build_payload(nlh, s);
        batch_next(bt);
        nftnl_set_free(s);
}

/* One element message. jump_chain: a verdict map element; end: the prefix's interval end follows. */
struct elem {
        uint32_t addr;
        uint64_t timeout_ms;
        const char *jump_chain;
        bool interval_end;
};

static void elems(struct batch *bt, uint16_t type, const char *set, const struct elem *el, size_t n)
{
        _cleanup_(nft_set_freep) struct nftnl_set *s = set_new(set);
        if (!s) {
                bt->oom = true;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct nftnl_set_elem *e = nftnl_set_elem_alloc();
                if (!e) {
                        bt->oom = true;
                        return;
                }
                uint32_t be = htonl(el[i].addr);
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &be, 4);
                if (el[i].timeout_ms)
                        nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, el[i].timeout_ms);
                if (el[i].jump_chain) {
                        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
                        nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, el[i].jump_chain);
                }
                if (el[i].interval_end)
                        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
                nftnl_set_elem_add(s, e);
        }
        struct nlmsghdr *nlh = batch_hdr(bt, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        batch_next(bt);
}

/* An interval set holds [start, end): a prefix is its start plus an end element, unless it runs to the
 * top of the address space. */
static size_t prefix_elems(const struct net_prefix *p, struct elem ret[2])
{
        uint64_t end = (uint64_t)p->addr + (1ull << (32 - p->len));
        ret[0] = (struct elem){ .addr = p->addr };
        if (end > 0xffffffffull)
                return 1;
        ret[1] = (struct elem){ .addr = (uint32_t)end, .interval_end = true };
        return 2;
}

/* ---- public ---- */

int net_nft_host_ensure(const char *bridge, const struct net_prefix *subnet, struct coi_error *err)
{
        if (net_nft_host_exists())
                return 0;
        struct batch bt;
        int r = batch_start(&bt, err);
        if (r < 0)
                return r;
        add_table(&bt, NFT_MSG_NEWTABLE);
        add_set(&bt, "containers", NFT_SET_MAP, 1);
        add_chain(&bt, NFT_MSG_NEWCHAIN, "forward", NF_INET_FORWARD, 0, "filter");
        add_chain(&bt, NFT_MSG_NEWCHAIN, "input", NF_INET_LOCAL_IN, 0, "filter");
        add_chain(&bt, NFT_MSG_NEWCHAIN, "postrouting", NF_INET_POST_ROUTING, 100, "nat");
        struct rb rb;

        /* nothing from outside opens a connection into a container */
        if (rule_begin(&rb, "forward") == 0) {
                m_ifname(&rb, NFT_META_OIFNAME, bridge, NFT_CMP_EQ);
                m_ct_established(&rb);
                x_verdict(&rb, NF_ACCEPT);
        }
        rule_end(&bt, &rb);
        if (rule_begin(&rb, "forward") == 0) {
                m_ifname(&rb, NFT_META_OIFNAME, bridge, NFT_CMP_EQ);
                m_ifname(&rb, NFT_META_IIFNAME, bridge, NFT_CMP_NEQ);
                x_verdict(&rb, NF_DROP);
        }
        rule_end(&bt, &rb);
        /* from the bridge: each container's own chain, chosen by its address; unknown sources are dropped
         * (the bridge port hides which veth a packet came in by, so the source address is the key) */
        static const char *const hooks[] = { "forward", "input" };
        for (size_t i = 0; i < ELEMENTSOF(hooks); i++) {
                if (rule_begin(&rb, hooks[i]) == 0) {
                        m_ifname(&rb, NFT_META_IIFNAME, bridge, NFT_CMP_EQ);
                        m_ipv4(&rb);
                        x_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
                        x_lookup(&rb, "containers", true);
                }
                rule_end(&bt, &rb);
                if (rule_begin(&rb, hooks[i]) == 0) {
                        m_ifname(&rb, NFT_META_IIFNAME, bridge, NFT_CMP_EQ);
                        x_verdict(&rb, NF_DROP);
                }
                rule_end(&bt, &rb);
        }
        if (rule_begin(&rb, "postrouting") == 0) {
                m_addr(&rb, 12, subnet->addr, subnet->len);
                m_ifname(&rb, NFT_META_OIFNAME, bridge, NFT_CMP_NEQ);
                x_add(&rb, x_new(&rb, "masq"));
        }
        rule_end(&bt, &rb);
        r = batch_commit(&bt, "create nftables table inet " NET_NFT_TABLE, err);
        batch_done(&bt);
        return r;
}

int net_nft_host_remove(struct coi_error *err)
{
        if (!net_nft_host_exists())
                return 0;
        struct batch bt;
        int r = batch_start(&bt, err);
        if (r < 0)
                return r;
        add_table(&bt, NFT_MSG_DELTABLE);
        r = batch_commit(&bt, "delete nftables table inet " NET_NFT_TABLE, err);
        batch_done(&bt);
        return r == -ENOENT ? 0 : r;
}

int net_nft_container_add(const char *name, uint32_t addr, uint32_t bridge_addr,
                          const struct net_policy *policy, uint16_t log_group, struct coi_error *err)
{
        char chain[300], aset[300], pset[300], dset[300];
        snprintf(chain, sizeof(chain), "ct-%s", name);
        net_nft_set_name(aset, sizeof(aset), 'a', name);
        net_nft_set_name(pset, sizeof(pset), 'p', name);
        net_nft_set_name(dset, sizeof(dset), 'd', name);
        struct batch bt;
        int r = batch_start(&bt, err);
        if (r < 0)
                return r;
        add_set(&bt, aset, NFT_SET_TIMEOUT, 2);
        add_set(&bt, pset, NFT_SET_INTERVAL, 3);
        add_set(&bt, dset, NFT_SET_INTERVAL, 4);
        add_chain(&bt, NFT_MSG_NEWCHAIN, chain, -1, 0, NULL);
        struct rb rb;

        /* 1. explicitly denied prefixes, even for connections already open */
        if (rule_begin(&rb, chain) == 0) {
                m_ipv4(&rb);
                x_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
                x_lookup(&rb, dset, false);
                x_log_reject(&rb, name, log_group);
        }
        rule_end(&bt, &rb);
        /* 2. answers to what was allowed when it started */
        if (rule_begin(&rb, chain) == 0) {
                m_ct_established(&rb);
                x_verdict(&rb, NF_ACCEPT);
        }
        rule_end(&bt, &rb);
        /* 3. the DNS forwarder on the bridge, in every mode */
        static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };
        for (size_t i = 0; i < ELEMENTSOF(protos); i++) {
                if (rule_begin(&rb, chain) == 0) {
                        m_addr(&rb, 16, bridge_addr, 32);
                        m_dport(&rb, protos[i], 53);
                        x_verdict(&rb, NF_ACCEPT);
                }
                rule_end(&bt, &rb);
        }
        /* 4. what DNS answers taught us (allowlist mode) and literal prefixes allowed */
        const char *allow_sets[] = { aset, pset };
        for (size_t i = 0; i < ELEMENTSOF(allow_sets); i++) {
                if (rule_begin(&rb, chain) == 0) {
                        m_ipv4(&rb);
                        x_payload(&rb, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
                        x_lookup(&rb, allow_sets[i], false);
                        x_verdict(&rb, NF_ACCEPT);
                }
                rule_end(&bt, &rb);
        }
        /* 5. the host itself and the private ranges */
        bool block_local = policy->mode == NET_MODE_OPEN ? policy->block_private_networks
                                                         : !policy->allow_local_network_access;
        if (block_local) {
                if (rule_begin(&rb, chain) == 0) {
                        m_daddr_local(&rb);
                        x_log_reject(&rb, name, log_group);
                }
                rule_end(&bt, &rb);
                for (size_t i = 0; i < ELEMENTSOF(private_ranges); i++) {
                        if (rule_begin(&rb, chain) == 0) {
                                m_addr(&rb, 16, private_ranges[i].addr, private_ranges[i].len);
                                x_log_reject(&rb, name, log_group);
                        }
                        rule_end(&bt, &rb);
                }
        } else if (policy->mode == NET_MODE_OPEN && policy->block_metadata_endpoint) {
                if (rule_begin(&rb, chain) == 0) {
                        m_addr(&rb, 16, 0xa9fea9fe, 32); /* 169.254.169.254 */
                        x_log_reject(&rb, name, log_group);
                }
                rule_end(&bt, &rb);
        }
        /* 6. the rest */
        if (rule_begin(&rb, chain) == 0) {
                if (policy->mode == NET_MODE_ALLOWLIST)
                        x_log_reject(&rb, name, log_group);
                else
                        x_verdict(&rb, NF_ACCEPT);
        }
        rule_end(&bt, &rb);
        struct elem el = { .addr = addr, .jump_chain = chain };
        elems(&bt, NFT_MSG_NEWSETELEM, "containers", &el, 1);

        _cleanup_free_ char *what = xasprintf("add nftables chain %s", chain);
        r = batch_commit(&bt, what ? what : chain, err);
        batch_done(&bt);
        return r;
}

int net_nft_container_remove(const char *name, uint32_t addr, struct coi_error *err)
{
        char chain[300], sets[3][300];
        snprintf(chain, sizeof(chain), "ct-%s", name);
        net_nft_set_name(sets[0], sizeof(sets[0]), 'a', name);
        net_nft_set_name(sets[1], sizeof(sets[1]), 'p', name);
        net_nft_set_name(sets[2], sizeof(sets[2]), 'd', name);
        if (!net_nft_host_exists())
                return 0;

        /* First all at once; if a piece is already gone (the batch fails with ENOENT), piece by piece so
         * the rest still goes. Order matters: the map element and the rules hold references. */
        for (int pass = 0; pass < 2; pass++) {
                int first = 0;
                for (int step = 0; step < (pass == 0 ? 1 : 6); step++) {
                        struct batch bt;
                        int r = batch_start(&bt, err);
                        if (r < 0)
                                return r;
                        struct elem el = { .addr = addr, .jump_chain = chain };
                        if (pass == 0 || step == 0)
                                elems(&bt, NFT_MSG_DELSETELEM, "containers", &el, 1);
                        if (pass == 0 || step == 1)
                                flush_chain(&bt, chain);
                        if (pass == 0 || step == 2)
                                add_chain(&bt, NFT_MSG_DELCHAIN, chain, -1, 0, NULL);
                        for (int s = 0; s < 3; s++)
                                if (pass == 0 || step == 3 + s)
                                        del_set(&bt, sets[s]);
                        struct coi_error e = { 0 };
                        r = batch_commit(&bt, chain, &e);
                        batch_done(&bt);
                        if (r < 0 && r != -ENOENT && first == 0) {
                                first = r;
                                if (err)
                                        *err = e;
                        }
                        if (pass == 0 && r == 0)
                                return 0;
                }
                if (pass == 1)
                        return first;
        }
        return 0;
}

static int elem_change(const char *name, char kind, uint16_t type, const struct elem *el, size_t n,
                       const char *what, struct coi_error *err)
{
        char set[300];
        net_nft_set_name(set, sizeof(set), kind, name);
        struct batch bt;
        int r = batch_start(&bt, err);
        if (r < 0)
                return r;
        elems(&bt, type, set, el, n);
        _cleanup_free_ char *msg = xasprintf("%s set %s", what, set);
        r = batch_commit(&bt, msg ? msg : set, err);
        batch_done(&bt);
        return r;
}

int net_nft_learned_add(const char *name, uint32_t addr, uint64_t timeout_ms, struct coi_error *err)
{
        struct elem el = { .addr = addr, .timeout_ms = timeout_ms };
        /* Delete, then add: re-adding an element does not refresh its timeout on every kernel. Between the
         * two, only new connections to addr would be refused, and the container has not been told addr yet
         * (the forwarder answers after this); open connections pass by the established rule. */
        int r = elem_change(name, 'a', NFT_MSG_DELSETELEM, &el, 1, "delete from", err);
        if (r < 0 && r != -ENOENT)
                return r;
        return elem_change(name, 'a', NFT_MSG_NEWSETELEM, &el, 1, "add to", err);
}

int net_nft_learned_del(const char *name, uint32_t addr, struct coi_error *err)
{
        struct elem el = { .addr = addr };
        int r = elem_change(name, 'a', NFT_MSG_DELSETELEM, &el, 1, "delete from", err);
        return r == -ENOENT ? 0 : r;
}

int net_nft_prefix_add(const char *name, bool deny, const struct net_prefix *p, struct coi_error *err)
{
        struct elem el[2];
        size_t n = prefix_elems(p, el);
        int r = elem_change(name, deny ? 'd' : 'p', NFT_MSG_NEWSETELEM, el, n, "add to", err);
        return r == -EEXIST ? 0 : r;
}

int net_nft_prefix_del(const char *name, bool deny, const struct net_prefix *p, struct coi_error *err)
{
        struct elem el[2];
        size_t n = prefix_elems(p, el);
        int r = elem_change(name, deny ? 'd' : 'p', NFT_MSG_DELSETELEM, el, n, "delete from", err);
        return r == -ENOENT ? 0 : r;
}
