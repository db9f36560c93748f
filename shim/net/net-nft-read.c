/* net-nft-read.c — what coi's nftables state holds: the table, the containers' chains, the elements of
 * their sets; and the NFLOG reader of the packets their rules rejected. Reads only, never changes; the
 * netlink socket and set names net-nft.c (the writer) builds on are here too. */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <poll.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "net-nft.h"
#include "net-nft-internal.h"

int net_nft_socket_open(struct mnl_socket **ret, struct coi_error *err)
{
        struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!nl)
                return coi_error_set(err, errno, "open nfnetlink socket: %m");
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int e = errno;
                mnl_socket_close(nl);
                return coi_error_set(err, e, "bind nfnetlink socket: %s", strerror(e));
        }
        *ret = nl;
        return 0;
}

void net_nft_set_name(char *buf, size_t size, char kind, const char *name)
{
        snprintf(buf, size, "%c-%s", kind, name);
}

/* A request answered by data messages (a dump or a get), each handed to cb. */
static int nft_query(uint16_t type, uint16_t flags, void (*payload)(struct nlmsghdr *, void *), void *obj,
                     mnl_cb_t cb, void *data, const char *what, struct coi_error *err)
{
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        int r = net_nft_socket_open(&nl, err);
        if (r < 0)
                return r;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        uint32_t seq = (uint32_t)time(NULL);
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, seq);
        if (payload)
                payload(nlh, obj);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return coi_error_set(err, errno, "%s: %m", what);
        unsigned portid = mnl_socket_get_portid(nl);
        for (int i = 0; i < 100000; i++) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                if (n < 0)
                        return coi_error_set(err, errno, "%s: %m", what);
                r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
                if (r < 0)
                        return coi_error_set(err, errno, "%s: %m", what);
                if (r == MNL_CB_STOP)
                        return 0;
        }
        return coi_error_set(err, EIO, "%s: answer never ended", what);
}

static void table_payload(struct nlmsghdr *nlh, void *obj)
{
        nftnl_table_nlmsg_build_payload(nlh, obj);
}

bool net_nft_host_exists(void)
{
        _cleanup_(nft_table_freep) struct nftnl_table *t = nftnl_table_alloc();
        if (!t)
                return false;
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, NET_NFT_TABLE);
        struct coi_error ignored = { 0 };
        return nft_query(NFT_MSG_GETTABLE, 0, table_payload, t, NULL, NULL, "get table", &ignored) == 0;
}

struct list_data {
        struct net_nft_elem *raw; /* every element as dumped: len 32 = start/plain, len 0 = interval end */
        size_t n, cap;
        bool oom;
};

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
        struct list_data *ld = data;
        _cleanup_(nft_set_freep) struct nftnl_set *s = nftnl_set_alloc();
        if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
                return MNL_CB_OK;
        struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
        /* iter_next returns the current element and moves on */
        for (struct nftnl_set_elem *e; it && (e = nftnl_set_elems_iter_next(it));) {
                uint32_t klen = 0;
                const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
                if (!key || klen != 4)
                        continue;
                if (ld->n == ld->cap) {
                        size_t cap = ld->cap ? ld->cap * 2 : 16;
                        struct net_nft_elem *n = realloc(ld->raw, cap * sizeof(*n));
                        if (!n) {
                                ld->oom = true;
                                break;
                        }
                        ld->raw = n;
                        ld->cap = cap;
                }
                uint32_t be;
                memcpy(&be, key, 4);
                bool end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
                           (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
                uint64_t exp = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION)
                                       ? nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION)
                                       : 0;
                ld->raw[ld->n++] = (struct net_nft_elem){ ntohl(be), end ? 0 : 32, exp };
        }
        if (it)
                nftnl_set_elems_iter_destroy(it);
        return MNL_CB_OK;
}

static void elems_payload(struct nlmsghdr *nlh, void *obj)
{
        nftnl_set_elems_nlmsg_build_payload(nlh, obj);
}

static int cmp_elem(const void *a, const void *b)
{
        const struct net_nft_elem *x = a, *y = b;
        return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int net_nft_list(const char *name, char kind, struct net_nft_elem **ret, size_t *ret_n, struct coi_error *err)
{
        char set[300];
        net_nft_set_name(set, sizeof(set), kind, name);
        _cleanup_(nft_set_freep) struct nftnl_set *s = nftnl_set_alloc();
        if (!s)
                return coi_error_set(err, ENOMEM, "list set %s", set);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NET_NFT_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, set);
        struct list_data ld = { 0 };
        _cleanup_free_ char *what = xasprintf("list set %s", set);
        int r = nft_query(NFT_MSG_GETSETELEM, NLM_F_DUMP, elems_payload, s, elem_cb, &ld, what ? what : set,
                          err);
        if (r == 0 && ld.oom)
                r = coi_error_set(err, ENOMEM, "list set %s", set);
        if (r < 0) {
                free(ld.raw);
                return r;
        }
        qsort(ld.raw, ld.n, sizeof(*ld.raw), cmp_elem);
        if (kind != 'a') {
                /* pair each interval start with the next end; a start without one runs to the top */
                size_t out = 0;
                for (size_t i = 0; i < ld.n; i++) {
                        if (ld.raw[i].len == 0)
                                continue;
                        uint64_t end = 1ull << 32;
                        if (i + 1 < ld.n && ld.raw[i + 1].len == 0)
                                end = ld.raw[i + 1].addr;
                        uint64_t size = end - ld.raw[i].addr;
                        int len = 32;
                        while (len > 0 && (1ull << (32 - len)) < size)
                                len--;
                        ld.raw[out++] = (struct net_nft_elem){ ld.raw[i].addr, len, 0 };
                }
                ld.n = out;
        }
        *ret = ld.raw;
        *ret_n = ld.n;
        return 0;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
        char ***names = data;
        _cleanup_(nft_chain_freep) struct nftnl_chain *c = nftnl_chain_alloc();
        if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0)
                return MNL_CB_OK;
        const char *table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
        const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
        if (table && name && streq(table, NET_NFT_TABLE) && startswith(name, "ct-"))
                if (strv_push(names, name + 3) < 0)
                        return MNL_CB_ERROR;
        return MNL_CB_OK;
}

struct map_find {
        const char *chain;
        uint32_t addr;
        bool found;
};

static int map_elem_cb(const struct nlmsghdr *nlh, void *data)
{
        struct map_find *mf = data;
        _cleanup_(nft_set_freep) struct nftnl_set *s = nftnl_set_alloc();
        if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
                return MNL_CB_OK;
        struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
        for (struct nftnl_set_elem *e; it && !mf->found && (e = nftnl_set_elems_iter_next(it));) {
                uint32_t klen = 0;
                const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
                const char *chain = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)
                                            ? nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN)
                                            : NULL;
                if (key && klen == 4 && chain && streq(chain, mf->chain)) {
                        uint32_t be;
                        memcpy(&be, key, 4);
                        mf->addr = ntohl(be);
                        mf->found = true;
                }
        }
        if (it)
                nftnl_set_elems_iter_destroy(it);
        return MNL_CB_OK;
}

int net_nft_container_addr(const char *name, uint32_t *ret, struct coi_error *err)
{
        _cleanup_(nft_set_freep) struct nftnl_set *s = nftnl_set_alloc();
        _cleanup_free_ char *chain = xasprintf("ct-%s", name);
        if (!s || !chain)
                return coi_error_set(err, ENOMEM, "find the map element of %s", name);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NET_NFT_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, "containers");
        struct map_find mf = { .chain = chain };
        int r = nft_query(NFT_MSG_GETSETELEM, NLM_F_DUMP, elems_payload, s, map_elem_cb, &mf,
                          "list the map containers", err);
        if (r < 0)
                return r;
        if (!mf.found)
                return -ENOENT;
        *ret = mf.addr;
        return 0;
}

int net_nft_list_containers(char ***ret, struct coi_error *err)
{
        _cleanup_strv_ char **names = calloc(1, sizeof(char *));
        if (!names)
                return coi_error_set(err, ENOMEM, "list nftables chains");
        if (net_nft_host_exists()) {
                int r = nft_query(NFT_MSG_GETCHAIN, NLM_F_DUMP, NULL, NULL, chain_cb, &names,
                                  "list nftables chains", err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(names);
        return 0;
}

/* ---- NFLOG: the packets the containers' rules rejected ---- */

static int nflog_config(struct mnl_socket *nl, uint16_t group, uint16_t attr_type, const void *attr,
                        size_t len, struct coi_error *err)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = (uint32_t)time(NULL);
        struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        *g = (struct nfgenmsg){ .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0, .res_id = htons(group) };
        mnl_attr_put(nlh, attr_type, len, attr);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return coi_error_set(err, errno, "configure NFLOG group %u: %m", group);
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0 || mnl_cb_run(buf, (size_t)n, 0, mnl_socket_get_portid(nl), NULL, NULL) < 0)
                return coi_error_set(err, errno, "configure NFLOG group %u: %m%s", group,
                                     errno == EBUSY ? " (another reader has it)" : "");
        return 0;
}

struct nflog_cb {
        int (*fn)(const struct net_blocked_packet *, void *);
        void *data;
        int stop;
};

static int nflog_attr(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(a);
        if (type <= NFULA_MAX)
                tb[type] = a;
        return MNL_CB_OK;
}

static int nflog_packet(const struct nlmsghdr *nlh, void *data)
{
        struct nflog_cb *cb = data;
        const struct nlattr *tb[NFULA_MAX + 1] = { 0 };
        mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nflog_attr, tb);
        struct net_blocked_packet p = { 0 };
        clock_gettime(CLOCK_REALTIME, &p.time);
        if (tb[NFULA_PREFIX])
                snprintf(p.prefix, sizeof(p.prefix), "%s", mnl_attr_get_str(tb[NFULA_PREFIX]));
        if (!tb[NFULA_PAYLOAD])
                return MNL_CB_OK;
        const uint8_t *ip = mnl_attr_get_payload(tb[NFULA_PAYLOAD]);
        size_t len = mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]);
        if (len < 20 || (ip[0] >> 4) != 4)
                return MNL_CB_OK;
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        p.proto = ip[9];
        p.saddr = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
        p.daddr = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
        if ((p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP) && len >= ihl + 4)
                p.dport = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
        cb->stop = cb->fn(&p, cb->data);
        return cb->stop ? MNL_CB_STOP : MNL_CB_OK;
}

int net_nflog_follow(uint16_t group, int timeout_ms, int (*fn)(const struct net_blocked_packet *, void *),
                     void *data, struct coi_error *err)
{
        _cleanup_mnl_ struct mnl_socket *nl = NULL;
        int r = net_nft_socket_open(&nl, err);
        if (r < 0)
                return r;
        struct nfulnl_msg_config_cmd bind = { .command = NFULNL_CFG_CMD_BIND };
        r = nflog_config(nl, group, NFULA_CFG_CMD, &bind, sizeof(bind), err);
        if (r < 0)
                return r;
        /* the headers are enough to say who dialled what */
        struct nfulnl_msg_config_mode mode = { .copy_range = htonl(64), .copy_mode = NFULNL_COPY_PACKET };
        r = nflog_config(nl, group, NFULA_CFG_MODE, &mode, sizeof(mode), err);
        if (r < 0)
                return r;
        struct nflog_cb cb = { .fn = fn, .data = data };
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        char buf[MNL_SOCKET_BUFFER_SIZE];
        while (!cb.stop) {
                int wait = -1;
                if (timeout_ms >= 0) {
                        struct timespec now;
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        long spent =
                                (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
                        if (spent >= timeout_ms)
                                break;
                        wait = (int)(timeout_ms - spent);
                }
                struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
                int n = poll(&p, 1, wait);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return coi_error_set(err, errno, "wait for NFLOG group %u: %m", group);
                if (n == 0)
                        continue;
                ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                /* ENOBUFS: the kernel dropped messages for us; say nothing and go on */
                if (len < 0 && errno == ENOBUFS)
                        continue;
                if (len < 0)
                        return coi_error_set(err, errno, "read NFLOG group %u: %m", group);
                if (mnl_cb_run(buf, (size_t)len, 0, 0, nflog_packet, &cb) < 0 && errno != 0 && !cb.stop)
                        continue;
        }
        return 0;
}
