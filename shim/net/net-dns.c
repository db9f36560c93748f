/* net-dns.c — the containers' DNS forwarder: UDP and TCP on the bridge address, forwards to the host's
 * resolvers, logs every query, answers only allowlisted names in allowlist mode and opens their addresses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "net-dns.h"
#include "net.h"

#define DNS_MAX     65535
#define UPSTREAM_MS 2000
#define MAX_SERVERS 4
#define TTL_CAP_S   86400

static uint16_t rd16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool net_dns_name_matches(const char *pattern, const char *name)
{
        size_t pl = strlen(pattern), nl = strlen(name);
        if (pl && pattern[pl - 1] == '.')
                pl--;
        if (nl && name[nl - 1] == '.')
                nl--;
        if (pl >= 2 && pattern[0] == '*' && pattern[1] == '.') {
                /* ".example.com" must end the name, with at least one label before it */
                const char *suffix = pattern + 1;
                size_t sl = pl - 1;
                return nl > sl && strncasecmp(name + nl - sl, suffix, sl) == 0;
        }
        return pl == nl && strncasecmp(pattern, name, pl) == 0;
}

/* Skips a possibly compressed name at *off; returns 0 or -EBADMSG. */
static int skip_name(const uint8_t *msg, size_t len, size_t *off)
{
        size_t o = *off;
        for (int i = 0; i < 128; i++) {
                if (o >= len)
                        return -EBADMSG;
                uint8_t l = msg[o];
                if (l == 0) {
                        *off = o + 1;
                        return 0;
                }
                if ((l & 0xc0) == 0xc0) {
                        if (o + 2 > len)
                                return -EBADMSG;
                        *off = o + 2;
                        return 0;
                }
                if (l & 0xc0)
                        return -EBADMSG;
                o += 1 + l;
        }
        return -EBADMSG;
}

int net_dns_parse_question(const uint8_t *msg, size_t len, char *name, size_t name_size, uint16_t *ret_type,
                           size_t *ret_end)
{
        if (len < 12 || rd16(msg + 4) != 1 || name_size < 2)
                return -EBADMSG;
        size_t o = 12, n = 0;
        for (int i = 0; i < 128; i++) {
                if (o >= len)
                        return -EBADMSG;
                uint8_t l = msg[o++];
                if (l == 0)
                        break;
                if (l & 0xc0 || o + l > len || n + l + 2 > name_size)
                        return -EBADMSG;
                if (n)
                        name[n++] = '.';
                for (uint8_t k = 0; k < l; k++) {
                        char c = (char)tolower(msg[o + k]);
                        /* a name we log and match must be printable and unambiguous */
                        if (!isalnum((unsigned char)c) && c != '-' && c != '_')
                                return -EBADMSG;
                        name[n++] = c;
                }
                o += l;
        }
        if (o + 4 > len)
                return -EBADMSG;
        name[n] = '\0';
        if (n == 0)
                strcpy(name, ".");
        *ret_type = rd16(msg + o);
        *ret_end = o + 4;
        return 0;
}

int net_dns_for_each_a(const uint8_t *msg, size_t len, void (*fn)(uint32_t addr, uint32_t ttl, void *data),
                       void *data)
{
        if (len < 12)
                return -EBADMSG;
        unsigned qd = rd16(msg + 4), an = rd16(msg + 6);
        size_t o = 12;
        for (unsigned i = 0; i < qd; i++) {
                if (skip_name(msg, len, &o) < 0 || o + 4 > len)
                        return -EBADMSG;
                o += 4;
        }
        int found = 0;
        for (unsigned i = 0; i < an; i++) {
                if (skip_name(msg, len, &o) < 0 || o + 10 > len)
                        return -EBADMSG;
                uint16_t type = rd16(msg + o), class = rd16(msg + o + 2), rdlen = rd16(msg + o + 8);
                uint32_t ttl = rd32(msg + o + 4);
                o += 10;
                if (o + rdlen > len)
                        return -EBADMSG;
                if (type == 1 && class == 1 && rdlen == 4) {
                        fn(rd32(msg + o), ttl, data);
                        found++;
                }
                o += rdlen;
        }
        return found;
}

int net_dns_make_error(const uint8_t *query, size_t qlen, int rcode, uint8_t *out, size_t out_size)
{
        char name[256];
        uint16_t type;
        size_t end;
        if (net_dns_parse_question(query, qlen, name, sizeof(name), &type, &end) < 0 || end > out_size)
                return -EBADMSG;
        memcpy(out, query, end);
        out[2] = (uint8_t)(0x80 | (query[2] & 0x79)); /* QR, keep opcode and RD */
        out[3] = (uint8_t)(0x80 | (rcode & 0x0f));    /* RA */
        memset(out + 6, 0, 6);                        /* no answer, authority or additional records */
        return (int)end;
}

int net_resolv_conf_servers(const char *path, uint32_t *ret, size_t max, struct coi_error *err)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return coi_error_set(err, errno, "open %s: %m", path);
        char line[512];
        size_t n = 0;
        while (n < max && fgets(line, sizeof(line), f)) {
                char addr[64];
                struct in_addr in;
                if (sscanf(line, " nameserver %63s", addr) == 1 && inet_pton(AF_INET, addr, &in) == 1)
                        ret[n++] = ntohl(in.s_addr);
        }
        return (int)n;
}

/* ---- serving ---- */

#define LOG_MAX_BYTES (8u << 20)

struct server {
        const struct net_dns_config *cfg;
        const char *log_path;
        int log_fd;
        unsigned writes;
};

/* Keeps the query log bounded: past LOG_MAX_BYTES it becomes dns.log.1 (replacing the previous one). */
static void rotate_log(struct server *s)
{
        struct stat st;
        if (++s->writes % 256 != 0 || s->log_fd < 0 || fstat(s->log_fd, &st) < 0 ||
            st.st_size < LOG_MAX_BYTES)
                return;
        _cleanup_free_ char *old = xasprintf("%s.1", s->log_path);
        if (!old || rename(s->log_path, old) < 0)
                return;
        close(s->log_fd);
        s->log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

struct learned {
        const char *container;
        bool add; /* allowlist mode: open the addresses */
        char answers[512];
        size_t used;
        int failures;
};

static void on_a(uint32_t addr, uint32_t ttl, void *data)
{
        struct learned *l = data;
        char ip[INET_ADDRSTRLEN];
        net_ipv4_format(addr, ip);
        if (l->used + strlen(ip) + 4 < sizeof(l->answers))
                l->used += (size_t)snprintf(l->answers + l->used, sizeof(l->answers) - l->used, "%s\"%s\"",
                                            l->used ? "," : "", ip);
        if (!l->add)
                return;
        /* the set entry lives as long as the answer may be cached; one failure never stops the rest */
        uint64_t t = ttl < 1 ? 1 : ttl > TTL_CAP_S ? TTL_CAP_S : ttl;
        struct coi_error e = { 0 };
        if (net_nft_learned_add(l->container, addr, t * 1000, &e) < 0)
                l->failures++;
}

static const char *type_name(uint16_t t, char *buf)
{
        switch (t) {
        case 1:
                return "A";
        case 28:
                return "AAAA";
        case 5:
                return "CNAME";
        case 15:
                return "MX";
        case 16:
                return "TXT";
        case 33:
                return "SRV";
        case 65:
                return "HTTPS";
        default:
                sprintf(buf, "TYPE%u", t);
                return buf;
        }
}

static void log_query(struct server *s, const char *container, uint32_t client, const char *name,
                      uint16_t type, const char *verdict, int rcode, const char *answers, int failures)
{
        char ip[INET_ADDRSTRLEN], tbuf[16];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char line[1024];
        int n = snprintf(
                line, sizeof(line),
                "{\"time\":%lld.%03ld,\"container\":\"%s\",\"client\":\"%s\",\"name\":\"%s\",\"type\":\"%s\","
                "\"verdict\":\"%s\",\"rcode\":%d,\"answers\":[%s],\"set_failures\":%d}\n",
                (long long)ts.tv_sec, ts.tv_nsec / 1000000, container, net_ipv4_format(client, ip), name,
                type_name(type, tbuf), verdict, rcode, answers, failures);
        if (n > 0 && s->log_fd >= 0)
                (void)write_all(s->log_fd, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1));
        rotate_log(s);
}

static int find_record(const char *state_dir, uint32_t client, struct net_record *ret)
{
        _cleanup_strv_ char **names = NULL;
        struct coi_error e = { 0 };
        if (net_record_list(state_dir, &names, &e) < 0)
                return -ENOENT;
        for (char **n = names; *n; n++) {
                struct net_record r = { 0 };
                if (net_record_load(state_dir, *n, &r, &e) < 0)
                        continue;
                if (r.addr == client) {
                        *ret = r;
                        return 0;
                }
                net_record_done(&r);
        }
        return -ENOENT;
}

static bool listed(char **patterns, const char *name)
{
        for (char **p = patterns; p && *p; p++) {
                struct net_prefix ignored;
                if (net_prefix_parse(*p, &ignored, NULL) == 0)
                        continue; /* an address, not a name */
                if (net_dns_name_matches(*p, name))
                        return true;
        }
        return false;
}

static int set_timeouts(int fd, int ms)
{
        struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        return 0;
}

static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
        size_t got = 0;
        while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

/* Asks one upstream server; returns the answer's length or -errno. */
static ssize_t ask_upstream(uint32_t server, bool tcp, const uint8_t *q, size_t qlen, uint8_t *ans,
                            size_t size)
{
        _cleanup_close_ int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (fd < 0 || set_timeouts(fd, UPSTREAM_MS) < 0)
                return -errno;
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(53),
                                  .sin_addr.s_addr = htonl(server) };
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (tcp) {
                uint8_t l[2] = { (uint8_t)(qlen >> 8), (uint8_t)qlen };
                if (write_all(fd, l, 2) < 0 || write_all(fd, q, qlen) < 0)
                        return -EIO;
                if (read_full(fd, l, 2) < 0)
                        return -EIO;
                size_t alen = rd16(l);
                if (alen > size || alen < 12 || read_full(fd, ans, alen) < 0)
                        return -EIO;
                return (ssize_t)alen;
        }
        if (send(fd, q, qlen, 0) < 0)
                return -errno;
        for (int i = 0; i < 8; i++) {
                ssize_t n = recv(fd, ans, size, 0);
                if (n < 0)
                        return -errno;
                /* a stray datagram with another id is no answer to us */
                if (n >= 12 && ans[0] == q[0] && ans[1] == q[1])
                        return n;
        }
        return -EIO;
}

/* Handles one query; returns the answer's length (0: send nothing). */
static size_t handle_query(struct server *s, uint32_t client, bool tcp, const uint8_t *q, size_t qlen,
                           uint8_t *ans, size_t size)
{
        char name[256];
        uint16_t type;
        size_t qend;
        if (net_dns_parse_question(q, qlen, name, sizeof(name), &type, &qend) < 0 || (q[2] & 0x80))
                return 0; /* not a query we can read: no answer rather than a guess */

        struct net_record rec = { 0 };
        if (find_record(s->cfg->state_dir, client, &rec) < 0) {
                log_query(s, "", client, name, type, "refused-unknown-client", NET_DNS_RCODE_REFUSED, "", 0);
                int n = net_dns_make_error(q, qlen, NET_DNS_RCODE_REFUSED, ans, size);
                return n < 0 ? 0 : (size_t)n;
        }
        bool allowlist = rec.policy.mode == NET_MODE_ALLOWLIST;
        bool refused = listed(rec.deny, name) || (allowlist && !listed(rec.allow, name));
        if (refused) {
                log_query(s, rec.name, client, name, type, "refused", NET_DNS_RCODE_REFUSED, "", 0);
                net_record_done(&rec);
                int n = net_dns_make_error(q, qlen, NET_DNS_RCODE_REFUSED, ans, size);
                return n < 0 ? 0 : (size_t)n;
        }

        uint32_t servers[MAX_SERVERS];
        struct coi_error e = { 0 };
        int ns = net_resolv_conf_servers(s->cfg->resolv_conf, servers, MAX_SERVERS, &e);
        ssize_t alen = -EIO;
        for (int i = 0; i < ns && alen < 0; i++)
                if (servers[i] != s->cfg->listen_addr)
                        alen = ask_upstream(servers[i], tcp, q, qlen, ans, size);
        if (alen < 0) {
                log_query(s, rec.name, client, name, type, "servfail", NET_DNS_RCODE_SERVFAIL, "", 0);
                net_record_done(&rec);
                int n = net_dns_make_error(q, qlen, NET_DNS_RCODE_SERVFAIL, ans, size);
                return n < 0 ? 0 : (size_t)n;
        }
        struct learned l = { .container = rec.name, .add = allowlist };
        /* the set entries are in place before the container sees the answer */
        if (net_dns_for_each_a(ans, (size_t)alen, on_a, &l) < 0)
                l.failures++;
        log_query(s, rec.name, client, name, type, "forwarded", ans[3] & 0x0f, l.answers, l.failures);
        net_record_done(&rec);
        return (size_t)alen;
}

static void serve_tcp(struct server *s, int lfd, uint8_t *q, uint8_t *ans)
{
        struct sockaddr_in peer;
        socklen_t pl = sizeof(peer);
        _cleanup_close_ int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
        if (fd < 0 || set_timeouts(fd, UPSTREAM_MS) < 0)
                return;
        /* a few queries per connection at most; the forwarder serves one client at a time */
        for (int i = 0; i < 8; i++) {
                uint8_t l[2];
                if (read_full(fd, l, 2) < 0)
                        return;
                size_t qlen = rd16(l);
                if (qlen < 12 || read_full(fd, q, qlen) < 0)
                        return;
                size_t n = handle_query(s, ntohl(peer.sin_addr.s_addr), true, q, qlen, ans, DNS_MAX);
                if (n == 0)
                        return;
                uint8_t out[2] = { (uint8_t)(n >> 8), (uint8_t)n };
                if (write_all(fd, out, 2) < 0 || write_all(fd, ans, n) < 0)
                        return;
        }
}

static int bind_socket(int type, uint32_t addr, uint16_t port, struct coi_error *err)
{
        _cleanup_close_ int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return coi_error_set(err, errno, "DNS socket: %m");
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(addr) };
        char ip[INET_ADDRSTRLEN];
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return coi_error_set(err, errno, "bind DNS %s %s:%u: %m", type == SOCK_STREAM ? "TCP" : "UDP",
                                     net_ipv4_format(addr, ip), port);
        if (type == SOCK_STREAM && listen(fd, 64) < 0)
                return coi_error_set(err, errno, "listen DNS TCP: %m");
        return TAKE_FD(fd);
}

static void report_ready(int fd, const char *msg)
{
        if (fd >= 0) {
                (void)write_all(fd, msg, strlen(msg));
                close(fd);
        }
}

int net_dns_run(const struct net_dns_config *cfg, struct coi_error *err)
{
        _cleanup_close_ int udp = bind_socket(SOCK_DGRAM, cfg->listen_addr, cfg->port, err);
        if (udp < 0) {
                report_ready(cfg->ready_fd, err->msg);
                return udp;
        }
        _cleanup_close_ int tcp = bind_socket(SOCK_STREAM, cfg->listen_addr, cfg->port, err);
        if (tcp < 0) {
                report_ready(cfg->ready_fd, err->msg);
                return tcp;
        }
        _cleanup_free_ char *log_path = xasprintf("%s/dns.log", cfg->state_dir);
        _cleanup_free_ uint8_t *q = malloc(DNS_MAX), *ans = malloc(DNS_MAX);
        if (!log_path || !q || !ans) {
                report_ready(cfg->ready_fd, "out of memory");
                return coi_error_set(err, ENOMEM, "DNS forwarder buffers");
        }
        struct server s = { .cfg = cfg,
                            .log_path = log_path,
                            .log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) };
        report_ready(cfg->ready_fd, "ok");

        uint64_t alone_since = 0; /* when no container record was first seen, 0 while there are some */
        for (;;) {
                struct pollfd p[2] = { { .fd = udp, .events = POLLIN }, { .fd = tcp, .events = POLLIN } };
                int n = poll(p, 2, alone_since ? 250 : 1000);
                if (n < 0 && errno != EINTR)
                        break;
                if (n <= 0) {
                        /* idle: leave once no container was left to serve for linger_ms */
                        _cleanup_strv_ char **names = NULL;
                        struct coi_error e = { 0 };
                        if (net_record_list(cfg->state_dir, &names, &e) < 0 || !names[0]) {
                                uint64_t now = now_ns();
                                if (!alone_since)
                                        alone_since = now;
                                if (now - alone_since >= (uint64_t)cfg->linger_ms * 1000000u)
                                        break;
                        } else {
                                alone_since = 0;
                        }
                        continue;
                }
                if (p[0].revents & POLLIN) {
                        struct sockaddr_in peer;
                        socklen_t pl = sizeof(peer);
                        ssize_t len = recvfrom(udp, q, DNS_MAX, 0, (struct sockaddr *)&peer, &pl);
                        if (len >= 12) {
                                size_t alen = handle_query(&s, ntohl(peer.sin_addr.s_addr), false, q,
                                                           (size_t)len, ans, DNS_MAX);
                                if (alen)
                                        sendto(udp, ans, alen, 0, (struct sockaddr *)&peer, pl);
                        }
                }
                if (p[1].revents & POLLIN)
                        serve_tcp(&s, tcp, q, ans);
        }
        if (s.log_fd >= 0)
                close(s.log_fd);
        return 0;
}
